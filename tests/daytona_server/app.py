"""A local stand-in for Daytona: the control plane and the toolbox daemon the SDK talks to.

It speaks the part of the protocol the ``daytona`` SDK 0.226.1 uses (see
``/work/shared/reference/daytona.md``) and really runs the processes on this machine, with
the daemon's quirks reproduced on purpose: session logs framed line by line (NULs dropped,
a final newline appended, markers that frames split), merged output for
``/process/execute``, no EOF for session input, no signal in any exit record.

Run as a script: ``python app.py --api-key KEY [--child-env NAME=VALUE ...]``; it prints
``PORT <n>`` once it listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import itertools
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

STDOUT_MARK = b"\x01\x01\x01"
STDERR_MARK = b"\x02\x02\x02"
# Frame sizes the log WebSocket cycles through, so that markers and lines get split.
FRAME_SIZES = (1, 2, 5, 7, 4096, 65536, 3, 100000)
# Marks every process the server starts, so that stopping the server stops them all.
SERVER_VAR = "SANDLOT_TEST_DAYTONA_SERVER"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, message: str) -> web.Response:
    body = {"statusCode": status, "message": message, "code": f"HTTP_{status}"}
    return web.json_response(body, status=status)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


#: The fields of a create request that the sandbox's record then shows.
CREATE_FIELDS = (
    "env",
    "cpu",
    "memory",
    "disk",
    "snapshot",
    "autoStopInterval",
    "autoArchiveInterval",
    "autoDeleteInterval",
    "volumes",
)


class Framer:
    """The daemon's line framing: each line marked, NULs dropped, a last newline added."""

    def __init__(self, mark: bytes, log: CommandLog) -> None:
        self.mark = mark
        self.log = log
        self.partial = bytearray()

    def feed(self, data: bytes) -> None:
        self.partial += data
        end = self.partial.rfind(b"\n")
        if end < 0:
            return
        lines = bytes(self.partial[: end + 1]).replace(b"\0", b"")
        del self.partial[: end + 1]
        out = bytearray()
        for line in lines.split(b"\n")[:-1]:
            out += self.mark + line + b"\n"
        self.log.append(bytes(out))

    def close(self) -> None:
        if self.partial:
            self.log.append(self.mark + bytes(self.partial).replace(b"\0", b"") + b"\n")
            self.partial.clear()


class CommandLog:
    def __init__(self) -> None:
        self.data = bytearray()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.changed = asyncio.Event()
        self.closed = False

    def append(self, chunk: bytes) -> None:
        self.data += chunk
        self.changed.set()

    def close(self) -> None:
        self.closed = True
        self.changed.set()


class Command:
    def __init__(self, command: str, suppress_echo: bool) -> None:
        self.id = str(uuid.uuid4())
        self.command = command
        self.suppress_echo = suppress_echo
        self.proc: asyncio.subprocess.Process | None = None
        self.exit_code: int | None = None
        self.log = CommandLog()
        self.out = Framer(STDOUT_MARK, self.log)
        self.err = Framer(STDERR_MARK, self.log)
        self.done = asyncio.Event()

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "command": self.command}
        if self.exit_code is not None:
            body["exitCode"] = self.exit_code
        return body


class Session:
    def __init__(self, sid: str) -> None:
        self.id = sid
        self.commands: dict[str, Command] = {}
        self.lock = asyncio.Lock()  # one persistent shell: commands run one after another

    def json(self) -> dict[str, Any]:
        return {"sessionId": self.id, "commands": [c.json() for c in self.commands.values()]}


class Pty:
    def __init__(self, pid: int, master: int, proc: subprocess.Popen[bytes], info: dict[str, Any]):
        self.pid = pid
        self.master = master
        self.proc = proc
        self.info = info


class Daemon:
    """The toolbox of one sandbox."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sessions: dict[str, Session] = {}
        self.ptys: dict[str, Pty] = {}

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        mark = {SERVER_VAR: str(os.getpid())}
        return {**os.environ, **self.server.child_env, **(extra or {}), **mark}

    # -- one-shot ------------------------------------------------------------------------
    async def execute(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        timeout = body.get("timeout") or None
        proc = await asyncio.create_subprocess_exec(
            "sh",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=body.get("cwd") or None,
            env=self.env(body.get("envs")),
            start_new_session=True,
        )
        try:
            out, _ = await asyncio.wait_for(
                proc.communicate(body["command"].encode() + b"\n"), timeout
            )
        except TimeoutError:
            kill_group(proc.pid)
            await proc.wait()
            return error(408, "command execution timeout")
        code = proc.returncode if proc.returncode is not None and proc.returncode >= 0 else -1
        return web.json_response({"exitCode": code, "result": out.decode("utf-8", "replace")})

    # -- sessions ------------------------------------------------------------------------
    async def create_session(self, request: web.Request) -> web.StreamResponse:
        sid = (await request.json())["sessionId"]
        if sid in self.sessions:
            return error(409, f"session {sid} already exists")
        self.sessions[sid] = Session(sid)
        return web.Response(status=201)

    def session(self, request: web.Request) -> Session:
        sid = request.match_info["sid"]
        if sid not in self.sessions:
            raise web.HTTPNotFound(
                text=json.dumps({"statusCode": 404, "message": f"session {sid} not found"}),
                content_type="application/json",
            )
        return self.sessions[sid]

    def command(self, request: web.Request) -> Command:
        session = self.session(request)
        cid = request.match_info["cid"]
        if cid not in session.commands:
            raise web.HTTPNotFound(
                text=json.dumps({"statusCode": 404, "message": f"command {cid} not found"}),
                content_type="application/json",
            )
        return session.commands[cid]

    async def list_sessions(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([s.json() for s in self.sessions.values()])

    async def get_session(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.session(request).json())

    async def delete_session(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        del self.sessions[session.id]
        for cmd in session.commands.values():
            if cmd.proc is not None and cmd.proc.returncode is None:
                kill_group(cmd.proc.pid)
        return web.Response(status=204)

    async def session_exec(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        body = await request.json()
        cmd = Command(body["command"], bool(body.get("suppressInputEcho")))
        session.commands[cmd.id] = cmd
        task = asyncio.ensure_future(self.run_command(session, cmd))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)
        if body.get("runAsync") or body.get("async"):
            return web.json_response({"cmdId": cmd.id}, status=202)
        await cmd.done.wait()
        return web.json_response(
            {
                "cmdId": cmd.id,
                "exitCode": cmd.exit_code,
                "output": (cmd.log.stdout + cmd.log.stderr).decode("utf-8", "replace"),
                "stdout": cmd.log.stdout.decode("utf-8", "replace"),
                "stderr": cmd.log.stderr.decode("utf-8", "replace"),
            }
        )

    async def run_command(self, session: Session, cmd: Command) -> None:
        async with session.lock:
            # The real daemon types the command into its session shell: no exec carries
            # the whole line, so it is not bound by the size of one argument. A file read
            # by sh is the same.
            fd, script = tempfile.mkstemp(prefix="daytona-cmd-")
            with os.fdopen(fd, "w") as f:
                f.write(cmd.command + "\n")
            try:
                proc = await asyncio.create_subprocess_exec(
                    "sh",
                    script,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=self.env(),
                    start_new_session=True,
                )
                cmd.proc = proc

                async def pump(stream: asyncio.StreamReader, framer: Framer, raw: bytearray):
                    while chunk := await stream.read(65536):
                        raw += chunk
                        framer.feed(chunk)
                    framer.close()

                assert proc.stdout and proc.stderr
                await asyncio.gather(
                    pump(proc.stdout, cmd.out, cmd.log.stdout),
                    pump(proc.stderr, cmd.err, cmd.log.stderr),
                    proc.wait(),
                )
                rc = proc.returncode
                cmd.exit_code = rc if rc is not None and rc >= 0 else -1
            finally:
                os.unlink(script)
                cmd.log.close()
                cmd.done.set()

    async def get_command(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.command(request).json())

    async def command_logs(self, request: web.Request) -> web.StreamResponse:
        cmd = self.command(request)
        if request.query.get("follow") != "true":
            return web.json_response(
                {
                    "output": (cmd.log.stdout + cmd.log.stderr).decode("utf-8", "replace"),
                    "stdout": cmd.log.stdout.decode("utf-8", "replace"),
                    "stderr": cmd.log.stderr.decode("utf-8", "replace"),
                }
            )
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        # aiohttp answers the client's pings only while someone reads the socket.
        reader = asyncio.ensure_future(self.drain_ws(ws))
        try:
            await self.send_log(ws, cmd.log)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await ws.close(code=1000)
        return ws

    @staticmethod
    async def drain_ws(ws: web.WebSocketResponse) -> None:
        async for _ in ws:
            pass

    @staticmethod
    async def send_log(ws: web.WebSocketResponse, log: CommandLog) -> None:
        sizes = itertools.cycle(FRAME_SIZES)
        pos = 0
        while True:
            if pos < len(log.data):
                chunk = bytes(log.data[pos : pos + next(sizes)])
                pos += len(chunk)  # before awaiting: the log grows meanwhile
                await ws.send_bytes(chunk)
                continue
            if log.closed:
                break
            log.changed.clear()
            if pos < len(log.data) or log.closed:
                continue
            await log.changed.wait()

    async def command_input(self, request: web.Request) -> web.StreamResponse:
        cmd = self.command(request)
        data: str = (await request.json())["data"]
        if cmd.done.is_set() or cmd.proc is None or cmd.proc.stdin is None:
            return error(410, "command has already completed")
        if not data.endswith("\n"):
            data += "\n"
        raw = data.encode()
        if not cmd.suppress_echo:
            cmd.out.feed(raw)
        try:
            cmd.proc.stdin.write(raw)
            await cmd.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return error(410, "command has already completed")
        return web.Response(status=204)

    # -- pty -----------------------------------------------------------------------------
    async def pty_create_connect(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        pid_name = q["id"]
        if pid_name in self.ptys:
            return error(409, f"PTY session {pid_name} already exists")
        cols, rows = int(q.get("cols", "80")), int(q.get("rows", "24"))
        requested = [
            p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        ]
        envs: dict[str, str] = {}
        for p in requested:
            if p.startswith("X-Daytona-Pty-Envs~"):
                raw = p.split("~", 1)[1]
                envs = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

        def controlling_tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        env = self.env({**envs, "TERM": "xterm-256color"})
        proc = subprocess.Popen(  # noqa: ASYNC220 - needs preexec_fn for TIOCSCTTY
            ["bash", "--noprofile", "--norc", "-i", "-l"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=q.get("cwd") or None,
            env=env,
            start_new_session=True,
            preexec_fn=controlling_tty,
        )
        os.close(slave)
        info = {
            "id": pid_name,
            "active": True,
            "cols": cols,
            "rows": rows,
            "cwd": q.get("cwd") or os.getcwd(),
            "envs": envs,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lazyStart": False,
        }
        session = Pty(proc.pid, master, proc, info)
        self.ptys[pid_name] = session
        ws = web.WebSocketResponse(protocols=["X-Daytona-Pty-Exit-Control"])
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "control", "status": "connected"}))
        loop = asyncio.get_running_loop()
        output: asyncio.Queue[bytes | None] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(master)
                output.put_nowait(None)
            else:
                output.put_nowait(data)

        loop.add_reader(master, readable)

        async def from_client() -> None:
            async for msg in ws:
                data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
                try:
                    os.write(master, data)
                except OSError:
                    break

        reader = asyncio.ensure_future(from_client())
        try:
            while (chunk := await output.get()) is not None:
                await ws.send_bytes(chunk)
            status = await loop.run_in_executor(None, proc.wait)
        finally:
            reader.cancel()
            loop.remove_reader(master)
            os.close(master)
            self.ptys.pop(pid_name, None)
            if proc.poll() is None:
                kill_group(proc.pid)
                await loop.run_in_executor(None, proc.wait)
        exited: dict[str, Any] = {"type": "control", "status": "exited"}
        if status >= 0:
            exited["exitCode"] = status
        else:
            # Like the daemon: the killed shell reports -1 and a reason naming the signal.
            exited["exitCode"] = -1
            sig = -status
            names = {signal.SIGKILL: "SIGKILL", signal.SIGTERM: "SIGTERM"}
            exited["exitReason"] = names.get(sig, f"signal {sig}")  # type: ignore[call-overload]
        if not ws.closed:
            await ws.send_str(json.dumps(exited))
            if status == 0:
                await ws.close(code=1000)
            else:
                reason = {k: v for k, v in exited.items() if k in ("exitCode", "exitReason")}
                await ws.close(code=1011, message=json.dumps(reason).encode())
        return ws

    def pty(self, request: web.Request) -> Pty:
        sid = request.match_info["sid"]
        if sid not in self.ptys:
            raise web.HTTPNotFound(
                text=json.dumps({"statusCode": 404, "message": f"PTY session {sid} not found"}),
                content_type="application/json",
            )
        return self.ptys[sid]

    async def pty_info(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.pty(request).info)

    async def pty_resize(self, request: web.Request) -> web.StreamResponse:
        session = self.pty(request)
        body = await request.json()
        size = struct.pack("HHHH", body["rows"], body["cols"], 0, 0)
        fcntl.ioctl(session.master, termios.TIOCSWINSZ, size)
        session.info.update(rows=body["rows"], cols=body["cols"])
        return web.json_response(session.info)

    async def pty_delete(self, request: web.Request) -> web.StreamResponse:
        session = self.pty(request)
        kill_group(session.pid)
        return web.json_response({"message": "PTY session deleted"})

    # -- files ---------------------------------------------------------------------------
    async def upload(self, request: web.Request) -> web.StreamResponse:
        reader = await request.multipart()
        paths: dict[str, str] = {}
        datas: dict[str, bytes] = {}
        while (part := await reader.next()) is not None:
            name = part.name or ""  # type: ignore[union-attr]
            index = name.split("]")[0]
            if name.endswith(".path"):
                paths[index] = (await part.read()).decode()  # type: ignore[union-attr]
            elif name.endswith(".file"):
                datas[index] = bytes(await part.read())  # type: ignore[union-attr]
        for index, path in paths.items():
            try:
                with open(path, "wb") as f:  # noqa: ASYNC230 - a test server
                    f.write(datas.get(index, b""))
            except OSError as exc:
                status = 404 if isinstance(exc, FileNotFoundError) else 400
                return error(status, f"cannot write {path}: {exc.strerror}")
        return web.json_response({"files": [{"path": p} for p in paths.values()]})

    async def download(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        boundary = uuid.uuid4().hex
        out = bytearray()
        for path in body["paths"]:
            out += f"--{boundary}\r\n".encode()
            try:
                with open(path, "rb") as f:  # noqa: ASYNC230 - a test server
                    data = f.read()
            except OSError as exc:
                status = 404 if isinstance(exc, FileNotFoundError) else 400
                err = {"message": f"{exc.strerror}: {path}", "statusCode": status}
                err["code"] = "FILE_NOT_FOUND" if status == 404 else "BAD_REQUEST"
                out += (
                    f'Content-Disposition: form-data; name="error"; filename="{path}"\r\n'
                    "Content-Type: application/json\r\n\r\n"
                ).encode()
                out += json.dumps(err).encode() + b"\r\n"
                continue
            out += (
                f'Content-Disposition: form-data; name="file"; filename="{path}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            out += data + b"\r\n"
        out += f"--{boundary}--\r\n".encode()
        return web.Response(
            body=bytes(out), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )

    async def permissions(self, request: web.Request) -> web.StreamResponse:
        path = request.query["path"]
        mode = request.query.get("mode")
        try:
            if mode:
                os.chmod(path, int(mode, 8))
        except OSError as exc:
            return error(404 if isinstance(exc, FileNotFoundError) else 400, str(exc.strerror))
        return web.Response(status=200)


class Server:
    def __init__(self, api_key: str, child_env: dict[str, str]) -> None:
        self.api_key = api_key
        self.child_env = child_env
        self.port = 0
        self.sandboxes: dict[str, dict[str, Any]] = {}
        self.daemons: dict[str, Daemon] = {}
        self.tasks: set[asyncio.Future[Any]] = set()
        self.add_sandbox("sandbox-test-1", "sandlot-test")

    def add_sandbox(self, sid: str, name: str, labels: dict[str, str] | None = None) -> None:
        self.sandboxes[sid] = {
            "id": sid,
            "organizationId": "org-test",
            "name": name,
            "user": "root",
            "env": {},
            "labels": labels or {},
            "public": False,
            "networkBlockAll": False,
            "kvm": False,
            "target": "local",
            "cpu": 2,
            "gpu": 0,
            "memory": 4,
            "disk": 10,
            "state": "started",
            "toolboxProxyUrl": "",  # filled once the port is known
        }
        self.daemons[sid] = Daemon(self)

    def find(self, ident: str) -> dict[str, Any] | None:
        if ident in self.sandboxes:
            return self.sandboxes[ident]
        for sb in self.sandboxes.values():
            if sb["name"] == ident:
                return sb
        return None

    def dto(self, sb: dict[str, Any]) -> dict[str, Any]:
        return {**sb, "toolboxProxyUrl": f"http://127.0.0.1:{self.port}/toolbox"}

    @web.middleware
    async def auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/socket.io"):
            return error(404, "no events here: the SDK falls back to polling")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return error(401, "Invalid credentials")
        return await handler(request)

    async def get_sandbox(self, request: web.Request) -> web.StreamResponse:
        sb = self.find(request.match_info["ident"])
        if sb is None:
            return error(404, f"Sandbox with ID or name {request.match_info['ident']} not found")
        return web.json_response(self.dto(sb))

    async def create_sandbox(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        sid = f"sandbox-{uuid.uuid4().hex[:12]}"
        self.add_sandbox(sid, body.get("name") or sid, body.get("labels"))
        # What the request asked for, as Daytona's answer reports it.
        for key in CREATE_FIELDS:
            if key in body:
                self.sandboxes[sid][key] = body[key]
        return web.json_response(self.dto(self.sandboxes[sid]))  # exactly 200, as the SDK needs

    async def delete_sandbox(self, request: web.Request) -> web.StreamResponse:
        sb = self.find(request.match_info["ident"])
        if sb is None:
            return error(404, "Sandbox not found")
        del self.sandboxes[sb["id"]]
        return web.json_response({**self.dto(sb), "state": "destroyed"})

    def set_state(self, state: str) -> Handler:
        """``POST /sandbox/{id}/start`` and ``/stop``: the state changes at once."""

        async def handle(request: web.Request) -> web.StreamResponse:
            sb = self.find(request.match_info["ident"])
            if sb is None:
                return error(404, "Sandbox not found")
            sb["state"] = state
            return web.json_response(self.dto(sb))

        return handle

    async def proxy_url(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"url": f"http://127.0.0.1:{self.port}/toolbox"})

    def toolbox(self, method: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            daemon = self.daemons.get(request.match_info["sandbox"])
            if daemon is None:
                return error(404, "sandbox not found")
            if self.sandboxes.get(request.match_info["sandbox"], {}).get("state") != "started":
                return error(409, "sandbox is not started")  # a stopped sandbox's toolbox
            result: web.StreamResponse = await getattr(daemon, method)(request)
            return result

        return handle

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.auth], client_max_size=1 << 30)
        tb = "/toolbox/{sandbox}"
        app.add_routes(
            [
                web.get("/api/sandbox/{ident}", self.get_sandbox),
                web.post("/api/sandbox", self.create_sandbox),
                web.delete("/api/sandbox/{ident}", self.delete_sandbox),
                web.post("/api/sandbox/{ident}/start", self.set_state("started")),
                web.post("/api/sandbox/{ident}/stop", self.set_state("stopped")),
                web.get("/api/sandbox/{ident}/toolbox-proxy-url", self.proxy_url),
                web.post(tb + "/process/execute", self.toolbox("execute")),
                web.post(tb + "/process/session", self.toolbox("create_session")),
                web.get(tb + "/process/session", self.toolbox("list_sessions")),
                web.get(tb + "/process/session/{sid}", self.toolbox("get_session")),
                web.delete(tb + "/process/session/{sid}", self.toolbox("delete_session")),
                web.post(tb + "/process/session/{sid}/exec", self.toolbox("session_exec")),
                web.get(tb + "/process/session/{sid}/command/{cid}", self.toolbox("get_command")),
                web.get(
                    tb + "/process/session/{sid}/command/{cid}/logs", self.toolbox("command_logs")
                ),
                web.post(
                    tb + "/process/session/{sid}/command/{cid}/input", self.toolbox("command_input")
                ),
                web.get(tb + "/process/pty/create-connect", self.toolbox("pty_create_connect")),
                web.get(tb + "/process/pty/{sid}", self.toolbox("pty_info")),
                web.post(tb + "/process/pty/{sid}/resize", self.toolbox("pty_resize")),
                web.delete(tb + "/process/pty/{sid}", self.toolbox("pty_delete")),
                web.post(tb + "/files/bulk-upload", self.toolbox("upload")),
                web.post(tb + "/files/bulk-download", self.toolbox("download")),
                web.post(tb + "/files/permissions", self.toolbox("permissions")),
            ]
        )
        return app


def kill_sandbox_processes() -> None:
    """The sandbox goes with its server: kill everything it started, setsid or not."""
    needle = f"{SERVER_VAR}={os.getpid()}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    os.kill(int(entry), signal.SIGKILL)
        except OSError:
            continue


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--child-env", action="append", default=[])
    args = parser.parse_args()
    child_env = dict(item.split("=", 1) for item in args.child_env)
    server = Server(args.api_key, child_env)
    runner = web.AppRunner(server.app(), handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # Also stop when the test process that started us goes away (stdin closes).
    loop.add_reader(sys.stdin.fileno(), stop.set)
    await stop.wait()
    kill_sandbox_processes()
    for daemon in server.daemons.values():
        for session in daemon.sessions.values():
            for cmd in session.commands.values():
                if cmd.proc is not None and cmd.proc.returncode is None:
                    kill_group(cmd.proc.pid)
        for p in daemon.ptys.values():
            kill_group(p.pid)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
