"""A thin Docker Engine API client on httpx, native on asyncio and trio.

Two connection pools: one for short requests, and one without limits for the exec
streams, each of which holds its connection for the life of its process (a bounded pool
would make the 101st concurrent process wait for a connection).
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from ..._errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ConnectionLost,
    HostKeyRejected,
    HostUnreachable,
    InvalidArgument,
    SandboxNotFound,
)
from ._demux import STDOUT, Demuxer
from ._errors import ContainerStopped, EngineError, ImageNotFound
from ._options import DockerOptions

__all__ = ["API_VERSION", "Engine", "ExecStream", "container_path"]

#: Engine 20.10 (API 1.41) and later serve it.
API_VERSION = "1.41"
#: How long the Engine has to answer a probe (see DockerProcess): past it, it is lost.
PROBE_TIMEOUT = 15.0
_UPGRADE = {"Connection": "Upgrade", "Upgrade": "tcp"}
#: One read of an exec stream. Not more: a recv allocates its whole size first, and past
#: 128 KiB glibc maps fresh pages for it every time (a read of 4 KiB then took ~40 us
#: more, and a fast writer's output comes a frame of 4 KiB per read).
_READ_SIZE = 1 << 16
#: What ``run`` keeps of a control command's stdout (a process state: a few bytes).
_RUN_OUTPUT_LIMIT = 4096


def _transport(
    options: DockerOptions, limits: httpx.Limits
) -> tuple[httpx.AsyncHTTPTransport, str]:
    """The httpx transport for ``options.host`` and the base URL to use with it."""
    host = options.host
    scheme, sep, rest = host.partition("://")
    if not sep or not rest:
        raise InvalidArgument(f"DOCKER_HOST must be unix://PATH or tcp://HOST:PORT, not {host!r}")
    if scheme == "unix":
        return httpx.AsyncHTTPTransport(uds=rest, limits=limits), "http://docker"
    if scheme not in ("tcp", "http", "https"):
        raise InvalidArgument(f"unsupported DOCKER_HOST scheme {scheme!r} in {host!r}")
    tls = options.tls or scheme == "https"
    verify: ssl.SSLContext | bool = False
    if tls:
        try:
            verify = ssl.create_default_context(cafile=options.ca_cert)
            if options.client_cert is not None:
                verify.load_cert_chain(options.client_cert, options.client_key)
        except ssl.SSLError as exc:  # not str(exc) here nor below: it names the key's file
            reason = str(exc.reason or "not a certificate or key")
            raise ConnectionFailed(f"cannot load the Docker TLS certificates: {reason}") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConnectionFailed(f"cannot load the Docker TLS certificates: {reason}") from None
    base = f"{'https' if tls else 'http'}://{rest}"
    return httpx.AsyncHTTPTransport(verify=verify, limits=limits), base


def container_path(container: str, tail: str = "") -> str:
    """``/containers/<container>[/<tail>]``, the name quoted."""
    path = f"/containers/{quote(container, safe='')}"
    return f"{path}/{tail}" if tail else path


def _reason(exc: BaseException) -> str:
    """The OS's words for the error under ``exc`` (httpx wraps httpcore's, which wraps
    the OSError), else the error's own."""
    e: BaseException | None = exc
    for _ in range(5):
        if e is None:
            break
        if isinstance(e, OSError) and e.strerror:
            return e.strerror
        e = e.__cause__ or e.__context__
    return str(exc) or type(exc).__name__


#: What a request through httpx may raise for the connection: its own errors, and an
#: ssl.SSLError (an OSError) that httpcore lets through when a TLS alert comes after the
#: handshake (a server refusing our client certificate, under TLS 1.3).
_TRANSPORT_ERRORS = (httpx.TransportError, OSError)


def _connect_error(exc: BaseException, host: str) -> ConnectionFailed:
    text = _reason(exc)
    if "ermission denied" in text:
        return AuthenticationFailed(
            f"permission denied on the Docker socket {host} (run as root or join its group)"
        )
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return HostKeyRejected(
            f"the Docker Engine at {host} presented a certificate that the CA certificate "
            f"(ca_cert, $DOCKER_CERT_PATH/ca.pem) does not verify: {text}"
        )
    if "CERTIFICATE_REQUIRED" in text or "BAD_CERTIFICATE" in text:
        return AuthenticationFailed(
            f"the Docker Engine at {host} refused our TLS client certificate (client_cert, "
            f"client_key: $DOCKER_CERT_PATH/cert.pem, key.pem): {text}"
        )
    return HostUnreachable(f"cannot reach the Docker Engine at {host}: {text}")


def _message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except ValueError:
        message = None
    return str(message or response.text.strip() or f"HTTP {response.status_code}")


class ExecStream:
    """One hijacked exec connection: raw bytes both ways, EOF by ``shutdown(SHUT_WR)``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._write_lock = anyio.Lock()

    async def read(self) -> bytes:
        """Up to 64 KiB; ``b""`` at the end. Cancelling it loses nothing."""
        try:
            data: bytes = await self._stream.read(_READ_SIZE)
        except httpx.TransportError as exc:
            raise ConnectionLost(f"lost the Docker exec stream: {_reason(exc)}") from None
        except OSError as exc:
            raise ConnectionLost(f"lost the Docker exec stream: {_reason(exc)}") from None
        return data

    async def write(self, data: bytes) -> None:
        async with self._write_lock:
            try:
                await self._stream.write(data)
            except (httpx.TransportError, OSError) as exc:
                raise anyio.BrokenResourceError(_reason(exc)) from None

    def write_eof(self) -> None:
        sock = self._stream.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)


class Engine:
    """The Engine at ``options.host``."""

    def __init__(self, options: DockerOptions) -> None:
        self.options = options
        self.host = options.host
        transport, base = _transport(options, httpx.Limits())
        timeout = httpx.Timeout(options.timeout)
        self._client = httpx.AsyncClient(transport=transport, base_url=base, timeout=timeout)
        streams, _ = _transport(
            options, httpx.Limits(max_connections=None, max_keepalive_connections=0)
        )
        # The timeout bounds the start's response; the output is read afterwards with no
        # timeout (network_stream.read's default): a process may be quiet for long.
        self._streams = httpx.AsyncClient(transport=streams, base_url=base, timeout=timeout)

    def _url(self, path: str) -> str:
        return f"/v{API_VERSION}{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        what: str,
    ) -> httpx.Response:
        """One request; an error status raises (404/409 about ``what``)."""
        try:
            response = await self._client.request(
                method,
                self._url(path),
                json=body,
                params=params,
                content=content,
                headers={"Content-Type": "application/x-tar"} if content is not None else None,
            )
        except _TRANSPORT_ERRORS as exc:
            raise _connect_error(exc, self.host) from None
        if response.status_code >= 400:
            raise self.error(response, what)
        return response

    def error(self, response: httpx.Response, what: str) -> Exception:
        status, message = response.status_code, _message(response)
        if status == 404 and message.startswith("No such container"):
            return SandboxNotFound(f"no Docker container {what!r} at {self.host}")
        if status == 404 and message.startswith("No such image"):
            return ImageNotFound(f"no image {what!r} in the Docker Engine at {self.host}")
        if status == 409 and "not running" in message:
            return ContainerStopped(
                f"the Docker container {what!r} is not running (docker start {what})"
            )
        return EngineError(status, f"the Docker Engine refused ({status}): {message}")

    async def json(self, method: str, path: str, *, what: str, body: Any = None) -> Any:
        response = await self.request(method, path, body=body, what=what)
        return response.json() if response.content else None

    async def inspect(self, container: str) -> Any:
        return await self.json("GET", container_path(container, "json"), what=container)

    async def create_exec(self, container: str, config: Mapping[str, Any]) -> str:
        path = container_path(container, "exec")
        created = await self.json("POST", path, body=dict(config), what=container)
        return str(created["Id"])

    @contextlib.asynccontextmanager
    async def start_exec(self, exec_id: str, tty: bool) -> AsyncIterator[ExecStream]:
        """Start an exec and hold its stream; leaving the block closes it."""
        path = self._url(f"/exec/{exec_id}/start")
        body = json.dumps({"Detach": False, "Tty": tty}).encode()
        headers = {**_UPGRADE, "Content-Type": "application/json"}
        try:
            async with self._streams.stream("POST", path, content=body, headers=headers) as resp:
                if resp.status_code not in (101, 200):
                    await resp.aread()
                    raise self.error(resp, exec_id)
                yield ExecStream(resp.extensions["network_stream"])
        except _TRANSPORT_ERRORS as exc:
            raise _connect_error(exc, self.host) from None

    async def probe(self) -> None:
        """Raise ConnectionLost unless the Engine answers ``/_ping`` within PROBE_TIMEOUT."""
        try:
            with anyio.fail_after(PROBE_TIMEOUT):
                await self._client.get(self._url("/_ping"))
        except (TimeoutError, *_TRANSPORT_ERRORS):
            raise ConnectionLost(
                f"the Docker Engine at {self.host} stopped answering "
                f"(no answer to a probe in {PROBE_TIMEOUT:g} s)"
            ) from None

    async def run(self, container: str, argv: list[str]) -> bytes:
        """Run ``argv`` to its end (a signal, a question: another exec); its stdout."""
        exec_id = await self.create_exec(
            container, {"Cmd": argv, "AttachStdout": True, "AttachStderr": True}
        )
        demux, out = Demuxer(), bytearray()
        async with self.start_exec(exec_id, tty=False) as stream:
            while data := await stream.read():
                for key, payload in demux.feed(data):
                    if key == STDOUT and len(out) < _RUN_OUTPUT_LIMIT:
                        out += payload
        return bytes(out)

    async def exec_exit_code(self, exec_id: str) -> int | None:
        info = await self.json("GET", f"/exec/{exec_id}/json", what=exec_id)
        code = info.get("ExitCode")
        return code if isinstance(code, int) else None

    async def resize_exec(self, exec_id: str, rows: int, cols: int) -> None:
        await self.request(
            "POST",
            f"/exec/{exec_id}/resize",
            params={"h": str(rows), "w": str(cols)},
            what=exec_id,
        )

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._streams.aclose()
            await self._client.aclose()
