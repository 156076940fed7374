"""The Daytona transport: one sandbox, reached through the official ``daytona`` SDK."""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

from ..._bridge import AsyncioBridge
from ..._errors import FileError, FileNotFound, InvalidArgument, SandlotError
from ..._records import Capabilities
from ..._transport import LaunchSpec, RawProcess, Transport
from ._errors import is_connection_error, opening_error, operation_error, status_of
from ._options import DaytonaOptions
from ._pty import start_pty
from ._session import start_session

_DEFAULT_API_URL = "https://app.daytona.io/api"

T = TypeVar("T")


def _client(options: DaytonaOptions) -> Any:
    """An ``AsyncDaytona`` (call on the SDK's loop: it starts tasks there)."""
    from daytona import AsyncDaytona, DaytonaConfig

    from ..._errors import AuthenticationFailed

    if not options.api_key:
        raise AuthenticationFailed(
            "no Daytona API key: set DAYTONA_API_KEY or pass DaytonaOptions(api_key=...)"
        )
    config = DaytonaConfig(
        api_key=options.api_key,
        api_url=options.api_url or _DEFAULT_API_URL,
        target=options.target,
    )
    return AsyncDaytona(config)


class DaytonaTransport(Transport):
    """Runs processes in one Daytona sandbox."""

    name = "daytona"
    capabilities = Capabilities()

    def __init__(self, bridge: AsyncioBridge, client: Any, sandbox: Any) -> None:
        self._bridge = bridge
        self._client = client
        self._sandbox = sandbox
        #: The provider's id of the sandbox.
        self.sandbox_id: str = sandbox.id

    @classmethod
    async def open(cls, ident: str, options: DaytonaOptions) -> DaytonaTransport:
        bridge = AsyncioBridge()
        url = options.api_url or _DEFAULT_API_URL

        async def connect() -> tuple[Any, Any]:
            client = _client(options)
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
        return await start_session(self._bridge, self._sandbox, spec)

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


def _checked(options: DaytonaOptions | None) -> DaytonaOptions:
    opts = options if options is not None else DaytonaOptions()
    if not isinstance(opts, DaytonaOptions):
        raise InvalidArgument(f"options must be DaytonaOptions, not {type(opts).__name__}")
    return opts


async def _control(opts: DaytonaOptions, ident: str, op: Callable[[Any], Awaitable[T]]) -> T:
    """``op(client)`` with a client of its own, on a bridge of its own; SDK errors (about
    sandbox ``ident``) become sandlot's."""
    bridge = AsyncioBridge()

    async def run() -> T:
        client = _client(opts)
        try:
            return await op(client)
        finally:
            await client.close()

    try:
        return await bridge.call(run)
    except SandlotError:
        raise
    except Exception as exc:
        raise opening_error(exc, ident, opts.api_url or _DEFAULT_API_URL) from None
    finally:
        with anyio.CancelScope(shield=True):
            await bridge.aclose()


async def create_sandbox(
    options: DaytonaOptions | None = None,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    snapshot: str | None = None,
) -> str:
    """Create a Daytona sandbox through the SDK and return its id (for ``daytona://<id>``)."""
    opts = _checked(options)

    async def create(client: Any) -> str:
        from daytona import CreateSandboxFromSnapshotParams

        params = CreateSandboxFromSnapshotParams(
            name=name, labels=dict(labels or {}), snapshot=snapshot
        )
        sandbox = await client.create(params, timeout=opts.timeout)
        return str(sandbox.id)

    return await _control(opts, name or "<new>", create)


async def delete_sandbox(ident: str, options: DaytonaOptions | None = None) -> None:
    """Delete the Daytona sandbox ``ident`` (id or name) through the SDK."""
    opts = _checked(options)

    async def delete(client: Any) -> None:
        sandbox = await client.get(ident, request_timeout=opts.timeout)
        await client.delete(sandbox, timeout=opts.timeout)

    await _control(opts, ident, delete)


async def stop_sandbox(ident: str, options: DaytonaOptions | None = None) -> None:
    """Stop the Daytona sandbox ``ident`` (id or name) through the SDK; opening it again
    starts it."""
    opts = _checked(options)

    async def stop(client: Any) -> None:
        sandbox = await client.get(ident, request_timeout=opts.timeout)
        await client.stop(sandbox, timeout=opts.timeout)

    await _control(opts, ident, stop)
