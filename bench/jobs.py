"""Durable-jobs benchmarks: bytes moved to follow a log, and the latency of one read.

    python bench/jobs.py [--url local] [--size-mib 100] [--polls 1000] [--reads 200]
                         [--backend asyncio|trio|both]

1. Follow a finished ``--size-mib`` log from cursor 0 in exactly ``--polls`` reads and
   count every byte that crosses the backend (exec arguments and input out, stdout and
   stderr back). The target is <= 1.1x the log size. Compared with the raw primitive
   (``tail -c +N | head -c M`` through ``sb.exec``, no status, no UTF-8 care) and with
   what a user would do without a cursor (re-read the whole log with ``read_file`` each
   poll; run for a few polls only, since it is quadratic, and projected).
2. The latency of one ``Jobs.read`` with nothing new (the poll a follower makes), against
   the floor (one ``sb.exec("true")``) and, locally, ``subprocess.run(["tail", ...])``.

Prints one table per anyio backend; ratios are from this one run (noisy on shared cores).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

import sandlot


class Counting:
    """A Sandbox stand-in that counts the bytes every ``exec`` moves."""

    def __init__(self, sb: sandlot.Sandbox) -> None:
        self._sb = sb
        self.sent = 0
        self.received = 0
        self.calls = 0

    @property
    def backend(self) -> str:
        return self._sb.backend

    async def exec(
        self,
        cmd: str,
        args: Sequence[str] | None = None,
        *,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        **kw: Any,
    ) -> sandlot.ExecResult:
        r = await self._sb.exec(cmd, args, input=input, env=env, **kw)
        self.calls += 1
        self.sent += len(cmd) + sum(len(a.encode()) + 1 for a in args or ())
        self.sent += len(input or b"") + sum(len(k) + len(v) + 2 for k, v in (env or {}).items())
        self.received += len(r.stdout) + len(r.stderr)
        return r

    @property
    def moved(self) -> int:
        return self.sent + self.received


def fmt_bytes(n: float) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1)]


async def make_log(jobs: sandlot.Jobs, size: int) -> sandlot.JobHandle:
    handle = await jobs.start("head", ["-c", str(size), "/dev/urandom"])
    while (await jobs.status(handle)).running:  # noqa: ASYNC110 - remote state: poll
        await anyio.sleep(0.1)
    return handle


async def run(backend: str, url: str, size: int, polls: int, reads: int) -> None:
    rows: list[tuple[str, str, str, str]] = []
    async with sandlot.open_sandbox(url) as sb:
        root = (await sb.exec("mktemp", ["-d"], check=True)).stdout.decode().strip()
        try:
            jobs = sandlot.Jobs(sb, root=f"{root}/jobs")
            handle = await make_log(jobs, size)
            log = f"{root}/jobs/{handle.id}/output"
            step = math.ceil(size / polls)

            # 1. follow in exactly `polls` reads
            counting = Counting(sb)
            cjobs = sandlot.Jobs(counting, root=f"{root}/jobs")  # type: ignore[arg-type]
            got = 0
            n = 0
            t0 = time.perf_counter()
            async for chunk in cjobs.follow(handle, max_bytes=step):
                got += len(chunk.data)
                n += 1
            took = time.perf_counter() - t0
            assert got == size, (got, size)
            jobs_ratio = counting.moved / size
            rows.append(
                (
                    f"sandlot Jobs.follow ({n} chunks, {counting.calls} execs)",
                    fmt_bytes(counting.moved),
                    f"{jobs_ratio:.3f}x",
                    f"{took:.2f} s",
                )
            )

            raw = Counting(sb)
            t0 = time.perf_counter()
            cursor = 0
            while cursor < size:
                r = await raw.exec(
                    "sh", ["-c", f'tail -c +{cursor + 1} "$0" | head -c {step}', log]
                )
                cursor += len(r.stdout)
            took_raw = time.perf_counter() - t0
            rows.append(
                (
                    f"raw exec tail|head ({raw.calls} execs)",
                    fmt_bytes(raw.moved),
                    f"{raw.moved / size:.3f}x",
                    f"{took_raw:.2f} s",
                )
            )

            naive_polls = 5
            t0 = time.perf_counter()
            moved = 0
            for _ in range(naive_polls):
                moved += len(await sb.read_file(log))
            took_naive = time.perf_counter() - t0
            # A follower re-reading the whole log sees it grow 1/polls per poll: sum k/polls.
            projected = size * (polls + 1) / 2
            rows.append(
                (
                    f"re-read whole log per poll (projected from {naive_polls} reads)",
                    fmt_bytes(projected),
                    f"{projected / size:.0f}x",
                    f"~{took_naive / naive_polls * polls / 2:.0f} s",
                )
            )

            # 2. latency of one read with nothing new
            lat_read = []
            for _ in range(reads):
                t0 = time.perf_counter()
                await jobs.read(handle, size)
                lat_read.append(time.perf_counter() - t0)
            lat_true = []
            for _ in range(reads):
                t0 = time.perf_counter()
                await sb.exec("true")
                lat_true.append(time.perf_counter() - t0)
            lat_rows = [
                ("sandlot Jobs.read (nothing new)", lat_read),
                ('floor: sb.exec("true")', lat_true),
            ]
            if url == "local":
                lat_tail = []
                for _ in range(reads):
                    t0 = time.perf_counter()
                    # the blocking tool a user would reach for, timed as such
                    subprocess.run(["tail", "-c", f"+{size + 1}", log], check=True)  # noqa: ASYNC221
                    lat_tail.append(time.perf_counter() - t0)
                lat_rows.append(('subprocess.run(["tail", ...])', lat_tail))
            await jobs.remove(handle)
        finally:
            await sb.exec("rm", ["-rf", root])

    print(f"\n## {backend}, {url}: follow a {fmt_bytes(size)} log in {polls} polls")
    print(f"| {'method':<60} | {'bytes moved':>12} | {'vs log':>8} | {'time':>8} |")
    print(f"|{'-' * 62}|{'-' * 14}|{'-' * 10}|{'-' * 10}|")
    for name, moved_s, ratio, t in rows:
        print(f"| {name:<60} | {moved_s:>12} | {ratio:>8} | {t:>8} |")
    print(f"\n## {backend}, {url}: latency of one read ({reads} runs)")
    base = statistics.median(lat_read)
    print(f"| {'call':<40} | {'median':>9} | {'p95':>9} | {'vs Jobs.read':>12} |")
    print(f"|{'-' * 42}|{'-' * 11}|{'-' * 11}|{'-' * 14}|")
    for name, values in lat_rows:
        med = statistics.median(values)
        print(
            f"| {name:<40} | {med * 1e3:7.2f}ms | {pct(values, 0.95) * 1e3:7.2f}ms"
            f" | {med / base:11.2f}x |"
        )
    assert jobs_ratio <= 1.1, f"following moved {jobs_ratio:.3f}x the log size"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="local")
    parser.add_argument("--size-mib", type=float, default=100)
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    a = parser.parse_args()
    size = int(a.size_mib * (1 << 20))
    for backend in ["asyncio", "trio"] if a.backend == "both" else [a.backend]:
        anyio.run(run, backend, a.url, size, a.polls, a.reads, backend=backend)


if __name__ == "__main__":
    main()
