"""The Daytona backend: ``daytona://<sandbox id or name>``, on the official ``daytona`` SDK.

The SDK itself loads only when it is first used.
"""

from __future__ import annotations

from ...backends import Backend
from ._control import create_sandbox, delete_sandbox, start_sandbox, stop_sandbox
from ._options import NEW_PARAMS, DaytonaOptions
from ._provisioning import Provisioning

__all__ = [
    "DaytonaOptions",
    "backend",
    "create_sandbox",
    "delete_sandbox",
    "start_sandbox",
    "stop_sandbox",
]

backend = Backend(
    name="daytona",
    schemes=("daytona",),
    url_syntax="daytona://<id>",
    connect=f"{__name__}._transport:connect",
    options_type=DaytonaOptions,
    provisioning=Provisioning(),
    new_params=NEW_PARAMS,
    extra="daytona",
    # The SDK loads its submodules on first access: ask for the client itself.
    requires=("daytona:AsyncDaytona",),
)
