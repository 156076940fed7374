"""The Daytona transport: one sandbox, reached through the official ``daytona`` SDK."""

from __future__ import annotations

import errno
from typing import Any

import anyio

from ..._bridge import AsyncioBridge
from ..._errors import FileError, FileNotFound, SandlotError
from ..._records import ExecResult
from ..._transport import LaunchSpec, RawProcess, Reaper, Transport
from ..._url import SandboxURL
from . import backend
from ._control import DEFAULT_API_URL, sdk_client
from ._errors import is_connection_error, opening_error, operation_error, status_of
from ._oneshot import OneShot
from ._options import DaytonaOptions
from ._pool import SessionPool
from ._pty import start_pty
from ._session import start_session

#: Closing: how long deleting the sessions may take (a frozen server never answers).
_CLOSE_WAIT = 6.0


class DaytonaTransport(Transport):
    """Runs processes in one Daytona sandbox."""

    name = "daytona"
    capabilities = backend.capabilities

    def __init__(self, bridge: AsyncioBridge, client: Any, sandbox: Any) -> None:
        self._bridge = bridge
        self._client = client
        self._sandbox = sandbox
        #: The provider's id of the sandbox.
        self.sandbox_id: str = sandbox.id
        self._pool = SessionPool(sandbox)
        # Warm sessions from the start: the first spawn is as quick as the next ones.
        bridge.call_soon(self._pool.refill)

    @classmethod
    async def open(cls, ident: str, options: DaytonaOptions) -> DaytonaTransport:
        bridge = AsyncioBridge()
        url = options.api_url or DEFAULT_API_URL

        async def connect() -> tuple[Any, Any]:
            client = sdk_client(options)
            try:
                sandbox = await client.get(ident, request_timeout=options.timeout)
                if str(getattr(sandbox, "state", "started")).lower().endswith("stopped"):
                    await sandbox.start(timeout=options.timeout)
            except BaseException:
                await client.close()
                raise
            return client, sandbox

        try:
            client, sandbox = await bridge.call(connect)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await bridge.aclose()
            if isinstance(exc, Exception) and not isinstance(exc, SandlotError):
                raise opening_error(exc, ident, url) from None
            raise
        return cls(bridge, client, sandbox)

    async def start(self, spec: LaunchSpec) -> RawProcess:
        if spec.pty is not None:
            return await start_pty(self._bridge, self._sandbox, spec)
        return await start_session(self._bridge, self._sandbox, self._pool, spec)

    async def exec(
        self,
        spec: LaunchSpec,
        *,
        input: bytes | None,
        timeout: float | None,
        max_output_bytes: int | None,
        reaper: Reaper,
    ) -> ExecResult | None:
        once = OneShot(self._bridge, self._sandbox, spec)
        return await once.run(input, timeout, max_output_bytes, reaper)

    async def read_file(self, path: str) -> bytes:
        try:
            data: bytes = await self._bridge.call(self._sandbox.fs.download_file, path)
        except Exception as exc:
            raise _file_error(exc, path, "read") from None
        return data

    async def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        async def write() -> None:
            await self._sandbox.fs.upload_file(data, path)
            if mode is not None:
                await self._sandbox.fs.set_file_permissions(path, mode=f"{mode:o}")

        try:
            await self._bridge.call(write)
        except Exception as exc:
            raise _file_error(exc, path, "write") from None

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            try:
                with anyio.move_on_after(_CLOSE_WAIT):
                    await self._bridge.call(self._pool.aclose)
                await self._bridge.call(self._client.close)
            finally:
                await self._bridge.aclose()


def _file_error(exc: Exception, path: str, verb: str) -> SandlotError:
    status = status_of(exc)
    if status == 404:
        return FileNotFound(errno.ENOENT, f"No such file or directory: {path!r}")
    if is_connection_error(exc):
        return operation_error(exc, f"{verb.rstrip('e')}ing {path!r}")
    if status == 401:
        return operation_error(exc, f"{verb.rstrip('e')}ing {path!r}")
    detail = str(exc).split(": ", 1)[-1]
    return FileError(errno.EIO, f"cannot {verb} {path!r}: {detail}")


async def connect(url: SandboxURL, options: DaytonaOptions) -> DaytonaTransport:
    """Open ``daytona://<id>``, starting the sandbox if it is stopped."""
    return await DaytonaTransport.open(url.target, options)
