"""A PostgreSQL server of the test session (started by the ``postgres`` fixture)."""

from __future__ import annotations

import uuid

import attrs


@attrs.frozen
class Postgres:
    port: int
    user: str = "sandlot"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a fresh, empty place for records: a schema of its own (first on the
        search path), much cheaper than a database."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url() + f"?options=-csearch_path%3D{name}"
