"""The Docker backend: ``docker://<container name or id>``, through the Engine API on
httpx (native on asyncio and trio); ``docker://new?image=...`` creates a container for
the records.

httpx loads only when a sandbox is opened or a container created.
"""

from __future__ import annotations

from ...backends import Backend
from ._options import DockerOptions
from ._provisioning import Provisioning

__all__ = ["DockerOptions", "backend"]

backend = Backend(
    name="docker",
    schemes=("docker",),
    url_syntax="docker://<container>",
    connect=f"{__name__}._transport:connect",
    options_type=DockerOptions,
    provisioning=Provisioning(),
    new_params=("image", "cpus", "memory", "user"),
    extra="docker",
    requires=("httpx:AsyncClient",),
)
