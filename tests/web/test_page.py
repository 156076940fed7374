"""The page app without a browser: what it serves, what it refuses, what it passes on."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import sandlot._web as web
from sandlot._web import PageApp


async def _inner(scope: Any, receive: Any, send: Any) -> None:
    """Stands for the API app: answers 418 with its path."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})


async def request(
    app: PageApp, path: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    start, body = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body["body"]


@pytest.fixture
def unbuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package's static files without the built vendor/ directory."""
    static = tmp_path / "static"
    shutil.copytree(web.STATIC, static, ignore=shutil.ignore_patterns("vendor"))
    monkeypatch.setattr(web, "STATIC", static)
    return static


async def test_without_built_assets_the_page_says_how_to_build_them(unbuilt: Path) -> None:
    status, headers, body = await request(PageApp(_inner), "/")
    assert status == 503
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert b"The terminal page is not built" in body
    assert b"python web/build.py" in body
    assert b"Missing: vendor/xterm.mjs, vendor/xterm.css, vendor/addon-fit.mjs" in body
    status, _, body = await request(PageApp(_inner), "/static/vendor/xterm.mjs")
    assert (status, body) == (404, web.BUILD_HINT.encode() + b"\n")
    # The API is unaffected.
    assert (await request(PageApp(_inner), "/v1/sandbox"))[:1] == (418,)


async def test_the_page_and_its_files(unbuilt: Path) -> None:
    vendor = unbuilt / "vendor"
    vendor.mkdir()
    for name in web.VENDOR_FILES:
        (unbuilt / name).write_text(f"/* {name} */")
    app = PageApp(_inner)
    status, headers, body = await request(app, "/")
    assert status == 200
    assert body == (unbuilt / "index.html").read_bytes()
    assert "form-action 'none'" in headers["content-security-policy"]
    assert "script-src 'self';" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    status, headers, body = await request(app, "/static/vendor/xterm.mjs")
    assert (status, body) == (200, b"/* vendor/xterm.mjs */")
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    status, _, body = await request(app, "/static/app.js", method="HEAD")
    assert (status, body) == (200, b"")


@pytest.mark.parametrize(
    "path", ["/static/../__init__.py", "/static/vendor/../../__init__.py", "/static/", "/static/x"]
)
async def test_nothing_outside_the_static_files(path: str) -> None:
    status, _, body = await request(PageApp(_inner), path)
    assert (status, body) == (404, b"no such file\n")


async def test_only_get_and_head() -> None:
    status, headers, _ = await request(PageApp(_inner), "/", method="POST")
    assert (status, headers["allow"]) == (405, "GET, HEAD")


@pytest.mark.parametrize("path", ["/v1/sandbox", "/index.html", "/staticx", "/v1/openapi.json"])
async def test_everything_else_goes_to_the_api(path: str) -> None:
    assert await request(PageApp(_inner), path) == (418, {}, path.encode())
