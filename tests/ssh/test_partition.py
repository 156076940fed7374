"""A silent partition (the server stops answering, TCP stays open) never hangs a call:
timeouts and cancel scopes take effect within a bound, cleanup gives up on the dead link
within a bound, keepalive declares the connection dead, and once the network heals the
process that could not be killed is reaped over a connection that works."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import uuid

import anyio
import pytest
from abandoned import abandoned_pgid, group_gone

import sandlot
import sandlot.ssh
from targets.ssh import TEST_USER, Sshd

from . import wait_for_file

#: How far past a deadline a call may return during a partition (the documented bound:
#: one signal attempt of 3 s, then the streams are dropped).
PAST_DEADLINE = 4.5


def kill_group(pgid: str) -> None:
    """Last resort for a test that failed: the leak check would report it anyway."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(int(pgid), signal.SIGKILL)


def test_keepalive_is_on_by_default() -> None:
    opts = sandlot.ssh.SSHOptions()
    assert (opts.keepalive_interval, opts.keepalive_count_max) == (15.0, 3)
    kw = opts.connect_kwargs()
    assert (kw["keepalive_interval"], kw["keepalive_count_max"]) == (15.0, 3)
    off = sandlot.ssh.SSHOptions(keepalive_interval=None).connect_kwargs()
    assert off["keepalive_interval"] == 0  # asyncssh's "off"


async def test_exec_timeout_fires_during_a_partition(sshd: Sshd) -> None:
    marker = f"/tmp/sandlot-partition-{uuid.uuid4().hex}"
    pgid = ""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options(), kill_grace=0.2) as sb:
        try:
            result: list[sandlot.ExecResult] = []

            async def run() -> None:
                cmd = f"echo $$ > {marker}; exec sleep 60"
                result.append(await sb.exec("sh", ["-c", cmd], timeout=2))

            with anyio.fail_after(20):
                with contextlib.ExitStack() as frozen:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(run)
                        pgid = await wait_for_file(marker)
                        started = anyio.current_time()
                        frozen.enter_context(sshd.partition())
                    returned = anyio.current_time() - started
                assert returned < 2 + PAST_DEADLINE, returned
                (r,) = result
                assert r.timed_out and not r.ok
                # The kill was ordered but not confirmed: the record says SIGKILL.
                assert r.exit == sandlot.ExitStatus(signal=signal.SIGKILL)
                # Healed: the next call retries the kill, which now gets through.
                assert await group_gone(sb, pgid), f"process group {pgid} was never reaped"
        finally:
            if pgid:
                kill_group(pgid)
    os.unlink(marker)


@pytest.mark.parametrize("kind", ["spawn", "pty"])
async def test_a_cancel_scope_around_a_read_fires_during_a_partition(sshd: Sshd, kind: str) -> None:
    pgid = ""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options(), kill_grace=0.2) as sb:
        try:
            with anyio.fail_after(20):
                launch = sb.spawn if kind == "spawn" else sb.pty
                proc = await launch("sh", ["-c", "echo $$; exec sleep 60"])
                out = proc.stdout if isinstance(proc, sandlot.Process) else proc.output
                pgid = (await out.receive()).strip().decode()
                await proc.ready
                with sshd.partition():
                    started = anyio.current_time()
                    with pytest.raises(TimeoutError), anyio.fail_after(1):
                        async with proc:  # leaving the block kills: bounded too
                            await out.receive()
                    returned = anyio.current_time() - started
                assert returned < 1 + PAST_DEADLINE, returned
                assert await group_gone(sb, pgid), f"process group {pgid} was never reaped"
        finally:
            if pgid:
                kill_group(pgid)


async def test_leaving_a_spawn_block_during_a_partition_is_bounded(sshd: Sshd) -> None:
    pgid = ""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options(), kill_grace=0.2) as sb:
        try:
            with anyio.fail_after(20):
                with contextlib.ExitStack() as frozen:
                    async with sb.spawn("sh", ["-c", "echo $$; exec sleep 60"]) as proc:
                        pgid = (await proc.stdout.receive()).strip().decode()
                        await proc.ready
                        frozen.enter_context(sshd.partition())
                        started = anyio.current_time()
                    returned = anyio.current_time() - started
                assert returned < PAST_DEADLINE, returned
                assert await group_gone(sb, pgid), f"process group {pgid} was never reaped"
        finally:
            if pgid:
                kill_group(pgid)


async def test_keepalive_declares_a_silent_connection_lost_and_a_new_one_reaps(
    sshd: Sshd,
) -> None:
    """With keepalive (on by default; shortened here) a pending call fails with
    ConnectionLost within interval x (count_max + 1); after the heal, the kill that could
    not get through is sent over a new connection."""
    opts = sshd.options(keepalive_interval=0.3, keepalive_count_max=2)
    pgid = ""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=opts, kill_grace=0.2) as sb:
        try:
            with anyio.fail_after(20):
                proc = await sb.spawn("sh", ["-c", "echo $$; exec sleep 60"])
                pgid = (await proc.stdout.receive()).strip().decode()
                await proc.ready
                with sshd.partition():
                    started = anyio.current_time()
                    with pytest.raises(sandlot.ConnectionLost):
                        await proc.exit
                    assert anyio.current_time() - started < 0.3 * 3 + 1.0
                    await proc.aclose()  # no connection reaches the host: gives up, bounded
                    assert anyio.current_time() - started < 0.3 * 3 + 1.0 + PAST_DEADLINE
                assert (await sb.exec("echo", ["back"])).stdout == b"back\n"  # a new connection
                assert await group_gone(sb, pgid), f"process group {pgid} was never reaped"
        finally:
            if pgid:
                kill_group(pgid)


@pytest.mark.parametrize("kind", ["exec", "spawn"])
async def test_a_start_under_way_when_the_server_freezes_ends_at_the_deadline(
    sshd: Sshd, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The channel open is not shielded past the caller's deadline (it used to wait for
    keepalive); once the server answers again, the process it started is stopped."""
    caplog.set_level(logging.INFO, logger="sandlot")
    token = f"sandlot-abandoned-{uuid.uuid4().hex}"
    pgid = ""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options(), kill_grace=0.2) as sb:
        try:
            assert (await sb.exec("true")).ok  # the connection and its guardian are up
            with anyio.fail_after(20):
                with sshd.partition():
                    started = anyio.current_time()
                    if kind == "exec":
                        with anyio.fail_after(3):
                            r = await sb.exec("sh", ["-c", "exec sleep 60", token], timeout=2)
                        assert r.timed_out and r.exit == sandlot.ExitStatus(signal=signal.SIGKILL)
                        assert (r.stdout, r.stderr) == (b"", b"")
                    else:
                        with pytest.raises(TimeoutError), anyio.fail_after(2):
                            async with sb.spawn("sh", ["-c", "exec sleep 60", token]):
                                pass
                    returned = anyio.current_time() - started
                assert returned < 2 + 1.0, returned
                pgid = await abandoned_pgid(caplog, token)
                assert await group_gone(sb, pgid), f"process group {pgid} was never reaped"
        finally:
            if pgid:
                kill_group(pgid)
