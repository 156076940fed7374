"""The backend registry: sandlot's own backends (one module or package each here, with a
``backend`` declaration) and those of the ``sandlot.backends`` entry points."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Any

from .._errors import InvalidArgument, SandlotError
from .._transport import Transport
from .._url import SandboxURL
from ..backends import GROUP, Backend

__all__ = ["backend_for", "connect", "load_connect", "options_for", "registry"]


@functools.cache
def registry() -> dict[str, Backend]:
    """Every known backend by scheme: the built-ins (alphabetically), then the plugins.
    Loading the declarations imports no backend's dependencies."""
    from importlib.metadata import entry_points

    found: list[tuple[Backend, str]] = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append((module.backend, f"sandlot's {info.name} module"))
    for ep in entry_points(group=GROUP):
        where = f"entry point {ep.name!r} = {ep.value!r} (group {GROUP!r})"
        try:
            backend = ep.load()
        except Exception as exc:
            raise SandlotError(f"the sandlot backend plugin {where} fails: {exc!r}") from exc
        if not isinstance(backend, Backend):
            raise SandlotError(
                f"the sandlot backend plugin {where} is a {type(backend).__name__}, "
                "not a sandlot.backends.Backend"
            )
        if not any(backend is b for b, _ in found):  # a built-in may be declared twice
            found.append((backend, where))
    by_scheme: dict[str, Backend] = {}
    origin: dict[str, str] = {}
    for backend, where in found:
        for scheme in backend.schemes:
            if scheme in by_scheme:
                raise SandlotError(
                    f"two sandlot backends claim the URL scheme {scheme!r}: "
                    f"{origin[scheme]} and {where}; uninstall one"
                )
            by_scheme[scheme], origin[scheme] = backend, where
    return by_scheme


def backend_for(url: SandboxURL) -> Backend:
    """The backend of a parsed URL."""
    return registry()[url.scheme]


def load_connect(backend: Backend) -> Any:
    """The backend's ``connect`` function: the one place a backend's transport (and with
    it its optional dependencies) is imported."""
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
