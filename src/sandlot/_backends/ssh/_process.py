"""One remote process on one SSH channel: its streams, ``ready``, exit record and signals.

The asyncssh session callbacks run on the library's asyncio loop (a thread of its own
under trio). They append output to a bounded buffer under a lock; the caller takes
everything that is there without a thread hop, and is only woken (one hop) when it
waits on an empty buffer. A full buffer pauses the channel, so the SSH window closes
and a slow reader slows the remote producer (see :meth:`SSHProcess._resume` for how the
window stays closed).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import signal as _signal
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import asyncssh
from anyio.abc import ByteReceiveStream, ByteSendStream

from ..._bridge import AsyncioBridge
from ..._errors import ConnectionLost
from ..._launcher import Failed, Output, Parser, Ready, launch_error
from ..._records import ExitStatus, TerminalSize
from ..._transport import LaunchSpec, RawProcess, send_terminal_eof
from ._launcher import kill_command

if TYPE_CHECKING:
    from ._pool import Conn

__all__ = ["SSHProcess", "Signaller"]

logger = logging.getLogger("sandlot.ssh")

#: Sends a signal to a process group over a control channel: ``(conn, pgid, signal)``.
Signaller = Callable[["Conn", int, _signal.Signals], Awaitable[None]]

#: The asyncssh channel window: its 2 MiB default is the fastest on loopback.
_WINDOW = 2 << 20
#: Output buffered per stream before the channel is paused (then the SSH window fills);
#: one window's worth, like asyncssh's own streams.
_BUFFER_LIMIT = _WINDOW
#: The channel resumes once the reader has brought a full buffer down to this: low, as
#: each resume re-opens the whole window (see SSHProcess._resume), high enough that the
#: reader still has data while the resume hops to the loop.
_RESUME_AT = _BUFFER_LIMIT // 4
#: Launcher output kept while looking for its report line.
_MAX_PREAMBLE = 64 * 1024
#: Stopping a process whose start was abandoned: how long the kill may take, then how
#: long its exit and the channel's close may take to arrive before the channel is closed.
_ABANDONED_KILL_WAIT = 10.0
_ABANDONED_CLOSE_WAIT = 2.0


class _Link:
    """What both sides share: the lock, the loop, and how to wake the caller."""

    def __init__(self, bridge: AsyncioBridge) -> None:
        self.lock = threading.Lock()
        self.bridge = bridge
        self.token = bridge.caller_token()
        self._pending: list[Callable[[], object]] = []  # loop side only

    def wake(self, event: anyio.Event | None) -> None:
        """From the loop side: set ``event`` in the caller's loop."""
        if event is not None:
            self.call(event.set)

    def call(self, fn: Callable[[], object]) -> None:
        """From the loop side: run ``fn()`` in the caller's loop."""
        if self.bridge.native:
            fn()
            return
        # One hop for everything this socket read produced (data, EOF, exit, close, the
        # freed channel): each hop costs the caller's loop a wake-up.
        self._pending.append(fn)
        if len(self._pending) == 1:
            self.bridge.loop.call_soon(self._hop)

    def _hop(self) -> None:
        calls, self._pending = self._pending, []
        with contextlib.suppress(RuntimeError):  # the caller's loop has finished
            self.bridge.to_caller(self.token, _call_all, calls)


def _call_all(calls: list[Callable[[], object]]) -> None:
    for fn in calls:
        fn()


class _Inbox(ByteReceiveStream):
    """Output of one stream, fed by the loop side, read by the caller."""

    def __init__(self, link: _Link, on_drained: Callable[[], None]) -> None:
        self._link = link
        self._on_drained = on_drained
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: anyio.Event | None = None
        self._closed = False
        self.full = False

    # -- loop side --
    def feed(self, data: bytes) -> bool:
        """Queue ``data``; returns True when the buffer just became full."""
        with self._link.lock:
            if self._closed:
                return False
            self._chunks.append(data)
            self._size += len(data)
            became_full = not self.full and self._size >= _BUFFER_LIMIT
            if became_full:
                self.full = True
            waiter, self._waiter = self._waiter, None
        self._link.wake(waiter)
        return became_full

    def end(self, error: BaseException | None = None) -> None:
        with self._link.lock:
            if self._eof:
                return
            self._eof = True
            self._error = error
            waiter, self._waiter = self._waiter, None
        self._link.wake(waiter)

    # -- caller side --
    async def receive(self, max_bytes: int = 65536) -> bytes:
        # Cancellation only before anything is taken: a cancelled receive loses no data.
        await anyio.lowlevel.checkpoint_if_cancelled()
        while True:
            with self._link.lock:
                if self._closed:
                    raise anyio.ClosedResourceError
                if self._chunks:
                    data = self._take(max_bytes)
                    drained = self.full and self._size <= _RESUME_AT
                    if drained:
                        self.full = False
                    waiter = None
                elif self._error is not None:
                    raise self._error
                elif self._eof:
                    raise anyio.EndOfStream
                else:
                    waiter = self._waiter = anyio.Event()
            if waiter is None:
                if drained:
                    self._on_drained()
                await anyio.lowlevel.cancel_shielded_checkpoint()
                return data
            await waiter.wait()

    def _take(self, max_bytes: int) -> bytes:
        chunks = self._chunks
        first = chunks[0]
        if len(first) >= max_bytes or len(chunks) == 1:
            if len(first) > max_bytes:
                chunks[0] = first[max_bytes:]
                first = first[:max_bytes]
            else:
                chunks.popleft()
            self._size -= len(first)
            return first
        out = []
        room = max_bytes
        while chunks and room > 0:
            c = chunks[0]
            if len(c) > room:
                chunks[0] = c[room:]
                c = c[:room]
            else:
                chunks.popleft()
            out.append(c)
            room -= len(c)
        data = b"".join(out)
        self._size -= len(data)
        return data

    async def aclose(self) -> None:
        with self._link.lock:
            was_full = self.full
            self._closed = True
            self._chunks.clear()
            self._size = 0
            self.full = False
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.set()  # a pending receive ends with ClosedResourceError
        if was_full:
            self._on_drained()  # later output is discarded; do not stall the channel
        await anyio.lowlevel.checkpoint()


class _Stdin(ByteSendStream):
    def __init__(self, proc: SSHProcess) -> None:
        self._proc = proc
        self._closed = False

    async def send(self, item: bytes) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        p = self._proc
        if p.pty:
            # A pty echoes input: hold it until the launcher's report line has passed.
            await p.started.wait()
        await p.bridge.call(p.write, bytes(item))

    async def aclose(self) -> None:
        if self._closed:
            return
        p = self._proc
        if p.pty:
            await send_terminal_eof(self.send)
        elif p.spec.stdin:  # else the command reads /dev/null: nothing to send
            p.bridge.call_soon(p.write_eof)
        self._closed = True
        if p.pty or p.spec.stdin:
            await anyio.lowlevel.checkpoint()


class _Session(asyncssh.SSHClientSession[bytes]):
    """asyncssh callbacks (loop side), forwarded to the process."""

    def __init__(self, proc: SSHProcess) -> None:
        self._p = proc

    def connection_made(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:
        self._p.chan = chan

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self._p.on_data(data, datatype)

    def eof_received(self) -> bool:
        self._p.on_eof(None)
        return True  # stay half-open: the process may still read its stdin

    def exit_status_received(self, status: int) -> None:
        self._p.on_exit(ExitStatus(code=status))

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        try:
            status = ExitStatus(signal=_signal.Signals[f"SIG{signal}"])
        except KeyError:
            status = ExitStatus(code=255)  # a signal this machine has no name for
        self._p.on_exit(status)

    def pause_writing(self) -> None:
        self._p.can_write.clear()

    def resume_writing(self) -> None:
        self._p.can_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._p.on_closed(exc)


class SSHProcess(RawProcess):
    """A process started by the launcher on its own channel."""

    def __init__(
        self, spec: LaunchSpec, conn: Conn, bridge: AsyncioBridge, signaller: Signaller
    ) -> None:
        self.spec = spec
        self.pty = spec.pty is not None
        self.conn = conn
        self.bridge = bridge
        self._signaller = signaller
        self._link = link = _Link(bridge)
        self.chan: asyncssh.SSHClientChannel[bytes] | None = None
        self._out = _Inbox(link, self._drained)
        self._err = _Inbox(link, self._drained)
        self.stdin = _Stdin(self)
        self.stdout = self._out
        self.stderr = None if self.pty else self._err
        self._report = Parser(max_preamble=_MAX_PREAMBLE)
        self.started = anyio.Event()  # the launcher reported (or failed, or the link died)
        self._pgid: int | None = None
        self._launch_error: BaseException | None = None
        self._status: ExitStatus | None = None
        self._exited = anyio.Event()
        self._lost: BaseException | None = None
        self._closed = False
        self.channel_gone = False  # set on the loop side when the channel has closed
        self._resuming = False  # loop side: resume_reading is delivering asyncssh's buffer
        self.can_write = asyncio.Event()  # loop side: False while the SSH window is full
        self.can_write.set()
        self._reported = asyncio.Event()  # loop side: the launcher reported, or never will
        self._gone = asyncio.Event()  # loop side: the channel has closed

    # -- loop side --
    async def open(self, command: str) -> None:
        size = self.spec.pty
        kw: dict[str, Any] = {"encoding": None, "window": _WINDOW}
        if size is not None:
            kw.update(term_type="xterm-256color", term_size=(size.cols, size.rows))
        await self.conn.ssh.create_session(lambda: _Session(self), command, **kw)

    def on_data(self, data: bytes, datatype: asyncssh.DataType) -> None:
        marker_stream = datatype is None if self.pty else datatype == asyncssh.EXTENDED_DATA_STDERR
        if marker_stream and not self._report.done:
            events, data = self._report.feed(data), b""
            for event in events:
                if isinstance(event, Ready):
                    self._pgid = event.pid
                    # Ready once the connection's guardian knows the session.
                    self.conn.guardian.add(self._pgid, lambda: self._link.wake(self.started))
                    self._reported.set()
                elif isinstance(event, Failed):
                    self._fail_launch(launch_error(event, self.spec))
                elif isinstance(event, Output):
                    data = event.data
            if not data:
                return
        inbox = self._err if datatype == asyncssh.EXTENDED_DATA_STDERR else self._out
        if inbox.feed(data) and self.chan is not None and not self._resuming:
            self.chan.pause_reading()

    def _fail_launch(self, error: BaseException) -> None:
        if self._launch_error is None and self._pgid is None:
            self._launch_error = error
        self._reported.set()
        self._link.wake(self.started)

    def on_eof(self, error: BaseException | None) -> None:
        failure = self._report.end()
        if failure is not None:
            self._fail_launch(launch_error(failure, self.spec))
        self._out.end(error)
        self._err.end(error)

    def on_exit(self, status: ExitStatus) -> None:
        self._status = status
        if self.channel_gone:
            self._unguard()
        self._link.wake(self._exited)

    def on_closed(self, exc: Exception | None) -> None:
        if exc is not None:
            self._lost = lost = ConnectionLost(f"the SSH connection to {self.conn.where} was lost")
            if self._pgid is None and self._launch_error is None:
                self._launch_error = lost
            self.on_eof(lost)
            self.can_write.set()
        else:
            self.on_eof(None)
        self.channel_gone = True
        self._reported.set()
        self._gone.set()
        if self._status is not None or exc is not None:
            self._unguard()
        self._link.wake(self.started)
        self._link.wake(self._exited)
        self._link.call(lambda: self.conn.pool.release(self.conn))

    async def abandon(self) -> None:
        """The caller gave up while the channel was opening, and the open has ended: stop
        the process once the launcher reports it, then close the channel."""
        if self.chan is None:  # never opened: no channel will report its end
            self._link.call(lambda: self.conn.pool.release(self.conn))
            return
        try:
            await self._reported.wait()  # at the latest when the channel closes
            pgid = self._pgid
            if pgid is None or self.conn.ssh.is_closed():
                return  # it never started, or the guardian stops it with the connection
            argv = list(self.spec.argv)
            try:
                kill = self.conn.run_quick(kill_command(pgid, _signal.SIGKILL))
                await asyncio.wait_for(kill, _ABANDONED_KILL_WAIT)
            except Exception as exc:
                logger.warning(
                    "could not stop %r (process group %d), whose start the caller gave up "
                    "on: %s; the connection's guardian stops it when the connection ends",
                    argv,
                    pgid,
                    exc or type(exc).__name__,
                )
                return
            logger.info(
                "stopped %r (process group %d): it started after the caller gave up on it",
                argv,
                pgid,
            )
            # Its exit status and the channel's close follow (then the guardian forgets it).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gone.wait(), _ABANDONED_CLOSE_WAIT)
        finally:
            self.close()

    def _unguard(self) -> None:
        """The process ended and nothing holds its channel (or the connection, and the
        guardian with it, is gone): the guardian need not stop its session any more."""
        if self._pgid is not None:
            self.conn.guardian.remove(self._pgid)

    def _drained(self) -> None:  # caller side: a full buffer came down to _RESUME_AT
        self.bridge.call_soon(self._resume)

    def _resume(self) -> None:
        """Resume the channel once neither buffer is full (loop side).

        asyncssh re-grants the whole window when it *delivers* data, not when the reader
        takes it: the first packet ``resume_reading`` delivers from what asyncssh buffered
        while paused tops the window up although the rest is still buffered. Pausing
        again halfway through would leave those bytes outside the window's account, and
        every later resume would open one more window on top: a slow reader let the
        producer run hundreds of MiB ahead. So the resume delivers everything asyncssh
        holds (at most one window), and only then pauses again if a buffer is full.
        Output not yet read then stays within two windows (asyncssh's buffer and the one
        granted) plus what the buffers hold at a resume: 4.5 MiB with one busy stream.
        """
        chan = self.chan
        if chan is None or self._out.full or self._err.full:
            return
        self._resuming = True
        try:
            chan.resume_reading()  # delivers asyncssh's buffer, synchronously
        finally:
            self._resuming = False
        if self._out.full or self._err.full:
            chan.pause_reading()

    async def write(self, data: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        chan = self.chan
        if chan is None or self._status is not None or chan.is_closing():
            raise anyio.BrokenResourceError("the process has exited")
        try:
            chan.write(data)
        except BrokenPipeError:
            raise anyio.BrokenResourceError("the process has exited") from None
        await self.can_write.wait()
        if self._lost is not None:
            raise self._lost

    def write_eof(self) -> None:
        chan = self.chan
        if chan is not None and not chan.is_closing():
            with contextlib.suppress(OSError):
                chan.write_eof()

    def close(self) -> None:
        if self.chan is not None:
            self.chan.close()

    # -- caller side --
    async def wait_ready(self) -> None:
        await self.started.wait()
        if self._launch_error is not None:
            raise self._launch_error

    async def wait(self) -> ExitStatus:
        await self._exited.wait()
        if self._status is not None:
            return self._status
        if self._lost is not None:
            raise self._lost
        raise ConnectionLost(
            f"the SSH server closed the channel without an exit status ({self.conn.where})"
        )

    def poll(self) -> ExitStatus | None:
        return self._status

    async def signal(self, sig: _signal.Signals) -> None:
        # Also after the exit status: the session may still hold background children.
        await self.started.wait()
        if self._pgid is None:
            if self._lost is not None:
                raise self._lost
            return  # never started: the launcher exits on its own
        # Also after the connection died: the process runs on, reach it over another.
        await self._signaller(self.conn, self._pgid, sig)

    async def resize(self, size: TerminalSize) -> None:
        chan = self.chan
        if chan is not None:
            self.bridge.call_soon(chan.change_terminal_size, size.cols, size.rows)
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if not self.channel_gone:  # else the server closed it: no hop to the loop
                self.bridge.call_soon(self.close)
        # No checkpoint: callers (exec's cleanup, Process.aclose) have their own.
