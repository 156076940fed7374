"""Many worker processes sharing records, on both stores: the invariants hold after a
storm of random operations, and a worker killed while creating leaves nothing stuck."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio

import fake_backend
import sandlot

HERE = Path(__file__).parent
WORKERS, OPS, RECORDS = 8, 200, 50


def _env() -> dict[str, str]:
    src = str(HERE.parent.parent / "src")
    path = os.pathsep.join([src, str(HERE), str(HERE.parent)])
    return {**os.environ, "PYTHONPATH": path}


def _run_workers(store: str, root: Path) -> list[dict[str, Any]]:
    """The workers' reports; half of them run on asyncio, half on trio."""

    def argv(i: int) -> list[str]:
        loop = ("asyncio", "trio")[i % 2]
        args = [store, str(root), str(i), str(OPS), str(RECORDS), "7", loop]
        return [sys.executable, str(HERE / "stress_worker.py"), *args]

    procs = [subprocess.Popen(argv(i), stdout=subprocess.PIPE, env=_env()) for i in range(WORKERS)]
    try:
        deadline = time.monotonic() + 60
        while len(list(root.glob("ready.*"))) < WORKERS:
            assert all(p.poll() is None for p in procs), "a worker died starting"
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.01)  # poll for the condition: every worker is ready
        (root / "go").write_text("")
        outs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0] * WORKERS
    return [json.loads(out) for out in outs]


def test_many_workers_on_shared_records(store_url: str, tmp_path: Path) -> None:
    """8 processes (asyncio and trio) x 200 random operations on 50 shared records."""
    root = tmp_path / "fake"
    root.mkdir()
    results = _run_workers(store_url, root)
    fake_backend.install(root)  # (this process: the invariants read fake sandboxes)
    # Every worker got the same record for each key: one record per key.
    ids = results[0]["ids"]
    assert len(ids) == RECORDS and all(r["ids"] == ids for r in results)

    async def listed() -> list[sandlot.SandboxRecord]:
        async with sandlot.SandboxRegistry(store_url) as reg:
            return await reg.list()

    records = {r.id: r for r in anyio.run(listed)}
    assert set(records) == set(ids.values())
    created: dict[str, list[str]] = {}
    for line in (root / "creates.log").read_text().splitlines():
        tag, ident = line.split()
        created.setdefault(tag, []).append(ident)
    for key, sid in ids.items():
        record = records[sid]
        # No lost update: the counter is the sum of every worker's increments.
        total = sum(r["incr"].get(sid, 0) for r in results)
        assert record.config.get("n", 0) == total, (key, record)
        assert record.version >= total
        # A legal state, no one left creating, no lease held.
        assert record.status in ("active", "stopped", "error"), record
        assert record.lease_until is None and record.provider == "fake"
        # Never provisioned twice at once: of this key's sandboxes, only the record's
        # own may still exist (the first made by the idempotent creates, the others by
        # recreations after it vanished, one at a time).
        made = created[key]
        assert made[-1] == record.provider_id, (key, made, record)
        alive = [ident for ident in made if (root / ident).exists()]
        assert alive in ([], [record.provider_id]), (key, made, alive, record)
        assert (len(made) > 1) == (record.recreated_at is not None), (key, made, record)
    # The storm did exercise the lifecycle.
    assert {r.status for r in records.values()} >= {"active", "stopped"}
    assert any(len(m) > 1 for m in created.values()), "nothing was recreated"
    assert sum(sum(r["incr"].values()) for r in results) > WORKERS * OPS // 4


def test_a_worker_killed_while_creating_leaves_nothing_stuck(
    store_url: str, tmp_path: Path
) -> None:
    """(A process of its own, on asyncio; the survivors' checks here run on trio.)"""
    root = tmp_path / "fake"
    root.mkdir()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "block_worker.py"), store_url, str(root), "b", "0.5"],
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 30
        while not (root / "block.ready").exists():
            assert proc.poll() is None, "the worker died before creating"
            assert time.monotonic() < deadline, "the worker did not reach its create"
            time.sleep(0.01)  # poll for the condition: it is provisioning
    finally:
        proc.kill()
        proc.wait()
    fake_backend.install(root)

    async def survivor() -> None:
        async with sandlot.SandboxRegistry(store_url, lease=0.5) as reg:
            [record] = await reg.list()
            assert record.idempotency_key == "b" and record.provider_id is None
            assert record.status in ("creating", "error")  # "error" if the lease is over
            if record.status == "creating":
                assert record.lease_until is not None
                # The lease is a deadline: wait for it (and no longer) to pass.
                await anyio.sleep(max(0.0, record.lease_until - time.time()) + 0.01)
            # Once its lease is over, it is an error record anyone may act on (listing
            # the errors finds it at once).
            [record] = await reg.list(status="error")
            assert record.error == "abandoned while creating: its worker's lease ended"
            assert (await reg.get(record.id)).status == "error"
            # The retry of the same create finishes the job, with the same sandlot id.
            again = await reg.create("fake://new?tag=b", idempotency_key="b")
            assert again.id == record.id and again.status == "active"
            assert (root / "creates.log").read_text() == f"b {again.provider_id}\n"

    anyio.run(survivor, backend="trio")
