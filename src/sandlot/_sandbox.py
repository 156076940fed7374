"""The :class:`Sandbox`: validation, launch and cleanup, written once above the transports."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from contextlib import asynccontextmanager
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from ._errors import NotSupported
from ._exec import run_exec, timed_out_at_start
from ._process import CLOSE_WAIT, Process, Reaper, Terminal, _Running, release
from ._records import Capabilities, ExecResult, TerminalSize
from ._transport import LaunchSpec, RawProcess, Transport
from ._url import SandboxURL
from ._validate import (
    check_argv,
    check_cwd,
    check_env,
    check_input,
    check_mode,
    check_path,
    check_size,
    check_size_limit,
    check_timeout,
)
from .backends import parse_url

if TYPE_CHECKING:
    from ._jobs import Jobs

__all__ = ["Sandbox", "open_sandbox"]

H = TypeVar("H", bound=_Running)
StrPath = str | PathLike[str]


class _Launch(Generic[H]):
    """``await`` it for the handle, or use it as ``async with`` to close it afterwards."""

    def __init__(self, start: Callable[[], Awaitable[H]]) -> None:
        self._start = start
        self._handle: H | None = None

    def __await__(self) -> Generator[Any, None, H]:
        return self._start().__await__()

    async def __aenter__(self) -> H:
        self._handle = await self._start()
        return self._handle

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._handle is not None
        await self._handle.aclose()


class Sandbox:
    """One sandbox: run processes in it with :meth:`exec`, :meth:`spawn` and :meth:`pty`."""

    def __init__(
        self, transport: Transport, *, url: SandboxURL | None = None, kill_grace: float = 0.5
    ) -> None:
        self._transport = transport
        self._grace = check_timeout("kill_grace", kill_grace) or 0.5
        self._reaper = Reaper(self._grace)
        self.url = url or SandboxURL(transport.name)

    def __repr__(self) -> str:
        return f"<Sandbox {self.url}>"

    @property
    def backend(self) -> str:
        """The backend's name (see :func:`sandlot.backends.available`)."""
        return self._transport.name

    @property
    def capabilities(self) -> Capabilities:
        return self._transport.capabilities

    @property
    def jobs(self) -> Jobs:
        """Durable jobs in this sandbox, under the default root (see :class:`Jobs`)."""
        from ._jobs import Jobs

        return Jobs(self)

    async def _start(self, spec: LaunchSpec) -> RawProcess:
        await anyio.lowlevel.checkpoint_if_cancelled()
        raw = await self._transport.start(spec)
        # The host answers again: kill what a dead connection kept us from killing
        # (shielded, and bounded: ``raw`` runs now and must reach its caller).
        with anyio.CancelScope(shield=True):
            await self._reaper.retry()
        return raw

    async def exec(
        self,
        cmd: str,
        args: Sequence[str] | None = None,
        *,
        cwd: StrPath | None = None,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        timeout: float | None = None,
        max_output_bytes: int | None = None,
        check: bool = False,
    ) -> ExecResult:
        """Run ``cmd args`` to completion and return its output and exit status.

        ``env`` adds to (and overrides) the sandbox's environment. ``timeout`` kills the
        process group and returns a result with ``timed_out=True``. Output beyond
        ``max_output_bytes`` per stream is read and discarded, and flagged truncated.
        """
        data = check_input(input)
        spec = LaunchSpec(check_argv(cmd, args), check_cwd(cwd), check_env(env), stdin=bool(data))
        limit = check_timeout("timeout", timeout)
        cap = check_size_limit("max_output_bytes", max_output_bytes)
        if data and not self.capabilities.stdin_eof:
            # The input is followed by EOF; without it the command could wait forever.
            raise NotSupported(self.backend, "exec with input", "it cannot send EOF on stdin")
        await anyio.lowlevel.checkpoint_if_cancelled()
        once = await self._transport.exec(
            spec, input=data, timeout=limit, max_output_bytes=cap, reaper=self._reaper
        )
        if once is not None:
            return once.check() if check else once
        # One deadline for everything that waits on the host, the start included (a start
        # under way when the server freezes is abandoned: see Transport.start).
        deadline = anyio.current_time() + (math.inf if limit is None else limit)
        with anyio.CancelScope(deadline=deadline) as starting:
            raw = await self._start(spec)
        if starting.cancelled_caught:
            timed_out = timed_out_at_start(spec.argv)
            return timed_out.check() if check else timed_out
        try:
            result = await run_exec(
                raw,
                spec.argv,
                input=data,
                deadline=deadline,
                max_output_bytes=cap,
                reaper=self._reaper,
            )
        except BaseException:
            # Cancelled or failed: sweep the group, even if the leader has exited. Not after
            # a normal exit: a child that detached from the pipes was daemonised on purpose.
            await release(raw, spec.argv, self._reaper)
            raise
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_WAIT):
            await raw.aclose()
        return result.check() if check else result

    def spawn(
        self,
        cmd: str,
        args: Sequence[str] | None = None,
        *,
        cwd: StrPath | None = None,
        env: Mapping[str, str] | None = None,
    ) -> _Launch[Process]:
        """Start a long-lived process with separate stdin, stdout and stderr streams.

        Use as ``async with sb.spawn(...) as proc:``; leaving the block terminates the
        process group if it still runs. ``await sb.spawn(...)`` also works (then
        ``await proc.aclose()``).
        """
        spec = LaunchSpec(check_argv(cmd, args), check_cwd(cwd), check_env(env))

        async def start() -> Process:
            raw = await self._start(spec)
            t = self._transport
            return Process(raw, spec.argv, t.name, t.capabilities, self._reaper)

        return _Launch(start)

    def pty(
        self,
        cmd: str,
        args: Sequence[str] | None = None,
        *,
        cwd: StrPath | None = None,
        env: Mapping[str, str] | None = None,
        size: TerminalSize | tuple[int, int] = TerminalSize(),
    ) -> _Launch[Terminal]:
        """Start ``cmd`` on a pseudo-terminal of ``size`` (rows, cols)."""
        term = check_size(size)
        spec = LaunchSpec(check_argv(cmd, args), check_cwd(cwd), check_env(env), pty=term)
        if not self.capabilities.pty:
            raise NotSupported(self.backend, "pseudo-terminals")

        async def start() -> Terminal:
            raw = await self._start(spec)
            t = self._transport
            return Terminal(raw, spec.argv, t.name, t.capabilities, self._reaper, term)

        return _Launch(start)

    async def read_file(self, path: StrPath) -> bytes:
        """Return the contents of ``path`` in the sandbox."""
        p = check_path(path)
        if not self.capabilities.files:
            raise NotSupported(self.backend, "file transfer")
        return await self._transport.read_file(p)

    async def write_file(self, path: StrPath, data: bytes, *, mode: int | None = None) -> None:
        """Write ``data`` to ``path`` in the sandbox (created or truncated), with ``mode``."""
        p = check_path(path)
        payload = check_input(data)
        m = check_mode(mode)
        if not self.capabilities.files:
            raise NotSupported(self.backend, "file transfer")
        await self._transport.write_file(p, payload or b"", m)

    async def aclose(self) -> None:
        """Close the connection to the sandbox (first retrying, bounded, any kill a dead
        connection kept from getting through)."""
        with anyio.CancelScope(shield=True):
            try:
                await self._reaper.aclose()
            finally:
                await self._transport.aclose()

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @classmethod
    async def connect(cls, url: str | None = None, **options: Any) -> Sandbox:
        """Connect to the sandbox at ``url`` (see :func:`open_sandbox`)."""
        from ._backends import connect

        parsed = parse_url(url)
        grace = options.pop("kill_grace", 0.5)
        sandbox = cls(await connect(parsed, options), url=parsed, kill_grace=grace)
        return sandbox


@asynccontextmanager
async def open_sandbox(url: str | None = None, **options: Any) -> AsyncIterator[Sandbox]:
    """Open the sandbox at ``url`` (``<scheme>://...`` of any backend in
    :func:`sandlot.backends.available`). With no URL, ``$SANDLOT_SANDBOX`` is used, then
    ``local``.

    A backend's options are passed under its name (``<name>=<its options type>(...)``);
    ``kill_grace`` is the seconds between SIGTERM and SIGKILL (default 0.5).
    """
    sandbox = await Sandbox.connect(url, **options)
    try:
        yield sandbox
    finally:
        await sandbox.aclose()
