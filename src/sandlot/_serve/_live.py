"""The WebSocket routes: a process bound to its socket (``/v1/spawn``, what the
Python client uses), a server-held terminal (``.../terminal``, for browsers)
and the stdio of a managed process (``.../stdio``).

Binary frames carry bytes; on ``spawn`` and ``stdio`` their first byte is the channel
(0 stdin, 1 stdout, 2 stderr). Text frames are small JSON control messages.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import ObjectReceiveStream
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .._errors import InvalidArgument, LaunchError, SandlotError
from .._jobs import JobHandle
from .._process import release
from .._records import TerminalSize
from .._transport import LaunchSpec, RawProcess, send_terminal_eof
from .._validate import check_argv, check_cwd, check_env, check_signal, check_size
from ._service import Service, job_json, terminal_json
from ._terminals import LiveTerminal
from ._wire import CHANNEL_STDERR, CHANNEL_STDIN, CHANNEL_STDOUT, error_of, exit_to_json

__all__ = ["spawn_socket", "stdio_socket", "terminal_socket"]

#: stdin frames queued for a process that does not read yet (per socket)
_QUEUED_FRAMES = 64
#: the largest stdin frame on the spawn socket (Hypercorn's limit on a message: 16 MiB)
_SPAWN_FRAME_BYTES = 1 << 20
#: the most output read at once for one frame: whatever the process wrote while the
#: previous frame was being sent goes out as one frame (fewer frames, less per-frame CPU
#: on both ends), and no more than this is held in the server
_OUT_FRAME_BYTES = 1 << 20


def _service(ws: WebSocket) -> Service:
    service: Service = ws.app.state.service
    return service


class _Socket:
    """Sends from several tasks, one frame at a time; a gone peer ends nothing."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._lock = anyio.Lock()
        self.gone = False

    async def send_json(self, data: dict[str, Any]) -> None:
        await self._send({"type": "websocket.send", "text": json.dumps(data)})

    async def send_bytes(self, data: bytes) -> None:
        await self._send({"type": "websocket.send", "bytes": data})

    async def _send(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        async with self._lock:
            try:
                await self.ws.send(message)
            except (WebSocketDisconnect, OSError, RuntimeError):
                self.gone = True

    async def close(self, code: int = 1000) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED and not self.gone:
            async with self._lock:
                try:
                    await self.ws.close(code)
                except (WebSocketDisconnect, OSError, RuntimeError):
                    pass
                self.gone = True


async def _messages(ws: WebSocket, limit: int) -> Any:
    """Yield ``bytes`` or a parsed JSON object per frame, until the peer goes."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            data = message["bytes"]
            if len(data) > limit + 1:
                raise InvalidArgument(f"a frame exceeds maxInputBytesPerRequest ({limit} bytes)")
            yield data
        elif message.get("text") is not None:
            try:
                parsed = json.loads(message["text"])
            except ValueError:
                raise InvalidArgument("a text frame must be a JSON object") from None
            if not isinstance(parsed, dict):
                raise InvalidArgument("a text frame must be a JSON object")
            yield parsed


def _spec(data: Any) -> LaunchSpec:
    if not isinstance(data, dict):
        raise InvalidArgument("the first frame must be a JSON object")
    argv = data.get("argv")
    if not isinstance(argv, list) or not argv:
        raise InvalidArgument("argv must be a non-empty list of strings")
    tty = data.get("tty")
    size = None if tty is None else check_size((tty.get("rows"), tty.get("cols")))
    return LaunchSpec(
        check_argv(argv[0], argv[1:]),
        check_cwd(data.get("cwd")),
        check_env(data.get("env")),
        pty=size,
        stdin=bool(data.get("stdin", True)),
    )


async def spawn_socket(ws: WebSocket) -> None:
    """A process that lives as long as its socket: the first text frame is the launch
    (``{"argv", "cwd", "env", "tty": {"rows", "cols"} | null, "stdin": bool}``); closing
    the socket while the process runs kills its process group."""
    service = _service(ws)
    await ws.accept()
    sock = _Socket(ws)
    try:
        first = await ws.receive_text()
        if len(first) > service.limits.max_request_bytes:
            raise InvalidArgument(
                f"the launch exceeds maxRequestBytes ({service.limits.max_request_bytes} bytes)"
            )
        spec = _spec(json.loads(first))
        service.check_room()
    except (ValueError, SandlotError, KeyError, TypeError, AttributeError) as exc:
        await sock.send_json({"type": "error", **error_of(exc)})
        await sock.close()
        return
    except (WebSocketDisconnect, RuntimeError):
        return
    service.attached += 1
    raw: RawProcess | None = None
    try:
        try:
            raw = await service.sb._start(spec)
        except SandlotError as exc:
            await sock.send_json({"type": "error", **error_of(exc)})
            await sock.close()
            return
        await _serve_spawn(ws, sock, service, raw)
    finally:
        service.attached -= 1
        if raw is not None:
            with anyio.CancelScope(shield=True):
                if raw.poll() is None:
                    await release(raw, spec.argv, service.sb._reaper)
                else:
                    with anyio.move_on_after(5):
                        await raw.aclose()
        await sock.close()


async def _serve_spawn(ws: WebSocket, sock: _Socket, service: Service, raw: RawProcess) -> None:
    try:
        await raw.wait_ready()
    except LaunchError as exc:
        await sock.send_json({"type": "error", **error_of(exc)})
        status = await raw.wait()
        await sock.send_json({"type": "exit", **exit_to_json(status)})
        await _drain(ws)
        return
    await sock.send_json({"type": "ready"})
    send_in, receive_in = anyio.create_memory_object_stream[bytes | None](_QUEUED_FRAMES)

    async def pump(stream: Any, channel: int, name: str) -> None:
        await _pump(stream, channel, sock.send_bytes)
        await sock.send_json({"type": "eof", "stream": name})

    async def watch_exit() -> None:
        status = await raw.wait()
        await sock.send_json({"type": "exit", **exit_to_json(status)})

    async def write_stdin(queue: ObjectReceiveStream[bytes | None]) -> None:
        async with queue:
            async for item in queue:
                try:
                    if item is None:
                        if spec_pty:
                            await send_terminal_eof(raw.stdin.send)
                        else:
                            await raw.stdin.aclose()
                        continue
                    await raw.stdin.send(item)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                    await sock.send_json({"type": "stdin", "state": "broken"})

    spec_pty = raw.stderr is None
    # A stream with flow control, not a request: frames are bounded by the server's
    # maximum message size (the client sends 64 KiB at most), not maxInputBytesPerRequest.
    limit = _SPAWN_FRAME_BYTES
    async with anyio.create_task_group() as tg:
        tg.start_soon(pump, raw.stdout, CHANNEL_STDOUT, "stdout")
        if raw.stderr is not None:
            tg.start_soon(pump, raw.stderr, CHANNEL_STDERR, "stderr")
        tg.start_soon(watch_exit)
        tg.start_soon(write_stdin, receive_in)
        try:
            async with send_in:
                async for message in _messages(ws, limit):
                    if isinstance(message, bytes):
                        if message[:1] == bytes([CHANNEL_STDIN]) and len(message) > 1:
                            await send_in.send(message[1:])
                        continue
                    await _control(message, raw, send_in)
        except (WebSocketDisconnect, SandlotError, RuntimeError):
            pass
        tg.cancel_scope.cancel()


async def _pump(stream: Any, channel: int, send: Callable[[bytes], Awaitable[None]]) -> None:
    """Send ``stream`` as frames that start with ``channel``. Reading goes on while a
    frame is being sent, and what it gathers meanwhile (up to ``_OUT_FRAME_BYTES``) goes
    out as the next frame: a busy peer gets fewer, larger frames (the CPU is per frame,
    on both ends), and past that bound the process is held back as by a pipe."""
    head = bytes([channel])
    pending: list[bytes] = []  # the next frame's data, as read (joined once, when sent)
    size = 0
    ended = False
    readable = anyio.Event()  # set when ``pending`` has bytes, or the stream ended
    writable = anyio.Event()  # set when ``pending`` was taken

    async def read() -> None:
        nonlocal ended, writable, size
        try:
            while True:
                while size >= _OUT_FRAME_BYTES:
                    await writable.wait()
                    writable = anyio.Event()
                data = await stream.receive(_OUT_FRAME_BYTES - size)
                pending.append(data)
                size += len(data)
                readable.set()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        except SandlotError:
            pass
        ended = True
        readable.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        while True:
            await readable.wait()
            readable = anyio.Event()
            if pending:
                frame = b"".join([head, *pending])
                pending.clear()
                size = 0
                writable.set()
                await send(frame)
            if ended and not pending:
                break


async def _control(message: dict[str, Any], raw: RawProcess, send_in: Any) -> None:
    kind = message.get("type")
    if kind == "eof":
        await send_in.send(None)
    elif kind == "signal":
        await raw.signal(check_signal(str(message.get("signal"))))
    elif kind == "resize":
        await raw.resize(TerminalSize(int(message["rows"]), int(message["cols"])))


async def _drain(ws: WebSocket) -> None:
    """Wait for the client to close."""
    try:
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError):
        pass


# -- terminals ----------------------------------------------------------------------------


async def terminal_socket(ws: WebSocket) -> None:
    """A server-held terminal: its recent output first (from ``?cursor=``, default the
    oldest byte kept), then live; binary frames are its input; text frames are
    ``{"type": "resize", "rows", "cols"}`` and ``{"type": "eof"}``; the server sends
    ``{"type": "exit", "exitCode" | "signal"}`` when it ends. A client that goes away
    leaves the terminal running."""
    service = _service(ws)
    live = service.terminals.get(ws.path_params["id"])
    if live is None:
        await ws.close(4404)
        return
    try:
        cursor = int(ws.query_params.get("cursor", "0"))
    except ValueError:
        cursor = 0
    await ws.accept()
    sock = _Socket(ws)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_terminal_out, sock, live, max(cursor, 0))
        try:
            async for message in _messages(ws, service.limits.max_input_bytes_per_request):
                await _terminal_in(live, message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except SandlotError as exc:
            await sock.send_json({"type": "error", **error_of(exc)})
        tg.cancel_scope.cancel()
    await sock.close()


async def _terminal_out(sock: _Socket, live: LiveTerminal, cursor: int) -> None:
    while not sock.gone:
        data, _, end = live.read(cursor, 1 << 16)
        if data:
            cursor = end
            await sock.send_bytes(data)
            continue
        if live.output_done:
            await live.wait_status()
            await sock.send_json({"type": "exit", **terminal_json(live)})
            await sock.close()
            return
        await live.wait_beyond(cursor)


async def _terminal_in(live: LiveTerminal, message: bytes | dict[str, Any]) -> None:
    if not live.running:
        return
    if isinstance(message, bytes):
        await live.term.input.send(message)
        return
    kind = message.get("type")
    if kind == "resize":
        await live.term.resize(check_size((message.get("rows"), message.get("cols"))))
    elif kind == "eof":
        await send_terminal_eof(live.term.input.send)
    elif kind == "signal":
        await live.term.send_signal(check_signal(str(message.get("signal"))))


# -- stdio of a managed process ----------------------------------------------------------------


async def stdio_socket(ws: WebSocket) -> None:
    """A managed process's stdio: its output from ``?cursor=`` (channel 1, or 1 and 2 for
    a process with separate streams, each from the start unless a cursor is given),
    then live; channel-0 frames are written to its stdin, ``{"type": "eof"}`` closes
    it; ``{"type": "exit", ...}`` ends the stream."""
    service = _service(ws)
    pid = ws.path_params["id"]
    live = service.terminals.get(pid)
    if live is not None:
        await terminal_socket(ws)  # one stream; the terminal route's frames
        return
    try:
        handle = await service.jobs().attach(pid)
    except SandlotError:
        await ws.close(4404)
        return
    await ws.accept()
    sock = _Socket(ws)
    jobs = service.jobs()

    async def follow(stream: str, channel: int) -> None:
        async for chunk in jobs.follow(handle, 0, stream=stream, poll=1.0):
            await sock.send_bytes(bytes([channel]) + chunk.data)

    async def out() -> None:
        async with anyio.create_task_group() as tg:
            for stream, channel in zip(
                handle.streams, (CHANNEL_STDOUT, CHANNEL_STDERR), strict=False
            ):
                tg.start_soon(follow, stream, channel)
        status = await jobs.status(handle)
        await sock.send_json({"type": "exit", **job_json(handle, status)})
        await sock.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(out)
        try:
            async for message in _messages(ws, service.limits.max_input_bytes_per_request):
                await _job_in(service, handle, message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except SandlotError as exc:
            await sock.send_json({"type": "error", **error_of(exc)})
        tg.cancel_scope.cancel()
    await sock.close()


async def _job_in(service: Service, handle: JobHandle, message: bytes | dict[str, Any]) -> None:
    jobs = service.jobs()
    if isinstance(message, bytes):
        if message[:1] == bytes([CHANNEL_STDIN]) and len(message) > 1:
            await jobs.write(handle, message[1:])
    elif message.get("type") == "eof":
        await jobs.close_stdin(handle)
    elif message.get("type") == "signal":
        await jobs.kill(handle, check_signal(str(message.get("signal"))))
