"""Cancellation with anyio cancel scopes (SPEC §2)."""

from __future__ import annotations

import anyio
import pytest

import sandlot

from ._helpers import exists, gone, requires


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
