"""The API through a real HTTP client against a real ``sandlot serve local`` on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from targets import processes
from targets.serve import Server

from ._helpers import b64, error_of, sse_events, unb64, wait_status


def test_run_reports_output_exit_and_truncation(api: httpx.Client) -> None:
    r = api.post(
        "/v1/run",
        json={
            "argv": ["sh", "-c", 'cat; printf "%s" "$X" >&2; exit 3'],
            "env": {"X": "from env"},
            "stdin": b64(b"in\x00put"),
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (unb64(body["stdout"]), unb64(body["stderr"])) == (b"in\x00put", b"from env")
    assert (body["exitCode"], body["signal"], body["timedOut"]) == (3, None, False)
    r = api.post(
        "/v1/run", json={"argv": ["sh", "-c", "head -c 100 /dev/zero"], "maxOutputBytes": 10}
    )
    assert r.json()["stdoutTruncated"] is True and unb64(r.json()["stdout"]) == bytes(10)
    r = api.post("/v1/run", json={"argv": ["sleep", "30"], "timeoutMs": 200})
    assert (r.json()["timedOut"], r.json()["signal"]) == (True, "SIGKILL") or r.json()[
        "timedOut"
    ] is True
    r = api.post("/v1/run", json={"argv": ["sh", "-c", "kill -TERM $$"]})
    assert (r.json()["exitCode"], r.json()["signal"]) == (None, "SIGTERM")


def test_run_errors_are_documented_json(api: httpx.Client) -> None:
    error = error_of(api.post("/v1/run", json={"argv": ["no-such-command-xyz"]}), 422)
    assert error == {
        "type": "CommandNotFound",
        "message": "command not found: 'no-such-command-xyz'",
        "command": "no-such-command-xyz",
    }
    assert error_of(api.post("/v1/run", json={"argv": []}), 400)["type"] == "InvalidArgument"
    assert (
        "unknown field(s): nope"
        in error_of(api.post("/v1/run", json={"argv": ["true"], "nope": 1}), 400)["message"]
    )
    assert error_of(api.post("/v1/run", content=b"{not json"), 400)["type"] == "InvalidArgument"
    assert error_of(api.get("/v1/no/such/route"), 404)["type"] == "NotFound"
    assert error_of(api.delete("/v1/run"), 405)["type"] == "MethodNotAllowed"


def test_managed_process_lifecycle(api: httpx.Client) -> None:
    r = api.post("/v1/processes", json={"argv": ["sh", "-c", "cat; echo done >&2"]})
    assert r.status_code == 201, r.text
    proc = r.json()
    pid = proc["id"]
    assert (proc["status"], proc["tty"], proc["streams"]) == (
        "running",
        False,
        ["stdout", "stderr"],
    )
    assert pid in [p["id"] for p in api.get("/v1/processes").json()["processes"]]
    # Deleting a running process is refused.
    assert error_of(api.delete(f"/v1/processes/{pid}"), 409)["type"] == "JobStillRunning"
    assert api.post(f"/v1/processes/{pid}/input", json={"data": b64(b"hello\n")}).status_code == 204
    assert api.post(f"/v1/processes/{pid}/input", json={"eof": True}).status_code == 204
    ended = wait_status(api, pid, "exited")
    assert (ended["exitCode"], ended["signal"]) == (0, None)
    out = api.get(f"/v1/processes/{pid}/logs", params={"stream": "stdout"}).json()
    assert (unb64(out["data"]), out["nextCursor"], out["eof"]) == (b"hello\n", 6, True)
    part = api.get(f"/v1/processes/{pid}/logs", params={"stream": "stdout", "cursor": 2}).json()
    assert unb64(part["data"]) == b"llo\n"
    err = api.get(f"/v1/processes/{pid}/logs", params={"stream": "stderr", "tail": 1}).json()
    assert unb64(err["data"]) == b"done\n"
    error_of(api.get(f"/v1/processes/{pid}/logs", params={"stream": "combined"}), 400)
    # Input after EOF: a clear conflict.
    late = api.post(f"/v1/processes/{pid}/input", json={"data": b64(b"late")})
    assert error_of(late, 409)["type"] == "StreamClosed"
    assert api.delete(f"/v1/processes/{pid}").status_code == 204
    assert error_of(api.get(f"/v1/processes/{pid}"), 404)["type"] == "UnknownJob"


def test_stop_and_kill_by_signal_name(api: httpx.Client) -> None:
    trap = "trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done"
    pid = api.post("/v1/processes", json={"argv": ["sh", "-c", trap], "combined": True}).json()[
        "id"
    ]
    wait_for_output(api, pid, b"ready\n", stream="combined")
    assert api.post(f"/v1/processes/{pid}/kill", json={"signal": "SIGINT"}).status_code == 200
    ended = wait_status(api, pid, "exited")
    assert ended["exitCode"] == 7
    assert error_of(api.post(f"/v1/processes/{pid}/kill", json={"signal": "SIGNOPE"}), 400)
    # stop: SIGTERM ignored, so SIGKILL after waitMs.
    stubborn = "trap '' TERM; echo ready; while :; do sleep 0.05; done"
    pid2 = api.post("/v1/processes", json={"argv": ["sh", "-c", stubborn]}).json()["id"]
    wait_for_output(api, pid2, b"ready\n")
    stopped = api.post(f"/v1/processes/{pid2}/stop", json={"waitMs": 200}).json()
    assert (stopped["status"], stopped["signal"]) == ("exited", "SIGKILL"), stopped
    for p in (pid, pid2):
        api.delete(f"/v1/processes/{p}")


def wait_for_output(
    api: httpx.Client, pid: str, want: bytes, stream: str = "stdout", within: float = 20
) -> None:
    deadline = time.monotonic() + within
    while True:
        got = api.get(f"/v1/processes/{pid}/logs", params={"stream": stream}).json()
        if unb64(got["data"]).startswith(want):
            return
        assert time.monotonic() < deadline, got
        time.sleep(0.05)


def test_follow_resumes_after_a_disconnect_byte_exact(api: httpx.Client, tmp_path: object) -> None:
    # 40 lines, the later ones only once the follower has read the first: the follower
    # disconnects mid-stream and resumes with Last-Event-ID; nothing lost, nothing twice.
    gate = f"{tmp_path}/gate"
    script = (
        f"i=0; while [ $i -lt 20 ]; do echo line-$i; i=$((i+1)); done; "
        f"while [ ! -e {gate} ]; do sleep 0.02; done; "
        f"while [ $i -lt 40 ]; do echo line-$i; i=$((i+1)); done"
    )
    pid = api.post("/v1/processes", json={"argv": ["sh", "-c", script]}).json()["id"]
    url = f"/v1/processes/{pid}/logs/follow"
    got = b""
    last = None
    with api.stream("GET", url, params={"stream": "stdout"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for event_id, event, data in sse_events(r):
            assert event == "output"
            got += unb64(data["data"])
            last = event_id
            assert int(last) == len(got)
            if got.count(b"\n") >= 5:
                break  # disconnect mid-stream
    open(gate, "w").close()
    with api.stream("GET", url, headers={"Last-Event-ID": str(last)}) as r:
        for _, event, data in sse_events(r):
            if event == "exit":
                assert (data["status"], data["exitCode"], data["nextCursor"]) == (
                    "exited",
                    0,
                    len(got),
                )
                break
            got += unb64(data["data"])
    assert got == b"".join(b"line-%d\n" % i for i in range(40))
    api.delete(f"/v1/processes/{pid}")


def test_files_round_trip_with_mode(api: httpx.Client, tmp_path: object) -> None:
    path = f"{tmp_path}/f.bin"
    data = bytes(range(256)) * 10
    r = api.put("/v1/files", params={"path": path, "mode": "640"}, content=data)
    assert r.status_code == 204, r.text
    assert api.get("/v1/files", params={"path": path}).content == data
    assert oct(os.stat(path).st_mode & 0o777) == "0o640"
    error = error_of(api.get("/v1/files", params={"path": f"{tmp_path}/nope"}), 404)
    assert error["type"] == "FileNotFound" and error["errno"] == 2
    # No more than the request named.
    assert error["message"] == f"No such file or directory: '{tmp_path}/nope'"
    error_of(api.put("/v1/files", params={"path": path, "mode": "9z"}, content=b""), 400)


def test_limits_read_set_and_enforced(api: httpx.Client) -> None:
    before = api.get("/v1/limits").json()
    assert before["maxConcurrentProcesses"] == 64 and before["maxRunTimeoutMs"] == 300_000
    try:
        r = api.put("/v1/limits", json={"maxRunTimeoutMs": 1000, "defaultRunTimeoutMs": 500})
        assert r.json()["maxRunTimeoutMs"] == 1000
        error_of(api.post("/v1/run", json={"argv": ["true"], "timeoutMs": 5000}), 400)
        assert api.post("/v1/run", json={"argv": ["sleep", "5"]}).json()["timedOut"] is True
        error_of(api.put("/v1/limits", json={"maxOutputBytes": 0}), 400)
        error_of(api.put("/v1/limits", json={"nope": 1}), 400)
        api.put("/v1/limits", json={"maxInputBytesPerRequest": 8})
        error = error_of(api.post("/v1/run", json={"argv": ["cat"], "stdin": b64(bytes(9))}), 413)
        assert "maxInputBytesPerRequest" in error["message"]
        api.put("/v1/limits", json={"maxConcurrentProcesses": 1})
        tty = api.post("/v1/processes", json={"argv": ["sleep", "30"], "tty": True}).json()
        try:
            error = error_of(api.post("/v1/processes", json={"argv": ["sleep", "1"]}), 429)
            assert error["type"] == "JobLimitReached"
            assert api.get("/v1/processes").status_code == 200  # reading is not starting
        finally:
            api.post(f"/v1/processes/{tty['id']}/kill", json={})
            wait_status(api, tty["id"], "exited")
            api.delete(f"/v1/processes/{tty['id']}")
    finally:
        api.put("/v1/limits", json=before)
    assert api.get("/v1/limits").json() == before


def test_refusals_launch_nothing(
    serve_server: Server, anon: httpx.Client, api: httpx.Client, tmp_path: object
) -> None:
    marker = f"{tmp_path}/marker"
    run = {"argv": ["touch", marker]}
    error_of(anon.post("/v1/run", json=run), 401)
    wrong = {"Authorization": "Bearer wrong"}
    assert error_of(anon.post("/v1/run", json=run, headers=wrong), 401)["message"] == "wrong token"
    # The token in the query string: WebSocket routes only.
    error = error_of(anon.post("/v1/run", json=run, params={"token": serve_server.token}), 401)
    assert "WebSocket routes only" in error["message"]
    # 100 MiB: refused from its Content-Length, before the body is read.
    with socket.create_connection(("127.0.0.1", serve_server.port), timeout=10) as s:
        s.sendall(
            b"POST /v1/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + serve_server.token.encode() + b"\r\n"
            b"Content-Length: 104857600\r\n\r\n" + b'{"argv": ["touch", "' + marker.encode()
        )
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head
    assert not os.path.exists(marker)
    assert api.post("/v1/run", json=run).json()["exitCode"] == 0
    assert os.path.exists(marker)
    # The document is public.
    assert anon.get("/v1/openapi.json").status_code == 200


def _upgrade(server: Server, path: str, **headers: str) -> int:
    """The status of a WebSocket handshake (101 if accepted)."""
    with httpx.Client(base_url=server.base, timeout=10, verify=False) as client:
        h = {
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            **headers,
        }
        with client.stream("GET", path, headers=h) as r:
            return r.status_code


def test_websocket_token_and_origin(serve_server: Server) -> None:
    token = serve_server.token
    ok_origin = f"http://127.0.0.1:{serve_server.port}"
    assert _upgrade(serve_server, f"/v1/spawn?token={token}") == 101
    assert _upgrade(serve_server, f"/v1/spawn?token={token}", Origin=ok_origin) == 101
    assert _upgrade(serve_server, "/v1/spawn?token=wrong") == 401
    assert _upgrade(serve_server, "/v1/spawn") == 401
    evil = {"Origin": "https://evil.example"}
    assert _upgrade(serve_server, f"/v1/spawn?token={token}", **evil) == 403


def test_no_token_beyond_loopback_is_refused(tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SANDLOT_TOKEN"}
    r = subprocess.run(
        [sys.executable, "-m", "sandlot", "serve", "local", "--listen", "0.0.0.0:0"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert b"refusing to listen on 0.0.0.0 without a token" in r.stderr


def test_openapi_documents_every_route(api: httpx.Client, serve_server: Server) -> None:
    from sandlot._serve._app import create_app

    doc = api.get("/v1/openapi.json").json()
    app = create_app(None)  # type: ignore[arg-type]
    routes = {r.path for r in app.app.routes}  # type: ignore[attr-defined]
    assert routes == set(doc["paths"])


def test_server_restart_and_two_servers_serve_the_same_jobs(
    serve_server: Server, tmp_path: object
) -> None:
    """kill -9 of a server: its jobs live on; another server (trio) lists and follows
    them, and so would the first one restarted."""
    workdir = str(tmp_path)
    first = start_server_(workdir, home=f"{workdir}/home")
    try:
        headers = {"Authorization": f"Bearer {first.token}"}
        gate = f"{workdir}/gate"
        script = f"echo before; while [ ! -e {gate} ]; do sleep 0.02; done; echo after"
        with httpx.Client(base_url=first.base, headers=headers, verify=False) as a:
            pid = a.post("/v1/processes", json={"argv": ["sh", "-c", script]}).json()["id"]
            wait_for_output(a, pid, b"before\n")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        second = start_server_(workdir, home=f"{workdir}/home", token=first.token, backend="trio")
        try:
            with httpx.Client(base_url=second.base, headers=headers, verify=False) as b:
                listed = b.get("/v1/processes").json()["processes"]
                assert [p["id"] for p in listed] == [pid]
                assert listed[0]["status"] == "running"
                open(gate, "w").close()
                got = b""
                with b.stream("GET", f"/v1/processes/{pid}/logs/follow") as r:
                    for _, event, data in sse_events(r):
                        if event == "exit":
                            break
                        got += unb64(data["data"])
                assert got == b"before\nafter\n"
                assert b.delete(f"/v1/processes/{pid}").status_code == 204
        finally:
            second.stop()
    finally:
        first.stop()


def start_server_(workdir: str, **kw: object) -> Server:
    from targets.serve import start_server

    os.makedirs(str(kw.get("home")), exist_ok=True)
    return start_server(workdir, **kw)  # type: ignore[arg-type]


def _running(needle: str) -> list[int]:
    """Pids of the processes whose command line holds ``needle``."""
    return [pid for pid, p in processes().items() if needle.encode() in p.cmdline]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_run_whose_client_goes_away_is_killed(backend: str, tmp_path: object) -> None:
    """A client that gives up on a run (its timeout, Ctrl-C) closes the connection: the
    command and its group are killed, not left to run until the run's timeout."""
    workdir = str(tmp_path)
    server = start_server_(workdir, home=f"{workdir}/home", backend=backend)
    try:
        started, gate, marker = (f"{workdir}/{n}" for n in ("started", "gate", "marker"))
        script = f"touch {started}; while [ ! -e {gate} ]; do sleep 0.02; done; touch {marker}"
        body = json.dumps({"argv": ["sh", "-c", script]}).encode()
        head = (
            f"POST /v1/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {server.token}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(head.encode() + body)
            deadline = time.monotonic() + 20
            while not os.path.exists(started):
                assert time.monotonic() < deadline, "the run did not start"
                time.sleep(0.02)  # a file is all the command can tell us
            assert _running(gate)
        deadline = time.monotonic() + 10
        while _running(gate):
            assert time.monotonic() < deadline, "the run outlived its client by 10 s"
            time.sleep(0.02)  # an orphan's exit gives no event to wait on
        open(gate, "w").close()
        headers = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.base, headers=headers) as client:
            assert client.post("/v1/run", json={"argv": ["true"]}).json()["exitCode"] == 0
        assert not os.path.exists(marker)
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigterm_stops_the_server_cleanly(backend: str, tmp_path: object) -> None:
    """``kill -TERM`` (a service manager's stop) with a follow still open: the server
    stops within its grace, exits 128+15, and says nothing but its first line (no
    traceback); the follower sees the connection end."""
    workdir = str(tmp_path)
    server = start_server_(workdir, home=f"{workdir}/home", backend=backend)
    gate = f"{workdir}/gate"
    try:
        headers = {"Authorization": f"Bearer {server.token}"}
        script = f"echo x; while [ ! -e {gate} ]; do sleep 0.02; done"
        with httpx.Client(base_url=server.base, headers=headers) as client:
            assert client.post("/v1/run", json={"argv": ["true"]}).json()["exitCode"] == 0
            pid = client.post("/v1/processes", json={"argv": ["sh", "-c", script]}).json()["id"]
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as follower:
            follower.sendall(
                f"GET /v1/processes/{pid}/logs/follow HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {server.token}\r\n\r\n".encode()
            )
            got = b""
            while b"event: output" not in got:
                chunk = follower.recv(4096)
                assert chunk, got
                got += chunk
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(20) == 128 + signal.SIGTERM
            while follower.recv(4096):
                pass  # the server's end of the follow: the connection closes
        with open(server.log, encoding="utf-8") as f:
            said = f.read()
        assert said == f"sandlot: serving local on http://127.0.0.1:{server.port}\n"
    finally:
        server.stop()
        open(gate, "w").close()  # the job outlives its server, by design: end it
    deadline = time.monotonic() + 10
    while _running(gate):
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.02)  # an orphan's exit gives no event to wait on
