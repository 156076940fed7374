"""A client that dies (SIGKILL: no cleanup runs) leaves nothing running on the SSH host:
the launcher's watcher stops the session once the connection is gone (issue 10, item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import anyio
import pytest

import sandlot
from targets.ssh import TEST_USER, Sshd

# What the doomed client runs: spawn a silent long-running process (no pty, nothing
# written: neither SIGHUP nor SIGPIPE would ever reach it), report its pid, then wait.
_CLIENT = """
import sys, anyio, sandlot, sandlot.ssh
url, key, known, backend = sys.argv[1:]
async def main():
    opts = sandlot.ssh.SSHOptions(known_hosts=known, client_keys=[key], agent=False, config=[])
    async with sandlot.open_sandbox(url, ssh=opts) as sb:
        proc = await sb.spawn("sh", ["-c", "echo $$; exec sleep 300"])
        print((await proc.stdout.receive()).decode().strip(), flush=True)
        await anyio.sleep_forever()
anyio.run(main, backend=backend)
"""

#: The watcher polls every second, then gives SIGTERM a second before SIGKILL.
GONE_WITHIN = 5.0


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped (the host is this machine)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.parametrize("user", ["root", TEST_USER])
def test_a_crashed_client_leaves_no_remote_process(
    sshd: Sshd, user: str, anyio_backend: str
) -> None:
    args = [sshd.url(user), sshd.client_key, sshd.known_hosts, anyio_backend]
    cmd = [sys.executable, "-c", _CLIENT, *args]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, env=os.environ) as client:
        try:
            assert client.stdout is not None
            line = client.stdout.readline()  # bounded by pytest-timeout; reported at once
            assert line.strip().isdigit(), f"the client failed: {line!r}"
            remote = int(line)
            assert _alive(remote)
            client.send_signal(signal.SIGKILL)
            client.wait(timeout=10)
            deadline = time.monotonic() + GONE_WITHIN
            while _alive(remote) and time.monotonic() < deadline:
                time.sleep(0.05)  # polling a condition: nothing notifies us of another's exit
            assert not _alive(remote), "the remote process outlived its crashed client"
        finally:
            if client.poll() is None:
                client.kill()


async def test_the_watcher_ends_with_its_command(sshd: Sshd) -> None:
    """No watcher lingers on a pooled connection once its command has exited."""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        r = await sb.exec("sh", ["-c", "sleep 1.2; echo $$"])
        assert r.exit.code == 0 and r.stderr == b""
        pid = r.stdout.strip().decode()
        # The watcher is in the command's session; only it could still be running (a
        # zombie waits for init, which reaps at its own pace here).
        leftover = f"while ps -o stat= -s {pid} | grep -qv Z; do sleep 0.05; done"
        with anyio.fail_after(10):
            left = await sb.exec("sh", ["-c", leftover], timeout=2.5)
        assert not left.timed_out, "the watcher outlived its command"


async def test_the_watcher_is_not_a_child_of_the_command(sshd: Sshd) -> None:
    """A command that waits for all its children must not wait for the watcher."""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        r = await sb.exec("sh", ["-c", "sleep 0.3 & ps -o comm= --ppid $$; wait"], timeout=10)
        assert sorted(r.stdout.split()) == [b"ps", b"sleep"], r
