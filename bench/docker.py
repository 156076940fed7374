"""Docker backend benchmark: sandlot vs the raw Engine API (same HTTP client) vs the CLI.

Starts a private dockerd with the test image (``tests/targets/docker.py``), unless
``--host`` and ``--container`` name a running container:

    python bench/docker.py [--runs 100] [--size-mib 200] [--host unix://... --container C]

- ``exec true`` latency, median of ``--runs``: sandlot's ``exec``; the raw Engine API call
  sequence a client needs for it (create the exec, start it with an upgrade, read to EOF,
  inspect the exit code) on httpx; ``docker exec C true`` (the CLI, a fresh process each).
  The three take turns, one call each per round, so a change in the machine's load falls
  on all three alike and the ratios come from the same rounds.
- stdout throughput, best of 3: ``head -c SIZE /dev/zero`` read to the end by sandlot,
  and by ``docker exec C head -c SIZE /dev/zero > /dev/null``.

Prints one table per anyio backend. Ratios: latency = sandlot's / other's (<= 1 is
better); throughput = other's time / sandlot's time (>= 1: sandlot is as fast or faster).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import sandlot
import sandlot.docker

MIB = 1 << 20


async def median_ms(fns: dict[str, Callable[[], Awaitable[Any]]], runs: int) -> dict[str, float]:
    """Each function's median time: they take turns, one call each per round."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        await fn()  # warm up
    for _ in range(runs):
        for name, fn in fns.items():
            t = time.perf_counter()
            await fn()
            samples[name].append(time.perf_counter() - t)
    return {name: statistics.median(xs) * 1000 for name, xs in samples.items()}


async def best_s(fn: Callable[[], Awaitable[int]], size: int, tries: int = 3) -> float:
    best = float("inf")
    for _ in range(tries):
        t = time.perf_counter()
        n = await fn()
        best = min(best, time.perf_counter() - t)
        assert n == size, (n, size)
    return best


async def raw_exec_true(client: httpx.AsyncClient, container: str) -> None:
    """What a client of the Engine API must do for ``exec true`` and its exit code."""
    r = await client.post(
        f"/v1.41/containers/{container}/exec",
        json={"Cmd": ["true"], "AttachStdout": True, "AttachStderr": True},
    )
    exec_id = r.json()["Id"]
    body = json.dumps({"Detach": False, "Tty": False}).encode()
    headers = {"Connection": "Upgrade", "Upgrade": "tcp", "Content-Type": "application/json"}
    async with client.stream(
        "POST", f"/v1.41/exec/{exec_id}/start", content=body, headers=headers
    ) as resp:
        stream = resp.extensions["network_stream"]
        while await stream.read(65536):
            pass
    info = (await client.get(f"/v1.41/exec/{exec_id}/json")).json()
    assert info["ExitCode"] == 0, info


def cli_exec(host: str, container: str) -> Callable[..., object] | None:
    """``docker exec CONTAINER ARGV...`` as a function (None without the CLI)."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    env = {"DOCKER_HOST": host, "PATH": "/usr/bin:/bin"}
    return lambda *argv, **kw: subprocess.run(
        [docker, "exec", container, *argv], env=env, check=True, **kw
    )


def cli_stdout(host: str, container: str, size: int) -> dict[str, float]:
    cli = cli_exec(host, container)
    if cli is None:
        return {}
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        cli("head", "-c", str(size), "/dev/zero", stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return {"stdout (s)": best}


async def figures(host: str, container: str, size: int, runs: int) -> dict[str, dict[str, float]]:
    opts = sandlot.docker.DockerOptions(host=host)
    out: dict[str, dict[str, float]] = {"sandlot": {}, "raw API": {}, "CLI": {}}
    transport = httpx.AsyncHTTPTransport(uds=host.removeprefix("unix://"))
    cli = cli_exec(host, container)
    async with (
        sandlot.open_sandbox(f"docker://{container}", docker=opts) as sb,
        httpx.AsyncClient(transport=transport, base_url="http://docker") as client,
    ):

        async def exec_true() -> None:
            r = await sb.exec("true")
            assert r.exit.code == 0

        async def cli_true() -> None:
            if cli is not None:
                cli("true")  # blocks the loop: nothing else runs meanwhile

        clients = {
            "sandlot": exec_true,
            "raw API": lambda: raw_exec_true(client, container),
            "CLI": cli_true,
        }
        for name, ms in (await median_ms(clients, runs)).items():
            out[name]["exec true (ms)"] = ms
        if cli is None:
            del out["CLI"]["exec true (ms)"]

        async def stream() -> int:
            n = 0
            async with sb.spawn("head", ["-c", str(size), "/dev/zero"]) as p:
                async for chunk in p.stdout:
                    n += len(chunk)
                await p.exit
            return n

        out["sandlot"]["stdout (s)"] = await best_s(stream, size)
    return out


def table(title: str, cols: dict[str, dict[str, float]], size_mib: int) -> str:
    lines = [
        f"#### {title}",
        "",
        "| | sandlot | raw API | ratio | CLI | ratio |",
        "|---|---|---|---|---|---|",
    ]
    s, raw, cli = cols["sandlot"], cols["raw API"], cols.get("CLI", {})
    key = "exec true (ms)"
    lines.append(
        f"| `exec true`, median (ms) | {s[key]:.1f} | {raw[key]:.1f} | {s[key] / raw[key]:.2f} "
        f"| {cli.get(key, float('nan')):.1f} | {s[key] / cli.get(key, float('nan')):.2f} |"
    )
    key = "stdout (s)"
    cli_s = cli.get(key, float("nan"))
    lines.append(
        f"| {size_mib} MiB stdout, best of 3 (MiB/s) | {size_mib / s[key]:.0f} | | "
        f"| {size_mib / cli_s:.0f} | {cli_s / s[key]:.2f} |"
    )
    return "\n".join(lines)


@contextlib.contextmanager
def engine(host: str | None, container: str | None) -> Iterator[tuple[str, str]]:
    if host and container:
        yield host, container
        return
    from targets.docker import private_dockerd

    with private_dockerd() as d:
        yield d.host, d.container


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--host")
    parser.add_argument("--container")
    args = parser.parse_args()
    size = args.size_mib * MIB
    with engine(args.host, args.container) as (host, container):
        cli = cli_stdout(host, container, size)
        for backend in ("asyncio", "trio"):
            cols = anyio.run(figures, host, container, size, args.runs, backend=backend)
            cols["CLI"].update(cli)
            print(table(f"docker backend on {backend}", cols, args.size_mib))
            print()


if __name__ == "__main__":
    main()
