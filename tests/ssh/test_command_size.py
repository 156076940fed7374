"""The SSH command line (launcher, arguments and environment, quoted) fits in one argument
of the remote shell: up to the limit it runs, past it it is refused before anything is
sent (once, past sshd's packet limit, sshd dropped the connection and all its processes)."""

from __future__ import annotations

import anyio
import pytest

import sandlot
from sandlot._backends.ssh._launcher import build_command
from sandlot._transport import LaunchSpec
from targets.ssh import Sshd

LIMIT = 131071  # measured: Linux's MAX_ARG_STRLEN (128 KiB) less the NUL


def padding_for(total: int) -> str:
    """An argument that makes the launcher's command line exactly ``total`` bytes."""
    base = len(build_command(LaunchSpec(("true", ""), None, {}, stdin=False)).encode())
    return "x" * (total - base)


async def test_the_limit_is_exact_and_names_itself(sshd: Sshd) -> None:
    async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options()) as sb:
        assert (await sb.exec("true", [padding_for(LIMIT)])).exit.code == 0
        with anyio.fail_after(5), pytest.raises(sandlot.InvalidArgument) as info:
            await sb.exec("true", [padding_for(LIMIT + 1)])
        assert f"{LIMIT + 1} bytes once quoted for the SSH host" in str(info.value)
        assert f"over its limit of {LIMIT} bytes" in str(info.value)


async def test_far_past_sshds_packet_limit_other_processes_live_on(sshd: Sshd) -> None:
    opened = sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options())
    async with opened as sb, sb.spawn("cat") as bystander:
        await bystander.ready
        pids = sshd.connection_pids()
        for big in ({"args": ["x" * 300_000]}, {"env": {"BIG": "é" * 150_000}}):
            with anyio.fail_after(5), pytest.raises(sandlot.InvalidArgument, match="too large"):
                await sb.exec("true", **big)  # type: ignore[arg-type]
        # The same connection, not a new one: no new sshd process (one forked for a session
        # shows as sshd until it execs the shell, so one may have gone meanwhile).
        assert pids and set(sshd.connection_pids()) <= set(pids)
        with anyio.fail_after(10):
            await bystander.stdin.send(b"alive\n")
            assert await bystander.stdout.receive() == b"alive\n"
            await bystander.stdin.aclose()
            assert (await bystander.exit).code == 0
