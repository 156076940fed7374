"""The backend registry: sandlot's own backends (one module or package each here, with a
``backend`` declaration) and those of the ``sandlot.backends`` entry points."""

from __future__ import annotations

import importlib
from typing import Any

from .._errors import InvalidArgument, MissingDependency
from .._transport import Transport
from .._url import SandboxURL
from ..backends import Backend, registry

__all__ = ["backend_for", "connect", "load_connect", "options_for", "registry", "require_extra"]


def backend_for(url: SandboxURL) -> Backend:
    """The backend of a parsed URL."""
    return registry()[url.scheme]


def require_extra(backend: Backend) -> None:
    """Import what the backend's extra brings (``requires``, ``"module:name"`` each: a
    lazily loading SDK fails only when a name is first used); if it, or a dependency of
    it, is missing, raise :class:`MissingDependency` naming the extra to install, not
    the module Python could not find."""
    for requirement in backend.requires:
        package, _, name = requirement.partition(":")
        try:
            module = importlib.import_module(package)
            if name:
                getattr(module, name)
        except ImportError as exc:
            raise MissingDependency(backend.extra or backend.name, package, exc.name) from exc


def load_connect(backend: Backend) -> Any:
    """The backend's ``connect`` function: the one place a backend's transport (and with
    it its optional dependencies) is imported."""
    require_extra(backend)
    module, _, name = backend.connect.partition(":")
    return getattr(importlib.import_module(module), name)


def options_for(backend: Backend, options: dict[str, Any]) -> Any:
    """Pop the backend's options object (keyword: its name; default ``options_type()``)."""
    value = options.pop(backend.name, None)
    if backend.options_type is None:
        if value is not None:
            options[backend.name] = value  # reported as unknown below
        return None
    if value is None:
        return backend.options_type()
    if not isinstance(value, backend.options_type):
        raise InvalidArgument(
            f"{backend.name}= takes {backend.options_type.__name__}, not {type(value).__name__}"
        )
    return value


async def connect(url: SandboxURL, options: dict[str, Any]) -> Transport:
    """Open the transport for ``url``; ``options`` are the backend's keyword options."""
    backend = backend_for(url)
    opts = options_for(backend, options)
    if options:
        raise InvalidArgument(
            f"unknown option(s) for the {backend.name} backend: {', '.join(sorted(options))}"
        )
    transport: Transport = await load_connect(backend)(url, opts)
    return transport
