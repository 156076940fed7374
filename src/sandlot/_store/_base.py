"""What a store does, and the schema both stores share (by version)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from .._errors import RegistryError

__all__ = ["COLUMNS", "LATEST", "Row", "Store", "migrations"]

Row = dict[str, Any]

COLUMNS = (
    "id",
    "provider",
    "provider_id",
    "url",
    "status",
    "config",
    "error",
    "created_at",
    "updated_at",
    "purpose",
    "labels",
    "params",
    "idem_key",
    "version",
    "lease_until",
    "recreated_at",
    "provisioned",
)
SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM sandboxes"

#: The schema version this sandlot writes; a database at a newer one is refused.
LATEST = 2


def migrations(real: str) -> dict[int, list[str]]:
    """Statements taking the schema from version ``n - 1`` to ``n`` (``real``: the SQL
    type of timestamps). Version 1 is the table sandlot 0.1 created in SQLite files."""
    return {
        1: [
            f"""CREATE TABLE IF NOT EXISTS sandboxes (
                id TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                provider_id TEXT,
                url TEXT NOT NULL,
                status TEXT NOT NULL,
                config TEXT NOT NULL,
                error TEXT,
                created_at {real} NOT NULL,
                updated_at {real} NOT NULL
            )"""
        ],
        2: [
            "ALTER TABLE sandboxes ADD COLUMN purpose TEXT",
            "ALTER TABLE sandboxes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE sandboxes ADD COLUMN params TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE sandboxes ADD COLUMN idem_key TEXT",
            "ALTER TABLE sandboxes ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
            f"ALTER TABLE sandboxes ADD COLUMN lease_until {real}",
            f"ALTER TABLE sandboxes ADD COLUMN recreated_at {real}",
            # 1: sandlot created the provider's sandbox (so it may recreate it)
            "ALTER TABLE sandboxes ADD COLUMN provisioned INTEGER NOT NULL DEFAULT 0",
            "CREATE UNIQUE INDEX IF NOT EXISTS sandboxes_idem_key ON sandboxes (idem_key)",
            "CREATE INDEX IF NOT EXISTS sandboxes_status ON sandboxes (status)",
            "CREATE INDEX IF NOT EXISTS sandboxes_purpose ON sandboxes (purpose)",
        ],
    }


class Store(Protocol):
    """Rows of the ``sandboxes`` table. Every write is one transaction; ``update`` and
    ``delete`` are compare-and-set on the row's ``version``, which each update bumps."""

    location: str

    def insert(self, row: Row) -> Row:
        """Insert ``row``; if its ``idem_key`` is taken, the row holding it instead."""

    def get(self, sid: str) -> Row | None: ...

    def list(self, purpose: str | None, status: str | None) -> list[Row]:
        """Matching rows, oldest first."""

    def update(self, sid: str, version: int, fields: Mapping[str, Any]) -> Row | None:
        """Set ``fields`` if the row is still at ``version``; the new row, else ``None``."""

    def delete(self, sid: str, version: int | None) -> bool:
        """Delete the row (if still at ``version`` unless ``None``); whether it was."""

    def expire(self, now: float, message: str, sid: str | None) -> None:
        """Rows ``creating`` whose lease ended before ``now`` go to ``error``."""

    def close(self) -> None: ...


def where(purpose: str | None, status: str | None) -> tuple[str, Sequence[Any]]:
    terms, args = [], []
    if purpose is not None:
        terms.append("purpose = ?")
        args.append(purpose)
    if status is not None:
        terms.append("status = ?")
        args.append(status)
    return (" WHERE " + " AND ".join(terms) if terms else ""), args


def update_sql(fields: Mapping[str, Any]) -> str:
    for name in fields:
        if name not in COLUMNS or name in ("id", "version"):
            raise ValueError(f"not an updatable column: {name!r}")
    cols = "".join(f"{k} = ?, " for k in fields)
    return (
        f"UPDATE sandboxes SET {cols}version = version + 1 WHERE id = ? AND version = ? "
        "RETURNING " + ", ".join(COLUMNS)
    )


INSERT = (
    "INSERT INTO sandboxes ("
    + ", ".join(COLUMNS)
    + ") VALUES ("
    + ", ".join("?" for _ in COLUMNS)
    + ") ON CONFLICT (idem_key) DO NOTHING RETURNING "
    + ", ".join(COLUMNS)
)
EXPIRE = (
    "UPDATE sandboxes SET status = 'error', error = ?, updated_at = ?, lease_until = NULL, "
    "version = version + 1 WHERE status = 'creating' AND lease_until < ?"
)


def migrate(execute: Callable[..., Any], location: str, current: int, real: str, mark: str) -> None:
    """Bring a store at schema version ``current`` to ``LATEST`` (inside the caller's
    transaction and lock); ``real`` is the store's float type, ``mark`` its placeholder."""
    if current > LATEST:
        raise RegistryError(
            f"sandbox records at {location} have schema version {current}, "
            f"newer than this sandlot's ({LATEST}): upgrade sandlot"
        )
    steps = migrations(real)
    for version in range(current + 1, LATEST + 1):
        for statement in steps[version]:
            execute(statement)
    execute(f"UPDATE sandlot_schema SET version = {mark}", (LATEST,))
