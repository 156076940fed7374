"""Parsing sandbox URLs: ``local``, ``ssh://user@host:port``, ``daytona://id``."""

from __future__ import annotations

import os
import urllib.parse

import attrs

from ._errors import InvalidSandboxURL

SCHEMES = ("local", "ssh", "daytona")
ENV_VAR = "SANDLOT_SANDBOX"


@attrs.frozen
class SandboxURL:
    """A parsed sandbox URL."""

    scheme: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    ident: str | None = None

    def __str__(self) -> str:
        if self.scheme == "local":
            return "local"
        if self.scheme == "daytona":
            return f"daytona://{self.ident}"
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{host}{port}"


def parse_url(url: str | None) -> SandboxURL:
    """Parse ``url``; ``None`` means ``$SANDLOT_SANDBOX``, then ``local``."""
    if url is None:
        url = os.environ.get(ENV_VAR) or "local"
    if not isinstance(url, str):
        raise InvalidSandboxURL(f"sandbox URL must be a str, not {type(url).__name__}")
    if url in ("local", "local://"):
        return SandboxURL("local")
    if "://" not in url:
        raise InvalidSandboxURL(
            f"malformed sandbox URL {url!r}: expected local, ssh://[user@]host[:port] "
            "or daytona://<id>"
        )
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidSandboxURL(
            f"unknown sandbox scheme {scheme!r} in {url!r}; known: {', '.join(SCHEMES)}"
        )
    if parts.query or parts.fragment or "\x00" in url:
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: unexpected query or fragment")
    if scheme == "daytona":
        ident = (parts.netloc + parts.path).strip("/")
        if not ident or "/" in ident or "@" in ident:
            raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: expected daytona://<id>")
        return SandboxURL("daytona", ident=urllib.parse.unquote(ident))
    if scheme == "local":
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: use plain 'local'")
    if parts.path not in ("", "/"):
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: an ssh URL has no path")
    try:
        port = parts.port
    except ValueError:
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: bad port") from None
    if not parts.hostname:
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: no host")
    if parts.password is not None:
        raise InvalidSandboxURL(
            "malformed sandbox URL: do not put a password in the URL; pass it in SSHOptions"
        )
    user = urllib.parse.unquote(parts.username) if parts.username else None
    return SandboxURL("ssh", host=parts.hostname, port=port, user=user)
