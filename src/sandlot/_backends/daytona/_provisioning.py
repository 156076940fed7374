"""Daytona owns its sandboxes' lifecycle: create / start / stop / delete for the records."""

from __future__ import annotations

from ..._url import SandboxURL
from ._control import create_sandbox, delete_sandbox, start_sandbox, stop_sandbox
from ._options import DaytonaOptions


class Provisioning:
    """:class:`sandlot.backends.Provisioning` through the SDK."""

    async def create(self, options: DaytonaOptions) -> SandboxURL:
        return SandboxURL("daytona", await create_sandbox(options))

    async def start(self, url: SandboxURL, options: DaytonaOptions) -> None:
        await start_sandbox(url.target, options)

    async def stop(self, url: SandboxURL, options: DaytonaOptions) -> None:
        await stop_sandbox(url.target, options)

    async def delete(self, url: SandboxURL, options: DaytonaOptions) -> None:
        await delete_sandbox(url.target, options)
