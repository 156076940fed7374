"""``sandlot exec`` during a silent SSH partition: ``--timeout`` fires and the first
Ctrl-C ends the CLI, each within a bound."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from targets.ssh import Sshd

from .conftest import CLI, read_until, reap

#: The CLI gives up on the frozen connection within a few seconds (one signal attempt,
#: then closing); interpreter start and exit come on top.
BOUND = 12.0


@contextlib.contextmanager
def sleeper(cli: CLI, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``sandlot exec *args -- <a shell that prints its pid, then sleeps>``, started: yields
    the CLI process once the command runs. Afterwards the CLI is reaped and, as it could
    not reach the host, the test kills the command's process group itself."""
    proc = cli.popen("exec", *args, "--", "sh", "-c", "echo $$; exec sleep 60")
    pgid = 0
    try:
        assert proc.stdout is not None
        pgid = int(read_until(proc.stdout, b"\n"))
        yield proc
    finally:
        reap(proc)
        if pgid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)


@pytest.mark.parametrize("sandbox", ["ssh_user"], indirect=True)
def test_timeout_fires_during_a_partition(cli: CLI, sandbox: str, sshd: Sshd) -> None:
    with sleeper(cli, "--timeout", "2", sandbox) as proc:
        with sshd.partition():
            started = time.monotonic()
            assert proc.wait(timeout=BOUND) == 124
            assert time.monotonic() - started < BOUND
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        # It says that the kill could not be confirmed, then the timeout.
        assert err.startswith("sandlot: warning: could not kill ['sh', '-c', "), err
        assert err.endswith("sandlot: error: timed out after 2s; the command was killed\n"), err


@pytest.mark.parametrize("sandbox", ["ssh_user"], indirect=True)
def test_the_first_ctrl_c_ends_the_cli_during_a_partition(
    cli: CLI, sandbox: str, sshd: Sshd
) -> None:
    with sleeper(cli, sandbox) as proc, sshd.partition():
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=BOUND) == 128 + signal.SIGINT
        assert time.monotonic() - started < BOUND
