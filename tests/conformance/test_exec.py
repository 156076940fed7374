"""exec: run to completion (SPEC §1, §2)."""

from __future__ import annotations

import signal

import anyio
import pytest

import sandlot

from ._helpers import requires


async def test_exit_code_and_separate_streams(sb: sandlot.Sandbox) -> None:
    r = await sb.exec("sh", ["-c", "echo out; echo err >&2; exit 3"])
    assert r.exit == sandlot.ExitStatus(code=3)
    assert r.returncode == 3
    assert (r.stdout, r.stderr) == (b"out\n", b"err\n")
    assert not r.timed_out and not r.stdout_truncated and not r.stderr_truncated
    with pytest.raises(sandlot.ProcessFailed, match=r"failed \(exit code 3\); stderr: err") as info:
        r.check()
    assert info.value.result is r


async def test_args_default_to_empty(sb: sandlot.Sandbox) -> None:
    r = await sb.exec("pwd")
    assert r.exit.code == 0 and r.stdout.startswith(b"/")
    assert r.check() is r


async def test_cwd_env_and_input(sb: sandlot.Sandbox, scratch: str) -> None:
    requires(sb, "stdin_eof")
    r = await sb.exec(
        "sh",
        ["-c", 'pwd; printf "%s|" "$SANDLOT_A" "$SANDLOT_B"; cat'],
        cwd=scratch,
        env={"SANDLOT_A": "1 2", "SANDLOT_B": "$HOME 'q' \"d\""},
        input=b"from stdin\x00\xff",
    )
    assert r.stdout == f"{scratch}\n".encode() + b"1 2|$HOME 'q' \"d\"|from stdin\x00\xff"


async def test_env_adds_to_the_inherited_environment(sb: sandlot.Sandbox) -> None:
    r = await sb.exec("sh", ["-c", 'echo "$SANDLOT_X:${PATH:+has-path}"'], env={"SANDLOT_X": "y"})
    assert r.stdout == b"y:has-path\n"


async def test_exec_keeps_the_sandbox_umask(sb: sandlot.Sandbox) -> None:
    # A launcher that makes its private files with umask 077 must not hand that mask on:
    # files the command creates get the sandbox's usual modes, as under spawn.
    with anyio.fail_after(30):
        r = await sb.exec("sh", ["-c", "umask"], check=True)
        async with sb.spawn("sh", ["-c", "umask"]) as proc:
            spawned = await proc.stdout.read_all()
    assert r.stdout == spawned


async def test_no_input_means_eof(sb: sandlot.Sandbox) -> None:
    with anyio.fail_after(30):
        r = await sb.exec("cat")
        empty = await sb.exec("cat", input=b"")
    assert r.exit.code == 0 and r.stdout == b""
    assert empty.exit.code == 0 and empty.stdout == b""


async def test_binary_output_is_byte_exact(sb: sandlot.Sandbox) -> None:
    script = 'i=0; while [ $i -lt 256 ]; do printf "\\\\$(printf %o $i)"; i=$((i+1)); done'
    r = await sb.exec("sh", ["-c", script])
    assert r.stdout == bytes(range(256))


async def test_max_output_bytes_truncates_each_stream(sb: sandlot.Sandbox) -> None:
    r = await sb.exec(
        "sh",
        ["-c", "head -c 300000 /dev/zero; head -c 5 /dev/zero >&2; echo end"],
        max_output_bytes=1000,
    )
    assert r.exit.code == 0
    assert r.stdout == b"\0" * 1000 and r.stdout_truncated
    assert r.stderr == b"\0" * 5 and not r.stderr_truncated


async def test_large_output_arrives_whole(sb: sandlot.Sandbox) -> None:
    r = await sb.exec("head", ["-c", str(8 << 20), "/dev/zero"])
    assert len(r.stdout) == 8 << 20 and r.stdout.count(b"\0") == 8 << 20


async def test_signal_is_reported_as_a_signal(sb: sandlot.Sandbox) -> None:
    r = await sb.exec("sh", ["-c", "echo own >&2; kill -TERM $$; sleep 5"])
    assert r.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
    # Only what the command wrote: no launcher's shell says "Terminated".
    assert r.stderr == b"own\n"
    assert r.returncode == -signal.SIGTERM
    with pytest.raises(sandlot.ProcessFailed, match="killed by SIGTERM"):
        r.check()


async def test_timeout_kills_and_returns_a_result(sb: sandlot.Sandbox) -> None:
    with anyio.fail_after(20):
        r = await sb.exec("sh", ["-c", "echo started; exec sleep 60"], timeout=0.5)
    assert r.timed_out
    assert (r.stdout, r.stderr) == (b"started\n", b"")
    assert r.exit.signal in (signal.SIGTERM, signal.SIGKILL)
    with pytest.raises(sandlot.ProcessFailed, match="timed out"):
        r.check()
    with pytest.raises(sandlot.ProcessFailed):
        await sb.exec("sleep", ["60"], timeout=0.2, check=True)


async def test_timeout_kills_a_process_ignoring_sigterm(sb: sandlot.Sandbox) -> None:
    with anyio.fail_after(20):
        r = await sb.exec(
            "sh", ["-c", "trap '' TERM; echo armed; while :; do sleep 1; done"], timeout=0.5
        )
    assert r.timed_out and (r.stdout, r.stderr) == (b"armed\n", b"")
    assert r.exit.signal == signal.SIGKILL


async def test_timeout_returns_while_a_grandchild_holds_the_pipes(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    # The grandchild leaves the process group, so it is beyond the kill; it keeps stdout
    # open. exec must still return on time (and the test kills the escapee itself).
    pidfile = f"{scratch}/escapee"
    script = f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 60' & sleep 60"
    with anyio.fail_after(20):
        r = await sb.exec("sh", ["-c", script], timeout=1)
    assert r.timed_out
    pid = (await sb.exec("cat", [pidfile], check=True)).stdout.strip().decode()
    await sb.exec("kill", ["-KILL", pid])


async def test_command_not_found(sb: sandlot.Sandbox) -> None:
    with pytest.raises(sandlot.CommandNotFound, match="command not found: 'no-such-cmd-xyz'"):
        await sb.exec("no-such-cmd-xyz", ["a"])


async def test_bad_cwd_names_the_directory(sb: sandlot.Sandbox) -> None:
    with pytest.raises(sandlot.LaunchError, match="/no/such/dir-xyz") as info:
        await sb.exec("pwd", cwd="/no/such/dir-xyz")
    assert not isinstance(info.value, sandlot.CommandNotFound)


async def test_concurrent_execs(sb: sandlot.Sandbox) -> None:
    results: dict[int, bytes] = {}

    async def one(i: int) -> None:
        results[i] = (await sb.exec("sh", ["-c", f"echo {i}"])).stdout

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(one, i)
    assert results == {i: f"{i}\n".encode() for i in range(20)}
