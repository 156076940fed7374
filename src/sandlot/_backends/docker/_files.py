"""``read_file`` / ``write_file`` through the Engine's archive API (tar), with the local
backend's errors.

The Engine reads and writes the container's filesystem layers: a file under a ``tmpfs``
mount is not what the archive API sees (moby #22020).
"""

from __future__ import annotations

import base64
import errno
import io
import json
import os
import posixpath
import tarfile
import time

from ..._errors import FileError, FileNotFound
from ._engine import Engine, container_path
from ._errors import EngineError

__all__ = ["read", "write"]

_MAX_LINKS = 16


def _error(code: int, path: str) -> FileError:
    cls = FileNotFound if code == errno.ENOENT else FileError
    return cls(code, f"{os.strerror(code)}: {path!r}")


def _file_error(exc: EngineError, path: str) -> FileError:
    text = str(exc).lower()
    if exc.status == 404:
        return _error(errno.ENOENT, path)
    if "not a directory" in text:
        return _error(errno.ENOTDIR, path)
    if exc.status == 403 or "permission denied" in text or "read-only" in text:
        return _error(errno.EACCES, path)
    return FileError(errno.EIO, f"{exc}: {path!r}")


async def read(engine: Engine, container: str, path: str) -> bytes:
    target = path
    for _ in range(_MAX_LINKS):
        try:
            response = await engine.request(
                "GET", container_path(container, "archive"), params={"path": target}, what=container
            )
        except EngineError as exc:
            raise _file_error(exc, path) from None
        with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
            member = tar.next()
            if member is None:
                raise _error(errno.EIO, path)
            if member.issym():
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(target), member.linkname)
                )
                continue
            if member.isdir():
                raise _error(errno.EISDIR, path)
            f = tar.extractfile(member)
            if f is None:
                raise _error(errno.EINVAL, path)
            return f.read()
    raise _error(errno.ELOOP, path)


async def _existing_mode(engine: Engine, container: str, path: str) -> int | None:
    try:
        response = await engine.request(
            "HEAD", container_path(container, "archive"), params={"path": path}, what=container
        )
    except EngineError:
        return None
    stat = response.headers.get("X-Docker-Container-Path-Stat")
    if not stat:
        return None
    mode = json.loads(base64.b64decode(stat)).get("mode")
    return int(mode) & 0o777 if isinstance(mode, int) else None


async def write(engine: Engine, container: str, path: str, data: bytes, mode: int | None) -> None:
    """Create or replace ``path``; with no ``mode``, an existing file keeps its own."""
    directory, name = posixpath.split(path)
    if not name:
        raise _error(errno.EISDIR, path)
    if mode is None:
        mode = await _existing_mode(engine, container, path)
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644 if mode is None else mode
    info.mtime = int(time.time())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
    try:
        await engine.request(
            "PUT",
            container_path(container, "archive"),
            params={"path": directory or "/"},
            content=buf.getvalue(),
            what=container,
        )
    except EngineError as exc:
        raise _file_error(exc, path) from None
