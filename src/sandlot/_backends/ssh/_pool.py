"""SSH connections of one Sandbox and the channels they may carry.

sshd allows ``MaxSessions`` (10) channels per connection and refuses the next one. Each
connection keeps one channel free for short control commands (``kill``), so a signal
never waits behind long-running processes, and one for its guardian (see
:mod:`._guardian`); processes take the others, and when every
connection is full a new one is opened (up to ``max_connections``), then callers queue.
A dead connection is dropped and the next call opens a fresh one.

Bookkeeping lives on the caller's side (one thread); the loop side reports closed
channels and lost connections through the bridge.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import asyncssh

from ..._bridge import AsyncioBridge
from ..._errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ConnectionLost,
    HostKeyRejected,
    HostUnreachable,
)
from . import _fastpath
from ._guardian import Guardian
from ._options import SSHOptions

__all__ = ["Conn", "Pool"]

T = TypeVar("T")

# The server frees a closed channel's session a moment after our close reaches it, so
# an open can be refused transiently right at the limit: retry with a short backoff.
_OPEN_RETRIES = 12
#: How long cleanup may spend reconnecting to signal a process whose connection died.
_CONTROL_CONNECT = 5.0
#: How long a caller waits for a busy connection's channel before opening another.
_GROW_AFTER = 0.02
_OPEN_BACKOFF = 0.005


class _Client(asyncssh.SSHClient):
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn.pool.connection_closed(self._conn)


class Conn:
    """One SSH connection and its free channel counts."""

    def __init__(self, pool: Pool, where: str) -> None:
        self.pool = pool
        self.where = where
        self.ssh: asyncssh.SSHClientConnection = None  # type: ignore[assignment]
        # One channel for control commands, one for the guardian.
        self.free = pool.opts.max_sessions - 2
        self.control = anyio.Semaphore(1)
        self.alive = True
        self.guardian = Guardian(self, open_with_retry)

    async def run_quick(self, command: str) -> None:
        """(loop side) Run a short command on a channel of its own and wait for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        class Quick(asyncssh.SSHClientSession[bytes]):
            def connection_lost(self, exc: Exception | None) -> None:
                if not done.done():
                    done.set_result(None)

        await open_with_retry(self, lambda: self.ssh.create_session(Quick, command, encoding=None))
        await done
        if self.ssh.is_closed():
            raise lost(self)


def lost(conn: Conn | Pool) -> ConnectionLost:
    return ConnectionLost(f"the SSH connection to {conn.where} was lost")


async def open_with_retry(conn: Conn, opener: Callable[[], Awaitable[T]]) -> T:
    """(loop side) Open a channel; retry a transient refusal at the session limit."""
    delay = _OPEN_BACKOFF
    for attempt in range(_OPEN_RETRIES + 1):
        if conn.ssh.is_closed():
            raise lost(conn)
        try:
            return await opener()
        except (OSError, asyncssh.DisconnectError):
            raise lost(conn) from None
        except asyncssh.ChannelOpenError as exc:
            if conn.ssh.is_closed():
                raise lost(conn) from None
            if attempt == _OPEN_RETRIES:
                raise ConnectionFailed(
                    f"{conn.where} refused a session channel: {exc.reason} (is its MaxSessions "
                    "lower than SSHOptions.max_sessions?)"
                ) from None
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    raise AssertionError("unreachable")


class Pool:
    """The connections of one Sandbox (caller side)."""

    def __init__(
        self, bridge: AsyncioBridge, opts: SSHOptions, host: str, port: int | None, user: str | None
    ) -> None:
        self.bridge = bridge
        self.opts = opts
        self.host = host
        self.port = port
        self.user = user or opts.username
        self.conns: list[Conn] = []
        self._waiters: collections.deque[anyio.Event] = collections.deque()
        self._opening = anyio.Lock()
        self._token = bridge.caller_token()
        self._closed = False
        self._released_at = -math.inf

    @property
    def where(self) -> str:
        hostport = f"[{self.host}]" if ":" in self.host else self.host
        hostport += f":{self.port}" if self.port else ""
        return f"{self.user}@{hostport}" if self.user else hostport

    # -- caller side --
    async def acquire(self) -> Conn:
        """Take a process channel on some connection, opening one if all are full."""
        while True:
            if self._closed:
                raise ConnectionLost(f"the SSH sandbox {self.where} is closed")
            self.conns[:] = [c for c in self.conns if c.alive]
            for c in self.conns:
                if c.free > 0:
                    c.free -= 1
                    return c
            grow = len(self.conns) < self.opts.max_connections and not self._opening.locked()
            # Short commands free channels quickly: wait a moment for one before paying
            # for a new connection (long-running ones then get one). One waiter is woken
            # per freed channel, in order: no stampede.
            if await self._wait_turn(_GROW_AFTER if grow else math.inf):
                continue
            if self._opening.locked():
                continue
            if anyio.current_time() - self._released_at < _GROW_AFTER:
                continue  # channels are turning over: the queue moves, a connection costs more
            async with self._opening:
                try:
                    conn = await self.connect()
                    self.conns.append(conn)
                finally:
                    self._notify()  # waiters retry: a new connection, or a new attempt

    async def _wait_turn(self, timeout: float) -> bool:
        """Wait to be woken for a freed channel; False if ``timeout`` passed first."""
        waiter = anyio.Event()
        self._waiters.append(waiter)
        try:
            with anyio.move_on_after(timeout):
                await waiter.wait()
        except BaseException:
            if waiter.is_set():
                self._wake_one()  # cancelled after being woken: pass the turn on
            raise
        finally:
            if not waiter.is_set():
                self._waiters.remove(waiter)
        return waiter.is_set()

    def _wake_one(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()

    def release(self, conn: Conn) -> None:
        conn.free += 1
        self._released_at = anyio.current_time()
        self._wake_one()

    def _notify(self) -> None:
        """Wake every waiter (a new or lost connection, or the pool closed)."""
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:
            waiter.set()

    async def connect(self) -> Conn:
        conn = Conn(self, self.where)
        conn.ssh = await self.bridge.call(self._connect, conn)
        return conn

    async def control(self, conn: Conn, command: str) -> None:
        """Run a short control command, on ``conn``'s reserved channel if it is alive,
        else on another connection: a process outlives the connection that started it."""
        if not conn.alive:
            conn = await self._any_connection()
        async with conn.control:
            await self.bridge.call(conn.run_quick, command)

    async def _any_connection(self) -> Conn:
        try:
            with anyio.fail_after(min(self.opts.connect_timeout, _CONTROL_CONNECT)):
                async with self._opening:
                    for c in self.conns:
                        if c.alive:
                            return c
                    if self._closed:
                        raise lost(self)
                    conn = await self.connect()
                    self.conns.append(conn)
                    self._notify()
                    return conn
        except (TimeoutError, ConnectionFailed):
            raise lost(self) from None

    async def aclose(self) -> None:
        self._closed = True
        conns, self.conns = self.conns, []
        self._notify()

        async def close_all() -> None:
            for c in conns:
                c.guardian.close()  # everything ended and was unregistered: it just exits
                c.ssh.close()
            for c in conns:
                await c.ssh.wait_closed()
            # The socket itself closes in a callback the loop runs next: let it, before a
            # bridge thread's loop stops.
            for _ in range(2):
                await asyncio.sleep(0)

        if conns:
            with anyio.move_on_after(5):
                await self.bridge.call(close_all)

    # -- loop side (each hops back to the caller) --
    def connection_closed(self, conn: Conn) -> None:
        def dead() -> None:
            conn.alive = False
            self._notify()

        with contextlib.suppress(RuntimeError):  # the caller's loop has finished
            self.bridge.to_caller(self._token, dead)

    def _host_key_error(self) -> HostKeyRejected:
        """Unknown or changed: a known_hosts file with a key for this host means the host
        showed another one, which may be an attack; never advise turning checks off then."""
        files = self._known_hosts_files()
        port = self.port or 22
        for path in files:
            try:
                keys = asyncssh.read_known_hosts(path).match(self.host, "", port)[0]
            except (OSError, ValueError, asyncssh.Error):
                continue  # unreadable or malformed: asyncssh reported it as untrusted too
            if keys:
                pattern = f"[{self.host}]:{port}" if port != 22 else self.host
                return HostKeyRejected(
                    f"the host key of {self.where} CHANGED: {path} holds another key for it. "
                    "Someone may be intercepting the connection (a man-in-the-middle attack), "
                    "or the host was reinstalled. Only if you know its new key is genuine, "
                    f"remove the old one with: ssh-keygen -R '{pattern}' -f {path} "
                    "(then add the new key to that file)"
                )
        listed = ", ".join(files) or "~/.ssh/known_hosts"
        return HostKeyRejected(
            f"the host key of {self.where} is unknown (not in {listed}); add it to "
            "known_hosts, or pass SSHOptions(known_hosts=None) to accept any key (insecure)"
        )

    def _check_client_keys(self) -> None:
        """A key file that cannot be read fails as such (asyncssh's error names no file,
        and looked like an unreachable host)."""
        for key in self.opts.client_keys or ():
            if isinstance(key, str):
                try:
                    with open(os.path.expanduser(key), "rb"):
                        pass
                except OSError as exc:
                    raise AuthenticationFailed(
                        f"cannot read the client key {key!r} for {self.where}: {exc.strerror}"
                    ) from None

    def _known_hosts_files(self) -> list[str]:
        known = self.opts.known_hosts
        if known is None:
            return []
        if known == "default":
            default = os.path.expanduser("~/.ssh/known_hosts")
            return [default] if os.path.exists(default) else []
        return [os.path.expanduser(p) for p in known]

    async def _connect(self, conn: Conn) -> asyncssh.SSHClientConnection:
        kw: dict[str, Any] = self.opts.connect_kwargs()
        if self.user is not None:
            kw["username"] = self.user
        if self.port is not None:
            kw["port"] = self.port
        where = self.where
        self._check_client_keys()
        try:
            ssh = await asyncssh.connect(self.host, client_factory=lambda: _Client(conn), **kw)
            if self.opts.fast_receive:  # opt-in: it patches asyncssh internals
                _fastpath.install(ssh)  # here, on the loop thread that reads the socket
            conn.ssh = ssh
            conn.guardian.start()
            return ssh
        except asyncssh.HostKeyNotVerifiable:
            raise self._host_key_error() from None
        except asyncssh.PermissionDenied as exc:
            raise AuthenticationFailed(f"authentication to {where} failed: {exc.reason}") from None
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            # These messages name the problem, never the passphrase.
            raise AuthenticationFailed(f"cannot use the client key for {where}: {exc}") from None
        except asyncssh.DisconnectError as exc:
            raise ConnectionFailed(f"the SSH connection to {where} failed: {exc.reason}") from None
        except TimeoutError:
            raise HostUnreachable(
                f"cannot reach {where}: timed out after {self.opts.connect_timeout} s"
            ) from None
        except OSError as exc:
            if isinstance(exc, socket.gaierror):
                reason = str(exc.strerror)
            elif exc.errno:
                reason = os.strerror(exc.errno)
            else:
                reason = str(exc)
            raise HostUnreachable(f"cannot reach {where}: {reason}") from None
