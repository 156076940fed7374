"""Sandbox URLs: ``<scheme>://<target>``, the target's syntax the backend's own."""

from __future__ import annotations

import os

import attrs

from ._errors import InvalidSandboxURL

ENV_VAR = "SANDLOT_SANDBOX"
#: The sandbox when neither the caller nor the environment names one (SPEC §5).
DEFAULT = "local"


@attrs.frozen
class SandboxURL:
    """A parsed sandbox URL: the scheme, and the rest as the backend writes it.

    ``str(url)`` is ``scheme://target``, or the bare scheme when there is no target.
    """

    scheme: str
    target: str = ""

    def __str__(self) -> str:
        return f"{self.scheme}://{self.target}" if self.target else self.scheme


def parse_url(url: str | None) -> SandboxURL:
    """Parse ``url`` with its backend's parser; ``None`` means ``$SANDLOT_SANDBOX``, then
    ``local``."""
    from ._backends import registry

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
