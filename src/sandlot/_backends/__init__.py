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
    if url.scheme == "ssh":
        from .ssh import SSHOptions
        from .ssh._transport import connect as connect_ssh

        ssh = options.pop("ssh", None)
        _no_options(url, options)
        if ssh is None:
            ssh = SSHOptions()
        elif not isinstance(ssh, SSHOptions):
            raise InvalidArgument(f"ssh= takes an SSHOptions, not {type(ssh).__name__}")
        return await connect_ssh(url, ssh)
    if url.scheme == "daytona":
        from .daytona import DaytonaOptions
        from .daytona._transport import DaytonaTransport

        daytona = options.pop("daytona", None)
        _no_options(url, options)
        if daytona is None:
            daytona = DaytonaOptions()
        elif not isinstance(daytona, DaytonaOptions):
            raise InvalidArgument(f"daytona= takes a DaytonaOptions, not {type(daytona).__name__}")
        assert url.ident is not None
        return await DaytonaTransport.open(url.ident, daytona)
    raise InvalidArgument(f"the {url.scheme} backend is not available yet")


def _no_options(url: SandboxURL, options: dict[str, Any]) -> None:
    if options:
        raise InvalidArgument(
            f"unknown option(s) for the {url.scheme} backend: {', '.join(sorted(options))}"
        )
