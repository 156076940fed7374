"""The local backend: processes on this machine, each the leader of its own process group."""

from __future__ import annotations

import errno
import os
import signal as _signal
import subprocess

import anyio
from anyio.abc import Process as AnyioProcess

from .._errors import FileError, FileNotFound, InvalidSandboxURL
from .._launcher import from_os_error
from .._records import Capabilities, ExitStatus
from .._transport import ClosedInput, FailedLaunch, LaunchSpec, RawProcess, Transport
from .._url import SandboxURL
from .._validate import MAX_ARG_BYTES, command_line_too_large
from ..backends import Backend
from ._local_pty import start_pty


def refuse_too_large(exc: OSError) -> None:
    """Raise E2BIG as the bad input it is (nothing was launched), as every backend does."""
    if exc.errno == errno.E2BIG:
        raise command_line_too_large(
            f"one argument or environment string may hold at most {MAX_ARG_BYTES} bytes, "
            f"and all of them {os.sysconf('SC_ARG_MAX')} bytes together (exec's limits)"
        ) from None


def signal_group(pgid: int, sig: _signal.Signals) -> bool:
    """Signal a process group; False when it has no member left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a member of another user (a setuid program): the rest got it
    return True


class GroupSignaller:
    """Signals the group a child leads, also after the child exited, until it is empty.

    The group id is the leader's pid, which Linux can hand out again only once no process
    is left in the group. So the group is signalled while it may have members, and never
    again once a signal after the leader's exit finds it empty (an empty group never
    refills): a later sweep cannot hit a newer group that recycled the number.
    """

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.gone = False

    def signal(self, sig: _signal.Signals, leader_exited: bool) -> None:
        if not self.gone and not signal_group(self.pgid, sig) and leader_exited:
            self.gone = True


class LocalProcess(RawProcess):
    def __init__(self, proc: AnyioProcess) -> None:
        self._proc = proc
        assert proc.stdout and proc.stderr
        self.stdin = proc.stdin or ClosedInput()
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self._group = GroupSignaller(proc.pid)

    async def wait_ready(self) -> None:
        pass  # exec() succeeded, so the command runs: nothing to wait for

    async def wait(self) -> ExitStatus:
        return ExitStatus.from_returncode(await self._proc.wait())

    def poll(self) -> ExitStatus | None:
        rc = self._proc.returncode
        return None if rc is None else ExitStatus.from_returncode(rc)

    async def signal(self, sig: _signal.Signals) -> None:
        self._group.signal(sig, self.poll() is not None)
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await self._proc.aclose()


def environment(spec: LaunchSpec) -> dict[str, str] | None:
    return {**os.environ, **spec.env} if spec.env else None


class LocalTransport(Transport):
    """Runs processes on this machine."""

    name = "local"
    capabilities = Capabilities()

    async def start(self, spec: LaunchSpec) -> RawProcess:
        if spec.pty is not None:
            return start_pty(spec, environment(spec))
        try:
            # Shielded: a cancellation mid-spawn must not lose the handle of a started child.
            with anyio.CancelScope(shield=True):
                proc = await anyio.open_process(
                    list(spec.argv),
                    stdin=subprocess.PIPE if spec.stdin else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=spec.cwd,
                    env=environment(spec),
                    start_new_session=True,
                )
        except OSError as exc:
            refuse_too_large(exc)
            return FailedLaunch(from_os_error(exc, spec))
        return LocalProcess(proc)

    async def read_file(self, path: str) -> bytes:
        try:
            return await anyio.Path(path).read_bytes()
        except OSError as exc:
            raise file_error(exc, path) from None

    async def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        def write() -> None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            fd = os.open(path, flags, 0o644 if mode is None else mode)
            try:
                if mode is not None:
                    os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)

        try:
            await anyio.to_thread.run_sync(write)
        except OSError as exc:
            raise file_error(exc, path) from None


def file_error(exc: OSError, path: str) -> FileError:
    cls = FileNotFound if isinstance(exc, FileNotFoundError) else FileError
    return cls(exc.errno, f"{exc.strerror}: {path!r}")


def _parse_url(url: str) -> SandboxURL:
    if url not in ("local", "local://"):
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: use plain 'local'")
    return SandboxURL("local")


async def connect(url: SandboxURL, options: None) -> LocalTransport:
    return LocalTransport()


backend = Backend(
    name="local",
    schemes=("local",),
    url_syntax="local",
    connect=f"{__name__}:connect",
    parse_url=_parse_url,
    capabilities=LocalTransport.capabilities,
)
