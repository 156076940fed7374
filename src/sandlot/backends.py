"""Backends are plugins: each one is a :class:`Backend` declaration.

sandlot's own backends and third-party ones are found the same way: a third party
declares one in its distribution's metadata::

    [project.entry-points."sandlot.backends"]
    mybackend = "mypackage.sandlot_backend:backend"

where ``backend`` is a :class:`Backend` whose ``connect`` returns a :class:`Transport`
(the interface every backend implements). Nothing else in sandlot needs to change:
:func:`~sandlot.open_sandbox`, URL parsing, :class:`~sandlot.SandboxRegistry` and the CLI
know backends only through their declarations (:func:`available`).
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from ._errors import InvalidSandboxURL, SandlotError
from ._records import Capabilities
from ._transport import LaunchSpec, RawProcess, Transport
from ._url import DEFAULT, ENV_VAR, SandboxURL

__all__ = [
    "GROUP",
    "Backend",
    "LaunchSpec",
    "Provisioning",
    "RawProcess",
    "SandboxURL",
    "Transport",
    "available",
    "options_from_config",
    "parse_target",
    "parse_url",
]

#: The entry-point group third-party backends are declared in.
GROUP = "sandlot.backends"


class Provisioning(Protocol):
    """Lifecycle calls of a provider that owns its sandboxes (used by
    :class:`~sandlot.SandboxRegistry`); ``options`` is the backend's options object."""

    async def create(self, options: Any) -> SandboxURL:
        """Create a sandbox; return its URL."""

    async def start(self, url: SandboxURL, options: Any) -> None:
        """Start a stopped sandbox."""

    async def stop(self, url: SandboxURL, options: Any) -> None:
        """Stop a sandbox (starting it again keeps its files)."""

    async def delete(self, url: SandboxURL, options: Any) -> None:
        """Delete a sandbox."""


@attrs.frozen
class Backend:
    """What sandlot knows about a backend.

    - ``name``: the backend's name (``sb.backend``, records' ``provider``, and the
      keyword its options are passed under: ``open_sandbox(url, name=options)``).
    - ``schemes``: the URL schemes it serves.
    - ``url_syntax``: its URL's shape, for help texts and error messages.
    - ``connect``: ``"module:function"``, an ``async def (SandboxURL, options) ->
      Transport``; imported only when a sandbox is opened, so the declaration's module
      stays light and a backend whose optional dependencies are missing is still listed.
    - ``parse_url``: ``str -> SandboxURL``, raising :class:`~sandlot.InvalidSandboxURL`
      (default :func:`parse_target`); ``str(url)`` must parse back to the same URL.
    - ``options_type``: the class of its options (``None``: it takes none); options
      default to ``options_type()``.
    - ``from_config``: a config-file table (a dict) to options, raising ``ValueError``
      or ``TypeError`` (default :func:`options_from_config`).
    - ``capabilities``: what its sandboxes can do.
    - ``provisioning``: create / start / stop / delete, for providers that own a
      sandbox's lifecycle (``SandboxRegistry.create("<scheme>://new")`` creates one).
    - ``new_params``: the options (string-valued, never secret) that a
      ``<scheme>://new?name=value&...`` URL may set for the sandbox it creates.
    - ``extra``: the ``pip install sandlot[extra]`` its ``connect`` needs, if any.
    - ``requires``: what that extra brings, as ``"module"`` or ``"module:name"``; checked
      before ``connect`` is imported, so a missing one says which extra to install.
    """

    name: str
    schemes: tuple[str, ...]
    url_syntax: str
    connect: str
    parse_url: Callable[[str], SandboxURL] = attrs.field(
        default=attrs.Factory(lambda self: _target_parser(self), takes_self=True)
    )
    options_type: type[Any] | None = None
    from_config: Callable[[Mapping[str, Any]], Any] | None = None
    capabilities: Capabilities = attrs.field(factory=Capabilities)
    provisioning: Provisioning | None = None
    new_params: tuple[str, ...] = ()
    extra: str | None = None
    requires: tuple[str, ...] = ()

    def options_from_config(self, config: Mapping[str, Any]) -> Any:
        """The options a config-file table describes."""
        if self.from_config is not None:
            return self.from_config(config)
        if self.options_type is None:
            if config:
                raise ValueError(f"the {self.name} backend takes no options")
            return None
        return options_from_config(self.name, self.options_type, config)


def options_from_config(name: str, options_type: type[Any], config: Mapping[str, Any]) -> Any:
    """``options_type(**config)`` for an attrs class, naming any unknown key."""
    fields = {f.name for f in attrs.fields(options_type)}
    for key in config:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ValueError(f"unknown {name} option {key!r} (known: {known})")
    return options_type(**config)


def parse_target(url: str, syntax: str) -> SandboxURL:
    """``scheme://<target>`` with one opaque, non-empty target (percent-decoded) and no
    ``/``, ``@``, query or fragment; ``syntax`` goes in the error message."""
    scheme, sep, rest = url.partition("://")
    target = urllib.parse.unquote(rest.strip("/"))
    if not sep or not target or any(c in rest.strip("/") for c in "/@?#"):
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: expected {syntax}")
    return SandboxURL(scheme.lower(), target)


def _target_parser(backend: Backend) -> Callable[[str], SandboxURL]:
    return lambda url: parse_target(url, backend.url_syntax)


def available() -> list[Backend]:
    """Every backend sandlot knows: its own, then the entry points' (see :data:`GROUP`)."""
    seen: dict[int, Backend] = {}
    for backend in registry().values():
        seen.setdefault(id(backend), backend)
    return list(seen.values())


@functools.cache
def registry() -> dict[str, Backend]:
    """Every known backend by scheme: the built-ins (alphabetically), then the plugins.
    Loading the declarations imports no backend's dependencies."""
    from importlib.metadata import entry_points

    found: list[tuple[Backend, str]] = []
    # Built-ins: every public module of sandlot._backends (found, not imported by name,
    # like the plugins: this module imports no backend).
    package = importlib.import_module("sandlot._backends")
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
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


def parse_url(url: str | None) -> SandboxURL:
    """Parse ``url`` with its backend's parser; ``None`` means ``$SANDLOT_SANDBOX``, then
    ``local``."""
    if url is None:
        url = os.environ.get(ENV_VAR) or DEFAULT
    if not isinstance(url, str):
        raise InvalidSandboxURL(f"sandbox URL must be a str, not {type(url).__name__}")
    if "\x00" in url:
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: NUL character")
    backends = registry()
    scheme, sep, _ = url.partition("://")
    backend = backends.get(scheme.lower())
    if backend is None:
        if not sep:
            forms = ", ".join(dict.fromkeys(b.url_syntax for b in backends.values()))
            raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: expected {forms}")
        raise InvalidSandboxURL(
            f"unknown sandbox scheme {scheme.lower()!r} in {url!r}; known: {', '.join(backends)}"
        )
    return backend.parse_url(url)
