"""Warm Daytona sessions: created ahead of need, so that starting a process costs its
exec and its log stream only (two requests, not three); finished ones are deleted in the
background. Lives on the SDK's loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from typing import Any

logger = logging.getLogger("sandlot.daytona")

#: Idle sessions kept ready at most (each is one shell in the sandbox).
WARM = 2
#: How long closing the sandbox may spend deleting sessions.
_CLOSE_WAIT = 5.0


def new_id() -> str:
    return f"sandlot-{uuid.uuid4().hex}"


class SessionPool:
    """Up to :data:`WARM` idle sessions, refilled in the background."""

    def __init__(self, sandbox: Any, warm: int = WARM) -> None:
        self._sandbox = sandbox
        self._warm = warm
        self._ready: deque[str] = deque()
        self._creating: set[asyncio.Task[None]] = set()
        self._deleting: set[asyncio.Task[None]] = set()
        self._closed = False

    async def take(self) -> str:
        """A session for one process: a warm one, or a new one when none is ready."""
        if self._ready:
            sid = self._ready.popleft()
        else:
            sid = new_id()
            await self._sandbox.process.create_session(sid)
        self.refill()
        return sid

    def refill(self) -> None:
        """Start creating sessions until :data:`WARM` are ready or under way."""
        while not self._closed and len(self._ready) + len(self._creating) < self._warm:
            task = asyncio.ensure_future(self._create())
            self._creating.add(task)
            task.add_done_callback(self._creating.discard)

    async def _create(self) -> None:
        sid = new_id()
        try:
            await self._sandbox.process.create_session(sid)
        except Exception as exc:  # the next take() creates one itself, and says why
            logger.debug("could not create a warm Daytona session: %s", exc)
            return
        if self._closed:
            self.release(sid)
        else:
            self._ready.append(sid)

    def release(self, sid: str) -> None:
        """Delete session ``sid`` in the background (its processes die with it)."""
        task = asyncio.ensure_future(self._delete(sid))
        self._deleting.add(task)
        task.add_done_callback(self._deleting.discard)

    async def _delete(self, sid: str) -> None:
        with contextlib.suppress(Exception):
            await self._sandbox.process.delete_session(sid)

    async def aclose(self) -> None:
        """Delete every session: the warm ones, and wait (bounded) for pending deletes."""
        self._closed = True
        loop = asyncio.get_running_loop()
        end = loop.time() + _CLOSE_WAIT
        while self._ready:
            self.release(self._ready.popleft())
        # Not cancelled: a session being created is released once it exists.
        if self._creating:
            await asyncio.wait(set(self._creating), timeout=_CLOSE_WAIT)
        if self._deleting:
            await asyncio.wait(set(self._deleting), timeout=max(0.1, end - loop.time()))
