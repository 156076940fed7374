"""The byte streams handed to users: thin, typed wrappers over a transport's streams."""

from __future__ import annotations

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from ._errors import InvalidArgument, NotSupported, StreamBroken, StreamClosed

__all__ = ["ProcessInput", "ProcessOutput"]


class ProcessInput(ByteSendStream):
    """A process's stdin (or a terminal's input). ``aclose()`` sends EOF."""

    def __init__(self, raw: ByteSendStream, name: str, backend: str, eof: bool = True) -> None:
        self._raw = raw
        self._name = name
        self._backend = backend
        self._eof = eof
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, item: bytes) -> None:
        if not isinstance(item, bytes | bytearray | memoryview):
            raise InvalidArgument(f"{self._name} takes bytes, not {type(item).__name__}")
        if self._closed:
            raise StreamClosed(f"{self._name} is closed; cannot write to it")
        try:
            await self._raw.send(bytes(item))
        except anyio.ClosedResourceError:
            raise StreamClosed(f"{self._name} is closed; cannot write to it") from None
        except (anyio.BrokenResourceError, BrokenPipeError, ConnectionResetError) as exc:
            raise StreamBroken(f"{self._name} is broken: the process stopped reading") from exc

    async def aclose(self) -> None:
        """Close the stream: the process reads EOF."""
        if self._closed:
            return
        if not self._eof:
            raise NotSupported(self._backend, f"closing {self._name} (sending EOF)")
        self._closed = True
        await self._raw.aclose()

    async def _release(self) -> None:
        self._closed = True
        try:
            await self._raw.aclose()
        except (anyio.BrokenResourceError, OSError):
            pass


class ProcessOutput(ByteReceiveStream):
    """A process's stdout or stderr (or a terminal's output)."""

    def __init__(self, raw: ByteReceiveStream, name: str) -> None:
        self._raw = raw
        self._name = name
        self._closed = False
        self._receiving: set[anyio.CancelScope] = set()  # cancelled by aclose()

    async def receive(self, max_bytes: int = 65536) -> bytes:
        if max_bytes < 1:
            raise InvalidArgument(f"max_bytes must be a positive integer, not {max_bytes}")
        if self._closed:
            raise StreamClosed(f"{self._name} is closed")
        # aclose() from another task ends a pending receive at once, on every backend, as
        # closing a pipe does; only our own scope is cancelled, so a caller's cancellation
        # still reaches the raw stream (which keeps its data) as usual.
        with anyio.CancelScope() as scope:
            self._receiving.add(scope)
            try:
                return await self._raw.receive(max_bytes)
            except anyio.ClosedResourceError:
                raise StreamClosed(f"{self._name} is closed") from None
            finally:
                self._receiving.discard(scope)
        raise StreamClosed(f"{self._name} was closed while waiting for data")

    async def read_all(self, limit: int | None = None) -> bytes:
        """Read to the end of the stream (at most ``limit`` bytes are kept)."""
        chunks = bytearray()
        async for chunk in self:
            if limit is None or len(chunks) < limit:
                chunks += chunk
        return bytes(chunks if limit is None else chunks[:limit])

    async def aclose(self) -> None:
        self._closed = True
        for scope in self._receiving:
            scope.cancel()
        await self._raw.aclose()
