"""Sandbox records: operations per second for get / list / compare-and-set, on SQLite and
on PostgreSQL, with 1, 8 and 32 concurrent worker processes.

    python bench/registry.py [--pg postgresql://...] [--seconds 2] [--workers 1,8,32]

Without ``--pg`` it starts a throwaway PostgreSQL server (initdb in a temporary
directory, as ``nobody`` when run as root; needs /usr/lib/postgresql/*/bin). Each worker
is a process with its own registry (pool of 2 connections) and runs one operation in a
loop for ``--seconds``, all workers at once; the figure is the sum over the workers.
``cas``: a compare-and-set of a random one of the 50 records, from the record its last
call returned (one that lost to another worker is read again, and that read counted
apart).
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing as mp
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio

import sandlot

RECORDS = 50
OPS = ("get", "list", "cas")


async def _worker(store: str, op: str, seconds: float, ids: list[str], seed: int) -> list[int]:
    rng = random.Random(seed)
    done = conflicts = 0
    async with sandlot.SandboxRegistry(store, pool_size=2) as reg:
        known = {sid: await reg.get(sid) for sid in ids}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sid = rng.choice(ids)
            if op == "get":
                await reg.get(sid)
            elif op == "list":
                await reg.list()
            else:
                record = known[sid]
                try:
                    n = record.config.get("n") or 0
                    assert isinstance(n, int)
                    known[sid] = await reg.compare_and_set(record, config={"n": n + 1})
                except sandlot.RecordConflict:
                    conflicts += 1
                    known[sid] = await reg.get(sid)
                    continue
            done += 1
    return [done, conflicts]


def _run_one(args: tuple[str, str, float, list[str], int, Any, Any]) -> None:
    store, op, seconds, ids, seed, barrier, out = args
    barrier.wait()
    out.put(anyio.run(_worker, store, op, seconds, ids, seed))


def measure(
    store: str, op: str, workers: int, seconds: float, ids: list[str]
) -> tuple[float, float]:
    """ops/s over all workers, and the share of compare-and-sets that lost."""
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_run_one, args=((store, op, seconds, ids, i, barrier, out),))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds * 10 + 120) for _ in procs]
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    lost = sum(r[1] for r in results)
    return done / seconds, (lost / (done + lost) if done + lost else 0.0)


async def _seed(store: str) -> list[str]:
    async with sandlot.SandboxRegistry(store) as reg:
        for r in await reg.list():
            await reg.remove(r.id)
        return [
            (await reg.create("local", purpose="bench", labels={"i": str(i)})).id
            for i in range(RECORDS)
        ]


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server's URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        sys.exit("no PostgreSQL server binaries (apt-get install postgresql), or pass --pg")
    bindir = os.path.dirname(found[-1])
    as_user = []
    tmp = tempfile.mkdtemp(prefix="sandlot-bench-pg-")
    if os.geteuid() == 0:
        as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        nobody = pwd.getpwnam("nobody")
        os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
    data = os.path.join(tmp, "data")
    subprocess.run(
        [*as_user, f"{bindir}/initdb", "-D", data, "-U", "bench", "--auth=trust", "--no-sync"],
        check=True, capture_output=True, cwd=tmp,
    )  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Default durability settings (fsync on): figures for a real deployment.
    proc = subprocess.Popen(
        [*as_user, f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", tmp,
         "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp,
    )  # fmt: skip
    url = f"postgresql://bench@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def table(name: str, store: str, levels: list[int], seconds: float) -> None:
    ids = anyio.run(_seed, store)
    print(f"\n#### {name}\n")
    print("| operation | " + " | ".join(f"{n} worker{'s' * (n > 1)}" for n in levels) + " |")
    print("|---|" + "---:|" * len(levels))
    for op in OPS:
        cells = []
        for n in levels:
            rate, lost = measure(store, op, n, seconds, ids)
            cells.append(f"{rate:,.0f}/s" + (f" ({lost:.0%} lost)" if op == "cas" else ""))
        print(f"| {op} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="a PostgreSQL URL (default: start a throwaway server)")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--workers", default="1,8,32")
    args = parser.parse_args()
    levels = [int(n) for n in args.workers.split(",")]
    print(f"load average before: {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        table("SQLite (WAL, synchronous=NORMAL)", os.path.join(tmp, "r.db"), levels, args.seconds)
    if args.pg:
        table("PostgreSQL", args.pg, levels, args.seconds)
    else:
        with postgres() as url:
            table("PostgreSQL 15 (local, fsync on)", url, levels, args.seconds)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
