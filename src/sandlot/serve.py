"""``sandlot serve``'s public names: the ASGI app it runs and its limits.

``create_app(sb, token=...)`` serves an open :class:`~sandlot.Sandbox` (it needs
``pip install 'sandlot[serve]'``); ``sandlot serve`` runs it on Hypercorn. See
docs/serve.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._serve import Limits

if TYPE_CHECKING:
    from ._serve._app import create_app

__all__ = ["Limits", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":  # imports Starlette: only when asked for
        from ._serve._app import create_app

        return create_app
    raise AttributeError(name)
