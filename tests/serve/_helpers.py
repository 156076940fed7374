"""Small helpers for the API tests."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The documented error body of a refused request."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["type"], str) and isinstance(body["error"]["message"], str)
    error: dict[str, Any] = body["error"]
    return error


def wait_status(api: httpx.Client, pid: str, want: str, within: float = 20) -> dict[str, Any]:
    """Poll the process until its status is ``want`` (the API has no blocking get)."""
    deadline = time.monotonic() + within
    while True:
        got: dict[str, Any] = api.get(f"/v1/processes/{pid}").json()
        if got["status"] == want or time.monotonic() > deadline:
            assert got["status"] == want, got
            return got
        time.sleep(0.05)  # polling is the API's own way to learn a status


def sse_events(response: httpx.Response) -> Any:
    """Yield ``(id, event, data)`` of a text/event-stream response."""
    import json

    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if fields:
                yield fields.get("id"), fields.get("event"), json.loads(fields.get("data", "{}"))
            fields = {}
            continue
        key, _, value = line.partition(": ")
        fields[key] = value
