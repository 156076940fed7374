"""Backends: one module (or package) each, all implementing :class:`Transport`."""

from __future__ import annotations

from typing import Any

from .._errors import InvalidArgument
from .._transport import Transport
from .._url import SandboxURL


async def connect(url: SandboxURL, options: dict[str, Any]) -> Transport:
    """Open the transport for ``url``; ``options`` are the backend's keyword options."""
    if url.scheme == "local":
        from .local import LocalTransport

        _no_options(url, options)
        return LocalTransport()
    raise InvalidArgument(f"the {url.scheme} backend is not available yet")


def _no_options(url: SandboxURL, options: dict[str, Any]) -> None:
    if options:
        raise InvalidArgument(
            f"unknown option(s) for the {url.scheme} backend: {', '.join(sorted(options))}"
        )
