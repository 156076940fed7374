"""Many processes on one Sandbox against stock ``MaxSessions 10``: all succeed, and a
signal never waits behind a full connection."""

from __future__ import annotations

import signal

import anyio
import pytest

import sandlot
from targets.ssh import TEST_USER, Sshd

N = 100


async def test_100_concurrent_spawns_all_alive_at_once(sshd: Sshd) -> None:
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        results: dict[int, bytes] = {}
        async with _Procs(sb) as procs:
            for p in procs:
                await p.ready
            # Every process is running now (each waits on its stdin): they were not queued.
            for i, p in enumerate(procs):
                await p.stdin.send(f"hello {i}\n".encode())
                await p.stdin.aclose()
            async with anyio.create_task_group() as tg:
                for i, p in enumerate(procs):

                    async def read(i: int = i, p: sandlot.Process = p) -> None:
                        results[i] = await p.stdout.read_all()
                        assert await p.exit == sandlot.ExitStatus(code=0)

                    tg.start_soon(read)
        assert results == {i: f"{i}: hello {i}\n".encode() for i in range(N)}


class _Procs:
    """Spawn N processes concurrently; close them all on exit."""

    def __init__(self, sb: sandlot.Sandbox) -> None:
        self.sb = sb
        self.procs: list[sandlot.Process] = []

    async def __aenter__(self) -> list[sandlot.Process]:
        slots: list[sandlot.Process | None] = [None] * N

        async def one(i: int) -> None:
            slots[i] = await self.sb.spawn("sh", ["-c", f'read x; echo "{i}: $x"'])

        try:
            async with anyio.create_task_group() as tg:
                for i in range(N):
                    tg.start_soon(one, i)
        finally:
            self.procs = [p for p in slots if p is not None]
        return self.procs

    async def __aexit__(self, *exc: object) -> None:
        for p in self.procs:
            await p.aclose()


async def test_100_concurrent_execs_get_their_own_output(sshd: Sshd) -> None:
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        results: dict[int, sandlot.ExecResult] = {}

        async def one(i: int) -> None:
            results[i] = await sb.exec("sh", ["-c", f"echo out{i}; echo err{i} >&2; exit {i % 7}"])

        async with anyio.create_task_group() as tg:
            for i in range(N):
                tg.start_soon(one, i)
        for i, r in results.items():
            assert (r.stdout, r.stderr, r.exit.code) == (
                f"out{i}\n".encode(),
                f"err{i}\n".encode(),
                i % 7,
            )


@pytest.mark.parametrize("user", ["root", TEST_USER])
async def test_signals_and_cleanup_never_wait_behind_a_full_connection(
    sshd: Sshd, user: str
) -> None:
    # One connection only: its 8 process channels (of 10: one is for signals, one for the
    # guardian) all busy, a ninth spawn queued.
    opts = sshd.options(max_connections=1)
    async with sandlot.open_sandbox(sshd.url(user), ssh=opts, kill_grace=0.2) as sb:
        procs = [await sb.spawn("sleep", ["60"]) for _ in range(8)]
        for p in procs:
            await p.ready
        queued: list[sandlot.Process] = []

        async def ninth() -> None:
            queued.append(await sb.spawn("echo", ["queued"]))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ninth)
            with anyio.fail_after(5):
                await anyio.wait_all_tasks_blocked()
                assert not queued  # waits for a free channel
                await procs[0].kill(signal.SIGUSR1)  # the reserved control channel
                assert await procs[0].exit == sandlot.ExitStatus(signal=signal.SIGUSR1)
                await procs[0].aclose()
        assert await queued[0].stdout.read_all() == b"queued\n"
        await queued[0].aclose()
        with anyio.fail_after(10):
            for p in procs[1:]:
                await p.aclose()  # SIGTERM through the control channel, one at a time
                assert await p.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
