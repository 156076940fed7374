"""One worker of the records' stress test, as its own process:
``stress_worker.py STORE ROOT INDEX OPS RECORDS SEED ASYNC_BACKEND``.

It waits for ``ROOT/go``, creates (idempotently) every record, then makes ``OPS``
random operations on them, and prints what it did as JSON: the ids it got for each key,
and how many increments of each record's counter it made."""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import anyio

import fake_backend
import sandlot


async def main(store: str, root: Path, index: int, ops: int, records: int, seed: int) -> None:
    fake_backend.install(root)
    rng = random.Random(seed * 1000 + index)
    ids: dict[str, str] = {}
    incr: dict[str, int] = {}
    t0 = time.monotonic()
    async with sandlot.SandboxRegistry(store, pool_size=2) as reg:
        keys = [f"k{i}" for i in range(records)]
        for key in rng.sample(keys, len(keys)):
            record = await reg.create(
                f"fake://new?tag={key}", idempotency_key=key, labels={"key": key}
            )
            ids[key] = record.id
        t1 = time.monotonic()
        for _ in range(ops):
            key = rng.choice(keys)
            sid = ids[key]
            op = rng.choices(["incr", "stop", "start", "vanish", "list", "get"], [4, 2, 2, 1, 1, 1])
            try:
                done = await OPS[op[0]](reg, sid, key, root)
                if op[0] == "incr" and done:
                    incr[sid] = incr.get(sid, 0) + 1
            except sandlot.RecordConflict:
                pass  # another worker moved the record on: a legal outcome
            except sandlot.SandboxNotFound:
                pass  # its provider sandbox vanished and is not recreated by this op
    took = [round(t1 - t0, 3), round(time.monotonic() - t1, 3)]
    json.dump({"ids": ids, "incr": incr, "took": took}, sys.stdout)


async def increment(reg: sandlot.SandboxRegistry, sid: str, key: str, root: Path) -> bool:
    for _ in range(1000):  # read, compute, compare-and-set: again if someone was first
        record = await reg.get(sid)
        if record.status == "creating":
            return False  # being recreated: it takes no changes meanwhile
        n = record.config.get("n") or 0
        assert isinstance(n, int)
        try:
            await reg.compare_and_set(record, config={**record.config, "n": n + 1})
            return True
        except sandlot.RecordConflict:
            continue
    raise AssertionError("1000 conflicts in a row")


async def stop(reg: sandlot.SandboxRegistry, sid: str, key: str, root: Path) -> None:
    await reg.stop(sid)


async def start(reg: sandlot.SandboxRegistry, sid: str, key: str, root: Path) -> None:
    await reg.start(sid, recreate=True)


async def vanish(reg: sandlot.SandboxRegistry, sid: str, key: str, root: Path) -> None:
    """The provider loses a stopped sandbox (a later start recreates it)."""
    record = await reg.get(sid)
    if record.status == "stopped" and record.provider_id:
        (root / record.provider_id).unlink(missing_ok=True)


async def listing(reg: sandlot.SandboxRegistry, sid: str, key: str, root: Path) -> None:
    assert [r.id for r in await reg.list(label=f"key={key}")] == [sid]


async def get(reg: sandlot.SandboxRegistry, sid: str, key: str, root: Path) -> None:
    assert (await reg.get(sid)).labels == {"key": key}


OPS: dict[str, Any] = {
    "incr": increment,
    "stop": stop,
    "start": start,
    "vanish": vanish,
    "list": listing,
    "get": get,
}


if __name__ == "__main__":
    store, root, index, ops, records, seed, backend = sys.argv[1:]
    Path(root, f"ready.{index}").write_text("")
    while not Path(root, "go").exists():
        time.sleep(0.005)  # all workers start together: poll for the parent's signal
    anyio.run(
        main, store, Path(root), int(index), int(ops), int(records), int(seed), backend=backend
    )
