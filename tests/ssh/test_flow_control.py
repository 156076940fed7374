"""SSH flow control bounds the client's memory: output the reader has not taken keeps the
channel window closed, so a fast remote producer blocks instead of filling the client.

Observables: the remote producer's progress (``wchar`` in ``/proc/PID/io``: the "remote"
host is this machine) against what the reader has taken, and the bytes the client holds
(sandlot's buffer plus asyncssh's channel buffer)."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import asyncssh
import pytest

import sandlot
from sandlot._backends.ssh import _fastpath
from targets.ssh import TEST_USER, Sshd

MiB = 1 << 20
#: Producer bytes the reader has not taken, at most: two windows (4 MiB: asyncssh's
#: buffer and the one granted) plus sandlot's buffer at a resume (0.5 MiB), plus the pipe
#: to sshd; with some room, and far below what a leaking window lets through.
BOUND = 6 * MiB
#: The fast receive path (AES-GCM) and asyncssh's own (any other cipher).
PATHS = {"fastpath": "aes128-gcm@openssh.com", "asyncssh": "aes128-ctr"}


def written(pid: int) -> int:
    with open(f"/proc/{pid}/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))


def in_write(pid: int) -> bool:
    with open(f"/proc/{pid}/syscall") as f:
        return f.read().startswith("1 ")


async def blocked(pid: int) -> int:
    """Wait until the producer sits in write() without progress; its bytes written."""
    with anyio.fail_after(20):
        before = -1
        while True:
            now = written(pid)
            if now == before and in_write(pid):
                return now
            before = now
            await anyio.sleep(0.05)  # polling a condition: no event tells us it blocked


def held(proc: sandlot.Process) -> int:
    """Output bytes the client holds for ``proc``: sandlot's buffers and asyncssh's."""
    raw: Any = proc._raw  # type: ignore[attr-defined]
    chan: Any = raw.chan
    return int(raw._out._size + raw._err._size + sum(len(d) for d, _ in chan._recv_buf))


async def remote_pid(sb: sandlot.Sandbox, path: str) -> int:
    with anyio.fail_after(10):
        while True:
            try:
                return int(await sb.read_file(path))
            except sandlot.FileNotFound:
                await anyio.sleep(0.02)  # it appears (renamed whole) once the command runs


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("route", ["stdout", "stderr"])
async def test_a_slow_reader_keeps_the_producer_blocked(sshd: Sshd, path: str, route: str) -> None:
    pidfile = f"/tmp/sandlot-flow-{uuid.uuid4().hex}"
    redirect = ">&2" if route == "stderr" else ""
    script = f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile} && exec head -c 1G /dev/zero"
    opts = sshd.options(ciphers=[PATHS[path]], fast_receive=path == "fastpath")
    async with (
        sandlot.open_sandbox(sshd.url(TEST_USER), ssh=opts) as sb,
        sb.spawn("sh", ["-c", f"{script} {redirect}"]) as proc,
    ):
        stream = proc.stdout if route == "stdout" else proc.stderr
        try:
            pid = await remote_pid(sb, pidfile)
            # Not reading at all: the producer blocks once the window is full.
            ahead = await blocked(pid)
            assert ahead <= BOUND, f"{ahead / MiB:.1f} MiB produced, none read"
            assert held(proc) <= BOUND
            # Reading slowly: the producer stays within the bound of what was taken.
            taken = 0
            worst = 0
            with anyio.fail_after(60):
                while taken < 24 * MiB:
                    taken += len(await stream.receive(64 * 1024))
                    worst = max(worst, written(pid) - taken, held(proc))
                    await anyio.sleep(0.002)  # the slow reader
            assert worst <= BOUND, f"{worst / MiB:.1f} MiB ahead of a slow reader"
            ahead = await blocked(pid) - taken
            assert ahead <= BOUND, f"{ahead / MiB:.1f} MiB produced but not read"
            assert held(proc) <= BOUND
            if path == "fastpath" and asyncssh.__version__ in _fastpath._TESTED_VERSIONS:
                conns = sb._transport._pool.conns  # type: ignore[attr-defined]
                states = [_fastpath._state(c.ssh) for c in conns]
                assert sum(st.packets for st in states if st) >= 24 * MiB // (32 * 1024)
        finally:
            await sb.exec("rm", ["-f", pidfile])
            await proc.kill()


@pytest.mark.parametrize("path", PATHS)
async def test_a_pipe_through_cat_stays_bounded_both_ways(sshd: Sshd, path: str) -> None:
    # The sender writes as fast as the channel lets it, the reader takes what comes: the
    # output held stays within the bound, and each send waits until asyncssh's send buffer
    # is below its high-water mark, so at most one item (1 MiB) waits on top of it.
    opts = sshd.options(ciphers=[PATHS[path]], fast_receive=path == "fastpath")
    item = bytes(range(256)) * 4096
    total = 64 * MiB
    async with (
        sandlot.open_sandbox(sshd.url(TEST_USER), ssh=opts) as sb,
        sb.spawn("cat") as proc,
    ):
        chan: Any = proc._raw.chan  # type: ignore[attr-defined]
        worst_out = worst_in = 0

        async def sender() -> None:
            nonlocal worst_in
            for _ in range(total // len(item)):
                await proc.stdin.send(item)
                worst_in = max(worst_in, chan._send_buf_len)
            await proc.stdin.aclose()

        got = bytearray()
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                tg.start_soon(sender)
                async for chunk in proc.stdout:
                    got += chunk
                    worst_out = max(worst_out, held(proc))
        assert len(got) == total and got == item * (total // len(item))
        assert worst_out <= BOUND, f"{worst_out / MiB:.1f} MiB of output held"
        assert worst_in <= chan._send_high_water, f"{worst_in} bytes left to send"
