"""Client CPU per GiB of SSH stdout: asyncssh's receive path against sandlot's fast path.

    python bench/ssh_cpu.py [--rounds 5] [--size-mib 1024] [--user sandlot-test]

Starts a throwaway sshd (as ``bench/ssh.py`` does) and reads ``head -c N /dev/zero`` with
AES-128-GCM: over two raw asyncssh connections on asyncio, one left alone and one given
``sandlot._backends.ssh._fastpath.install``, and through a Sandbox on asyncio and on trio,
with the default options (asyncssh's path) and with ``SSHOptions(fast_receive=True)``.
CPU is this process's (``time.process_time``: every thread, user + system; sshd runs in
its own). The two raw connections take turns, round by round,
so the load of a shared machine hits both alike; the table shows the median CPU and the
best rate.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import statistics
import sys
import time

import anyio
import asyncssh
from ssh import CIPHER, Server, raw_connect

import sandlot
from sandlot._backends.ssh import _fastpath

Sample = tuple[float, float]  # (wall s, cpu s)


async def raw_read(conn: asyncssh.SSHClientConnection, size: int) -> Sample:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    got = 0

    class Session(asyncssh.SSHClientSession[bytes]):
        def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
            nonlocal got
            got += len(data)

        def connection_lost(self, exc: Exception | None) -> None:
            done.set_result(None)

    t0, c0 = time.perf_counter(), time.process_time()
    await conn.create_session(Session, f"head -c {size} /dev/zero", encoding=None)
    await done
    sample = time.perf_counter() - t0, time.process_time() - c0
    assert got == size
    return sample


async def sandlot_read(sb: sandlot.Sandbox, size: int) -> Sample:
    t0, c0 = time.perf_counter(), time.process_time()
    got = 0
    async with sb.spawn("head", ["-c", str(size), "/dev/zero"]) as p:
        while True:
            try:
                got += len(await p.stdout.receive(1 << 20))
            except anyio.EndOfStream:
                break
    sample = time.perf_counter() - t0, time.process_time() - c0
    assert got == size
    return sample


async def raw_rounds(srv: Server, size: int, rounds: int) -> dict[str, list[Sample]]:
    slow, fast = await raw_connect(srv), await raw_connect(srv)
    assert _fastpath.install(fast), "this asyncssh is not one the fast path knows"
    out: dict[str, list[Sample]] = {"asyncssh": [], "asyncssh + fast path": []}
    for _ in range(rounds):
        out["asyncssh"].append(await raw_read(slow, size))
        out["asyncssh + fast path"].append(await raw_read(fast, size))
    st = _fastpath._state(fast)
    assert st is not None and st.packets >= rounds * size // 32768
    for c in (slow, fast):
        c.close()
        await c.wait_closed()
    return out


async def sandlot_rounds(srv: Server, size: int, rounds: int) -> tuple[list[Sample], ...]:
    """Default options and fast_receive=True, taking turns round by round."""
    async with (
        sandlot.open_sandbox(srv.url, ssh=srv.options()) as sb,
        sandlot.open_sandbox(srv.url, ssh=srv.options(fast_receive=True)) as fast,
    ):
        await sb.exec("true")
        await fast.exec("true")
        slow_s: list[Sample] = []
        fast_s: list[Sample] = []
        for _ in range(rounds):
            slow_s.append(await sandlot_read(sb, size))
            fast_s.append(await sandlot_read(fast, size))
        return slow_s, fast_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--user", default="sandlot-test")
    args = ap.parse_args()
    size = args.size_mib << 20
    srv = Server(args.user)
    try:
        results = asyncio.run(raw_rounds(srv, size, args.rounds))
        for backend in ("asyncio", "trio"):
            slow, fast = anyio.run(sandlot_rounds, srv, size, args.rounds, backend=backend)
            results[f"sandlot ({backend})"] = slow
            results[f"sandlot ({backend}), fast_receive=True"] = fast
    finally:
        srv.stop()
    gib = size / (1 << 30)
    base = statistics.median(c for _, c in results["asyncssh"]) / gib
    print(
        f"# {shlex.join(sys.argv)} ; cipher {CIPHER}, {args.rounds} rounds of {args.size_mib} MiB"
    )
    print("\n| what | CPU s/GiB (median) | vs asyncssh | MiB/s (best) |\n|---|---|---|---|")
    for name, samples in results.items():
        cpu = statistics.median(c for _, c in samples) / gib
        rate = size / (1 << 20) / min(w for w, _ in samples)
        print(f"| {name} | {cpu:.2f} | {cpu / base:.2f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
