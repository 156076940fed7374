"""Cancellation with anyio cancel scopes (SPEC §2)."""

from __future__ import annotations

import anyio
import pytest

import sandlot

from ._helpers import exists, exited, gone, requires


@pytest.mark.parametrize("how", ["exec", "spawn", "pty"])
async def test_already_cancelled_scope_launches_nothing(
    sb: sandlot.Sandbox, scratch: str, how: str
) -> None:
    if how == "pty":
        requires(sb, "pty")
    marker = f"{scratch}/marker"
    with anyio.CancelScope() as scope:
        scope.cancel()
        if how == "exec":
            await sb.exec("touch", [marker])
        else:
            async with getattr(sb, how)("touch", [marker]):
                pytest.fail(f"{how} entered its block in a cancelled scope")
    assert scope.cancelled_caught
    # Prove the probe works: the same command outside a cancelled scope does create it.
    assert not await exists(sb, marker)
    await sb.exec("touch", [marker], check=True)
    assert await exists(sb, marker)


async def _wait_for_file(sb: sandlot.Sandbox, path: str) -> bytes:
    r = await sb.exec(
        "sh", ["-c", f"while [ ! -s {path} ]; do sleep 0.02; done; cat {path}"], timeout=20
    )
    assert not r.timed_out, f"{path} never appeared"
    return r.stdout


async def test_cancelling_exec_kills_the_command_and_its_grandchild(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    pidfile = f"{scratch}/pids"
    script = f"sleep 60 & echo $! $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; wait"
    async with anyio.create_task_group() as tg:

        async def run() -> None:
            await sb.exec("sh", ["-c", script])
            pytest.fail("exec returned instead of being cancelled")

        tg.start_soon(run)
        pids = (await _wait_for_file(sb, pidfile)).split()
        tg.cancel_scope.cancel()
    assert len(pids) == 2
    assert await gone(sb, *pids), f"{pids!r} survived the cancellation"


async def test_cancelling_while_reading_a_spawn_kills_it(
    sb: sandlot.Sandbox,
) -> None:
    with anyio.move_on_after(0.5) as scope:
        async with sb.spawn("sh", ["-c", "sleep 60 & echo $! $$; wait"]) as proc:
            pids = (await proc.stdout.receive()).split()
            await proc.exit
    assert scope.cancelled_caught
    assert await gone(sb, *pids)


async def test_cancelling_a_pty_kills_it(sb: sandlot.Sandbox) -> None:
    requires(sb, "pty")
    with anyio.move_on_after(0.5) as scope:
        async with sb.pty("sh", ["-c", "echo pid=$$; exec sleep 60"]) as term:
            buf = b""
            while b"\n" not in buf:
                buf += await term.output.receive()
            await term.exit
    assert scope.cancelled_caught
    pid = buf.split(b"pid=")[1].split()[0]
    assert await gone(sb, pid)


async def test_exec_cancelled_by_a_deadline_reports_nothing_but_cancellation(
    sb: sandlot.Sandbox,
) -> None:
    with anyio.move_on_after(0.3) as scope:
        await sb.exec("sleep", ["60"])
    assert scope.cancelled_caught


# The leader backgrounds a child that holds its stdout and writes a marker once the test
# creates a "go" file; the leader records both pids and exits at once (issue 10, item
# 5). Waiting on the test, not on a clock, keeps a slow machine from writing the marker
# before the sweep.


def _orphaning_script(scratch: str, *, redirect: str = "") -> str:
    # The child ignores SIGHUP: on a pty the leader's exit hangs the terminal up.
    child = f"trap '' HUP; echo \\$\\$ > {scratch}/c.tmp; mv {scratch}/c.tmp {scratch}/child; "
    child += f"while [ ! -e {scratch}/go ]; do sleep 0.02; done; echo done > {scratch}/marker"
    leader = f"while [ ! -s {scratch}/child ]; do sleep 0.01; done; echo $$ > {scratch}/leader"
    return f'sh -c "{child}" {redirect} & {leader}'


async def _assert_swept(sb: sandlot.Sandbox, scratch: str) -> None:
    child = (await _wait_for_file(sb, f"{scratch}/child")).split()
    assert await gone(sb, *child), "the background child survived"
    # Gone proves it; still give a survivor the go and the time to write the marker.
    await sb.exec("touch", [f"{scratch}/go"], check=True)
    await anyio.sleep(0.3)
    assert not await exists(sb, f"{scratch}/marker")


async def test_cancelling_exec_after_the_leader_exited_sweeps_its_group(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                await sb.exec("sh", ["-c", _orphaning_script(scratch)])
                pytest.fail("exec returned while the child held its output open")

            tg.start_soon(run)
            leader = await _wait_for_file(sb, f"{scratch}/leader")
            await _wait_for_file(sb, f"{scratch}/child")
            assert await exited(sb, leader)
            tg.cancel_scope.cancel()
        await _assert_swept(sb, scratch)


async def test_exec_timeout_after_the_leader_exited_sweeps_its_group(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    with anyio.fail_after(30):
        r = await sb.exec("sh", ["-c", _orphaning_script(scratch)], timeout=0.5)
        # The leader itself exited at once: it did not time out.
        assert (r.exit.code, r.timed_out) == (0, False)
        await _assert_swept(sb, scratch)


async def test_leaving_a_spawn_block_after_the_leader_exited_sweeps_its_group(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    with anyio.fail_after(30):
        async with sb.spawn("sh", ["-c", _orphaning_script(scratch)]) as proc:
            assert (await proc.exit).code == 0
            await _wait_for_file(sb, f"{scratch}/child")
        await _assert_swept(sb, scratch)


async def test_leaving_a_pty_block_after_the_leader_exited_sweeps_its_group(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    requires(sb, "pty")
    with anyio.fail_after(30):
        async with sb.pty("sh", ["-c", _orphaning_script(scratch)]):
            # Not `exit`: a backend may report it only once the terminal closes (Daytona).
            assert await exited(sb, await _wait_for_file(sb, f"{scratch}/leader"))
        await _assert_swept(sb, scratch)


async def test_a_normal_exec_leaves_a_daemonised_child_alone(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    # Detaching from the pipes on purpose is legitimate: only cancellation, timeouts and
    # leaving a block sweep the group.
    script = _orphaning_script(scratch, redirect="</dev/null >/dev/null 2>&1")
    with anyio.fail_after(30):
        r = await sb.exec("sh", ["-c", script], timeout=10)
        assert (r.exit.code, r.timed_out) == (0, False)
        await _wait_for_file(sb, f"{scratch}/child")
        await sb.exec("touch", [f"{scratch}/go"], check=True)
        assert await _wait_for_file(sb, f"{scratch}/marker") == b"done\n"
