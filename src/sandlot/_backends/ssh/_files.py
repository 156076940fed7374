"""``read_file`` / ``write_file`` over SFTP, with the local backend's errors."""

from __future__ import annotations

import errno
import os

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


async def read(conn: asyncssh.SSHClientConnection, path: str) -> bytes:
    """(loop side) The contents of ``path``."""
    async with conn.start_sftp_client() as sftp:
        try:
            async with sftp.open(path, "rb") as f:
                data: bytes = await f.read()
                return data
        except asyncssh.SFTPError as exc:
            raise await error_of(sftp, exc, path) from None


async def write(
    conn: asyncssh.SSHClientConnection, path: str, data: bytes, mode: int | None
) -> None:
    """(loop side) Create or truncate ``path`` with ``data``; ``mode`` as given."""
    attrs = asyncssh.SFTPAttrs(permissions=0o644 if mode is None else mode)
    async with conn.start_sftp_client() as sftp:
        try:
            async with sftp.open(path, "wb", attrs) as f:
                await f.write(data)
                if mode is not None:
                    # The umask applied at creation, and an existing file kept its mode.
                    await f.chmod(mode)
        except asyncssh.SFTPError as exc:
            raise await error_of(sftp, exc, path) from None
