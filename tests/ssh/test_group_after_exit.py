"""After the command exited, its process group can still hold the channel open (a
background child): signals must still reach that group over SSH."""

from __future__ import annotations

import anyio

import sandlot
from targets.ssh import TEST_USER, Sshd


async def test_exec_timeout_sweeps_a_background_child_holding_the_pipes(sshd: Sshd) -> None:
    # The command exits at once; `sleep` keeps stdout open. On the timeout, exec sweeps the
    # group with SIGKILL: the leak check proves the remote `sleep` is gone.
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        with anyio.fail_after(20):
            r = await sb.exec("sh", ["-c", "sleep 30 & echo hi"], timeout=1)
    assert (r.stdout, r.exit, r.timed_out) == (b"hi\n", sandlot.ExitStatus(code=0), False)
