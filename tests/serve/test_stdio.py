"""The stdio WebSocket of a managed process: channel frames in and out, EOF, exit."""

from __future__ import annotations

import json

import anyio
import httpx

from sandlot._backends.http import _websocket
from targets.serve import Server


async def test_stdio_of_a_managed_process(serve_server: Server) -> None:
    headers = {"Authorization": f"Bearer {serve_server.token}"}
    async with httpx.AsyncClient(base_url=serve_server.base, headers=headers, verify=False) as c:
        script = "while read -r l; do echo out-$l; echo err-$l >&2; done; exit 4"
        r = await c.post("/v1/processes", json={"argv": ["sh", "-c", script]})
        pid = r.json()["id"]
        with anyio.fail_after(30):
            ws = await _websocket.connect(c, f"/v1/processes/{pid}/stdio", headers)
            await ws.send_bytes(b"\x00a\nb\n")
            await ws.send_text(json.dumps({"type": "eof"}))
            out = {1: b"", 2: b""}
            while True:
                message = await ws.receive()
                assert message is not None
                if isinstance(message, str):
                    end = json.loads(message)
                    if end["type"] == "exit":
                        break
                    continue
                out[message[0]] += message[1:]
            await ws.aclose()
        assert out == {1: b"out-a\nout-b\n", 2: b"err-a\nerr-b\n"}
        assert (end["status"], end["exitCode"]) == ("exited", 4)
        assert (await c.delete(f"/v1/processes/{pid}")).status_code == 204
