"""``sandlot serve``: one sandbox's process API over HTTP and WebSocket (SPEC §7).

Needs ``pip install 'sandlot[serve]'`` (Starlette and Hypercorn).
"""

from __future__ import annotations

from ._limits import Limits

__all__ = ["Limits", "create_app"]


def __getattr__(name: str) -> object:
    if name == "create_app":  # imports Starlette: only when asked for
        from ._app import create_app

        return create_app
    raise AttributeError(name)
