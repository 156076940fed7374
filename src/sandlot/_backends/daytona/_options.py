"""Configuration of the Daytona backend."""

from __future__ import annotations

import os

import attrs

__all__ = ["DaytonaOptions"]


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


@attrs.frozen
class DaytonaOptions:
    """How to reach the Daytona API; each field defaults to the SDK's environment variable.

    ``api_key`` (``DAYTONA_API_KEY``) never appears in reprs, logs or error messages.
    ``api_url`` (``DAYTONA_API_URL``) defaults to the SDK's default, Daytona's cloud.
    ``target`` (``DAYTONA_TARGET``) is the region new sandboxes are created in.
    ``timeout`` bounds each API request and sandbox start (seconds).
    """

    api_key: str | None = attrs.field(factory=lambda: _env("DAYTONA_API_KEY"), repr=False)
    api_url: str | None = attrs.field(factory=lambda: _env("DAYTONA_API_URL"))
    target: str | None = attrs.field(factory=lambda: _env("DAYTONA_TARGET"))
    timeout: float = 60.0
