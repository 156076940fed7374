"""Byte streams fed on the SDK's asyncio loop and read from the caller's loop in batches."""

from __future__ import annotations

import asyncio
from collections import deque

import anyio
from anyio.abc import ByteReceiveStream

from ..._bridge import AsyncioBridge


class BridgedOutput(ByteReceiveStream):
    """A bounded pipe: the SDK side awaits :meth:`write` (backpressure once ``limit``
    bytes wait), the caller side takes everything waiting in one bridge hop."""

    def __init__(self, bridge: AsyncioBridge, limit: int = 1 << 20) -> None:
        self._bridge = bridge
        self._limit = limit
        # Library-loop state.
        self._items: deque[bytes] = deque()
        self._size = 0
        self._ended = False
        self._error: BaseException | None = None
        self._discard = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        # Handed over to the caller; survives a cancelled receive, so nothing is lost.
        self._taken: deque[bytes] = deque()
        self._closed = False

    # -- the SDK's loop ------------------------------------------------------------------
    async def write(self, data: bytes) -> None:
        while self._size >= self._limit and not self._discard:
            self._writable.clear()
            await self._writable.wait()
        if self._discard or self._ended or not data:
            return
        self._items.append(data)
        self._size += len(data)
        self._readable.set()

    def end(self, error: BaseException | None = None) -> None:
        if not self._ended:
            self._ended = True
            self._error = error
        self._readable.set()

    async def _take(self) -> None:
        while not self._items and not self._ended:
            self._readable.clear()
            await self._readable.wait()
        while self._items:
            self._taken.append(self._items.popleft())
        self._size = 0
        self._writable.set()

    def _drop(self) -> None:
        self._discard = True
        self._items.clear()
        self._size = 0
        self._writable.set()
        self._readable.set()  # a pending _take returns: its receive sees the close

    # -- the caller's loop ---------------------------------------------------------------
    async def receive(self, max_bytes: int = 65536) -> bytes:
        if self._closed:
            raise anyio.ClosedResourceError
        if not self._taken:
            await self._bridge.call(self._take)
            if self._closed:  # closed by us while waiting: not the connection's fault
                raise anyio.ClosedResourceError
        if not self._taken:
            if self._error is not None:
                raise self._error
            raise anyio.EndOfStream
        chunk = self._taken.popleft()
        if len(chunk) > max_bytes:
            self._taken.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        return chunk

    async def aclose(self) -> None:
        # Like closing a pipe's read end: what the process writes from now on is discarded.
        self._closed = True
        self._taken.clear()
        self._bridge.call_soon(self._drop)
        await anyio.lowlevel.checkpoint()
