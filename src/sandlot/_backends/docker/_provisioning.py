"""sandlot owns the containers it creates: create / start / stop / delete for the records."""

from __future__ import annotations

from ..._url import SandboxURL
from ._control import create_container, delete_container, start_container, stop_container
from ._options import DockerOptions


class Provisioning:
    """:class:`sandlot.backends.Provisioning` through the Engine API."""

    async def create(self, options: DockerOptions) -> SandboxURL:
        return SandboxURL("docker", await create_container(options))

    async def start(self, url: SandboxURL, options: DockerOptions) -> None:
        await start_container(url.target, options)

    async def stop(self, url: SandboxURL, options: DockerOptions) -> None:
        await stop_container(url.target, options)

    async def delete(self, url: SandboxURL, options: DockerOptions) -> None:
        await delete_container(url.target, options)
