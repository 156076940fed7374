"""A client that dies (SIGKILL: no cleanup runs) leaves nothing running on the SSH host:
each connection's guardian stops the sessions it registered once the connection is gone
(issue 10, item 6). Jobs are not registered: they outlive the client, as they should."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import anyio
import asyncssh
import pytest

import sandlot
from sandlot._backends.ssh import _guardian
from targets import processes
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
        await proc.ready  # from here on, a crash stops it
        print((await proc.stdout.receive()).decode().strip(), flush=True)
        await anyio.sleep_forever()
anyio.run(main, backend=backend)
"""

#: The guardian acts when sshd notices the connection is gone, then gives SIGTERM a
#: second before SIGKILL.
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


# Many processes, so the pool opens a second connection (8 process channels each), and a
# durable job: print the processes' pids, the job's pid, the connection count, then wait.
_MANY = """
import sys, anyio, sandlot, sandlot.ssh
url, key, known, backend, root = sys.argv[1:]
async def main():
    opts = sandlot.ssh.SSHOptions(known_hosts=known, client_keys=[key], agent=False, config=[])
    async with sandlot.open_sandbox(url, ssh=opts) as sb:
        job = sandlot.Jobs(sb, root=root)
        await job.start("sh", ["-c", f"echo $$ > {root}/pid; exec sleep 300"])
        procs = []
        async def one():
            procs.append(await sb.spawn("sh", ["-c", "echo $$; exec sleep 300"]))
        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(one)
        pids = []
        for p in procs:
            await p.ready  # from here on, a crash stops it
            pids.append((await p.stdout.receive()).decode().strip())
        wait = f"while [ ! -s {root}/pid ]; do sleep 0.01; done; cat {root}/pid"
        r = await sb.exec("sh", ["-c", wait])
        pids.append(r.stdout.decode().strip())
        pids.append(str(len(sb._transport._pool.conns)))
        print(" ".join(pids), flush=True)
        await anyio.sleep_forever()
anyio.run(main, backend=backend)
"""


def _guardians(sshd: Sshd) -> set[int]:
    """The guardian loops running under this sshd's connections."""
    parents = set(sshd.connection_pids())
    return {
        pid
        for pid, p in processes().items()
        if p.ppid in parents and b"while IFS= read -r l" in p.cmdline and _alive(pid)
    }


def _wait_gone(pids: set[int] | list[int], what: str) -> None:
    deadline = time.monotonic() + GONE_WITHIN
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling a condition: nothing notifies us of another's exit
    assert not [p for p in pids if _alive(p)], what


async def _remove_jobs(sshd: Sshd, root: str) -> None:
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        jobs = sandlot.Jobs(sb, root=root)
        with anyio.fail_after(30):
            for info in await jobs.list():
                await jobs.remove(info.handle, force=True)
            await sb.exec("rm", ["-rf", root])


async def _job_root(sshd: Sshd) -> str:
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        return (await sb.exec("mktemp", ["-d"], check=True)).stdout.decode().strip()


def test_a_crash_stops_every_process_on_every_connection_but_not_jobs(
    sshd: Sshd, anyio_backend: str
) -> None:
    root = anyio.run(_job_root, sshd)
    args = [sshd.url(TEST_USER), sshd.client_key, sshd.known_hosts, anyio_backend, root]
    cmd = [sys.executable, "-c", _MANY, *args]
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, env=os.environ) as client:
            try:
                assert client.stdout is not None
                line = client.stdout.readline()  # bounded by pytest-timeout
                *numbers, conns = line.split() or [b"0"]  # the pids, then the connection count
                assert int(conns) == 2, f"the client failed or used one connection: {line!r}"
                *remote, job = map(int, numbers)
                assert len(remote) == 12 and all(map(_alive, [*remote, job]))
                guardians = _guardians(sshd)
                assert len(guardians) == 2
                client.send_signal(signal.SIGKILL)
                client.wait(timeout=10)
                _wait_gone(remote, "a remote process outlived its crashed client")
                _wait_gone(guardians, "a guardian outlived its connection")
                assert _alive(job), "the crash stopped a durable job"
            finally:
                if client.poll() is None:
                    client.kill()
    finally:
        anyio.run(_remove_jobs, sshd, root)


async def test_a_normal_close_stops_no_job(sshd: Sshd) -> None:
    """Closing the Sandbox stops a process left open (as a crash would) but no job."""
    root = await _job_root(sshd)
    try:
        async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
            job = sandlot.Jobs(sb, root=root)
            await job.start("sh", ["-c", f"echo $$ > {root}/pid; exec sleep 300"])
            proc = await sb.spawn("sh", ["-c", "echo $$; exec sleep 300"])
            await proc.ready
            left_open = int(await proc.stdout.receive())
            wait = f"while [ ! -s {root}/pid ]; do sleep 0.01; done; cat {root}/pid"
            job_pid = int((await sb.exec("sh", ["-c", wait])).stdout)
            guardians = _guardians(sshd)
            assert len(guardians) == 1
        _wait_gone([left_open], "a process left open outlived its closed Sandbox")
        _wait_gone(guardians, "the guardian outlived its closed connection")
        assert _alive(job_pid), "closing the Sandbox stopped a durable job"
    finally:
        await _remove_jobs(sshd, root)


async def test_the_guardian_forgets_ended_processes(sshd: Sshd) -> None:
    """Ended processes are unregistered (the set does not grow), running ones (a pty
    too) stay registered."""
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        conns = sb._transport._pool.conns  # type: ignore[attr-defined]
        proc = await sb.spawn("sh", ["-c", "echo $$; exec sleep 300"])
        pid = int(await proc.stdout.receive())
        for _ in range(200):
            await sb.exec("true", check=True)
        with anyio.fail_after(10):
            # Channel closures arrive just after exec returns: poll the condition.
            while [c.guardian.registered for c in conns] != [{pid}]:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        assert len(_guardians(sshd)) == 1
        assert _alive(pid) and proc.returncode is None, "the guardian stopped a live process"
        term = await sb.pty("sleep", ["300"])  # a pty is registered too
        await term.ready
        assert len(conns[0].guardian.registered) == 2 and pid in conns[0].guardian.registered
        await term.aclose()
        await proc.aclose()
        with anyio.fail_after(10):
            while conns[0].guardian.registered:  # noqa: ASYNC110
                await anyio.sleep(0.01)


async def test_processes_run_when_the_guardian_is_refused(
    sshd: Sshd, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    create_session = asyncssh.SSHClientConnection.create_session

    async def refuse_guardian(self: Any, factory: Any, command: Any = (), **kw: Any) -> Any:
        if command == _guardian.SCRIPT:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "no")
        return await create_session(self, factory, command, **kw)

    monkeypatch.setattr(asyncssh.SSHClientConnection, "create_session", refuse_guardian)
    caplog.set_level("DEBUG", logger="sandlot.ssh")
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        r = await sb.exec("echo", ["hi"])
        assert (r.stdout, r.exit.code) == (b"hi\n", 0)
        with anyio.fail_after(10):
            while not any("no guardian channel" in rec.message for rec in caplog.records):  # noqa: ASYNC110
                await anyio.sleep(0.05)  # the refused open is retried in the background
        r = await sb.exec("echo", ["still"])
        assert (r.stdout, r.exit.code) == (b"still\n", 0)
        assert _guardians(sshd) == set()
