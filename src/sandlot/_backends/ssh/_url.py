"""``ssh://[user@]host[:port]``: parsing and printing."""

from __future__ import annotations

import urllib.parse

from ..._errors import InvalidSandboxURL
from ..._url import SandboxURL

SYNTAX = "ssh://[user@]host[:port]"


def parse_url(url: str) -> SandboxURL:
    """Parse and normalise an ``ssh://`` URL (no password, path, query or fragment)."""
    if "://" not in url:
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: expected {SYNTAX}")
    parts = urllib.parse.urlsplit(url)
    if parts.query or parts.fragment:
        raise InvalidSandboxURL(f"malformed sandbox URL {url!r}: unexpected query or fragment")
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
    return SandboxURL("ssh", format_target(parts.hostname, port, user))


def format_target(host: str, port: int | None = None, user: str | None = None) -> str:
    """``[user@]host[:port]``, an IPv6 host in brackets."""
    user_part = f"{urllib.parse.quote(user, safe='')}@" if user else ""
    host_part = f"[{host}]" if ":" in host else host
    return f"{user_part}{host_part}{f':{port}' if port else ''}"


def address(url: SandboxURL) -> tuple[str, int | None, str | None]:
    """``(host, port, user)`` of a parsed ``ssh://`` URL."""
    parts = urllib.parse.urlsplit(f"ssh://{url.target}")
    user = urllib.parse.unquote(parts.username) if parts.username else None
    assert parts.hostname is not None
    return parts.hostname, parts.port, user
