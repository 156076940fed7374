"""Containers' lifecycle through the Engine: create (from an image), start, stop, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import anyio

from ..._errors import InvalidArgument
from ._options import DockerOptions

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["create_container", "delete_container", "start_container", "stop_container"]

#: A container's main process when sandlot creates it: it only keeps the container up.
KEEPALIVE = ["sleep", "2147483647"]


def _engine(options: DockerOptions | None) -> Engine:
    """An Engine client (httpx is imported here: the extra is checked first)."""
    from ...backends import registry
    from .. import require_extra

    require_extra(registry()["docker"])
    from ._engine import Engine

    return Engine(_checked(options))


def _checked(options: DockerOptions | None) -> DockerOptions:
    opts = options if options is not None else DockerOptions()
    if not isinstance(opts, DockerOptions):
        raise InvalidArgument(f"options must be DockerOptions, not {type(opts).__name__}")
    return opts


async def create_container(
    options: DockerOptions | None = None,
    *,
    image: str | None = None,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    network: str = "none",
) -> str:
    """Create and start a container (``docker run -d --init --network none IMAGE sleep
    ...``) and return its id (for ``docker://<id>``). Its init process reaps orphans."""
    opts = _checked(options)
    image = image or opts.image
    if not image:
        raise InvalidArgument("no image to create a container from: DockerOptions(image=...)")
    host: dict[str, object] = {"Init": True, "NetworkMode": network}
    if opts.cpus is not None:
        host["NanoCpus"] = int(opts.cpus * 1e9)
    if opts.memory is not None:
        host["Memory"] = opts.memory * 1024 * 1024
    config = {
        "Image": image,
        "Cmd": KEEPALIVE,
        "Labels": dict(labels or {}),
        "HostConfig": host,
    }
    engine = _engine(opts)
    from ._engine import container_path  # after _engine(): it checks the extra

    try:
        params = {"name": name} if name else None
        response = await engine.request(
            "POST", "/containers/create", body=config, params=params, what=image
        )
        ident = str(response.json()["Id"])
        try:
            await engine.request("POST", container_path(ident, "start"), what=ident)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await engine.request(
                    "DELETE", container_path(ident), params={"force": "1"}, what=ident
                )
            raise
        return ident
    finally:
        await engine.aclose()


async def _call(
    ident: str, options: DockerOptions | None, method: str, tail: str, params: dict[str, str]
) -> None:
    engine = _engine(options)
    from ._engine import container_path  # after _engine(): it checks the extra

    try:
        await engine.request(method, container_path(ident, tail), params=params, what=ident)
    finally:
        await engine.aclose()


async def start_container(ident: str, options: DockerOptions | None = None) -> None:
    """Start the stopped container ``ident`` (name or id)."""
    await _call(ident, options, "POST", "start", {})


async def stop_container(ident: str, options: DockerOptions | None = None) -> None:
    """Stop the container ``ident`` (its files stay; starting it again keeps them)."""
    await _call(ident, options, "POST", "stop", {"t": "1"})


async def delete_container(ident: str, options: DockerOptions | None = None) -> None:
    """Delete the container ``ident``, stopping it first if it runs."""
    await _call(ident, options, "DELETE", "", {"force": "1"})
