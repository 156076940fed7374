"""Backends: one module (or package) each, all implementing :class:`Transport`."""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from .._errors import InvalidArgument, MissingDependency
from .._transport import Transport
from .._url import SandboxURL

T = TypeVar("T")

#: The package each backend's extra (``pip install 'sandlot[<backend>]'``) brings, and
#: the names sandlot uses from it (daytona loads its submodules on first access).
_EXTRA_PACKAGES = {"ssh": ("asyncssh", ["connect"]), "daytona": ("daytona", ["AsyncDaytona"])}


def require_extra(backend: str) -> None:
    """Import the backend's package now; if it (or a dependency of it) is missing, raise
    :class:`MissingDependency` naming the extra, not the module Python could not find."""
    package, names = _EXTRA_PACKAGES[backend]
    try:
        module = importlib.import_module(package)
        for name in names:
            getattr(module, name)
    except ImportError as exc:
        raise MissingDependency(backend, package, exc.name) from exc


async def connect(url: SandboxURL, options: dict[str, Any]) -> Transport:
    """Open the transport for ``url``; ``options`` are the backend's keyword options."""
    if url.scheme == "local":
        from .local import LocalTransport

        _no_options(url, options)
        return LocalTransport()
    if url.scheme in _EXTRA_PACKAGES:
        require_extra(url.scheme)
    if url.scheme == "ssh":
        from .ssh import SSHOptions
        from .ssh._transport import connect as connect_ssh

        return await connect_ssh(
            url, _backend_options(url, options, "ssh", SSHOptions, "an SSHOptions")
        )
    if url.scheme == "daytona":
        from .daytona import DaytonaOptions
        from .daytona._transport import DaytonaTransport

        daytona = _backend_options(url, options, "daytona", DaytonaOptions, "a DaytonaOptions")
        assert url.ident is not None
        return await DaytonaTransport.open(url.ident, daytona)
    raise InvalidArgument(f"the {url.scheme} backend is not available yet")


def _backend_options(
    url: SandboxURL, options: dict[str, Any], key: str, cls: type[T], what: str
) -> T:
    """The ``key=`` options object (default ``cls()``); anything else is an error."""
    value = options.pop(key, None)
    _no_options(url, options)
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise InvalidArgument(f"{key}= takes {what}, not {type(value).__name__}")
    return value


def _no_options(url: SandboxURL, options: dict[str, Any]) -> None:
    if options:
        raise InvalidArgument(
            f"unknown option(s) for the {url.scheme} backend: {', '.join(sorted(options))}"
        )
