"""Handles for running processes: :class:`Process` (spawn) and :class:`Terminal` (pty)."""

from __future__ import annotations

import contextlib
import signal as _signal
from types import TracebackType

import anyio

from ._errors import ConnectionLost, NotSupported, ProcessExited
from ._outcome import Once
from ._records import Capabilities, ExitStatus, TerminalSize
from ._streams import ProcessInput, ProcessOutput
from ._transport import RawProcess
from ._validate import check_signal, check_size

__all__ = ["Process", "Terminal", "terminate_tree"]

_FINAL_WAIT = 5.0


async def terminate_tree(raw: RawProcess, grace: float) -> None:
    """SIGTERM the process group, wait up to ``grace``, then SIGKILL the group.

    When the leader has already exited, what is left of its group gets SIGKILL at once:
    those are background children nobody waits for, whose exit could not be observed to
    end the grace early, so SIGTERM would make every close wait the whole grace.
    """
    if raw.poll() is not None:
        with contextlib.suppress(ConnectionLost):
            await raw.signal(_signal.SIGKILL)
        return
    try:
        await raw.signal(_signal.SIGTERM)
        with anyio.move_on_after(grace):
            if not await _observe_exit(raw):
                await anyio.sleep_forever()  # the exit cannot be seen: give it all the grace
        # SIGKILL even when the leader is gone: it sweeps what is left of the group.
        await raw.signal(_signal.SIGKILL)
        with anyio.move_on_after(_FINAL_WAIT):
            await _observe_exit(raw)
    except ConnectionLost:
        pass  # not even a new connection reaches the host


async def _observe_exit(raw: RawProcess) -> bool:
    """Wait for the exit; False when the link that would report it is lost (the process
    may run on, and signals still reach it over a new connection)."""
    try:
        await raw.wait()
    except ConnectionLost:
        return False
    return True


class _Running:
    def __init__(
        self,
        raw: RawProcess,
        argv: tuple[str, ...],
        backend: str,
        capabilities: Capabilities,
        grace: float,
    ) -> None:
        self._raw = raw
        self._backend = backend
        self._caps = capabilities
        self._grace = grace
        self._closed = False
        self.argv = argv
        #: Awaitable: returns once the command runs, raises if it never started.
        self.ready: Once[None] = Once(raw.wait_ready)
        #: Awaitable: the :class:`ExitStatus`, once the process has ended.
        self.exit: Once[ExitStatus] = Once(raw.wait)

    def __repr__(self) -> str:
        state = self._raw.poll()
        return f"<{type(self).__name__} {list(self.argv)!r} {state or 'running'}>"

    @property
    def returncode(self) -> int | None:
        """Subprocess style return code, or ``None`` while running."""
        status = self._raw.poll()
        return None if status is None else status.returncode

    async def send_signal(self, sig: int | str | _signal.Signals) -> None:
        """Send ``sig`` to the process group, also after the process exited: children it
        left running in its group get it (a no-op once the group is gone)."""
        signum = check_signal(sig)
        if not self._caps.signals and signum not in (_signal.SIGTERM, _signal.SIGKILL):
            raise NotSupported(self._backend, f"sending {signum.name}")
        await self._raw.signal(signum)

    async def kill(self, sig: int | str | _signal.Signals = _signal.SIGKILL) -> None:
        """Send ``sig`` (SIGKILL by default) to the process group."""
        await self.send_signal(sig)

    async def terminate(self) -> None:
        """Send SIGTERM to the process group."""
        await self.send_signal(_signal.SIGTERM)

    async def _close_streams(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Terminate the process group if still running, then release everything."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            await terminate_tree(self._raw, self._grace)
            await self._close_streams()
            await self._raw.aclose()

    async def __aenter__(self) -> _Running:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Process(_Running):
    """A spawned process with separate ``stdin``, ``stdout`` and ``stderr`` streams."""

    def __init__(
        self,
        raw: RawProcess,
        argv: tuple[str, ...],
        backend: str,
        capabilities: Capabilities,
        grace: float,
    ) -> None:
        super().__init__(raw, argv, backend, capabilities, grace)
        assert raw.stderr is not None
        self.stdin = ProcessInput(raw.stdin, "stdin", backend, capabilities.stdin_eof)
        self.stdout = ProcessOutput(raw.stdout, "stdout")
        self.stderr = ProcessOutput(raw.stderr, "stderr")

    async def __aenter__(self) -> Process:
        return self

    async def _close_streams(self) -> None:
        await self.stdin._release()
        await self.stdout.aclose()
        await self.stderr.aclose()


class Terminal(_Running):
    """A process on a pty: one ``input`` and one ``output`` stream, resizable."""

    def __init__(
        self,
        raw: RawProcess,
        argv: tuple[str, ...],
        backend: str,
        capabilities: Capabilities,
        grace: float,
        size: TerminalSize,
    ) -> None:
        super().__init__(raw, argv, backend, capabilities, grace)
        self.input = ProcessInput(raw.stdin, "terminal input", backend, capabilities.stdin_eof)
        self.output = ProcessOutput(raw.stdout, "terminal output")
        self._size = size

    async def __aenter__(self) -> Terminal:
        return self

    @property
    def size(self) -> TerminalSize:
        return self._size

    async def resize(self, rows: int | TerminalSize, cols: int | None = None) -> None:
        """Resize the terminal; the process gets SIGWINCH."""
        size = rows if isinstance(rows, TerminalSize) else check_size((rows, cols))
        if not self._caps.pty_resize:
            raise NotSupported(self._backend, "resizing a terminal")
        status = self._raw.poll()
        if status is not None:
            raise ProcessExited(f"cannot resize the terminal: the process has exited ({status})")
        await self._raw.resize(size)
        self._size = size

    async def _close_streams(self) -> None:
        await self.input._release()
        await self.output.aclose()
