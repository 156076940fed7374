"""A WebSocket client over httpx: the handshake is an httpx request, the frames are
wsproto's (sans-IO) on the connection httpx hands over. No background task: a message
is read when someone asks for one, so the socket needs no task group and can be opened
and closed by calls that do not nest (a transport's). Runs on asyncio and trio alike.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import anyio
import httpx
from wsproto.connection import Connection, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from ..._errors import ConnectionLost

__all__ = ["Refused", "WebSocket", "connect"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Refused(Exception):
    """The server answered the handshake with an HTTP response, not an upgrade."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class WebSocket:
    """One client WebSocket. ``receive`` is cancel-safe (a message half read stays)."""

    def __init__(self, response: httpx.Response, stream: Any) -> None:
        self._response = response
        self._stream = stream
        self._conn = Connection(ConnectionType.CLIENT)
        self._parts: list[bytes | str] = []
        self._pending: list[bytes | str] = []
        self._deferred: Any = None  # an event receive_nowait() met and left to receive()
        self._write_lock = anyio.Lock()
        self.closed = False

    async def receive(self) -> bytes | str | None:
        """The next message (bytes or text); ``None`` once the connection closed."""
        while True:
            if self._pending:
                return self._pending.pop(0)
            if self.closed:
                return None
            if self._deferred is not None:
                event, self._deferred = self._deferred, None
                await self._on_event(event)
                continue
            for event in self._conn.events():
                await self._on_event(event)
            if self._pending or self.closed:
                continue
            try:
                data = await self._stream.read(1 << 20)
            except (OSError, httpx.TransportError, anyio.BrokenResourceError) as exc:
                raise ConnectionLost(f"lost the sandlot server's WebSocket: {exc}") from None
            if not data:
                self.closed = True
                continue
            try:
                self._conn.receive_data(data)
            except RemoteProtocolError as exc:
                raise ConnectionLost(f"bad WebSocket data from the sandlot server: {exc}") from None

    def receive_nowait(self) -> bytes | str | None:
        """A message already received and parsed, if any (no I/O, no checkpoint): what
        one read of the socket brought is taken without a round through the lock."""
        if not self._pending and self._deferred is None and not self.closed:
            for event in self._conn.events():
                if not isinstance(event, Message):
                    # a ping or a close needs a write: left to receive()
                    self._deferred = event
                    break
                self._take(event)
        return self._pending.pop(0) if self._pending else None

    def _take(self, event: Message[Any]) -> None:
        self._parts.append(event.data)
        if event.message_finished:
            if isinstance(event, TextMessage):
                self._pending.append("".join(str(p) for p in self._parts))
            else:
                # one copy: wsproto's parts are bytearrays, which join takes as they are
                self._pending.append(b"".join(self._parts))  # type: ignore[arg-type]
            self._parts = []

    async def _on_event(self, event: Any) -> None:
        if isinstance(event, Message):
            self._take(event)
        elif isinstance(event, Ping):
            await self._write(self._conn.send(event.response()))
        elif isinstance(event, CloseConnection):
            try:
                await self._write(self._conn.send(event.response()))
            except ConnectionLost:
                pass
            self.closed = True

    async def _write(self, data: bytes) -> None:
        async with self._write_lock:
            try:
                await self._stream.write(data)
            except (OSError, httpx.TransportError, anyio.BrokenResourceError) as exc:
                raise ConnectionLost(f"lost the sandlot server's WebSocket: {exc}") from None

    async def send_bytes(self, data: bytes) -> None:
        await self._send(BytesMessage(data=data))

    async def send_text(self, text: str) -> None:
        await self._send(TextMessage(data=text))

    async def _send(self, event: Any) -> None:
        if self.closed:
            raise ConnectionLost("the sandlot server's WebSocket is closed")
        try:
            data = self._conn.send(event)
        except LocalProtocolError:
            raise ConnectionLost("the sandlot server's WebSocket is closed") from None
        await self._write(data)

    async def aclose(self) -> None:
        """Close politely if we can, then drop the connection (bounded, shielded)."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(2):
            try:
                if not self.closed:
                    await self._write(self._conn.send(CloseConnection(code=1000)))
            except (ConnectionLost, LocalProtocolError):
                pass
            self.closed = True
            try:
                await self._stream.aclose()
            except (OSError, httpx.TransportError, anyio.BrokenResourceError):
                pass
            await self._response.aclose()


async def connect(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> WebSocket:
    """Open a WebSocket at ``url`` (``http(s)://``); :class:`Refused` with the response
    if the server answers otherwise."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = client.build_request(
        "GET",
        url,
        headers={
            **headers,
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key,
        },
    )
    response = await client.send(request, stream=True)
    try:
        if response.status_code != 101:
            await response.aread()
            raise Refused(response)
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        if response.headers.get("sec-websocket-accept") != accept:
            raise ConnectionLost("the sandlot server's WebSocket handshake is wrong")
        return WebSocket(response, response.extensions["network_stream"])
    except BaseException:
        with anyio.CancelScope(shield=True):
            await response.aclose()
        raise
