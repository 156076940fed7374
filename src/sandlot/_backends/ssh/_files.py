"""``read_file`` / ``write_file`` over SFTP, with the local backend's errors."""

from __future__ import annotations

import asyncio
import errno
import functools
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator

import asyncssh

from ..._errors import FileError, FileNotFound

__all__ = ["CONNECTION_ERRORS", "error_of", "read", "write"]

#: Errors of the connection or channel under an SFTP call, not of the file. A request
#: sent just after the channel closed fails with SFTPNoConnection ("Connection not open").
CONNECTION_ERRORS = (
    OSError,
    asyncssh.DisconnectError,
    asyncssh.ChannelOpenError,
    asyncssh.SFTPConnectionLost,
    asyncssh.SFTPNoConnection,
)


async def error_of(sftp: asyncssh.SFTPClient, exc: asyncssh.SFTPError, path: str) -> FileError:
    """The FileError for ``exc`` on ``path``; re-raises an error of the connection."""
    if isinstance(exc, CONNECTION_ERRORS):
        raise exc  # not a file's error: the transport reports the lost connection
    if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        return FileNotFound(errno.ENOENT, f"{os.strerror(errno.ENOENT)}: {path!r}")
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return FileError(errno.EACCES, f"{os.strerror(errno.EACCES)}: {path!r}")
    # SFTP reports EISDIR as a generic failure: ask (only on this error path).
    try:
        if await sftp.isdir(path):
            return FileError(errno.EISDIR, f"{os.strerror(errno.EISDIR)}: {path!r}")
    except asyncssh.SFTPError:
        pass
    return FileError(errno.EIO, f"{exc.reason}: {path!r}")


#: A request size every server takes (asyncssh's default without the limits extension).
SAFE_LEN = 16 << 10
#: Bytes in flight per transfer, and the bounds on requests in flight (as asyncssh's own).
IN_FLIGHT_BYTES = 4 << 20
MIN_REQUESTS, MAX_REQUESTS = 16, 128


def _requests(chunk: int) -> int:
    return max(MIN_REQUESTS, min(IN_FLIGHT_BYTES // chunk, MAX_REQUESTS))


async def _each(jobs: Iterator[Callable[[], Awaitable[None]]], requests: int) -> None:
    """Await every job, ``requests`` at a time.

    asyncssh's own parallel reader and writer re-raise the first error that is neither an
    SFTPError nor an OSError (its ConnectionLost, when the peer closes) and leave the other
    requests' tasks running, their errors never retrieved. Here the first error cancels the
    rest and is raised once every request has ended, each one's error retrieved.
    """

    async def worker() -> None:
        for job in jobs:  # shared: each job is taken by one worker
            await job()

    try:
        async with asyncio.TaskGroup() as tg:
            for _ in range(requests):
                tg.create_task(worker())
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None


async def _read_all(f: asyncssh.SFTPClientFile, chunk: int) -> bytes:
    """The whole file: the size it has now, in parallel requests, and among them one that
    reads on from that size (a file that grows, or a /proc file whose size says 0)."""
    size = (await f.stat()).size or 0
    data = bytearray(size)
    tail = bytearray()
    end = size  # where the file ended, if before its size

    async def part(offset: int) -> None:
        nonlocal end
        want = min(chunk, size - offset)
        got = 0
        while got < want:  # a server may answer with less than asked for
            piece: bytes = await f.read(want - got, offset + got)
            if not piece:
                end = min(end, offset + got)
                return
            data[offset + got : offset + got + len(piece)] = piece
            got += len(piece)

    async def rest() -> None:
        while True:
            piece: bytes = await f.read(chunk, size + len(tail))
            if not piece:
                return
            tail.extend(piece)

    parts = (functools.partial(part, offset) for offset in range(0, size, chunk))
    await _each(itertools.chain(parts, [rest]), _requests(chunk))
    return bytes(data[:end]) if end < size else bytes(data + tail)


async def _write_all(f: asyncssh.SFTPClientFile, data: bytes, chunk: int) -> None:
    async def part(offset: int) -> None:
        await f.write(data[offset : offset + chunk], offset)

    parts = (functools.partial(part, offset) for offset in range(0, len(data), chunk))
    await _each(parts, _requests(chunk))


async def read(conn: asyncssh.SSHClientConnection, path: str) -> bytes:
    """(loop side) The contents of ``path``."""
    async with conn.start_sftp_client() as sftp:
        try:
            # block_size=0: each read is one request; _each runs them in parallel.
            async with sftp.open(path, "rb", block_size=0) as f:
                return await _read_all(f, sftp.limits.max_read_len or SAFE_LEN)
        except asyncssh.SFTPError as exc:
            raise await error_of(sftp, exc, path) from None


async def write(
    conn: asyncssh.SSHClientConnection, path: str, data: bytes, mode: int | None
) -> None:
    """(loop side) Create or truncate ``path`` with ``data``; ``mode`` as given."""
    attrs = asyncssh.SFTPAttrs(permissions=0o644 if mode is None else mode)
    async with conn.start_sftp_client() as sftp:
        try:
            async with sftp.open(path, "wb", attrs, block_size=0) as f:
                await _write_all(f, data, sftp.limits.max_write_len or SAFE_LEN)
                if mode is not None:
                    # The umask applied at creation, and an existing file kept its mode.
                    await f.chmod(mode)
        except asyncssh.SFTPError as exc:
            raise await error_of(sftp, exc, path) from None
