"""Daytona's control plane: the SDK client, and creating, stopping and deleting sandboxes.

The SDK is imported only inside these functions, so ``import sandlot`` stays light.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

import anyio
import attrs

from ..._bridge import AsyncioBridge
from ..._errors import InvalidArgument, SandlotError
from ._errors import opening_error
from ._options import DaytonaOptions

__all__ = [
    "DEFAULT_API_URL",
    "create_sandbox",
    "delete_sandbox",
    "sdk_client",
    "start_sandbox",
    "stop_sandbox",
]

DEFAULT_API_URL = "https://app.daytona.io/api"

T = TypeVar("T")


def sdk_client(options: DaytonaOptions) -> Any:
    """An ``AsyncDaytona`` (call on the SDK's loop: it starts tasks there)."""
    from daytona import AsyncDaytona, DaytonaConfig

    from ..._errors import AuthenticationFailed

    if not options.api_key:
        raise AuthenticationFailed(
            "no Daytona API key: set DAYTONA_API_KEY or pass DaytonaOptions(api_key=...)"
        )
    config = DaytonaConfig(
        api_key=options.api_key,
        api_url=options.api_url or DEFAULT_API_URL,
        target=options.target,
    )
    return AsyncDaytona(config)


def _checked(options: DaytonaOptions | None) -> DaytonaOptions:
    opts = options if options is not None else DaytonaOptions()
    if not isinstance(opts, DaytonaOptions):
        raise InvalidArgument(f"options must be DaytonaOptions, not {type(opts).__name__}")
    return opts


async def _control(opts: DaytonaOptions, ident: str, op: Callable[[Any], Awaitable[T]]) -> T:
    """``op(client)`` with a client of its own, on a bridge of its own; SDK errors (about
    sandbox ``ident``) become sandlot's."""
    from ...backends import registry
    from .. import require_extra

    require_extra(registry()["daytona"])
    bridge = AsyncioBridge()

    async def run() -> T:
        sdk = sdk_client(opts)
        try:
            return await op(sdk)
        finally:
            await sdk.close()

    try:
        return await bridge.call(run)
    except SandlotError:
        raise
    except Exception as exc:
        raise opening_error(exc, ident, opts.api_url or DEFAULT_API_URL) from None
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
    """Create a Daytona sandbox through the SDK and return its id (for ``daytona://<id>``).
    What it is made of comes from ``options`` (``snapshot`` or ``image`` and resources,
    ``env``, ``labels``, ``ephemeral``, auto-stop/archive intervals, ``volumes``);
    ``labels`` and ``snapshot`` here add to / override them."""
    opts = _checked(options)
    if snapshot is not None:
        opts = attrs.evolve(opts, snapshot=snapshot)
    if opts.image and opts.snapshot:
        raise InvalidArgument("a Daytona sandbox comes from an image or a snapshot, not both")
    if not opts.image and (opts.cpu or opts.memory or opts.disk):
        raise InvalidArgument("Daytona sets cpu, memory and disk only for a sandbox from an image")
    mounts = [_volume(spec) for spec in opts.volumes or ()]  # bad input: before any request

    async def create(client: Any) -> str:
        from daytona import (
            CreateSandboxFromImageParams,
            CreateSandboxFromSnapshotParams,
            Resources,
            VolumeMount,
        )

        common: dict[str, Any] = {
            "name": name,
            "labels": {**(opts.labels or {}), **(labels or {})},
            "env_vars": dict(opts.env or {}),
            "ephemeral": opts.ephemeral,
            "auto_stop_interval": opts.auto_stop_interval,
            "auto_archive_interval": opts.auto_archive_interval,
            "volumes": [VolumeMount(volume_id=v, mount_path=p) for v, p in mounts] or None,
        }
        common = {k: v for k, v in common.items() if v is not None}
        params: Any
        if opts.image:
            resources = Resources(cpu=opts.cpu, memory=opts.memory, disk=opts.disk)
            params = CreateSandboxFromImageParams(image=opts.image, resources=resources, **common)
        else:
            params = CreateSandboxFromSnapshotParams(snapshot=opts.snapshot, **common)
        sandbox = await client.create(params, timeout=opts.timeout)
        return str(sandbox.id)

    return await _control(opts, name or "<new>", create)


def _volume(spec: str) -> tuple[str, str]:
    """``"<volume>:<mount path>"``: the volume and the path."""
    volume, sep, path = spec.partition(":")
    if not sep or not volume or not path.startswith("/"):
        raise InvalidArgument(
            f"a Daytona volume is '<volume id or name>:/mount/path', not {spec!r}"
        )
    return volume, path


async def _lifecycle(
    ident: str, options: DaytonaOptions | None, call: Literal["delete", "stop", "start"]
) -> None:
    """Look the sandbox ``ident`` up, then ``client.<call>`` it, through the SDK."""
    opts = _checked(options)

    async def act(client: Any) -> None:
        sandbox = await client.get(ident, request_timeout=opts.timeout)
        await getattr(client, call)(sandbox, timeout=opts.timeout)

    await _control(opts, ident, act)


async def delete_sandbox(ident: str, options: DaytonaOptions | None = None) -> None:
    """Delete the Daytona sandbox ``ident`` (id or name) through the SDK."""
    await _lifecycle(ident, options, "delete")


async def stop_sandbox(ident: str, options: DaytonaOptions | None = None) -> None:
    """Stop the Daytona sandbox ``ident`` (id or name) through the SDK; opening it again
    starts it."""
    await _lifecycle(ident, options, "stop")


async def start_sandbox(ident: str, options: DaytonaOptions | None = None) -> None:
    """Start the stopped Daytona sandbox ``ident`` (id or name) through the SDK."""
    await _lifecycle(ident, options, "start")
