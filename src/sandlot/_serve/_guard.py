"""The gate in front of every route: the bearer token, the WebSocket ``Origin``.

A pure ASGI middleware, so nothing behind it runs for a refused request.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ._wire import API, error_body

__all__ = ["PUBLIC_PATHS", "Guard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Served without the token: the API's description holds nothing secret.
PUBLIC_PATHS = frozenset({f"{API}/openapi.json"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _loopback_name(host: str | None) -> bool:
    """Whether a ``Host`` header names this machine's loopback (or is absent: no browser).

    A tokenless server listens on loopback only, but a page of another site whose name
    its DNS now points at 127.0.0.1 (DNS rebinding) is same-origin with it: only the
    name the browser put in ``Host`` tells them apart.
    """
    if host is None:
        return True
    name = urllib.parse.urlsplit(f"//{host}").hostname or ""
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name.lower() == "localhost"


class Guard:
    """Refuses, before the app sees it, a request without the right token (401), with
    the token in the query string of a plain HTTP route (401: URLs end up in logs and
    histories; a browser's WebSocket cannot set headers, so only WebSocket routes take
    it there), or from a foreign ``Origin`` (403: cross-site WebSocket hijacking, and a
    cross-site form post, which needs no preflight); without a token, one addressed to
    another name than loopback's (403: DNS rebinding). The token is compared in constant
    time and never logged."""

    def __init__(self, app: ASGIApp, token: str | None, origins: Iterable[str] = ()) -> None:
        self.app = app
        self._token = None if token is None else token.encode()
        self._origins = frozenset(o.rstrip("/").lower() for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, error_type, message = refusal
        body = json.dumps(error_body(error_type, message)).encode()
        headers = [(b"content-type", b"application/json")]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="sandlot"'))
        if kind == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif "websocket.http.response" in scope.get("extensions", {}):
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        websocket = scope["type"] == "websocket"
        if not self._origin_ok(scope):
            what = "WebSocket" if websocket else "request"
            return 403, "ForbiddenOrigin", f"this {what}'s Origin is not allowed"
        if self._token is None:
            if _loopback_name(_header(scope, b"host")):
                return None
            return (
                403,
                "ForbiddenHost",
                "a server without a token answers only requests addressed to a loopback "
                "name (localhost, 127.0.0.1, [::1]): use one, or give the server a token",
            )
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        in_query = query.get("token", [])
        supplied: str | None = None
        auth = _header(scope, b"authorization")
        if auth is not None:
            method, _, credentials = auth.partition(" ")
            if method.lower() == "bearer":
                supplied = credentials.strip()
        if in_query and not websocket:
            return (
                401,
                "Unauthorized",
                "the token is accepted in the query string on WebSocket routes only: "
                "send it as 'Authorization: Bearer <token>'",
            )
        if supplied is None and in_query:
            supplied = in_query[-1]
        if supplied is None:
            return 401, "Unauthorized", "this server needs a token: 'Authorization: Bearer <token>'"
        if not hmac.compare_digest(supplied.encode(), self._token):
            return 401, "Unauthorized", "wrong token"
        return None

    def _origin_ok(self, scope: Scope) -> bool:
        """No ``Origin`` (not a browser), the server's own origin, or an allowed one."""
        origin = _header(scope, b"origin")
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self._origins:
            return True
        host = _header(scope, b"host")
        if host is None:
            return False
        parsed = urllib.parse.urlsplit(origin)
        return parsed.scheme in ("http", "https") and parsed.netloc == host.lower()
