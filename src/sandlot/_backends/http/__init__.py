"""The ``sandlot+http`` backend: a sandbox served by ``sandlot serve``, through its
process API (HTTP for files, a WebSocket per process).

httpx and wsproto load only when a sandbox is opened.
"""

from __future__ import annotations

from ...backends import Backend
from ._options import SYNTAX, HttpOptions, parse_url

__all__ = ["HttpOptions", "backend"]

backend = Backend(
    name="sandlot+http",
    schemes=("sandlot+http", "sandlot+https"),
    url_syntax=SYNTAX,
    connect=f"{__name__}._transport:connect",
    parse_url=parse_url,
    options_type=HttpOptions,
    extra="http",
    requires=("httpx:AsyncClient", "wsproto"),
)
