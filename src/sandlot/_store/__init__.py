"""Where sandbox records live: a SQLite file (one machine) or PostgreSQL (many workers).

Both stores are synchronous and run in worker threads (``anyio.to_thread``), so the
registry works the same on asyncio and trio. Each holds a small pool of connections.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._base import COLUMNS, Row, Store

__all__ = ["COLUMNS", "Row", "Store", "default_location", "open_store"]


def default_location() -> str:
    """``$SANDLOT_DB`` (a path or a ``postgresql://`` URL), else
    ``$XDG_DATA_HOME/sandlot/sandboxes.db``."""
    if env := os.environ.get("SANDLOT_DB"):
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return str(Path(base) / "sandlot" / "sandboxes.db")


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str, *, pool_size: int) -> Store:
    """The store ``location`` names (nothing is connected yet)."""
    if is_postgres(location):
        from ._postgres import PostgresStore

        return PostgresStore(location, pool_size=pool_size)
    from ._sqlite import SQLiteStore

    return SQLiteStore(Path(location), pool_size=pool_size)
