"""Daytona backend benchmark: sandlot vs driving the daytona SDK directly.

Runs against the local Daytona stand-in (``tests/daytona_server``) by default, so sandlot
and the raw SDK talk to the same server and run the same processes on this machine; pass
``--api-url``/``--api-key``/``--sandbox`` to measure a real Daytona sandbox instead.

    /tmp/venv/bin/python bench/daytona.py [--size-mib 20] [--runs 50] [--rtt-ms 50]

``--rtt-ms`` makes the stand-in answer every request one round trip late and deliver
every WebSocket message half of one late: what a user far from the sandbox sees. Against
the stand-in, the requests each call makes are counted (the server counts them by route).

Prints one table per anyio backend. Ratios: throughput = other's time / sandlot's time
(>= 1: sandlot is as fast or faster); latency = sandlot's time / other's time (<= 1 is
better).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

# This file is named like the SDK: keep its directory off the path, so `daytona` is the SDK.
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent / "tests"))

import sandlot  # noqa: E402
import sandlot.daytona  # noqa: E402

MIB = 1 << 20

#: The stand-in's request counter (None against a real Daytona).
STATS_URL: str | None = None


def stats() -> dict[str, int]:
    if STATS_URL is None:
        return {}
    with urllib.request.urlopen(STATS_URL, timeout=10) as f:
        counts: dict[str, int] = json.load(f)
    return counts


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


async def requests_per_call(fn: Callable[[], Awaitable[Any]], calls: int = 10) -> float | None:
    """Requests per call of ``fn``, background ones included (None: not counted)."""
    if STATS_URL is None:
        return None
    await fn()
    await anyio.sleep(0.5)  # background requests of earlier calls settle
    before = stats()
    for _ in range(calls):
        await fn()
    await anyio.sleep(0.5)
    return sum(delta(before, stats()).values()) / calls


def routes(counts: dict[str, int]) -> str:
    short = {k.split(" ", 1)[0] + " " + k.rsplit("/process/", 1)[-1]: v for k, v in counts.items()}
    return ", ".join(f"{v}x {k}" for k, v in sorted(short.items()))


async def median_ms(fn: Callable[[], Awaitable[Any]], runs: int) -> float:
    await fn()  # warm up
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


async def best_s(fn: Callable[[], Awaitable[int]], size: int, tries: int = 3) -> float:
    best = float("inf")
    for _ in range(tries):
        t = time.perf_counter()
        n = await fn()
        best = min(best, time.perf_counter() - t)
        assert n == size, (n, size)
    return best


def sdk_client(url: str, key: str) -> Any:
    from daytona import AsyncDaytona, DaytonaConfig

    return AsyncDaytona(DaytonaConfig(api_key=key, api_url=url, target="local"))


async def sdk_figures(url: str, key: str, ident: str, size: int, runs: int) -> dict[str, float]:
    """The raw SDK (asyncio only): what a user would write instead of sandlot."""
    from daytona import SessionExecuteRequest

    out: dict[str, float] = {}
    async with sdk_client(url, key) as client:
        sb = await client.get(ident)

        async def one_shot() -> None:
            r = await sb.process.exec("true")
            assert r.exit_code == 0

        async def session_exec() -> None:
            sid = f"bench-{uuid.uuid4().hex}"
            await sb.process.create_session(sid)
            r = await sb.process.execute_session_command(
                sid, SessionExecuteRequest(command="true", run_async=False)
            )
            assert r.exit_code == 0
            await sb.process.delete_session(sid)

        out["exec_oneshot"] = await median_ms(one_shot, runs)
        out["exec_session"] = await median_ms(session_exec, runs)
        out["req_oneshot"] = await requests_per_call(one_shot) or 0.0
        out["req_session"] = await requests_per_call(session_exec) or 0.0

        # Streaming the same amount of data as text (the SDK's log stream is not
        # byte-exact: it would drop NULs and mangle invalid UTF-8, so feed it base64).
        async def stream() -> int:
            sid = f"bench-{uuid.uuid4().hex}"
            await sb.process.create_session(sid)
            cmd = f"head -c {size * 3 // 4} /dev/urandom | base64 -w 76 | head -c {size}"
            r = await sb.process.execute_session_command(
                sid, SessionExecuteRequest(command=cmd, run_async=True)
            )
            n = 0

            def count(text: str) -> None:
                nonlocal n
                n += len(text)

            await sb.process.get_session_command_logs_async(sid, r.cmd_id, count, count)
            await sb.process.delete_session(sid)
            return size if n >= size else n

        out["stream_sdk"] = await best_s(stream, size)
    return out


async def sandlot_figures(url: str, key: str, ident: str, size: int, runs: int) -> dict[str, float]:
    opts = sandlot.daytona.DaytonaOptions(api_key=key, api_url=url, target="local")
    out: dict[str, float] = {}
    async with sandlot.open_sandbox(f"daytona://{ident}", daytona=opts) as sb:

        async def exec_true() -> None:
            r = await sb.exec("true")
            assert r.exit.code == 0

        out["exec"] = await median_ms(exec_true, runs)
        out["req_exec"] = await requests_per_call(exec_true) or 0.0

        ready_samples: list[float] = []
        before_ready: list[dict[str, int]] = []

        async def spawn_ready() -> None:
            await anyio.sleep(0.2)  # warm sessions refill, finished ones go, off the clock
            before = stats()
            t = time.perf_counter()
            async with sb.spawn("cat") as proc:
                await proc.ready
                ready_samples.append(time.perf_counter() - t)
                before_ready.append(delta(before, stats()))
                await proc.stdin.aclose()
                await proc.exit

        for _ in range(min(runs, 20) + 1):
            await spawn_ready()
        out["spawn_ready"] = statistics.median(ready_samples[1:]) * 1000
        out["req_spawn"] = await requests_per_call(spawn_ready) or 0.0
        if before_ready[-1]:
            print(
                f"requests before spawn(...).ready ({sandlot_backend()}):", routes(before_ready[-1])
            )

        async def stream() -> int:
            n = 0
            async with sb.spawn("head", ["-c", str(size), "/dev/urandom"]) as proc:
                async for chunk in proc.stdout:
                    n += len(chunk)
                await proc.exit
            return n

        out["stream"] = await best_s(stream, size)
    return out


def sandlot_backend() -> str:
    import sniffio

    return sniffio.current_async_library()


def table(title: str, rows: list[tuple[str, str, str, str]]) -> str:
    lines = [f"#### {title}", "", "| what | figure | ratio | requests/call |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=20)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--api-url")
    parser.add_argument("--api-key")
    parser.add_argument("--sandbox")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="the stand-in's delay")
    args = parser.parse_args()
    size = args.size_mib * MIB
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    server = None
    if args.api_url:
        url, key, ident = args.api_url, args.api_key or os.environ["DAYTONA_API_KEY"], args.sandbox
    else:
        import daytona_server

        server = daytona_server.start(dict(os.environ), {}, rtt_ms=args.rtt_ms)
        url, key, ident = server.api_url, server.api_key, daytona_server.SANDBOX_ID
        global STATS_URL
        STATS_URL = url + "/_stats"
    try:
        sdk = asyncio.run(sdk_figures(url, key, ident, size, args.runs))
        for backend in ("asyncio", "trio"):
            ours = anyio.run(sandlot_figures, url, key, ident, size, args.runs, backend=backend)
            mib = size / MIB
            rtt = args.rtt_ms
            rows = [
                (
                    f"spawn stdout {mib:.0f} MiB binary, sandlot (byte-exact)",
                    f"{mib / ours['stream']:.1f} MiB/s",
                    "1.00",
                    "",
                ),
                (
                    f"SDK session log stream, {mib:.0f} MiB of base64 text",
                    f"{mib / sdk['stream_sdk']:.1f} MiB/s",
                    f"{sdk['stream_sdk'] / ours['stream']:.2f}",
                    "",
                ),
                (
                    "exec true, median, sandlot (stdout/stderr apart)",
                    f"{ours['exec']:.1f} ms",
                    "1.00",
                    f"{ours['req_exec']:.1f}",
                ),
                (
                    "SDK process.exec (output merged)",
                    f"{sdk['exec_oneshot']:.1f} ms",
                    f"{ours['exec'] / sdk['exec_oneshot']:.2f}",
                    f"{sdk['req_oneshot']:.1f}",
                ),
                (
                    "SDK session create + exec + delete",
                    f"{sdk['exec_session']:.1f} ms",
                    f"{ours['exec'] / sdk['exec_session']:.2f}",
                    f"{sdk['req_session']:.1f}",
                ),
                (
                    "spawn(...) to ready, median, sandlot",
                    f"{ours['spawn_ready']:.1f} ms",
                    f"{ours['spawn_ready'] / rtt:.2f}x RTT" if rtt else "",
                    f"{ours['req_spawn']:.1f} (all, per spawn)",
                ),
            ]
            title = f"daytona backend on {backend}" + (f", {rtt:g} ms RTT" if rtt else "")
            print(table(title, rows))
            print()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
