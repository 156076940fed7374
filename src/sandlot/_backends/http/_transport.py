"""The ``sandlot+http`` transport: processes over the server's ``/v1/spawn`` WebSocket
(one per process), files over HTTP."""

from __future__ import annotations

import json
import signal as _signal
import ssl
from collections.abc import Callable
from typing import Any

import anyio
import httpx
from anyio.abc import ByteReceiveStream, ByteSendStream

from ..._chunks import Chunks
from ..._errors import (
    ConnectionLost,
    HostUnreachable,
    InvalidArgument,
    LaunchError,
    SandlotError,
)
from ..._records import Capabilities, ExitStatus, TerminalSize
from ..._serve._wire import (
    API,
    CHANNEL_STDERR,
    CHANNEL_STDIN,
    CHANNEL_STDOUT,
    exit_from_json,
    rebuild_error,
)
from ..._transport import FailedLaunch, LaunchSpec, RawProcess, Transport
from ..._url import SandboxURL
from . import _websocket
from ._options import HttpOptions, token_for

__all__ = ["HttpProcess", "HttpTransport", "connect"]

_ERRORS = (httpx.TransportError, OSError)
#: stdin bytes per WebSocket frame
_FRAME_BYTES = 64 << 10
#: output held for a stream nobody reads before reading stops (the server, then the
#: process, is held back: flow control, as with a pipe)
_HELD_BYTES = 1 << 20


def _unreachable(base: str, exc: BaseException) -> SandlotError:
    return HostUnreachable(
        f"cannot reach the sandlot server at {base}: {exc or type(exc).__name__}"
    )


def _tls(options: HttpOptions) -> ssl.SSLContext | bool:
    """One TLS context for both clients (httpx's default loads the CA bundle per client:
    a second each); none for plain HTTP."""
    if options.verify is False:
        return False
    cafile = options.verify if isinstance(options.verify, str) else None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidArgument(f"cannot load the CA certificates of verify=: {exc}") from None


def _error(response: httpx.Response) -> SandlotError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return rebuild_error(body, response.status_code)


class _Output(ByteReceiveStream):
    def __init__(self, proc: HttpProcess, channel: int) -> None:
        self._proc = proc
        self._channel = channel

    async def receive(self, max_bytes: int = 65536) -> bytes:
        return await self._proc._receive(self._channel, max_bytes)

    async def aclose(self) -> None:
        self._proc._drop(self._channel)
        await anyio.lowlevel.checkpoint()


class _Input(ByteSendStream):
    def __init__(self, proc: HttpProcess) -> None:
        self._proc = proc
        self._closed = False

    async def send(self, item: bytes) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        if self._proc._stdin_broken or self._proc._ws.closed:
            raise anyio.BrokenResourceError("the process's stdin is broken")
        try:
            view = memoryview(item)
            for i in range(0, len(view), _FRAME_BYTES):
                await self._proc._ws.send_bytes(bytes([CHANNEL_STDIN]) + view[i : i + _FRAME_BYTES])
        except ConnectionLost as exc:
            raise anyio.BrokenResourceError(str(exc)) from None

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._proc._ws.send_text('{"type":"eof"}')
        except ConnectionLost:
            pass


class HttpProcess(RawProcess):
    """A process bound to one WebSocket. Messages are read when a caller needs one
    (stdout, stderr, the ready report or the exit status): whoever holds the lock reads
    the next message and files it where it belongs."""

    def __init__(self, ws: _websocket.WebSocket, pty: bool) -> None:
        self._ws = ws
        self._lock = anyio.Lock()
        self._buffers = {CHANNEL_STDOUT: Chunks(), CHANNEL_STDERR: Chunks()}
        self._ended = {CHANNEL_STDOUT: False, CHANNEL_STDERR: pty}
        self._dropped: set[int] = set()
        self._ready = False
        self._error: SandlotError | None = None
        self._status: ExitStatus | None = None
        self._stdin_broken = False
        self._lost: ConnectionLost | None = None
        self._drained = anyio.Event()
        # After SIGKILL the output is finite: the exit is read past a full buffer, so
        # that terminating a process nobody reads does not wait for its reader.
        self._killed = False
        self.stdin = _Input(self)
        self.stdout = _Output(self, CHANNEL_STDOUT)
        self.stderr = None if pty else _Output(self, CHANNEL_STDERR)

    def _dispatch(self, message: bytes | str) -> None:
        if isinstance(message, bytes):
            channel = message[0] if message else -1
            if channel in self._buffers and channel not in self._dropped:
                self._buffers[channel].append(memoryview(message)[1:])
            return
        data = json.loads(message)
        kind = data.get("type")
        if kind == "ready":
            self._ready = True
        elif kind == "error":
            self._error = rebuild_error(data, 0)
        elif kind == "eof":
            self._ended[CHANNEL_STDERR if data.get("stream") == "stderr" else CHANNEL_STDOUT] = True
        elif kind == "exit":
            self._status = exit_from_json(data)
        elif kind == "stdin":
            self._stdin_broken = True

    async def _pull(self, done: Callable[[], bool]) -> None:
        """Read messages until ``done()``; ConnectionLost if the socket ends first."""
        while not done():
            if self._lost is not None:
                raise self._lost
            if self._held() and not self._killed:
                # A stream holds enough that nobody reads: wait for its reader rather
                # than buffer without bound.
                await self._drained.wait()
                continue
            if not self._lock.locked():
                # What the last read of the socket brought is filed without a round
                # through the lock (a checkpoint per message is most of the CPU per frame).
                message = self._ws.receive_nowait()
                if message is not None:
                    self._dispatch(message)
                    continue
            async with self._lock:
                if done():
                    return
                if self._lost is not None:
                    raise self._lost
                try:
                    message = await self._ws.receive()
                except ConnectionLost as exc:
                    self._lost = exc
                    raise
                if message is None:
                    self._lost = ConnectionLost("the sandlot server closed the process's socket")
                    self._ended = dict.fromkeys(self._ended, True) if self._status else self._ended
                    continue
                self._dispatch(message)

    def _held(self) -> bool:
        return any(
            len(buffer) >= _HELD_BYTES
            for channel, buffer in self._buffers.items()
            if channel not in self._dropped
        )

    def _taken(self) -> None:
        if not self._held():
            self._drained.set()
            self._drained = anyio.Event()

    async def _receive(self, channel: int, max_bytes: int) -> bytes:
        buffer = self._buffers[channel]
        if channel in self._dropped:
            raise anyio.ClosedResourceError
        await self._pull(lambda: bool(buffer) or self._ended[channel])
        if not buffer:
            raise anyio.EndOfStream
        data = buffer.take(max_bytes)
        self._taken()
        return data

    def _drop(self, channel: int) -> None:
        self._dropped.add(channel)
        self._buffers[channel].clear()
        self._taken()

    async def wait_ready(self) -> None:
        await self._pull(lambda: self._ready or self._error is not None)
        if self._error is not None:
            raise self._error

    async def wait(self) -> ExitStatus:
        await self._pull(lambda: self._status is not None)
        assert self._status is not None
        return self._status

    def poll(self) -> ExitStatus | None:
        return self._status

    async def signal(self, sig: _signal.Signals) -> None:
        if sig == _signal.SIGKILL:
            self._killed = True
        if self._ws.closed:
            await anyio.lowlevel.checkpoint()
            return
        await self._ws.send_text(json.dumps({"type": "signal", "signal": sig.name}))

    async def resize(self, size: TerminalSize) -> None:
        message = {"type": "resize", "rows": size.rows, "cols": size.cols}
        await self._ws.send_text(json.dumps(message))

    async def aclose(self) -> None:
        await self._ws.aclose()


class HttpTransport(Transport):
    """A sandbox behind ``sandlot serve``."""

    name = "sandlot+http"

    def __init__(self, base: str, options: HttpOptions, token: str | None) -> None:
        self._base = base
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = httpx.Timeout(options.timeout)
        verify = _tls(options) if base.startswith("https:") else False
        self._client = httpx.AsyncClient(
            base_url=base, headers=self._headers, timeout=timeout, verify=verify
        )
        # One connection per process socket, never pooled (it is handed over to wsproto);
        # the timeout bounds the handshake, not the process.
        self._sockets = httpx.AsyncClient(
            base_url=base,
            timeout=timeout,
            verify=verify,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
        )

    def __repr__(self) -> str:
        return f"<HttpTransport {self._base}>"

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, f"{API}{path}", **kwargs)
        except _ERRORS as exc:
            raise _unreachable(self._base, exc) from None
        if response.status_code >= 400:
            raise _error(response)
        return response

    async def probe(self) -> None:
        """Learn what the served sandbox can do (and that the token is right)."""
        info = (await self.request("GET", "/sandbox")).json()
        caps = info.get("capabilities", {})
        self.capabilities = Capabilities(
            stdin_eof=bool(caps.get("stdinEof", True)),
            signals=bool(caps.get("signals", True)),
            pty=bool(caps.get("pty", True)),
            pty_resize=bool(caps.get("ptyResize", True)),
            files=bool(caps.get("files", True)),
        )

    async def start(self, spec: LaunchSpec) -> RawProcess:
        launch: dict[str, Any] = {
            "argv": list(spec.argv),
            "cwd": spec.cwd,
            "env": dict(spec.env),
            "stdin": spec.stdin,
            "tty": None if spec.pty is None else {"rows": spec.pty.rows, "cols": spec.pty.cols},
        }
        try:
            ws = await _websocket.connect(self._sockets, f"{API}/spawn", self._headers)
        except _websocket.Refused as exc:
            raise _error(exc.response) from None
        except _ERRORS as exc:
            raise _unreachable(self._base, exc) from None
        try:
            await ws.send_text(json.dumps(launch))
            proc = HttpProcess(ws, spec.pty is not None)
            # An error before the launch (a bad request, the server's limit) is the
            # start's; a launch error (command not found, bad cwd) is the process's.
            await proc.wait_ready()
        except LaunchError as exc:
            await ws.aclose()
            return FailedLaunch(exc, pty=spec.pty is not None)
        except BaseException:
            await ws.aclose()  # the server kills what it started
            raise
        return proc

    async def read_file(self, path: str) -> bytes:
        response = await self.request("GET", "/files", params={"path": path})
        return response.content

    async def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        params = {"path": path}
        if mode is not None:
            params["mode"] = f"{mode:o}"
        await self.request("PUT", "/files", params=params, content=data)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._client.aclose()
            await self._sockets.aclose()


async def connect(url: SandboxURL, options: HttpOptions) -> HttpTransport:
    scheme = "https" if url.scheme.endswith("s") else "http"
    transport = HttpTransport(f"{scheme}://{url.target}", options, token_for(url, options))
    try:
        await transport.probe()
    except BaseException:
        await transport.aclose()
        raise
    return transport
