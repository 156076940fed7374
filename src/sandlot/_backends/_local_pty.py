"""A real pty on this machine: the child is a session leader with the pty as its
controlling terminal, so SIGWINCH and job control reach it."""

from __future__ import annotations

import errno
import fcntl
import os
import signal as _signal
import struct
import subprocess
import termios
from collections.abc import Callable

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from .._records import ExitStatus, TerminalSize
from .._transport import FailedLaunch, LaunchSpec, RawProcess, send_terminal_eof
from ._posix import GroupSignaller, ignored_signals, refuse_too_large, reset_signals, signal_group


def _set_size(fd: int, size: TerminalSize) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size.rows, size.cols, 0, 0))


def _child_setup(ignored: list[int]) -> Callable[[], None]:
    def setup() -> None:  # runs in the child, after setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        reset_signals(ignored)  # see `ignored_signals`

    return setup


class _Master:
    """The pty master, shared by the input and output streams; closed once both are."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.users = 2

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.fd >= 0:
            fd, self.fd = self.fd, -1
            anyio.notify_closing(fd)
            os.close(fd)


class _PtyOutput(ByteReceiveStream):
    def __init__(self, master: _Master) -> None:
        self._m = master
        self._closed = False

    async def receive(self, max_bytes: int = 65536) -> bytes:
        # Cancellation only before reading: a cancelled receive loses no data.
        await anyio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self._closed:
                raise anyio.ClosedResourceError
            try:
                data = os.read(self._m.fd, max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self._m.fd)
                continue
            except OSError as exc:
                # Linux answers EIO once every slave fd is closed: that is the end.
                if exc.errno == errno.EIO:
                    raise anyio.EndOfStream from None
                raise
            if not data:
                raise anyio.EndOfStream
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return data

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._m.release()
        await anyio.lowlevel.checkpoint()


class _PtyInput(ByteSendStream):
    def __init__(self, master: _Master) -> None:
        self._m = master
        self._closed = False

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            if self._closed:
                raise anyio.ClosedResourceError
            try:
                view = view[os.write(self._m.fd, view) :]
            except BlockingIOError:
                await anyio.wait_writable(self._m.fd)
            except OSError as exc:
                raise anyio.BrokenResourceError from exc
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """EOF on a terminal is the EOF character (^D) at the start of a line."""
        if not self._closed:
            await send_terminal_eof(self.send)
            self.release()

    def release(self) -> None:
        if not self._closed:
            self._closed = True
            self._m.release()


class PtyProcess(RawProcess):
    def __init__(self, proc: subprocess.Popen[bytes], master: int) -> None:
        self._proc = proc
        self._m = m = _Master(master)
        self.stdin: _PtyInput = _PtyInput(m)
        self.stdout = _PtyOutput(m)
        self.stderr = None
        self._pidfd = os.pidfd_open(proc.pid)
        self._group = GroupSignaller(proc.pid)

    async def wait_ready(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def wait(self) -> ExitStatus:
        while self._proc.poll() is None:
            await anyio.wait_readable(self._pidfd)
        return ExitStatus.from_returncode(self._proc.returncode)

    def poll(self) -> ExitStatus | None:
        rc = self._proc.poll()
        return None if rc is None else ExitStatus.from_returncode(rc)

    async def signal(self, sig: _signal.Signals) -> None:
        # The session leader's group, and the job the terminal has in the foreground.
        self._group.signal(sig, self.poll() is not None)
        if self._m.fd >= 0:
            try:
                fg = os.tcgetpgrp(self._m.fd)
                # Only a group of the child's own session: without a foreground job the
                # answer can be any number, and must never lead us to signal ourselves.
                if fg != self._proc.pid and os.getsid(fg) == self._proc.pid:
                    signal_group(fg, sig)
            except OSError:
                pass
        await anyio.lowlevel.checkpoint()

    async def resize(self, size: TerminalSize) -> None:
        # Setting the size on the master makes the kernel send SIGWINCH to the foreground job.
        if self._m.fd >= 0:
            _set_size(self._m.fd, size)
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self.stdin.release()
        await self.stdout.aclose()
        if self._pidfd >= 0:
            fd, self._pidfd = self._pidfd, -1
            anyio.notify_closing(fd)
            os.close(fd)


def start_pty(spec: LaunchSpec, env: dict[str, str] | None) -> RawProcess:
    from .._launcher import from_os_error

    assert spec.pty is not None
    master, slave = os.openpty()
    try:
        _set_size(slave, spec.pty)
        env = dict(os.environ if env is None else env)
        env.setdefault("TERM", "xterm-256color")
        proc = subprocess.Popen(
            list(spec.argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=spec.cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_child_setup(ignored_signals()),
            close_fds=True,
        )
    except OSError as exc:
        os.close(master)
        refuse_too_large(exc)
        return FailedLaunch(from_os_error(exc, spec), pty=True)
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return PtyProcess(proc, master)
