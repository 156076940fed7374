"""Our own stdin/stdout/stderr as async byte pumps, on asyncio and trio alike.

Writing to our stdout or stderr never blocks the event loop (the sandbox connection and the
timers share it): a write that may block runs on a daemon thread of its own. We do not set
``O_NONBLOCK`` on them: the flag belongs to the open file description, which a terminal or
a pipe shares with other processes (the shell, the rest of a pipeline), and would make
their writes fail with EAGAIN.
"""

from __future__ import annotations

import asyncio
import errno
import math
import os
import queue
import select
import stat
import threading
from collections.abc import Callable

import anyio
import sniffio
from anyio.abc import ByteReceiveStream, ByteSendStream

from .._errors import NotSupported, StreamBroken, StreamClosed

STDIN, STDOUT, STDERR = 0, 1, 2
_CHUNK = 65536
#: What one write to our output takes at most: fewer hops to the writer thread.
_OUT_CHUNK = 4 * _CHUNK


def _pollable(fd: int) -> bool:
    # epoll refuses regular files (and /dev/null): those never block, read them directly.
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or (stat.S_ISCHR(mode) and os.isatty(fd))


async def read_fd(fd: int) -> bytes:
    """Read what is available on ``fd`` without blocking the event loop; ``b""`` at EOF."""
    if _pollable(fd):
        await anyio.wait_readable(fd)
    else:
        await anyio.lowlevel.checkpoint()
    while True:
        try:
            return os.read(fd, _CHUNK)
        except BlockingIOError:  # an inherited O_NONBLOCK descriptor: wait and retry
            await anyio.wait_readable(fd)
        except OSError as exc:
            # EIO: the terminal hung up; EBADF: no stdin at all. Both mean the end.
            if exc.errno in (errno.EIO, errno.EBADF):
                return b""
            raise


def _write_all(fd: int, data: bytes) -> None:
    """Blocking write of all of ``data`` (on a writer thread)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # an inherited O_NONBLOCK descriptor
            select.select([], [fd], [])


class _Writer:
    """A daemon thread writing to one fd, so that a stuck reader blocks only the thread.
    Daemon: a write that never completes (an abandoned reader) does not keep us alive."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._jobs: queue.SimpleQueue[tuple[bytes, Callable[[OSError | None], None]]]
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._run, name=f"sandlot-write-{fd}", daemon=True).start()

    def _run(self) -> None:
        while True:
            data, reply = self._jobs.get()
            try:
                _write_all(self._fd, data)
            except OSError as exc:
                reply(exc)
            else:
                reply(None)

    async def write(self, data: bytes) -> None:
        done = anyio.Event()
        outcome: list[OSError | None] = []
        call_soon = _call_soon_threadsafe()

        def reply(error: OSError | None) -> None:
            outcome.append(error)
            try:
                call_soon(done.set)
            except RuntimeError:
                pass  # the event loop has finished: nobody waits any more

        self._jobs.put((data, reply))
        await done.wait()  # cancellable: the thread finishes (or never finishes) alone
        if outcome[0] is not None:
            raise outcome[0]


def _call_soon_threadsafe() -> Callable[[Callable[[], object]], object]:
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
    return asyncio.get_running_loop().call_soon_threadsafe


_writers: dict[int, _Writer] = {}


async def write_fd(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` without blocking the event loop. A slow reader of
    our output slows down how fast we read the process's output (backpressure).
    Raises ``BrokenPipeError`` when our reader has gone away."""
    if not _pollable(fd):
        # Regular files and /dev/null: the page cache takes the write at once.
        await anyio.lowlevel.checkpoint()
        _write_all(fd, data)
        return
    if not os.get_blocking(fd):  # inherited non-blocking: wait in the loop itself
        view = memoryview(data)
        while view:
            await anyio.wait_writable(fd)
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                pass
        return
    writer = _writers.get(fd)
    if writer is None:
        writer = _writers[fd] = _Writer(fd)
    await writer.write(data)


class _Pump:
    def __init__(self, stream: ByteReceiveStream, fd: int, owner: OutputPumps) -> None:
        self.stream = stream
        self.fd = fd
        self.owner = owner
        self.done = False
        #: Since when it has been waiting for the process's output (None: busy writing).
        self.waiting_since: float | None = None

    async def run(self) -> None:
        broken = False
        try:
            while True:
                self.waiting_since = anyio.current_time()
                self.owner.changed()
                try:
                    chunk = await self.stream.receive(_OUT_CHUNK)
                except anyio.EndOfStream:
                    break
                self.waiting_since = None
                if broken:
                    continue  # drained and dropped: the process is not stuck on a full pipe
                try:
                    await write_fd(self.fd, chunk)
                except (BrokenPipeError, ConnectionResetError):
                    broken = True
                    self.owner.broken.set()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, StreamClosed):
            pass
        finally:
            self.done = True
            self.owner.changed()


class OutputPumps:
    """Copies a process's output streams to our fds, and knows when they went quiet.

    The drain rule after the process exits (``settle``): its output streams end when the
    last process holding them (a background child) closes them, so we copy until then,
    however slow our reader. Time spent writing to our reader never counts as quiet; only
    time all streams spent waiting for the process, with nothing coming.
    """

    def __init__(self) -> None:
        self._pumps: list[_Pump] = []
        self._changed = anyio.Event()
        #: Set when writing to one of our fds failed with EPIPE (our reader went away).
        self.broken = anyio.Event()

    def start(self, tg: anyio.abc.TaskGroup, stream: ByteReceiveStream, fd: int) -> None:
        pump = _Pump(stream, fd, self)
        self._pumps.append(pump)
        tg.start_soon(pump.run)

    def changed(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def settle(self, quiet: float) -> bool:
        """True once every stream has ended; False once they were all waiting for output,
        with nothing coming, for ``quiet`` seconds."""
        while True:
            changed = self._changed
            live = [p.waiting_since for p in self._pumps if not p.done]
            if not live:
                return True
            left = math.inf
            if None not in live:
                left = max(t for t in live if t is not None) + quiet - anyio.current_time()
                if left <= 0:
                    return False
            with anyio.move_on_after(left):
                await changed.wait()


async def copy_in(fd: int, stream: ByteSendStream, *, eof: bool = True) -> None:
    """Copy ``fd`` to ``stream`` until EOF, then close ``stream`` (EOF to the process)."""
    try:
        while chunk := await read_fd(fd):
            await stream.send(chunk)
        if eof:
            await stream.aclose()
    except (StreamBroken, StreamClosed):
        pass  # the process stopped reading
    except NotSupported as exc:
        await write_fd(STDERR, f"sandlot: warning: {exc}\n".encode())
