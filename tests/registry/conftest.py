"""The two stores of sandbox records: a SQLite file, and a database on the PostgreSQL
server of the test session (``postgres``, from ``targets.postgres``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from targets.postgres import Postgres


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of records: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "db" / "sandboxes.db")
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()
