"""Daytona: the toolbox requests on the critical path, counted by the stand-in, and timed
against a simulated round trip (``--rtt-ms``); and memory bounded by ``max_output_bytes``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

import daytona_server
import sandlot
from targets import LEAK_TAG, LEAK_TAG_VAR, infrastructure_env
from targets.daytona import options

#: A round trip long enough that one request more is plain to see beside the launcher.
RTT = 0.3


@pytest.fixture(scope="module")
def far_server() -> Iterator[daytona_server.LocalDaytona]:
    server = daytona_server.start(infrastructure_env(), {LEAK_TAG_VAR: LEAK_TAG}, RTT * 1000)
    yield server
    server.stop()


def stats(server: daytona_server.LocalDaytona) -> dict[str, int]:
    with urllib.request.urlopen(server.api_url + "/_stats", timeout=10) as f:
        counts: dict[str, int] = json.load(f)
    return counts


def since(before: dict[str, int], server: daytona_server.LocalDaytona) -> dict[str, int]:
    """The requests since ``before``, by route (the tail of the path)."""
    out: dict[str, int] = {}
    for route, n in stats(server).items():
        if n != before.get(route, 0):
            short = route.split(" ")[0] + " " + route.rsplit("/process/", 1)[-1]
            out[short] = n - before.get(route, 0)
    return out


CREATE = "POST session"


async def warm(server: daytona_server.LocalDaytona, n: int) -> None:
    """Until the stand-in has seen ``n`` session creations (the pool's, in the background)."""
    with anyio.fail_after(20):
        while True:
            if stats(server).get("POST /toolbox/{sandbox}/process/session", 0) >= n:
                return
            await anyio.sleep(0.05)  # polling the server's counter: no event to wait on


async def test_exec_is_one_request_and_spawn_ready_after_two(
    far_server: daytona_server.LocalDaytona,
) -> None:
    created = stats(far_server).get("POST /toolbox/{sandbox}/process/session", 0)
    async with sandlot.open_sandbox(
        f"daytona://{daytona_server.SANDBOX_ID}", daytona=options(far_server), kill_grace=0.2
    ) as sb:
        await warm(far_server, created + 2)  # warming started at open
        before = stats(far_server)
        started = time.perf_counter()
        r = await sb.exec("sh", ["-c", "printf out; printf err >&2; exit 3"])
        took = time.perf_counter() - started
        assert (r.stdout, r.stderr, r.exit.code) == (b"out", b"err", 3)
        assert since(before, far_server) == {"POST execute": 1}
        assert took < 2 * RTT, took  # one round trip (and the launcher)

        before = stats(far_server)
        started = time.perf_counter()
        async with sb.spawn("sh", ["-c", "echo up; read x"]) as proc:
            await proc.ready
            took = time.perf_counter() - started
            at_ready = since(before, far_server)
            # The refill of the warm pool runs beside the start, not before it.
            at_ready.pop(CREATE, None)
            assert at_ready == {
                "POST session/{sid}/exec": 1,
                "GET session/{sid}/command/{cid}/logs": 1,
            }
            assert took < 2.6 * RTT, took  # two round trips, not three
            assert await proc.stdout.receive() == b"up\n"


def test_a_capped_exec_of_256_mib_stays_small(
    daytona_local: daytona_server.LocalDaytona, tmp_path: Path
) -> None:
    """The peak RSS a client's exec adds when it writes 256 MiB with a 1 MiB cap: the rest
    is dropped inside the sandbox, so the client never holds more than the cap per stream."""
    script = tmp_path / "client.py"
    script.write_text(
        "import resource, sys, anyio, sandlot, sandlot.daytona\n"
        "def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "async def main():\n"
        "    opts = sandlot.daytona.DaytonaOptions(api_key=sys.argv[1], api_url=sys.argv[2])\n"
        f"    async with sandlot.open_sandbox('daytona://{daytona_server.SANDBOX_ID}',"
        " daytona=opts) as sb:\n"
        "        await sb.exec('true')\n"
        "        print(peak())\n"
        "        r = await sb.exec('head', ['-c', str(256 << 20), '/dev/zero'],"
        " max_output_bytes=1 << 20)\n"
        "        assert r.ok and r.stdout == bytes(1 << 20) and r.stdout_truncated, r\n"
        "        print(peak())\n"
        "anyio.run(main)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(
        [sys.executable, str(script), daytona_local.api_key, daytona_local.api_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    # Measured from a warm client: importing the SDK alone peaks near 92 MiB.
    before, after = (int(v) for v in run.stdout.split())
    assert after - before < 32 * 1024, (before, after)
