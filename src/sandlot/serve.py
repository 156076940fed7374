"""``sandlot serve``'s public names: the client's options, the server's app and limits.

``open_sandbox("sandlot+http://HOST:PORT", **{"sandlot+http": HttpOptions(token=...)})``
(or ``?token=`` in the URL, or ``$SANDLOT_TOKEN``); ``create_app(sb, token=...)`` is the
ASGI app ``sandlot serve`` runs (``pip install 'sandlot[serve]'``). See docs/serve.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._backends.http import HttpOptions
from ._serve import Limits

if TYPE_CHECKING:
    from ._serve._app import create_app

__all__ = ["HttpOptions", "Limits", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":  # imports Starlette: only when asked for
        from ._serve._app import create_app

        return create_app
    raise AttributeError(name)
