"""Sandbox records in a SQLite file (WAL mode: readers never wait for the writer)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .._errors import RegistryError
from ._base import COLUMNS, EXPIRE, INSERT, SELECT, Row, migrate, update_sql, where

__all__ = ["SQLiteStore"]

T = TypeVar("T")


class SQLiteStore:
    """:class:`Store` on one SQLite file; a pool of connections shared by threads."""

    def __init__(self, path: Path, *, pool_size: int) -> None:
        self.path = path
        self.location = str(path)
        self._pool_size = pool_size
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE for writes, so two
        # writers queue on the lock instead of one failing at commit).
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        # WAL's recommended durability: a commit survives the process dying, not a power
        # cut (FULL would fsync every commit: 10x slower).
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._idle.pop() if self._idle else None
        try:
            if db is None:
                db = self._connect()
            if not self._ready:
                self._migrate(db)
        except sqlite3.Error as exc:
            raise RegistryError(f"sandbox records at {self.location}: {exc}") from None
        try:
            yield db
        except sqlite3.Error as exc:
            db.close()
            raise RegistryError(f"sandbox records at {self.location}: {exc}") from None
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(db)
                db = None
        if db is not None:
            db.close()

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._conn() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS sandlot_schema (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM sandlot_schema").fetchone()
            if row is None:
                # A file from before schema versions has the version-1 table.
                old = db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sandboxes'"
                ).fetchone()
                current = 1 if old else 0
                db.execute("INSERT INTO sandlot_schema VALUES (?)", (current,))
            else:
                current = row[0]
            migrate(db.execute, self.location, current, "REAL", "?")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._ready = True

    @staticmethod
    def _row(values: tuple[Any, ...] | None) -> Row | None:
        return None if values is None else dict(zip(COLUMNS, values, strict=True))

    def insert(self, row: Row) -> Row:
        def work(db: sqlite3.Connection) -> Row:
            got = db.execute(INSERT, tuple(row[c] for c in COLUMNS)).fetchone()
            if got is None:
                got = db.execute(SELECT + " WHERE idem_key = ?", (row["idem_key"],)).fetchone()
            found = self._row(got)
            assert found is not None
            return found

        return self._write(work)

    def get(self, sid: str) -> Row | None:
        with self._conn() as db:
            return self._row(db.execute(SELECT + " WHERE id = ?", (sid,)).fetchone())

    def list(self, purpose: str | None, status: str | None) -> list[Row]:
        clause, args = where(purpose, status)
        with self._conn() as db:
            rows = db.execute(SELECT + clause + " ORDER BY created_at, id", args).fetchall()
        return [dict(zip(COLUMNS, r, strict=True)) for r in rows]

    def update(self, sid: str, version: int, fields: Mapping[str, Any]) -> Row | None:
        sql = update_sql(fields)
        return self._write(
            lambda db: self._row(db.execute(sql, (*fields.values(), sid, version)).fetchone())
        )

    def delete(self, sid: str, version: int | None) -> bool:
        sql, args = "DELETE FROM sandboxes WHERE id = ?", list[object]([sid])
        if version is not None:
            sql += " AND version = ?"
            args.append(version)
        return self._write(lambda db: db.execute(sql, args).rowcount > 0)

    def expire(self, now: float, message: str, sid: str | None) -> None:
        sql, args = EXPIRE, [message, now, now]
        if sid is not None:
            sql += " AND id = ?"
            args.append(sid)
        self._write(lambda db: db.execute(sql, args))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()
