"""The guard without a server: what a tokenless server answers to a browser's request
from another site (DNS rebinding, a cross-site form post), and what it lets through."""

from __future__ import annotations

from typing import Any

import pytest

from sandlot._serve._guard import Guard


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _status(guard: Guard, headers: dict[str, str], method: str = "POST") -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": "/v1/run",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    await guard(scope, receive, send)
    return int(sent[0]["status"])


@pytest.mark.parametrize(
    "host", ["127.0.0.1:2468", "localhost:2468", "[::1]:2468", "127.0.0.1", "LOCALHOST:1"]
)
async def test_a_tokenless_server_answers_loopback_names(host: str) -> None:
    assert await _status(Guard(_ok, None), {"Host": host}) == 200
    same_site = {"Host": host, "Origin": f"http://{host}"}
    assert await _status(Guard(_ok, None), same_site) == 200


@pytest.mark.parametrize("host", ["evil.example:2468", "evil.example", "10.0.0.1:2468"])
async def test_a_tokenless_server_refuses_another_host_name(host: str) -> None:
    # DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 is
    # same-origin with the server; only the Host header tells.
    assert await _status(Guard(_ok, None), {"Host": host}) == 403


async def test_a_cross_site_post_is_refused() -> None:
    # A form or fetch from another site needs no preflight for a text/plain POST: without
    # this check a tokenless server would run it.
    evil = {"Host": "127.0.0.1:2468", "Origin": "https://evil.example"}
    assert await _status(Guard(_ok, None), evil) == 403
    assert await _status(Guard(_ok, "t"), {**evil, "Authorization": "Bearer t"}) == 403
    allowed = Guard(_ok, None, origins=["https://evil.example"])
    assert await _status(allowed, evil) == 200


async def test_a_tokened_server_answers_any_host_with_the_token() -> None:
    headers = {"Host": "sandbox.example:2468", "Authorization": "Bearer t"}
    assert await _status(Guard(_ok, "t"), headers) == 200
