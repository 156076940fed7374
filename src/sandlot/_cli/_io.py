"""Our own stdin/stdout/stderr as async byte pumps, on asyncio and trio alike."""

from __future__ import annotations

import errno
import os
import stat

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from .._errors import NotSupported, StreamBroken, StreamClosed

STDIN, STDOUT, STDERR = 0, 1, 2
_CHUNK = 65536


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


def write_fd(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``. Blocking on purpose: a slow reader of our output
    slows down how fast we read the process's output (backpressure)."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            import select

            select.select([], [fd], [])
            continue
        view = view[n:]


async def copy_out(stream: ByteReceiveStream, fd: int) -> None:
    """Copy ``stream`` to ``fd`` as it arrives. If our reader went away (``| head``),
    keep draining so the process is not blocked on a full pipe."""
    broken = False
    try:
        async for chunk in stream:
            if broken:
                continue
            try:
                write_fd(fd, chunk)
            except (BrokenPipeError, ConnectionResetError):
                broken = True
    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass


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
        write_fd(STDERR, f"sandlot: warning: {exc}\n".encode())
