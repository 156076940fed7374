"""Sandbox records in PostgreSQL, shared by workers on many machines.

The driver is psycopg 3 (synchronous) with psycopg_pool's ``ConnectionPool``, called from
worker threads like the SQLite store: psycopg's async API and asyncpg run only on
asyncio, and sandlot must work on trio too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .._errors import MissingDependency, RegistryError
from ._base import COLUMNS, EXPIRE, INSERT, SELECT, Row, migrate, update_sql, where

__all__ = ["PostgresStore"]

T = TypeVar("T")

# Any constant: serialises first-use migrations of one database across workers.
_MIGRATION_LOCK = 0x5A4D_B07


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


def redact(url: str) -> str:
    """The URL without its password (for messages and reprs)."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


class PostgresStore:
    """:class:`Store` on a PostgreSQL database."""

    def __init__(self, url: str, *, pool_size: int) -> None:
        self._url = url
        self.location = redact(url)
        self._pool_size = pool_size
        self._pool: Any = None
        self._lock = threading.Lock()

    def _error(self, exc: Exception) -> RegistryError:
        text = str(exc).strip() or type(exc).__name__
        return RegistryError(f"sandbox records at {self.location}: {text}")

    def _open(self) -> Any:
        with self._lock:
            if self._pool is not None:
                return self._pool
            try:
                import psycopg
                from psycopg_pool import ConnectionPool
            except ImportError as exc:
                raise MissingDependency(
                    "postgres", "psycopg", exc.name, feature="sandbox records in PostgreSQL"
                ) from None
            # One connection of our own first: a bad URL or a server that is down fails
            # at once with the server's reason (the pool would retry until its timeout).
            try:
                with (
                    psycopg.connect(self._url, connect_timeout=10) as conn,
                    conn.transaction(),
                ):
                    self._migrate(conn)
            except psycopg.Error as exc:
                raise self._error(exc) from None
            self._pool = ConnectionPool(
                self._url, min_size=1, max_size=self._pool_size, open=True, timeout=30
            )
            return self._pool

    def _migrate(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS sandlot_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM sandlot_schema").fetchone()
        if row is None:
            conn.execute("INSERT INTO sandlot_schema VALUES (0)")
            current = 0
        else:
            current = row[0]
        migrate(conn.execute, self.location, current, "DOUBLE PRECISION", "%s")

    def _run(self, work: Callable[[Any], T]) -> T:
        pool = self._open()  # first: it says which extra to install if psycopg is missing
        import psycopg
        import psycopg_pool

        try:
            with pool.connection() as conn, conn.transaction():
                return work(conn)
        except (psycopg.Error, psycopg_pool.PoolTimeout, OSError) as exc:
            raise self._error(exc) from None

    @staticmethod
    def _row(values: tuple[Any, ...] | None) -> Row | None:
        return None if values is None else dict(zip(COLUMNS, values, strict=True))

    def insert(self, row: Row) -> Row:
        def work(conn: Any) -> Row:
            got = conn.execute(_pg(INSERT), tuple(row[c] for c in COLUMNS)).fetchone()
            if got is None:
                got = conn.execute(
                    _pg(SELECT + " WHERE idem_key = ?"), (row["idem_key"],)
                ).fetchone()
            found = self._row(got)
            assert found is not None
            return found

        return self._run(work)

    def get(self, sid: str) -> Row | None:
        return self._run(
            lambda c: self._row(c.execute(_pg(SELECT + " WHERE id = ?"), (sid,)).fetchone())
        )

    def list(self, purpose: str | None, status: str | None) -> list[Row]:
        clause, args = where(purpose, status)
        sql = _pg(SELECT + clause + " ORDER BY created_at, id")
        rows = self._run(lambda c: c.execute(sql, args).fetchall())
        return [dict(zip(COLUMNS, r, strict=True)) for r in rows]

    def update(self, sid: str, version: int, fields: Mapping[str, Any]) -> Row | None:
        sql = _pg(update_sql(fields))
        return self._run(
            lambda c: self._row(c.execute(sql, (*fields.values(), sid, version)).fetchone())
        )

    def delete(self, sid: str, version: int | None) -> bool:
        sql, args = "DELETE FROM sandboxes WHERE id = %s", list[object]([sid])
        if version is not None:
            sql += " AND version = %s"
            args.append(version)
        return bool(self._run(lambda c: c.execute(sql, args).rowcount > 0))

    def expire(self, now: float, message: str, sid: str | None) -> None:
        sql, args = EXPIRE, [message, now, now]
        if sid is not None:
            sql += " AND id = ?"
            args.append(sid)
        self._run(lambda c: c.execute(_pg(sql), args))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
