"""Sandbox records on both stores (SQLite, PostgreSQL): lifecycle, compare-and-set,
idempotent create, recreate, filters, schema versions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

import fake_backend
import sandlot
from sandlot.backends import registry as backends
from targets.postgres import Postgres


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``fake://`` known for the test; its sandboxes' directory."""
    root = tmp_path / "fake"
    root.mkdir()
    monkeypatch.setenv(fake_backend.ROOT_VAR, str(root))
    monkeypatch.setitem(backends(), "fake", fake_backend.backend)
    yield root


@pytest.fixture
async def reg(store_url: str) -> AsyncIterator[sandlot.SandboxRegistry]:
    async with sandlot.SandboxRegistry(store_url) as registry:
        yield registry


def creates(root: Path) -> list[str]:
    log = root / "creates.log"
    return log.read_text().splitlines() if log.exists() else []


async def test_lifecycle_filters_and_compare_and_set(
    reg: sandlot.SandboxRegistry, store_url: str
) -> None:
    a = await reg.create("local", purpose="ci", labels={"team": "a", "tier": "1"}, config={"n": 1})
    b = await reg.create("local", purpose="dev", labels={"team": "b"})
    assert (a.status, a.purpose, dict(a.labels), dict(a.config)) == (
        "active", "ci", {"team": "a", "tier": "1"}, {"n": 1}
    )  # fmt: skip
    # Another registry on the same store (another worker) sees the same records.
    async with sandlot.SandboxRegistry(store_url) as other:
        assert await other.get(a.id) == a
        assert [r.id for r in await other.list()] == [a.id, b.id]
    assert [r.id for r in await reg.list(purpose="ci")] == [a.id]
    assert [r.id for r in await reg.list(label="team=b")] == [b.id]
    assert [r.id for r in await reg.list(label="tier")] == [a.id]
    assert [r.id for r in await reg.list(label=["team", "tier=2"])] == []
    stopped = await reg.stop(a.id)
    assert stopped.status == "stopped" and stopped.version == a.version + 1
    assert [r.id for r in await reg.list(status="stopped")] == [a.id]
    assert [r.id for r in await reg.list(status="active", purpose="dev")] == [b.id]
    # compare-and-set: a stale record loses, and says so; the current one wins.
    with pytest.raises(sandlot.RecordConflict, match=f"{a.id} changed since version"):
        await reg.compare_and_set(a, config={"n": 2})
    moved = await reg.compare_and_set(stopped, config={"n": 2}, labels={"team": "c"})
    assert dict(moved.config) == {"n": 2} and dict(moved.labels) == {"team": "c"}
    assert moved.status == "stopped" and moved.version == stopped.version + 1
    with pytest.raises(sandlot.InvalidArgument, match="cannot set status 'creating'"):
        await reg.compare_and_set(moved, status="creating")
    failed = await reg.compare_and_set(moved, status="error", error="disk full")
    assert (failed.status, failed.error) == ("error", "disk full")
    async with reg.open(a.id) as sb:
        assert (await sb.exec("echo", ["hi"])).stdout == b"hi\n"
    assert (await reg.get(a.id)).status == "active" and (await reg.get(a.id)).error is None
    with pytest.raises(sandlot.InvalidArgument, match="unknown status 'gone'"):
        await reg.list(status="gone")  # type: ignore[arg-type]
    await reg.remove(a.id)
    await reg.delete(b.id)
    assert await reg.list() == []


async def test_idempotent_create_provisions_once(reg: sandlot.SandboxRegistry, fake: Path) -> None:
    results: list[sandlot.SandboxRecord] = []

    async def create() -> None:
        results.append(await reg.create("fake://new?tag=one", idempotency_key="job-1"))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(create)
    assert len({r.id for r in results}) == 1
    assert {r.status for r in results} == {"active"}
    record = results[0]
    assert record.idempotency_key == "job-1" and record.provider_id is not None
    assert creates(fake) == [f"one {record.provider_id}"]
    again = await reg.create("fake://new?tag=one", idempotency_key="job-1")
    assert again.id == record.id and creates(fake) == [f"one {record.provider_id}"]


async def test_stop_then_open_starts_it_and_recreate_keeps_the_id(
    reg: sandlot.SandboxRegistry, fake: Path
) -> None:
    record = await reg.create(
        "fake://new?tag=r&size=1,2", params={"env": {"MODE": "test"}}, purpose="ci"
    )
    assert dict(record.params) == {"tag": "r", "size": [1, 2], "env": {"MODE": "test"}}
    assert record.provider_id is not None and record.recreated_at is None
    stopped = await reg.stop(record.id)
    assert stopped.status == "stopped"
    assert (fake / record.provider_id).read_text() == "stopped"
    async with reg.open(record.id) as sb:
        assert (await sb.exec("echo", ["up"])).stdout == b"up\n"
    assert (fake / record.provider_id).read_text() == "running"
    # The provider's sandbox goes behind our back.
    (fake / record.provider_id).unlink()
    with pytest.raises(sandlot.SandboxNotFound, match=record.provider_id):
        async with reg.open(record.id):
            pass
    gone = await reg.get(record.id)
    assert gone.status == "error" and gone.error is not None and record.provider_id in gone.error
    async with reg.open(record.id, recreate=True) as sb:
        assert (await sb.exec("echo", ["again"])).stdout == b"again\n"
    back = await reg.get(record.id)
    assert back.id == record.id and back.status == "active" and back.error is None
    assert back.provider_id not in (None, record.provider_id)
    assert back.url == f"fake://{back.provider_id}"
    assert back.recreated_at is not None and back.recreated_at >= gone.updated_at
    assert dict(back.params) == dict(record.params) and back.purpose == "ci"
    assert creates(fake) == [f"r {record.provider_id}", f"r {back.provider_id}"]
    # start(recreate=True) too: stopped, then gone.
    await reg.stop(record.id)
    assert back.provider_id is not None
    (fake / back.provider_id).unlink()
    started = await reg.start(record.id, recreate=True)
    assert started.status == "active" and started.provider_id not in (None, back.provider_id)
    await reg.delete(record.id)
    assert await reg.list() == []
    # A sandbox only recorded by its URL (not made by sandlot) is never recreated.
    made = await reg.create("fake://new?tag=theirs")
    assert made.provisioned and made.provider_id is not None
    theirs = await reg.create(f"fake://{made.provider_id}")
    assert theirs.status == "active" and not theirs.provisioned
    (fake / made.provider_id).unlink()
    with pytest.raises(sandlot.SandboxNotFound, match=made.provider_id):
        async with reg.open(theirs.id, recreate=True):
            pass
    assert (await reg.get(theirs.id)).status == "error"
    assert creates(fake)[-1] == f"theirs {made.provider_id}"  # nothing made since


async def test_secrets_are_refused_in_everything_stored(
    reg: sandlot.SandboxRegistry, fake: Path
) -> None:
    with pytest.raises(sandlot.InvalidArgument, match="refusing key 'API_TOKEN'"):
        await reg.create("fake://new", params={"env": {"API_TOKEN": "hunter2"}})
    with pytest.raises(sandlot.InvalidArgument, match="refusing key 'password'"):
        await reg.create("local", labels={"password": "hunter2"})
    with pytest.raises(sandlot.InvalidSandboxURL, match="'root' cannot be set"):
        await reg.create("fake://new?root=/", idempotency_key="k")
    assert await reg.list() == [] and creates(fake) == []


async def test_a_failed_creation_is_an_error_record_a_retry_repairs(
    reg: sandlot.SandboxRegistry, fake: Path
) -> None:
    with pytest.raises(sandlot.InvalidArgument, match=r"bad fake params .*'x'"):
        await reg.create("fake://new?size=x", idempotency_key="k")
    assert await reg.list() == []  # refused before anything was recorded
    (fake / "down").write_text("")
    with pytest.raises(sandlot.ConnectionFailed, match="the fake provider is down"):
        await reg.create("fake://new?tag=t", idempotency_key="k")
    [failed] = await reg.list()
    assert (failed.status, failed.error) == ("error", "the fake provider is down")
    (fake / "down").unlink()
    repaired = await reg.create("fake://new?tag=t", idempotency_key="k")
    assert repaired.id == failed.id and repaired.status == "active" and repaired.error is None
    assert creates(fake) == [f"t {repaired.provider_id}"]


async def test_a_cancelled_creation_is_an_error_record_a_retry_repairs(
    reg: sandlot.SandboxRegistry, fake: Path
) -> None:
    entered = anyio.Event()
    blocked = fake_backend.FakeOptions(block=str(fake / "block"), entered=entered)

    async def create() -> None:
        await reg.create("fake://new?tag=c", idempotency_key="c", fake=blocked)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(create)
            await entered.wait()  # the provider is creating
            tg.cancel_scope.cancel()
    [record] = await reg.list()
    assert (record.status, record.error) == ("error", "creation cancelled")
    again = await reg.create("fake://new?tag=c", idempotency_key="c")
    assert again.id == record.id and again.status == "active"
    assert creates(fake) == [f"c {again.provider_id}"]


def test_an_old_sqlite_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE sandboxes (id TEXT PRIMARY KEY, provider TEXT NOT NULL, provider_id TEXT,"
        " url TEXT NOT NULL, status TEXT NOT NULL, config TEXT NOT NULL, error TEXT,"
        " created_at REAL NOT NULL, updated_at REAL NOT NULL)"
    )
    sid = "sb_" + "1" * 32
    db.execute(
        "INSERT INTO sandboxes VALUES (?, 'local', NULL, 'local', 'active', ?, NULL, 1.0, 2.0)",
        (sid, json.dumps({"cpus": 2})),
    )
    db.commit()
    db.close()

    async def main() -> None:
        async with sandlot.SandboxRegistry(path) as reg:
            record = await reg.get(sid)
            assert (record.status, dict(record.config), record.version) == (
                "active", {"cpus": 2}, 0
            )  # fmt: skip
            assert dict(record.labels) == {} and record.purpose is None
            assert (await reg.stop(sid)).version == 1

    anyio.run(main)
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM sandlot_schema").fetchall() == [(2,)]
    db.execute("UPDATE sandlot_schema SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(sandlot.RegistryError, match="schema version 99, newer than"):
        anyio.run(sandlot.SandboxRegistry(path).list)


async def test_postgres_schema_version_and_unreachable_server(postgres: Postgres) -> None:
    import psycopg

    url = postgres.new_database()
    async with sandlot.SandboxRegistry(url) as reg:
        assert await reg.list() == []
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM sandlot_schema").fetchall() == [(2,)]
        conn.execute("UPDATE sandlot_schema SET version = 99")
    with pytest.raises(sandlot.RegistryError, match="schema version 99, newer than"):
        await sandlot.SandboxRegistry(url).list()
    closed = f"postgresql://me:hunter2@127.0.0.1:{postgres.port + 1}/x"
    reg = sandlot.SandboxRegistry(closed)
    assert "hunter2" not in repr(reg)
    with pytest.raises(sandlot.RegistryError, match=r"me:\*\*\*@127.0.0.1") as info:
        await reg.list()
    assert "hunter2" not in str(info.value)


async def test_sandlot_db_may_hold_a_postgres_url(
    postgres: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.new_database()
    monkeypatch.setenv("SANDLOT_DB", url)
    async with sandlot.SandboxRegistry() as reg:
        assert reg.path is None and reg.location == url
        record = await reg.create("local")
    async with sandlot.SandboxRegistry(url) as reg:
        assert [r.id for r in await reg.list()] == [record.id]
