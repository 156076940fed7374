"""The local backend: processes on this machine, each the leader of its own process group."""

from __future__ import annotations

import os
import signal as _signal
import subprocess
import sys

import anyio
from anyio.abc import Process as AnyioProcess

from .._errors import FileError, FileNotFound, InvalidSandboxURL
from .._launcher import from_os_error
from .._records import Capabilities, ExitStatus
from .._transport import ClosedInput, FailedLaunch, LaunchSpec, RawProcess, Transport
from .._url import SandboxURL
from ..backends import Backend
from ._local_pty import start_pty
from ._posix import GroupSignaller, ignored_signals, refuse_too_large, with_default_signals


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
        argv: list[str] = list(spec.argv)
        ignored = ignored_signals() if sys.executable else []
        report = write_end = -1
        if ignored:
            report, write_end = os.pipe()
            argv = with_default_signals(argv, ignored, write_end)
        try:
            # Shielded: a cancellation mid-spawn must not lose the handle of a started child.
            with anyio.CancelScope(shield=True):
                proc = await anyio.open_process(
                    argv,
                    stdin=subprocess.PIPE if spec.stdin else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=spec.cwd,
                    env=environment(spec),
                    start_new_session=True,
                    pass_fds=() if write_end < 0 else (write_end,),
                )
        except OSError as exc:
            refuse_too_large(exc)
            return FailedLaunch(from_os_error(exc, spec))
        finally:
            if write_end >= 0:
                os.close(write_end)
        if report >= 0:
            with anyio.CancelScope(shield=True):
                failure = await _exec_failure(report)
                if failure is not None:
                    await proc.wait()
                    await proc.aclose()
                    return FailedLaunch(from_os_error(failure, spec))
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


async def _exec_failure(fd: int) -> OSError | None:
    """What `with_default_signals` reported on ``fd``: None once its exec succeeded."""
    os.set_blocking(fd, False)
    data = b""
    try:
        while True:
            await anyio.wait_readable(fd)
            chunk = os.read(fd, 16)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if not data:
        return None
    code = int(data)
    return OSError(code, os.strerror(code))  # the subclass errno names (FileNotFoundError)


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
