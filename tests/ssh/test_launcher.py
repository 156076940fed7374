"""The sh launcher: the same launch errors as the local backend, the real exit record,
and its report line never reaches the user."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import anyio
import pytest

import sandlot
from targets.ssh import TEST_USER, Sshd


@pytest.fixture(params=["root", TEST_USER])
async def remote(request: pytest.FixtureRequest, sshd: Sshd) -> AsyncIterator[sandlot.Sandbox]:
    async with sandlot.open_sandbox(
        sshd.url(request.param), ssh=sshd.options(), kill_grace=0.2
    ) as sb:
        yield sb


@pytest.fixture
async def files(remote: sandlot.Sandbox) -> AsyncIterator[str]:
    """A directory with a plain file and a non-executable script in it (same paths seen
    locally and remotely: the SSH host is this machine)."""
    d = (await remote.exec("mktemp", ["-d"], check=True)).stdout.decode().strip()
    await remote.write_file(f"{d}/plain", b"#!/bin/sh\necho hi\n", mode=0o644)
    yield d
    await remote.exec("rm", ["-rf", d])


async def launch_failure(sb: sandlot.Sandbox, cmd: str, cwd: str | None) -> tuple[str, str, int]:
    with pytest.raises(sandlot.LaunchError) as info:
        await sb.exec(cmd, cwd=cwd)
    async with sb.spawn(cmd, cwd=cwd) as proc:
        with pytest.raises(type(info.value)):
            await proc.ready
        status = await proc.exit
    assert status.code is not None
    return type(info.value).__name__, str(info.value), status.code


@pytest.mark.parametrize(
    ("cmd", "cwd", "code"),
    [
        ("sandlot-no-such-command", None, 127),
        ("./sandlot-no-such-command", None, 127),
        ("{d}/plain", None, 126),  # not executable
        ("{d}", None, 126),  # a directory
        ("true", "{d}/missing", 126),
        ("true", "{d}/plain", 126),  # not a directory
    ],
)
async def test_launch_errors_match_the_local_backend(
    remote: sandlot.Sandbox, files: str, cmd: str, cwd: str | None, code: int
) -> None:
    cmd = cmd.format(d=files)
    cwd = cwd.format(d=files) if cwd else None
    got = await launch_failure(remote, cmd, cwd)
    async with sandlot.open_sandbox("local") as local:
        expected = await launch_failure(local, cmd, cwd)
    assert got == expected
    assert got[2] == code


async def test_exit_signal_comes_from_the_server_not_128_plus_n(remote: sandlot.Sandbox) -> None:
    r = await remote.exec("sh", ["-c", "kill -USR1 $$"])
    assert r.exit == sandlot.ExitStatus(signal=signal.SIGUSR1)
    r = await remote.exec("sh", ["-c", "exit 138"])  # 128 + SIGUSR1, but a plain code
    assert r.exit == sandlot.ExitStatus(code=138)


async def test_report_line_never_reaches_the_user(remote: sandlot.Sandbox) -> None:
    r = await remote.exec("sh", ["-c", "printf out; printf err >&2"])
    assert (r.stdout, r.stderr) == (b"out", b"err")
    r = await remote.exec("true")
    assert (r.stdout, r.stderr) == (b"", b"")
    async with remote.pty("printf", ["%s", "first"]) as term:
        assert await term.output.read_all() == b"first"
        assert await term.exit == sandlot.ExitStatus(code=0)


async def test_signals_reach_the_group_where_sshd_refuses_signal_requests(
    remote: sandlot.Sandbox,
) -> None:
    # As root, OpenSSH < 9.8 ignores "signal" channel requests: the launcher's pgid and a
    # kill on another channel make it work anyway.
    script = 'trap "echo got-usr2; exit 7" USR2; echo ready; while :; do sleep 0.05; done'
    async with remote.spawn("sh", ["-c", script]) as proc:
        assert await proc.stdout.receive() == b"ready\n"
        await proc.kill(signal.SIGUSR2)
        assert await proc.stdout.read_all() == b"got-usr2\n"
        assert await proc.exit == sandlot.ExitStatus(code=7)


async def test_a_slow_reader_slows_the_remote_producer(remote: sandlot.Sandbox) -> None:
    # The producer counts the MiB it managed to write (atomically, with mv); unread, the
    # SSH window closes.
    d = (await remote.exec("mktemp", ["-d"], check=True)).stdout.decode().strip()
    script = (
        f"i=0; while :; do head -c 1048576 /dev/zero; i=$((i+1)); "
        f"echo $i > {d}/t; mv {d}/t {d}/n; done"
    )
    async with remote.spawn("sh", ["-c", script]) as proc:
        await proc.ready

        async def written() -> int:
            r = await remote.exec("cat", [f"{d}/n"])
            return int(r.stdout or b"0")

        # Poll until the producer is stuck (no event exists for "blocked on a full pipe").
        last, stable = -1, 0
        with anyio.fail_after(20):
            while stable < 5:
                now = await written()
                stable = stable + 1 if now == last else 0
                last = now
                await anyio.sleep(0.1)
        # Bounded: our 2 MiB buffer per stream + the 2 MiB SSH window + pipes.
        assert 1 <= last <= 8, f"the producer wrote {last} MiB with nobody reading"
        got = 0
        with anyio.fail_after(20):
            while got < 32 << 20:
                got += len(await proc.stdout.receive(1 << 20))
        assert await written() > last
    await remote.exec("rm", ["-rf", d])


async def test_leaving_a_pty_block_ends_jobs_in_other_process_groups(
    remote: sandlot.Sandbox,
) -> None:
    # With job control (set -m) the background job gets a process group of its own: the
    # whole terminal session must still go (the leak check fails the test otherwise).
    async with remote.pty("sh", ["-c", "set -m; sleep 60 & echo job=$!; wait"]) as term:
        seen = b""
        with anyio.fail_after(10):
            while b"\n" not in seen.partition(b"job=")[2]:
                seen += await term.output.receive()
        job = seen.partition(b"job=")[2].split()[0].decode()
    assert term.returncode is not None
    r = await remote.exec(
        "sh", ["-c", f"while kill -0 {job} 2>/dev/null; do sleep 0.05; done"], timeout=5
    )
    assert not r.timed_out, f"job {job} survived"
