"""The SSH transport: processes and files on a host reached with asyncssh."""

from __future__ import annotations

import errno
import signal as _signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import asyncssh

from ..._bridge import AsyncioBridge
from ..._errors import ConnectionLost, FileError, InvalidArgument
from ..._transport import LaunchSpec, RawProcess, Transport
from ..._url import SandboxURL
from ..._validate import MAX_ARG_BYTES, command_line_too_large
from . import _files, backend
from ._launcher import build_command, kill_command
from ._options import SSHOptions
from ._pool import Conn, Pool, lost, open_with_retry
from ._process import SSHProcess
from ._url import address

__all__ = ["SSHTransport", "connect"]

T = TypeVar("T")


class SSHTransport(Transport):
    """Runs processes on an SSH host, each in its own process group."""

    name = "ssh"
    capabilities = backend.capabilities

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._bridge = pool.bridge

    async def start(self, spec: LaunchSpec) -> RawProcess:
        command = build_command(spec)
        try:
            size = len(command.encode())  # asyncssh sends it as UTF-8: check it here
        except UnicodeEncodeError as exc:
            raise InvalidArgument(
                f"cannot send {exc.object[exc.start : exc.end]!r} to the SSH host: "
                "the command and environment must be encodable as UTF-8"
            ) from None
        if size > MAX_ARG_BYTES:
            # sshd runs it as `$SHELL -c <command>`: one argument, so the remote exec
            # refuses more (and past sshd's 256 KiB packet limit, sshd drops the whole
            # connection with every process on it). Refuse it before anything is sent.
            raise command_line_too_large(
                f"{size} bytes once quoted for the SSH host (arguments, environment and "
                f"sandlot's launcher), over its limit of {MAX_ARG_BYTES} bytes (sshd hands "
                "the whole line to the remote shell as one argument)"
            )
        for attempt in range(2):
            conn = await self._pool.acquire()
            proc = SSHProcess(spec, conn, self._bridge, self._signal)
            try:
                # Once the request is out, the process may run and only this handle can
                # stop it: a caller that gives up (its deadline, a frozen server) leaves
                # the open to finish on the loop, which then stops what it started.
                await self._bridge.call_or_abandon(
                    open_with_retry, conn, lambda p=proc: p.open(command), abandon=proc.abandon
                )
            except ConnectionLost:
                self._pool.release(conn)
                if attempt:
                    raise
                continue  # a connection that died while idle: reconnect once
            except Exception:
                self._pool.release(conn)
                raise
            # (Abandoned, the caller's cancellation: proc.abandon releases the channel.)
            return proc
        raise AssertionError("unreachable")

    async def _signal(self, conn: Conn, pgid: int, sig: _signal.Signals) -> None:
        await self._pool.control(conn, kill_command(pgid, sig))

    async def read_file(self, path: str) -> bytes:
        return await self._sftp(_files.read, path)

    async def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        await self._sftp(_files.write, path, data, mode)

    async def _sftp(self, op: Callable[..., Awaitable[T]], *args: Any) -> T:
        conn = await self._pool.acquire()

        async def run() -> T:
            try:
                return await op(conn.ssh, *args)
            except FileError:
                raise
            except (OSError, asyncssh.Error) as exc:
                if isinstance(exc, _files.CONNECTION_ERRORS) or conn.ssh.is_closed():
                    raise lost(conn) from exc
                raise FileError(errno.EIO, f"SFTP failed: {exc}: {args[0]!r}") from exc

        try:
            return await self._bridge.call(run)
        finally:
            self._pool.release(conn)

    async def aclose(self) -> None:
        await self._pool.aclose()
        await self._bridge.aclose()


async def connect(url: SandboxURL, options: SSHOptions) -> SSHTransport:
    """Connect to ``url`` now, so a bad host, key or credential fails at open."""
    host, port, user = address(url)
    bridge = AsyncioBridge()
    pool = Pool(bridge, options, host, port, user)
    try:
        conn = await pool.connect()
        pool.conns.append(conn)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await bridge.aclose()
        raise
    return SSHTransport(pool)
