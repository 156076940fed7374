"""Terminals over WebSocket, as a browser uses them: the token in the query string, the
server's own Origin, binary frames for bytes, JSON text frames for resize and exit."""

from __future__ import annotations

import json

import anyio
import httpx

from sandlot._backends.http import _websocket
from targets.serve import Server


async def _read_until(ws: _websocket.WebSocket, needle: bytes, seen: bytearray) -> None:
    while needle not in seen:
        message = await ws.receive()
        assert isinstance(message, bytes), message
        seen += message


async def test_terminal_resize_exit_and_reattach(serve_server: Server) -> None:
    headers = {"Authorization": f"Bearer {serve_server.token}"}
    async with httpx.AsyncClient(base_url=serve_server.base, headers=headers, verify=False) as c:
        r = await c.post("/v1/processes", json={"argv": ["sh"], "tty": True, "rows": 24})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        url = f"/v1/processes/{pid}/terminal?token={serve_server.token}"
        origin = {"Origin": f"http://127.0.0.1:{serve_server.port}"}
        with anyio.fail_after(30):
            ws = await _websocket.connect(c, url, origin)
            seen = bytearray()
            await ws.send_bytes(b"echo hi-$((40+2))\n")
            await _read_until(ws, b"hi-42", seen)
            await ws.send_text(json.dumps({"type": "resize", "rows": 33, "cols": 101}))
            await ws.send_bytes(b"stty size\n")
            await _read_until(ws, b"33 101", seen)
            await ws.aclose()  # the terminal lives on
            got = (await c.get(f"/v1/processes/{pid}")).json()
            assert (got["status"], got["size"]) == ("running", {"rows": 33, "cols": 101})
            # Reattach: the recent output is replayed first, then it is live again.
            ws = await _websocket.connect(c, url, origin)
            replay = bytearray()
            await _read_until(ws, b"33 101", replay)
            assert b"hi-42" in replay
            await ws.send_bytes(b"exit 3\n")
            while True:
                message = await ws.receive()
                if isinstance(message, str):
                    end = json.loads(message)
                    break
            assert (end["type"], end["exitCode"], end["signal"]) == ("exit", 3, None)
            await ws.aclose()
        assert (await c.delete(f"/v1/processes/{pid}")).status_code == 204
