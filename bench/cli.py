"""The ``sandlot`` command line against the raw library and the tools users would use
instead (``sh``, ``ssh``): start-up latency and streaming throughput.

    python bench/cli.py [--runs 30] [--size-mib 512]
    python bench/cli.py --sandbox NAME_OR_URL --ssh "ssh -p 2222 -i key user@host"

The first form measures ``local``; the second also measures SANDBOX (e.g. a configured
ssh name) against the given ``ssh`` command line on the same host. Every sample is a
fresh process, interleaved across contenders (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

SANDLOT = [sys.executable, "-m", "sandlot"]
RAW_EXEC = (
    "import anyio, sys; "
    "r = anyio.run(anyio.run_process, sys.argv[1:], backend='asyncio'); "
    "sys.stdout.buffer.write(r.stdout)"
)
LIBRARY_EXEC = (
    "import anyio, sandlot, sys\n"
    "async def run():\n"
    "    async with sandlot.open_sandbox(sys.argv[1]) as sb:\n"
    "        r = await sb.exec(sys.argv[2], sys.argv[3:])\n"
    "        sys.stdout.buffer.write(r.stdout)\n"
    "anyio.run(run)\n"
)


def once(argv: Sequence[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - t0


def compare(contenders: dict[str, list[str]], runs: int, warmup: int = 2) -> dict[str, float]:
    """Median wall time per contender, samples interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(runs + warmup):
        for name, argv in contenders.items():
            t = once(argv)
            if i >= warmup:
                samples[name].append(t)
    return {name: statistics.median(ts) for name, ts in samples.items()}


def best_of_3(contenders: dict[str, list[str]]) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(3):
        for name, argv in contenders.items():
            samples[name].append(once(argv))
    return {name: min(ts) for name, ts in samples.items()}


def table(title: str, figures: dict[str, float], *, size_mib: float | None = None) -> None:
    ours = next(iter(figures.values()))
    print(f"\n#### {title}\n")
    print("| what | figure | ratio |\n|---|---|---|")
    for name, t in figures.items():
        figure = f"{t * 1e3:.1f} ms" if size_mib is None else f"{size_mib / t:.0f} MiB/s"
        print(f"| {name} | {figure} | {ours / t:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the sandlot command line.")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--sandbox", help="also measure this SANDBOX (URL or configured name)")
    parser.add_argument("--ssh", help="the ssh command line to compare SANDBOX with")
    args = parser.parse_args()
    head = ["head", "-c", str(args.size_mib << 20), "/dev/zero"]
    lib = [sys.executable, "-c", LIBRARY_EXEC]
    raw = [sys.executable, "-c", RAW_EXEC]

    table(
        f"`exec true` on local, median of {args.runs} fresh processes",
        compare(
            {
                "`sandlot exec -- true`": [*SANDLOT, "exec", "--", "true"],
                "python script: sandlot library `exec`": [*lib, "local", "true"],
                "python script: `anyio.run_process`": [*raw, "true"],
                "`sh -c true`": ["sh", "-c", "true"],
            },
            args.runs,
        ),
    )
    table(
        f"stream {args.size_mib} MiB of stdout on local, best of 3",
        best_of_3(
            {
                "`sandlot exec -- head -c N /dev/zero`": [*SANDLOT, "exec", "--", *head],
                "python script: `anyio.run_process`": [*raw, *head],
                "`head -c N /dev/zero` (shell)": head,
            }
        ),
        size_mib=args.size_mib,
    )
    if args.sandbox and args.ssh:
        ssh = shlex.split(args.ssh)
        sb = args.sandbox
        table(
            f"`exec true` on {sb}, median of {args.runs} fresh processes",
            compare(
                {
                    f"`sandlot exec {sb} -- true`": [*SANDLOT, "exec", sb, "--", "true"],
                    "`ssh HOST true` (OpenSSH client, same key)": [*ssh, "true"],
                },
                args.runs,
            ),
        )
        table(
            f"stream {args.size_mib} MiB of stdout from {sb}, best of 3",
            best_of_3(
                {
                    f"`sandlot exec {sb} -- head -c N /dev/zero`": [
                        *SANDLOT, "exec", sb, "--", *head,
                    ],
                    "`ssh HOST head -c N /dev/zero` (OpenSSH client)": [*ssh, *head],
                }
            ),
            size_mib=args.size_mib,
        )  # fmt: skip
    print(
        "\nratio: sandlot's wall time / the other's (1.00 = as fast; above 1, sandlot takes"
        " longer). Every figure includes process start-up."
    )


if __name__ == "__main__":
    main()
