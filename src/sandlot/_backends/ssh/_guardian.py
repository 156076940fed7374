"""The guardian: one long-lived channel per connection that stops its processes when the
client dies.

Neither closing a channel nor losing the connection stops a process without a pty, so a
crashed client would leave its processes running forever. Each connection therefore runs
:data:`SCRIPT` on a channel of its own: a loop of shell builtins that keeps the session
ids the client registers (``+SID`` once a process reported ready, ``-SID`` once its exit
status arrived and its channel closed). When the client goes away, sshd closes the
loop's stdin: it reads EOF and stops every session still registered (SIGTERM, one second,
SIGKILL). A normal close unregistered everything first, so nothing is signalled. Jobs
``setsid`` into sessions of their own and are never registered: they outlive the client.

Registering costs no remote fork and no round trip: the line is written on the loop side
when the ready report arrives, batched with the others of the same loop iteration. The
channel opens in the background when the connection does; a process that reports ready
before it is open is reported ready once its line is sent (or the open was refused), so
a process is guarded from the moment ``ready`` completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asyncssh

__all__ = ["GRACE", "SCRIPT", "Guardian"]

logger = logging.getLogger("sandlot.ssh")


class Connection(Protocol):
    """What the guardian needs of the pool's connection (the pool imports this module)."""

    ssh: asyncssh.SSHClientConnection
    where: str


#: The pool's ``open_with_retry(conn, opener)``: opens a channel, retrying a refusal.
OpenWithRetry = Callable[[Any, Callable[[], Awaitable[Any]]], Awaitable[Any]]

#: Seconds between SIGTERM and SIGKILL once the client is gone.
GRACE = 1

# POSIX sh, builtins only in the loop: `s` holds " SID SID ... "; removal cuts one out
# with parameter expansions (no fork). HUP is ignored: only EOF (the channel gone) ends it.
SCRIPT = (
    "trap '' HUP PIPE; exec >/dev/null 2>&1; s=' '; "
    "while IFS= read -r l; do case $l in "
    '+*) s="$s${l#+} ";; '
    '-*) p=${l#-}; case $s in *" $p "*) s="${s%%" $p "*} ${s#*" $p "}";; esac;; '
    "esac; done; "
    '[ "$s" = " " ] && exit 0; '
    "z() { for p in $s; do if command -v pkill >/dev/null; then pkill -$1 -s $p; "
    "else kill -$1 -$p; fi; done; }; "
    f"z TERM; sleep {GRACE}; z KILL"
)


class _Session(asyncssh.SSHClientSession[bytes]):
    def eof_received(self) -> bool:
        return True  # the loop closed its output at once: keep writing to its input


class Guardian:
    """The guardian channel of one connection (loop side only)."""

    def __init__(self, conn: Connection, open_with_retry: OpenWithRetry) -> None:
        self._conn = conn
        self._open_with_retry = open_with_retry
        self._chan: asyncssh.SSHClientChannel[bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[bytes] = []
        self._flush_scheduled = False
        self._failed = False
        self._waiting: list[Callable[[], None]] = []
        #: Session ids registered and not yet unregistered (also while opening).
        self.registered: set[int] = set()

    def start(self) -> None:
        """Open the channel in the background: no caller waits for it."""
        self._task = asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        def opener() -> Awaitable[tuple[asyncssh.SSHClientChannel[bytes], object]]:
            return self._conn.ssh.create_session(_Session, SCRIPT, encoding=None)

        try:
            try:
                chan, _ = await opener()
            except asyncssh.ChannelOpenError:
                self._release()  # refused for now: no process waits for the retries
                chan, _ = await self._open_with_retry(self._conn, opener)
        except Exception as exc:  # never fail a user's call: processes run unguarded
            logger.debug("no guardian channel on %s: %s", self._conn.where, exc)
            self._failed = True
            self._pending.clear()
            self._release()
            return
        self._chan = chan
        self._flush()  # before any waiting process is reported ready
        self._release()

    def _release(self) -> None:
        waiting, self._waiting = self._waiting, []
        for then in waiting:
            then()

    def add(self, sid: int, then: Callable[[], None]) -> None:
        """Register ``sid``, then call ``then``: at once, or, while the channel is still
        opening, once the line is sent (a process is guarded once it is reported ready)."""
        self.registered.add(sid)
        self._send(b"+%d\n" % sid)
        if self._chan is None and not self._failed and self._task is not None:
            self._waiting.append(then)
        else:
            then()

    def remove(self, sid: int) -> None:
        if sid in self.registered:
            self.registered.discard(sid)
            self._send(b"-%d\n" % sid)

    def _send(self, line: bytes) -> None:
        if self._failed:
            return
        self._pending.append(line)
        if self._chan is not None and not self._flush_scheduled:
            # One packet for every line this loop iteration produced.
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        chan, lines, self._pending = self._chan, self._pending, []
        if chan is None or not lines or chan.is_closing():
            return
        with contextlib.suppress(OSError):
            chan.write(b"".join(lines))

    def close(self) -> None:
        """Send what is pending, then EOF: the loop ends (and signals whatever is still
        registered: a process whose end never reached us)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._release()
        self._flush()
        chan = self._chan
        if chan is not None and not chan.is_closing():
            with contextlib.suppress(OSError):
                chan.write_eof()
