"""Options of the ``sandlot+http`` backend, and its URL."""

from __future__ import annotations

import os
import urllib.parse

import attrs

from ..._errors import InvalidSandboxURL
from ..._url import SandboxURL

__all__ = ["TOKEN_VAR", "HttpOptions", "HttpURL", "parse_url"]

#: The token, when neither the options nor the URL give one.
TOKEN_VAR = "SANDLOT_TOKEN"
SYNTAX = "sandlot+http://HOST:PORT"


@attrs.frozen
class HttpOptions:
    """How to reach a ``sandlot serve``.

    - ``token``: the bearer token (default: the URL's ``?token=``, then
      ``$SANDLOT_TOKEN``); never shown in reprs.
    - ``timeout``: seconds each request (not a running process) may take.
    - ``verify``: for ``sandlot+https``, check the server's certificate (``True``), or
      against this CA bundle (a path), or not at all (``False``).
    """

    token: str | None = attrs.field(default=None, repr=False)
    timeout: float = 60.0
    verify: bool | str = True


@attrs.frozen
class HttpURL(SandboxURL):
    """A ``sandlot+http(s)://host:port`` URL; the token it may carry is left out of
    ``str()`` and reprs, and out of comparisons."""

    token: str | None = attrs.field(default=None, repr=False, eq=False)


def parse_url(url: str) -> HttpURL:
    scheme, sep, rest = url.partition("://")
    parts = urllib.parse.urlsplit(f"http://{rest}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not sep or not parts.hostname or parts.username or parts.fragment or port is None:
        raise InvalidSandboxURL(
            f"malformed sandbox URL {_hidden(url)!r}: expected {SYNTAX}[?token=TOKEN] "
            "(or sandlot+https://)"
        )
    query = urllib.parse.parse_qs(parts.query)
    unknown = sorted(set(query) - {"token"})
    if unknown:
        raise InvalidSandboxURL(
            f"unknown parameter(s) {', '.join(unknown)} in {_hidden(url)!r}: expected {SYNTAX}"
        )
    token = query["token"][-1] if "token" in query else None
    target = parts.netloc + parts.path.rstrip("/")
    return HttpURL(scheme.lower(), target, token=token)


def _hidden(url: str) -> str:
    """``url`` with its token's value hidden (it goes into an error message)."""
    head, sep, query = url.partition("?")
    if not sep:
        return url
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return head + "?" + "&".join(f"{k}={'***' if k == 'token' else v}" for k, v in pairs)


def token_for(url: SandboxURL, options: HttpOptions) -> str | None:
    return options.token or getattr(url, "token", None) or os.environ.get(TOKEN_VAR) or None
