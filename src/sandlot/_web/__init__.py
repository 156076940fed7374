"""The browser terminal of ``sandlot serve``: the page at ``/`` and its static files.

:class:`PageApp` wraps the API app (outside its token guard: the page and its scripts
hold nothing secret; the page asks for the token and sends it with every API call and
on the terminal WebSocket). Third-party assets (xterm.js) are built into
``static/vendor/`` by ``web/build.py``; without them ``/`` says how to build them.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["STATIC", "PageApp", "assets_missing"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATIC = Path(__file__).parent / "static"
#: What the page needs from ``web/build.py``.
VENDOR_FILES = ("vendor/xterm.mjs", "vendor/xterm.css", "vendor/addon-fit.mjs")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Scripts and styles from here only; fetch and WebSocket to here only; no framing
# (clickjacking) and no form submission (a token typed in never becomes a URL).
# xterm.js styles its cells from script: hence 'unsafe-inline' for styles, not scripts.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]
BUILD_HINT = (
    "The browser terminal's assets (xterm.js) are not built. Install Node.js (20 or later) "
    "and npm, then, in a sandlot source checkout, run `python web/build.py` (or reinstall: "
    "`pip install -e '.[serve]'` runs it). The API under /v1 works without them."
)


def assets_missing() -> list[str]:
    """The built files the page needs and lacks."""
    return [name for name in VENDOR_FILES if not (STATIC / name).is_file()]


def _static_files() -> dict[str, Path]:
    """``/static/...`` path -> file: only regular files, found once (no traversal)."""
    found: dict[str, Path] = {}
    for path in STATIC.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            found["/static/" + path.relative_to(STATIC).as_posix()] = path
    return found


class PageApp:
    """Serves ``/`` and ``/static/*`` (GET, HEAD); passes everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._files = _static_files()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/" or path.startswith("/static/")):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(
                send, scope, 405, b"GET or HEAD only\n", "text/plain", [(b"allow", b"GET, HEAD")]
            )
            return
        if path == "/":
            await self._page(scope, send)
            return
        file = self._files.get(path)
        if file is None:
            # Built after the server started? Look again, once per miss.
            self._files = _static_files()
            file = self._files.get(path)
        if file is None:
            body = b"no such file\n"
            if path.removeprefix("/static/") in VENDOR_FILES:
                body = BUILD_HINT.encode() + b"\n"
            await _respond(send, scope, 404, body, "text/plain; charset=utf-8")
            return
        kind = _TYPES.get(file.suffix, "text/plain; charset=utf-8")
        await _respond(send, scope, 200, file.read_bytes(), kind)

    async def _page(self, scope: Scope, send: Send) -> None:
        missing = assets_missing()
        if missing:
            text = (
                "<!doctype html><meta charset=utf-8><title>sandlot: page not built</title>"
                f"<h1>The terminal page is not built</h1><p>{html.escape(BUILD_HINT)}</p>"
                f"<p>Missing: {html.escape(', '.join(missing))}</p>\n"
            )
            await _respond(send, scope, 503, text.encode(), _TYPES[".html"], _csp())
            return
        page = (STATIC / "index.html").read_bytes()
        await _respond(send, scope, 200, page, _TYPES[".html"], _csp())


def _csp() -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", _CSP.encode())]


async def _respond(
    send: Send,
    scope: Scope,
    status: int,
    body: bytes,
    kind: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", kind.encode()),
        (b"content-length", str(len(body)).encode()),
        *_HEADERS,
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
