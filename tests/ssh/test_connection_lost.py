"""A connection that dies fails every pending call with ConnectionLost, promptly, and the
next call on the Sandbox reconnects."""

from __future__ import annotations

import os
import signal
import uuid

import anyio
import pytest

import sandlot
from targets.ssh import TEST_USER, Sshd

from . import wait_for_file

LOST_WITHIN = 2.0


def kill_connections(sshd: Sshd) -> None:
    """Kill sshd's per-connection processes: the client sees the TCP connection drop."""
    pids = sshd.connection_pids()
    assert pids, "no sshd connection process to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("user", ["root", TEST_USER])
async def test_every_pending_call_fails_and_the_sandbox_reconnects(sshd: Sshd, user: str) -> None:
    marker = f"/tmp/sandlot-lost-{uuid.uuid4().hex}"
    async with sandlot.open_sandbox(sshd.url(user), ssh=sshd.options(), kill_grace=0.2) as sb:
        proc = await sb.spawn("sh", ["-c", "echo $$; exec sleep 60"])
        spawned = (await proc.stdout.receive()).strip().decode()
        await proc.ready
        outcomes: dict[str, BaseException | None] = {}

        async def pending(name: str, call: object) -> None:
            try:
                await call  # type: ignore[misc]
            except BaseException as exc:
                outcomes[name] = exc
            else:
                outcomes[name] = None

        exec_call = sb.exec("sh", ["-c", f"echo $$ > {marker}; exec sleep 60"])
        async with anyio.create_task_group() as tg:
            tg.start_soon(pending, "exit", proc.exit)
            tg.start_soon(pending, "stdout", proc.stdout.receive())
            tg.start_soon(pending, "exec", exec_call)
            executed = await wait_for_file(marker)
            kill_connections(sshd)
            lost_at = anyio.current_time()
        assert anyio.current_time() - lost_at < LOST_WITHIN
        for name in ("exit", "stdout", "exec"):
            exc = outcomes[name]
            assert isinstance(exc, sandlot.ConnectionLost), (name, exc)
            assert f"connection to {user}@127.0.0.1:{sshd.port} was lost" in str(exc)
        with anyio.fail_after(LOST_WITHIN), pytest.raises(sandlot.ConnectionLost):
            await proc.stdin.send(b"x")
        await proc.ready  # it succeeded before the loss, and stays so
        # Closing stops the processes the dead connection left running (sshd does not):
        # the signal goes over a new connection. exec did the same when it failed.
        await proc.aclose()
        for pgid in (spawned, executed):
            gone = f"while kill -0 -{pgid} 2>/dev/null; do sleep 0.05; done"
            r = await sb.exec("sh", ["-c", gone], timeout=5)
            assert not r.timed_out, f"process group {pgid} survived the lost connection"
        assert (await sb.exec("echo", ["back"])).stdout == b"back\n"
    os.unlink(marker)


async def test_a_process_ignoring_sigterm_is_killed_after_the_connection_died(sshd: Sshd) -> None:
    """After the loss nothing reports the exit: the grace runs out and SIGKILL follows."""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options(), kill_grace=0.2) as sb:
        proc = await sb.spawn("sh", ["-c", "trap '' TERM; echo $$; exec sleep 60"])
        pgid = (await proc.stdout.receive()).strip().decode()
        kill_connections(sshd)
        with anyio.fail_after(LOST_WITHIN), pytest.raises(sandlot.ConnectionLost):
            await proc.exit
        with anyio.fail_after(5):
            await proc.aclose()
        gone = f"while kill -0 -{pgid} 2>/dev/null; do sleep 0.05; done"
        r = await sb.exec("sh", ["-c", gone], timeout=5)
        assert not r.timed_out, f"process group {pgid}, deaf to SIGTERM, survived"
