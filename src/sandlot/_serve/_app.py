"""The ASGI app: every route under ``/v1`` (see docs/serve.md and ``/v1/openapi.json``)."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute

from .._errors import InvalidArgument, ProcessExited, UnknownJob
from .._jobs import JobHandle, JobState, JobStatus
from .._records import TerminalSize
from .._sandbox import Sandbox
from .._transport import send_terminal_eof
from .._validate import check_signal, check_size
from ._guard import Guard
from ._http import (
    ApiError,
    Body,
    api,
    error_response,
    query_int,
    read_body,
    read_json,
    too_large,
    unless_client_leaves,
)
from ._limits import Limits
from ._live import spawn_socket, stdio_socket, terminal_socket
from ._openapi import document
from ._service import Service, job_json, terminal_json
from ._terminals import LiveTerminal
from ._wire import API, b64encode, error_body, exit_to_json

__all__ = ["create_app"]

_READ_BYTES = 1 << 20  # a log read's default size


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def _body(request: Request) -> Body:
    return await read_json(request, _service(request).limits.max_request_bytes)


def _input(service: Service, data: bytes | None) -> bytes | None:
    limit = service.limits.max_input_bytes_per_request
    if data is not None and len(data) > limit:
        raise too_large("the input", limit, "maxInputBytesPerRequest")
    return data


# -- the sandbox, the limits -----------------------------------------------------------


@api
async def sandbox_info(request: Request) -> Response:
    sb = _service(request).sb
    caps = sb.capabilities
    return JSONResponse(
        {
            "backend": sb.backend,
            "capabilities": {
                "stdinEof": caps.stdin_eof,
                "signals": caps.signals,
                "pty": caps.pty,
                "ptyResize": caps.pty_resize,
                "files": caps.files,
            },
        }
    )


@api
async def limits_route(request: Request) -> Response:
    service = _service(request)
    if request.method != "GET":
        body = await _body(request)
        service.limits = service.limits.updated(body.raw_data())
    return JSONResponse(service.limits.to_json())


# -- one-shot run -----------------------------------------------------------------------


@api
async def run(request: Request) -> Response:
    service = _service(request)
    lim = service.limits
    body = await _body(request)
    argv = body.argv()
    cwd, env = body.cwd(), body.env()
    stdin = _input(service, body.data("stdin"))
    timeout_ms = body.integer("timeoutMs", minimum=1, maximum=lim.max_run_timeout_ms)
    cap = body.integer("maxOutputBytes", minimum=0, maximum=lim.max_output_bytes)
    body.done()
    started = anyio.current_time()
    result = await unless_client_leaves(
        request,
        lambda: service.sb.exec(
            argv[0],
            list(argv[1:]),
            cwd=cwd,
            env=env,
            input=stdin,
            timeout=(timeout_ms or lim.default_run_timeout_ms) / 1000,
            max_output_bytes=lim.max_output_bytes if cap is None else cap,
        ),
    )
    if result is None:  # the client went away: the command was killed, nobody listens
        return Response(status_code=499)
    return JSONResponse(
        {
            **exit_to_json(result.exit),
            "stdout": b64encode(result.stdout),
            "stderr": b64encode(result.stderr),
            "timedOut": result.timed_out,
            "stdoutTruncated": result.stdout_truncated,
            "stderrTruncated": result.stderr_truncated,
            "durationMs": math.ceil((anyio.current_time() - started) * 1000),
        }
    )


# -- managed processes -------------------------------------------------------------------


async def _find(service: Service, pid: str) -> LiveTerminal | JobHandle:
    live = service.terminals.get(pid)
    if live is not None:
        return live
    try:
        return await service.jobs().attach(pid)
    except InvalidArgument:
        raise UnknownJob(f"no process {pid!r}") from None


async def _describe(service: Service, found: LiveTerminal | JobHandle) -> dict[str, Any]:
    if isinstance(found, LiveTerminal):
        return terminal_json(found)
    return job_json(found, await service.jobs().status(found))


@api
async def create_process(request: Request) -> Response:
    service = _service(request)
    body = await _body(request)
    argv, cwd, env = body.argv(), body.cwd(), body.env()
    tty = body.flag("tty")
    rows = body.integer("rows", minimum=1, maximum=65535)
    cols = body.integer("cols", minimum=1, maximum=65535)
    combined = body.flag("combined")
    timeout_ms = body.integer("timeoutMs", minimum=1)
    body.done()
    if tty:
        size = TerminalSize(rows or 24, cols or 80)
        live = await service.start_terminal(argv, cwd, env, size)
        return JSONResponse(terminal_json(live), 201)
    service.check_room()
    handle = await service.jobs().start(
        argv[0],
        list(argv[1:]),
        cwd=cwd,
        env=env,
        timeout=None if timeout_ms is None else timeout_ms / 1000,
        separate_streams=not combined,
    )
    return JSONResponse(job_json(handle, JobStatus(JobState.RUNNING)), 201)


@api
async def list_processes(request: Request) -> Response:
    service = _service(request)
    jobs = [job_json(info.handle, info.status) for info in await service.jobs().list()]
    terminals = [terminal_json(live) for live in service.terminals.all()]
    return JSONResponse({"processes": jobs + terminals})


@api
async def get_process(request: Request) -> Response:
    service = _service(request)
    found = await _find(service, request.path_params["id"])
    return JSONResponse(await _describe(service, found))


@api
async def delete_process(request: Request) -> Response:
    service = _service(request)
    pid = request.path_params["id"]
    if service.terminals.get(pid) is not None:
        service.terminals.remove(pid)
    else:
        await service.jobs().remove(await _find(service, pid))  # type: ignore[arg-type]
    return Response(status_code=204)


@api
async def stop_process(request: Request) -> Response:
    service = _service(request)
    body = await _body(request)
    wait_ms = body.integer("waitMs", minimum=0, maximum=600_000)
    body.done()
    found = await _find(service, request.path_params["id"])
    grace = 2.0 if wait_ms is None else wait_ms / 1000
    if isinstance(found, LiveTerminal):
        if found.running:
            await found.term.terminate()
            with anyio.move_on_after(grace):
                await found.wait_status()
            if found.status is None:
                await found.term.kill()
                with anyio.move_on_after(5):
                    await found.wait_status()
        return JSONResponse(terminal_json(found))
    status = await service.jobs().stop(found, grace=grace or 0.05)
    return JSONResponse(job_json(found, status))


@api
async def kill_process(request: Request) -> Response:
    service = _service(request)
    body = await _body(request)
    raw = body.raw("signal")
    body.done()
    sig = check_signal("SIGKILL" if raw is None else raw)
    found = await _find(service, request.path_params["id"])
    if isinstance(found, LiveTerminal):
        if found.running:
            await found.term.send_signal(sig)
        return JSONResponse(terminal_json(found))
    status = await service.jobs().kill(found, sig)
    return JSONResponse(job_json(found, status))


@api
async def process_input(request: Request) -> Response:
    service = _service(request)
    body = await _body(request)
    data = _input(service, body.data("data"))
    eof = body.flag("eof")
    body.done()
    found = await _find(service, request.path_params["id"])
    if isinstance(found, LiveTerminal):
        if not found.running:
            raise ProcessExited(f"process {found.id!r} has ended; cannot write to its input")
        if data:
            await found.term.input.send(data)
        if eof:
            await send_terminal_eof(found.term.input.send)
    else:
        jobs = service.jobs()
        if data:
            await jobs.write(found, data)
        if eof:
            await jobs.close_stdin(found)
    return Response(status_code=204)


@api
async def resize_process(request: Request) -> Response:
    service = _service(request)
    body = await _body(request)
    size = check_size((body.raw("rows"), body.raw("cols")))
    body.done()
    found = await _find(service, request.path_params["id"])
    if not isinstance(found, LiveTerminal):
        raise InvalidArgument(f"process {found.id!r} has no terminal to resize")
    await found.term.resize(size)
    return JSONResponse(terminal_json(found))


# -- logs ----------------------------------------------------------------------------------


def _stream_name(request: Request, found: LiveTerminal | JobHandle) -> str:
    """The job log of the ``stream`` query parameter (``combined`` is ``output``)."""
    stream = request.query_params.get("stream")
    if isinstance(found, LiveTerminal):
        if stream not in (None, "combined", "stdout"):
            raise InvalidArgument(f"a terminal has one stream, combined, not {stream!r}")
        return "output"
    names = found.streams
    if stream is None:
        return names[0]
    name = "output" if stream == "combined" else stream
    if name not in names:
        shown = ", ".join("combined" if n == "output" else n for n in names)
        raise InvalidArgument(f"process {found.id!r} has streams {shown}, not {stream!r}")
    return name


@api
async def logs(request: Request) -> Response:
    service = _service(request)
    found = await _find(service, request.path_params["id"])
    stream = _stream_name(request, found)
    tail = query_int(request, "tail")
    cursor = query_int(request, "cursor", 0) or 0
    size = query_int(request, "maxBytes", _READ_BYTES) or _READ_BYTES
    shown = "combined" if stream == "output" else stream
    if isinstance(found, LiveTerminal):
        if tail is not None:
            data, _, end = found.read(found.start, found.end)
            lines = data.split(b"\n")
            keep = tail + (1 if data.endswith(b"\n") else 0)
            data = b"\n".join(lines[-keep:]) if tail else b""
            return JSONResponse({"stream": shown, "data": b64encode(data), "nextCursor": end})
        data, begin, end = found.read(cursor, size)
        return JSONResponse(
            {
                "stream": shown,
                "cursor": begin,
                "nextCursor": end,
                "data": b64encode(data),
                "eof": found.output_done and end >= found.end and found.status is not None,
                "process": terminal_json(found),
            }
        )
    jobs = service.jobs()
    if tail is not None:
        data = await jobs.tail(found, tail, stream=stream)
        return JSONResponse({"stream": shown, "data": b64encode(data)})
    chunk = await jobs.read(found, cursor, stream=stream, max_bytes=max(1, size))
    return JSONResponse(
        {
            "stream": shown,
            "cursor": cursor,
            "nextCursor": chunk.cursor,
            "data": b64encode(chunk.data),
            "eof": chunk.eof,
            "process": job_json(found, chunk.status),
        }
    )


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n".encode()


@api
async def follow(request: Request) -> Response:
    """Server-Sent Events: each ``output`` event's id is the byte cursor after its data,
    so a client that reconnects with ``Last-Event-ID`` gets the rest, nothing twice."""
    service = _service(request)
    found = await _find(service, request.path_params["id"])
    stream = _stream_name(request, found)
    cursor = query_int(request, "cursor", 0) or 0
    last = request.headers.get("last-event-id")
    if last is not None:
        try:
            cursor = int(last)
        except ValueError:
            raise InvalidArgument("Last-Event-ID must be a byte cursor") from None
        if cursor < 0:
            raise InvalidArgument("Last-Event-ID must be a byte cursor")

    async def terminal_events(live: LiveTerminal) -> AsyncIterator[bytes]:
        at = cursor
        while True:
            data, _, end = live.read(at, _READ_BYTES)
            if data:
                at = end
                yield _sse("output", {"data": b64encode(data)}, end)
                continue
            if live.output_done:
                yield _sse("exit", terminal_json(live) | {"nextCursor": at}, at)
                return
            await live.wait_beyond(at)

    async def job_events(handle: JobHandle) -> AsyncIterator[bytes]:
        at = cursor
        jobs = service.jobs()
        while True:
            chunk = await jobs.read(handle, at, stream=stream, wait=1.0)
            at = chunk.cursor
            if chunk.data:
                yield _sse("output", {"data": b64encode(chunk.data)}, at)
            if chunk.eof:
                yield _sse("exit", job_json(handle, chunk.status) | {"nextCursor": at}, at)
                return

    events = terminal_events(found) if isinstance(found, LiveTerminal) else job_events(found)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- files -----------------------------------------------------------------------------------


def _path(request: Request) -> str:
    path = request.query_params.get("path")
    if not path:
        raise InvalidArgument("the path query parameter is required")
    return path


@api
async def read_file(request: Request) -> Response:
    data = await _service(request).sb.read_file(_path(request))
    return Response(data, media_type="application/octet-stream")


@api
async def write_file(request: Request) -> Response:
    service = _service(request)
    path = _path(request)
    text = request.query_params.get("mode")
    mode = None
    if text is not None:
        try:
            mode = int(text, 8)
        except ValueError:
            raise InvalidArgument(f"mode must be octal digits, like 644, not {text!r}") from None
    data = await read_body(request, service.limits.max_request_bytes)
    await service.sb.write_file(path, data, mode=mode)
    return Response(status_code=204)


# -- the app -----------------------------------------------------------------------------------


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kinds = {404: "NotFound", 405: "MethodNotAllowed"}
    kind = kinds.get(exc.status_code, "HTTPError")
    return JSONResponse(error_body(kind, str(exc.detail)), exc.status_code, headers=exc.headers)


async def _crash(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(500, "InternalError", "the server failed; see its log"))


def create_app(
    sb: Sandbox,
    *,
    token: str | None = None,
    limits: Limits | None = None,
    origins: Iterable[str] = (),
    jobs_root: str | None = None,
) -> Guard:
    """The ASGI app serving ``sb`` (kept open by the caller), behind the token guard."""
    service = Service(sb, limits or Limits(), jobs_root)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            service.task_group = tg
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await service.terminals.aclose()
                tg.cancel_scope.cancel()

    p = f"{API}/processes/{{id}}"
    routes = [
        Route(f"{API}/openapi.json", openapi, methods=["GET"]),
        Route(f"{API}/sandbox", sandbox_info, methods=["GET"]),
        Route(f"{API}/limits", limits_route, methods=["GET", "PUT"]),
        Route(f"{API}/run", run, methods=["POST"]),
        Route(f"{API}/processes", list_processes, methods=["GET"]),
        Route(f"{API}/processes", create_process, methods=["POST"]),
        Route(p, get_process, methods=["GET"]),
        Route(p, delete_process, methods=["DELETE"]),
        Route(f"{p}/stop", stop_process, methods=["POST"]),
        Route(f"{p}/kill", kill_process, methods=["POST"]),
        Route(f"{p}/input", process_input, methods=["POST"]),
        Route(f"{p}/resize", resize_process, methods=["POST"]),
        Route(f"{p}/logs", logs, methods=["GET"]),
        Route(f"{p}/logs/follow", follow, methods=["GET"]),
        Route(f"{API}/files", read_file, methods=["GET"]),
        Route(f"{API}/files", write_file, methods=["PUT"]),
        WebSocketRoute(f"{API}/spawn", spawn_socket),
        WebSocketRoute(f"{p}/terminal", terminal_socket),
        WebSocketRoute(f"{p}/stdio", stdio_socket),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _crash},
    )
    app.state.service = service
    return Guard(app, token, origins)
