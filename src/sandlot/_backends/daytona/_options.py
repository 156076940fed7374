"""Configuration of the Daytona backend."""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from .._convert import opt_bool, opt_int, opt_mapping, opt_strings

__all__ = ["NEW_PARAMS", "DaytonaOptions"]


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


@attrs.frozen
class DaytonaOptions:
    """How to reach the Daytona API; each field defaults to the SDK's environment variable.

    ``api_key`` (``DAYTONA_API_KEY``) never appears in reprs, logs or error messages.
    ``api_url`` (``DAYTONA_API_URL``) defaults to the SDK's default, Daytona's cloud.
    ``target`` (``DAYTONA_TARGET``) is the region new sandboxes are created in.
    ``timeout`` bounds each API request and sandbox start (seconds).

    What a new sandbox is made of (``SandboxRegistry.create("daytona://new?...")``, which
    stores them, never secrets, to recreate it): ``snapshot``, or ``image`` with
    ``cpu`` / ``memory`` / ``disk`` (GiB); ``env`` (non-secret variables), ``labels``;
    ``ephemeral`` (deleted once stopped); ``auto_stop_interval`` and
    ``auto_archive_interval`` (minutes; 0 means never); ``volumes``
    (``"<volume id or name>:<mount path>"`` each).
    """

    api_key: str | None = attrs.field(factory=lambda: _env("DAYTONA_API_KEY"), repr=False)
    api_url: str | None = attrs.field(factory=lambda: _env("DAYTONA_API_URL"))
    target: str | None = attrs.field(factory=lambda: _env("DAYTONA_TARGET"))
    timeout: float = 60.0
    snapshot: str | None = None
    image: str | None = None
    cpu: int | None = attrs.field(default=None, converter=opt_int)
    memory: int | None = attrs.field(default=None, converter=opt_int)
    disk: int | None = attrs.field(default=None, converter=opt_int)
    env: Mapping[str, str] | None = attrs.field(default=None, converter=opt_mapping)
    labels: Mapping[str, str] | None = attrs.field(default=None, converter=opt_mapping)
    ephemeral: bool | None = attrs.field(default=None, converter=opt_bool)
    auto_stop_interval: int | None = attrs.field(default=None, converter=opt_int)
    auto_archive_interval: int | None = attrs.field(default=None, converter=opt_int)
    volumes: tuple[str, ...] | None = attrs.field(default=None, converter=opt_strings)


#: The options of a new sandbox (its URL's query may set them; records store them).
NEW_PARAMS = (
    "snapshot",
    "image",
    "cpu",
    "memory",
    "disk",
    "env",
    "labels",
    "ephemeral",
    "auto_stop_interval",
    "auto_archive_interval",
    "volumes",
)
