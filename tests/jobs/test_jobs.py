"""Durable jobs (SPEC §4), on every target x {asyncio, trio}."""

from __future__ import annotations

import json
import re
import signal

import anyio
import pytest

import sandlot
import sandlot.daytona
import sandlot.ssh
from sandlot import JobHandle, Jobs, JobState, JobStatus
from targets import Target

from . import (
    DEADLINE,
    check_int_or_quit_ends_a_job,
    drain,
    processes_mentioning,
    wait_for_output,
)


async def test_exit_code_of_a_compound_command(jobs: Jobs) -> None:
    handle = await jobs.start("sh", ["-c", "echo one; false; exit 3"])
    data, status = await drain(jobs, handle)
    assert data == b"one\n"
    assert status == JobStatus(JobState.EXITED, sandlot.ExitStatus(code=3), reaper=status.reaper)
    assert status.reaper in ("cgroup", "pgroup")
    assert str(status) == "exited (exit code 3)"


async def test_handle_json_round_trip_and_attach(jobs: Jobs, sb: sandlot.Sandbox) -> None:
    secret = "hunter2-do-not-store"
    handle = await jobs.start(
        "sh",
        ["-c", 'printf "%s" "$SANDLOT_SECRET"', "arg with 'quotes' $HOME\nnewline é"],
        env={"SANDLOT_SECRET": secret},
        separate_streams=True,
    )
    text = handle.to_json()
    assert JobHandle.from_json(text) == handle
    assert JobHandle.from_json(text.encode()) == handle
    assert await jobs.attach(handle.id) == handle
    assert handle.env_names == ("SANDLOT_SECRET",)
    # The value reaches the process but is stored nowhere and shown nowhere.
    data, status = await drain(jobs, handle)
    assert data == secret.encode() and status.exit == sandlot.ExitStatus(code=0)
    assert secret not in text and secret not in repr(handle)
    meta = await sb.read_file(f"{jobs.root}/{handle.id}/meta.json")
    assert b"SANDLOT_SECRET" in meta and secret.encode() not in meta
    with pytest.raises(sandlot.InvalidArgument, match="malformed job handle JSON"):
        JobHandle.from_json("{not json")
    with pytest.raises(sandlot.InvalidArgument, match=r"invalid job id '\.\./x'"):
        JobHandle.from_json('{"id": "../x", "root": null, "argv": ["true"]}')


@pytest.mark.parametrize("bad", ["../etc", "..", "a/b", "/abs", "", ".hidden", "a\x00b", "x" * 200])
async def test_ids_that_could_escape_the_root_are_rejected(jobs: Jobs, bad: str) -> None:
    with pytest.raises(sandlot.InvalidArgument, match="job id"):
        await jobs.attach(bad)
    with pytest.raises(sandlot.InvalidArgument, match="job id"):
        await jobs.start("true", job_id=bad)
    assert await jobs.list() == []


async def test_unknown_job(jobs: Jobs) -> None:
    with pytest.raises(sandlot.UnknownJob, match="no job 'no-such-job' under"):
        await jobs.attach("no-such-job")
    ghost = JobHandle(id="no-such-job", root=jobs.root, argv=("true",))
    with pytest.raises(sandlot.UnknownJob):
        await jobs.read(ghost)
    with pytest.raises(sandlot.UnknownJob):
        await jobs.stop(ghost)


async def test_bad_input_launches_nothing(jobs: Jobs, scratch: str) -> None:
    with pytest.raises(sandlot.CommandNotFound, match="no-such-command-xyz"):
        await jobs.start("no-such-command-xyz")
    with pytest.raises(sandlot.LaunchError, match=f"{scratch}/missing"):
        await jobs.start("true", cwd=f"{scratch}/missing")
    with pytest.raises(sandlot.InvalidArgument, match="invalid environment variable name"):
        await jobs.start("true", env={"A-B": "1"})
    with pytest.raises(sandlot.InvalidArgument, match="timeout must be positive"):
        await jobs.start("true", timeout=0)
    with pytest.raises(sandlot.InvalidArgument, match="command must not be empty"):
        await jobs.start("")
    assert await jobs.list() == []


async def test_cold_reread_from_a_new_sandbox_has_no_gaps_or_duplicates(
    jobs: Jobs, target: Target
) -> None:
    # 400 lines with a two-byte character each, written in bursts, then a last line
    # without a newline. Read the first part here in small pieces, the rest from a new
    # Sandbox (a new connection) that only knows the id and the cursor.
    script = (
        "i=0; while [ $i -lt 400 ]; do printf 'line %d \\303\\251\\n' $i; "
        "[ $((i % 100)) = 0 ] && sleep 0.1; i=$((i+1)); done; printf 'last'"
    )
    expected = b"".join(f"line {i} é\n".encode() for i in range(400)) + b"last"
    handle = await jobs.start("sh", ["-c", script])
    first = bytearray()
    cursor = 0
    with anyio.fail_after(DEADLINE):
        while cursor < 2000:
            chunk = await jobs.read(handle, cursor, max_bytes=333, wait=0.2)
            chunk.data.decode("utf-8")  # never a split character
            assert chunk.cursor == cursor + len(chunk.data)
            first += chunk.data
            cursor = chunk.cursor
    async with target.open() as other:
        again = Jobs(other, root=jobs.root)
        rest, status = await drain(again, await again.attach(handle.id), cursor)
    assert bytes(first) + rest == expected
    assert status.exit == sandlot.ExitStatus(code=0)
    # Reading again from 0 gives the same bytes: the log is append-only and byte-exact.
    whole = await jobs.read(handle, 0)
    assert whole.data == expected and whole.eof and whole.cursor == len(expected)


async def test_binary_output_is_byte_exact(jobs: Jobs) -> None:
    script = 'i=0; while [ $i -lt 256 ]; do printf "\\\\$(printf %o $i)"; i=$((i+1)); done'
    handle = await jobs.start("sh", ["-c", script + "; " + script])
    data, status = await drain(jobs, handle)
    assert data == bytes(range(256)) * 2 and status.exit == sandlot.ExitStatus(code=0)


async def test_separate_streams_and_tail(jobs: Jobs) -> None:
    handle = await jobs.start(
        "sh", ["-c", "echo out1; echo err1 >&2; echo out2; printf err2 >&2"], separate_streams=True
    )
    out, _ = await drain(jobs, handle, stream="stdout")
    err, _ = await drain(jobs, handle, stream="stderr")
    assert (out, err) == (b"out1\nout2\n", b"err1\nerr2")
    assert await jobs.tail(handle, 1, stream="stderr") == b"err2"
    assert await jobs.tail(handle, 1) == b"out2\n"
    assert await jobs.tail(handle, 5) == b"out1\nout2\n"
    with pytest.raises(sandlot.InvalidArgument, match="has streams stdout, stderr, not 'output'"):
        await jobs.read(handle, stream="output")


async def test_sigkill_is_reported_as_a_signal(jobs: Jobs) -> None:
    handle = await jobs.start("sh", ["-c", "echo up; exec sleep 60"])
    await wait_for_output(jobs, handle, b"up\n")
    assert (await jobs.status(handle)).state is JobState.RUNNING
    await jobs.kill(handle, signal.SIGKILL)
    _, status = await drain(jobs, handle)
    assert status.exit == sandlot.ExitStatus(signal=signal.SIGKILL)
    assert str(status) == "exited (killed by SIGKILL)"
    # A process that kills itself is reported the same way.
    handle = await jobs.start("sh", ["-c", "kill -TERM $$"])
    _, status = await drain(jobs, handle)
    assert status.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
    with pytest.raises(sandlot.InvalidArgument, match="unknown signal"):
        await jobs.kill(handle, "SIGNOPE")


async def test_exit_128_plus_n_is_a_code_not_a_signal(jobs: Jobs) -> None:
    # Every target here is Linux: the raw wait status is read from /proc, so the
    # shell's ambiguity (killed by SIGINT vs `exit 130`) does not apply.
    handle = await jobs.start("sh", ["-c", "exit 130"])
    _, status = await drain(jobs, handle)
    assert status.exit == sandlot.ExitStatus(code=130)


async def test_stop_ends_the_job_and_no_output_follows(jobs: Jobs) -> None:
    handle = await jobs.start(
        "sh", ["-c", "trap 'echo term' TERM; while :; do echo x; sleep 0.01; done"]
    )
    await wait_for_output(jobs, handle, b"x\nx\n")
    status = await jobs.stop(handle)
    assert status.state is JobState.EXITED and status.exit is not None
    data, _ = await drain(jobs, handle)
    end = len(data)
    assert data.endswith(b"x\n") or data.endswith(b"term\n")
    await anyio.sleep(0.3)  # give a survivor time to write: there must be none
    later = await jobs.read(handle, end)
    assert (later.data, later.cursor, later.eof) == (b"", end, True)
    assert await jobs.stop(handle) == status  # stopping an ended job changes nothing


async def test_stop_escalates_to_sigkill(jobs: Jobs) -> None:
    handle = await jobs.start(
        "sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"]
    )
    await wait_for_output(jobs, handle, b"ready\n")
    with anyio.fail_after(DEADLINE):
        status = await jobs.stop(handle, grace=0.3)
    assert status.exit == sandlot.ExitStatus(signal=signal.SIGKILL)


async def test_timeout_stops_the_job(jobs: Jobs) -> None:
    handle = await jobs.start("sleep", ["60"], timeout=0.3)
    assert handle.timeout == 0.3
    _, status = await drain(jobs, handle)
    assert status.timed_out
    assert status.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
    assert str(status) == "exited (killed by SIGTERM, timed out)"


async def test_stdin_write_and_eof(jobs: Jobs) -> None:
    handle = await jobs.start("sh", ["-c", "cat; echo eof-seen"])
    await jobs.write(handle, b"hello \x00\xff\n")
    await jobs.write(handle, b"again\n")
    await wait_for_output(jobs, handle, b"again\n")
    assert (await jobs.status(handle)).running  # still waiting for more input
    await jobs.close_stdin(handle)
    data, status = await drain(jobs, handle)
    assert data == b"hello \x00\xff\nagain\neof-seen\n"
    assert status.exit == sandlot.ExitStatus(code=0)
    with pytest.raises(sandlot.StreamClosed, match=r"stdin of job .* was closed"):
        await jobs.write(handle, b"late")


async def test_write_to_a_job_that_does_not_read(jobs: Jobs) -> None:
    handle = await jobs.start("sleep", ["60"])
    with pytest.raises(sandlot.StreamBroken, match="did not read its stdin in time"):
        await jobs.write(handle, b"x" * (1 << 20), timeout=0.5)
    assert (await jobs.status(handle)).running
    await jobs.stop(handle, grace=0.3)


async def test_write_after_the_job_ended(jobs: Jobs) -> None:
    handle = await jobs.start("true")
    await drain(jobs, handle)
    with pytest.raises(sandlot.ProcessExited, match="has ended"):
        await jobs.write(handle, b"x")


async def test_crash_is_detected_and_the_orphan_can_be_reaped(
    jobs: Jobs, sb: sandlot.Sandbox
) -> None:
    handle = await jobs.start("sh", ["-c", "echo up; exec sleep 60"])
    await wait_for_output(jobs, handle, b"up\n")
    wrapper = (await sb.read_file(f"{jobs.root}/{handle.id}/wrapper")).split()[0].decode()
    command = (await sb.read_file(f"{jobs.root}/{handle.id}/pid")).split()[0].decode()
    (await sb.exec("kill", ["-KILL", wrapper])).check()
    with anyio.fail_after(DEADLINE):
        # The wrapper's death is only visible by polling the job's state.
        while (status := await jobs.status(handle)).running:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    assert status.state is JobState.CRASHED and status.exit is None
    assert str(status) == "crashed"
    # The command outlived its supervisor; stop still finds and reaps it.
    assert (await sb.exec("kill", ["-0", command])).exit.code == 0
    with pytest.raises(sandlot.JobStillRunning, match="force=True"):
        await jobs.remove(handle)
    status = await jobs.stop(handle, grace=0.3)
    assert status.state is JobState.CRASHED
    with anyio.fail_after(DEADLINE):
        # Reaped by init once killed: only polling sees a process in another session go.
        while (await sb.exec("kill", ["-0", command])).exit.code == 0:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    await jobs.remove(handle)
    with pytest.raises(sandlot.UnknownJob):
        await jobs.attach(handle.id)


async def test_setsid_escapee(jobs: Jobs, sb: sandlot.Sandbox, scratch: str) -> None:
    """With a writable cgroup v2 the escapee is reaped; without one (a non-root SSH login)
    the status says the process group was used, and a child that left it survives."""
    probe = await jobs.start("true")
    _, probe_status = await drain(jobs, probe)
    reaper = probe_status.reaper
    assert reaper in ("cgroup", "pgroup")
    pidfile = f"{scratch}/escapee.pid"
    handle = await jobs.start(
        "sh", ["-c", f'setsid sleep 300 & echo $! > "{pidfile}"; echo up; wait']
    )
    await wait_for_output(jobs, handle, b"up\n")
    escapee = (await sb.read_file(pidfile)).decode().strip()
    assert (await sb.exec("kill", ["-0", escapee])).exit.code == 0
    status = await jobs.stop(handle)
    assert status.ended and status.reaper == reaper
    if reaper == "pgroup":
        # Beyond a process group by design: it must still be there, and we reap it.
        assert (await sb.exec("kill", ["-0", escapee])).exit.code == 0
        await sb.exec("kill", ["-KILL", escapee])
    with anyio.fail_after(DEADLINE):
        while (await sb.exec("kill", ["-0", escapee])).exit.code == 0:  # noqa: ASYNC110
            await anyio.sleep(0.05)  # a process in another session: only polling sees it


async def test_remove_is_refused_while_running(jobs: Jobs) -> None:
    handle = await jobs.start("sleep", ["60"])
    with pytest.raises(sandlot.JobStillRunning, match=f"job '{handle.id}' is still running"):
        await jobs.remove(handle)
    assert [info.handle for info in await jobs.list()] == [handle]
    await jobs.remove(handle, force=True)
    assert await jobs.list() == []
    with pytest.raises(sandlot.UnknownJob):
        await jobs.attach(handle.id)


async def test_list_shows_every_job_with_its_status(jobs: Jobs) -> None:
    done = await jobs.start("sh", ["-c", "exit 4"], job_id="done-job")
    await drain(jobs, done)
    running = await jobs.start("sleep", ["60"], job_id="running-job")
    infos = {info.handle.id: info for info in await jobs.list()}
    assert set(infos) == {"done-job", "running-job"}
    assert infos["done-job"].status.exit == sandlot.ExitStatus(code=4)
    assert infos["running-job"].status.running
    assert infos["running-job"].handle == running
    with pytest.raises(sandlot.InvalidArgument, match="already exists"):
        await jobs.start("true", job_id="done-job")
    await jobs.stop(running)


async def test_start_with_exist_ok_starts_an_id_at_most_once(
    jobs: Jobs, sb: sandlot.Sandbox, scratch: str
) -> None:
    """``exist_ok=True``: a start whose id is taken by the same command returns that job's
    handle and starts nothing, even when several such starts race (the losers wait for the
    winner's launch, never see a half-made job), and even when the job fills the limit of
    running jobs; another command under the id, or the tombstone of a cancelled start,
    is still refused."""
    args = ["-c", 'echo ran >> "$0/counter"; echo started; exec sleep 60', scratch]
    handles: list[JobHandle] = []

    async def start() -> None:
        handles.append(await jobs.start("sh", args, job_id="once", exist_ok=True))

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(start)
    first = handles[0]
    assert handles == [first] * 3
    full = Jobs(sb, root=jobs.root, limits=sandlot.JobLimits(max_concurrent=1))
    assert await full.start("sh", args, job_id="once", exist_ok=True) == first
    await wait_for_output(jobs, first, b"started\n")
    assert (await sb.exec("cat", [f"{scratch}/counter"])).stdout == b"ran\n"
    with pytest.raises(sandlot.InvalidArgument, match="a job with id 'once' already exists"):
        await jobs.start("sh", args, job_id="once")
    with pytest.raises(
        sandlot.InvalidArgument, match="job 'once' already exists with another command"
    ):
        await jobs.start("sh", [*args, "x"], job_id="once", exist_ok=True)
    await jobs.stop(first)
    # Once ended, it is still the job of that id: its status, not a new run.
    assert await jobs.start("sh", args, job_id="once", exist_ok=True) == first
    # The tombstone of a cancelled start (see claim.sh): no job, and the id stays taken.
    tomb = 'mkdir "$0/tomb" && date +%s > "$0/tomb/cancelled"'
    (await sb.exec("sh", ["-c", tomb, jobs.root or ""])).check()
    with pytest.raises(sandlot.InvalidArgument, match="a job with id 'tomb' already exists"):
        await jobs.start("true", job_id="tomb", exist_ok=True)


async def test_concurrency_limit(sb: sandlot.Sandbox, scratch: str) -> None:
    jobs = Jobs(sb, root=f"{scratch}/limited", limits=sandlot.JobLimits(max_concurrent=1))
    first = await jobs.start("sleep", ["60"])
    try:
        with pytest.raises(sandlot.JobLimitReached, match=r"1 jobs already run .*max_concurrent=1"):
            await jobs.start("true")
    finally:
        await jobs.stop(first, grace=0.3)
    second = await jobs.start("true")
    await drain(jobs, second)
    assert len(await jobs.list()) == 2


async def test_log_cap_is_enforced_and_flagged(sb: sandlot.Sandbox, scratch: str) -> None:
    jobs = Jobs(sb, root=f"{scratch}/capped", limits=sandlot.JobLimits(max_log_bytes=100))
    handle = await jobs.start(
        "sh", ["-c", "i=0; while [ $i -lt 100 ]; do echo 123456789; i=$((i+1)); done; exit 5"]
    )
    data, status = await drain(jobs, handle)
    assert data == b"123456789\n" * 10
    assert status.log_truncated and status.exit == sandlot.ExitStatus(code=5)
    small = await jobs.start("echo", ["fits"])
    data, status = await drain(jobs, small)
    assert data == b"fits\n" and not status.log_truncated


def test_limits_are_validated() -> None:
    with pytest.raises(sandlot.InvalidArgument, match="max_concurrent must be a positive int"):
        sandlot.JobLimits(max_concurrent=0)
    with pytest.raises(sandlot.InvalidArgument, match="default_timeout must be positive"):
        sandlot.JobLimits(default_timeout=-1)


def test_utf8_hold_back() -> None:
    from sandlot._jobs._utf8 import incomplete_tail

    e_acute = "é".encode()
    euro = "€".encode()
    emoji = "😀".encode()
    assert incomplete_tail(b"abc") == 0
    assert incomplete_tail(b"a" + e_acute) == 0
    assert incomplete_tail(b"a" + e_acute[:1]) == 1
    assert incomplete_tail(euro[:2]) == 2
    assert incomplete_tail(emoji[:3]) == 3
    assert incomplete_tail(emoji) == 0
    assert incomplete_tail(b"\xff\xfe") == 0  # binary is never held back
    assert incomplete_tail(b"\x80\x80\x80") == 0


CLIENT = """
import sys, anyio, sandlot, sandlot.daytona, sandlot.docker, sandlot.ssh

async def main():
    url, root, script, *keys = sys.argv[1:]
    options = {}
    if url.startswith("ssh:"):
        options["ssh"] = sandlot.ssh.SSHOptions(
            known_hosts=keys[0], client_keys=[keys[1]], agent=False, config=[]
        )
    elif url.startswith("daytona:"):
        options["daytona"] = sandlot.daytona.DaytonaOptions(
            api_key=keys[0], api_url=keys[1], target="local"
        )
    elif url.startswith("docker:"):
        options["docker"] = sandlot.docker.DockerOptions(host=keys[0])
    async with sandlot.open_sandbox(url, **options) as sb:
        handle = await sandlot.Jobs(sb, root=root).start("sh", ["-c", script])
        sys.stdout.write(handle.to_json() + "\\n")
        sys.stdout.flush()
        await anyio.sleep(3600)

anyio.run(main)
"""


def client_args(target: Target, request: pytest.FixtureRequest) -> list[str]:
    """How a separate Python process opens the same target."""
    if target.name == "local":
        return ["local"]
    if target.name in ("ssh_root", "ssh_user"):
        from targets.ssh import TEST_USER

        sshd = request.getfixturevalue("sshd")
        user = "root" if target.name == "ssh_root" else TEST_USER
        return [sshd.url(user), sshd.known_hosts, sshd.client_key]
    if target.name == "daytona":
        import daytona_server

        server = request.getfixturevalue("daytona_local")
        return [f"daytona://{daytona_server.SANDBOX_ID}", server.api_key, server.api_url]
    if target.name == "docker":
        dockerd = request.getfixturevalue("dockerd")
        return [f"docker://{dockerd.container}", dockerd.host]
    pytest.skip(f"the test does not know how to open {target.name} from another process")


async def test_job_outlives_a_killed_client(
    jobs: Jobs, sb: sandlot.Sandbox, scratch: str, target: Target, request: pytest.FixtureRequest
) -> None:
    url, *keys = client_args(target, request)
    go = f"{scratch}/go"
    script = (
        f"printf 'a\\000b\\377\\303\\251'; while [ ! -e '{go}' ]; do sleep 0.05; done; "
        "printf 'end-no-newline'; exit 7"
    )
    assert jobs.root is not None
    import sys

    async with await anyio.open_process(
        [sys.executable, "-c", CLIENT, url, jobs.root, script, *keys]
    ) as client:
        assert client.stdout is not None
        line = b""
        with anyio.fail_after(DEADLINE):
            while not line.endswith(b"\n"):
                line += await client.stdout.receive()
        client.kill()  # SIGKILL: the client gets no chance to clean up
        assert await client.wait() == -signal.SIGKILL
    job_id = JobHandle.from_json(line).id
    # A fresh attach by id, from another process, while the job still runs.
    handle = await jobs.attach(job_id)
    assert handle.argv == ("sh", "-c", script)
    assert (await jobs.status(handle)).running
    (await sb.exec("touch", [go])).check()
    data, status = await drain(jobs, handle)
    assert data == b"a\x00b\xff\xc3\xa9end-no-newline"
    assert status.exit == sandlot.ExitStatus(code=7)


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.08])
async def test_cancelled_start_leaves_nothing_running(
    jobs: Jobs, sb: sandlot.Sandbox, delay: float
) -> None:
    # Whatever phase the launch is in when cancelled, no job is left behind.
    with anyio.CancelScope() as scope:
        if delay:
            scope.deadline = anyio.current_time() + delay
        else:
            scope.cancel()
        await jobs.start("sleep", ["60"])
    if scope.cancelled_caught:
        assert await jobs.list() == []
        # No supervisor runs either (its command line names ROOT/ID/wrapper.sh).
        assert await processes_mentioning(sb, f"{jobs.root}/") == b""
    else:  # it finished in time: nothing to clean up but the job itself
        [info] = await jobs.list()
        await jobs.stop(info.handle, grace=0.3)


async def test_concurrent_starts_respect_the_limit(sb: sandlot.Sandbox, scratch: str) -> None:
    jobs = Jobs(sb, root=f"{scratch}/race", limits=sandlot.JobLimits(max_concurrent=2))
    started: list[JobHandle] = []
    refused: list[sandlot.JobLimitReached] = []

    async def start() -> None:
        try:
            started.append(await jobs.start("sleep", ["60"]))
        except sandlot.JobLimitReached as exc:
            refused.append(exc)

    try:
        with anyio.fail_after(DEADLINE):
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(start)
        assert (len(started), len(refused)) == (2, 3)
        assert all("max_concurrent=2" in str(exc) for exc in refused)
    finally:
        for handle in started:
            await jobs.stop(handle, grace=0.3)


async def test_kill_delivers_the_chosen_signal(jobs: Jobs) -> None:
    handle = await jobs.start(
        "sh",
        [
            "-c",
            # stderr muted: the shell reports its `sleep` killed by the same signal there.
            "exec 2>/dev/null; trap 'echo got-usr1; exit 9' USR1; echo ready; "
            "while :; do sleep 0.05; done",
        ],
    )
    await wait_for_output(jobs, handle, b"ready\n")
    status = await jobs.kill(handle, "USR1")
    data, status = await drain(jobs, handle)
    assert data == b"ready\ngot-usr1\n"
    assert status.exit == sandlot.ExitStatus(code=9)
    assert await jobs.kill(handle, signal.SIGKILL) == status  # ended: nothing to signal


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT], ids=["INT", "QUIT"])
async def test_sigint_and_sigquit_end_a_job(
    jobs: Jobs, sb: sandlot.Sandbox, sig: signal.Signals
) -> None:
    await check_int_or_quit_ends_a_job(jobs, sb, sig, by_name=True)


def test_exit_records() -> None:
    from sandlot._jobs._records import exit_from_record

    assert exit_from_record("code", "0") == sandlot.ExitStatus(code=0)
    assert exit_from_record("signal", "9", "KILL") == sandlot.ExitStatus(signal=signal.SIGKILL)
    # The name wins over the number: numbers differ between architectures.
    assert exit_from_record("signal", "10", "USR2") == sandlot.ExitStatus(signal=signal.SIGUSR2)
    assert exit_from_record("signal", "15", "-") == sandlot.ExitStatus(signal=signal.SIGTERM)
    # Unknown here by name and number: what a shell would report.
    assert exit_from_record("signal", "63", "NOPE") == sandlot.ExitStatus(code=191)


async def test_commands_that_end_at_once_report_their_status(jobs: Jobs) -> None:
    # The command may end before the wrapper has even recorded its pid.
    handles = [await jobs.start("sh", ["-c", f"exit {n}"]) for n in range(8)]
    for n, handle in enumerate(handles):
        _, status = await drain(jobs, handle)
        assert status.exit == sandlot.ExitStatus(code=n)


# meta.json as sandlot wrote it before the format version existed (the layout of format 1).
OLD_META = {
    "id": "old-job",
    "argv": ["sh", "-c", "echo hi; exit 3"],
    "cwd": None,
    "env_names": ["SECRET"],
    "separate_streams": False,
    "timeout": None,
    "created": 1700000000.5,
}


async def write_job_dir(sb: sandlot.Sandbox, job_dir: str, meta: dict[str, object]) -> None:
    """A finished job's directory, written by hand: meta.json, its log and exit file."""
    script = (
        'mkdir -p "$1" && printf "%s\\n" "$2" > "$1/meta.json" && printf "hi\\n" > "$1/output"'
        ' && echo "code 3" > "$1/exit" && echo pgroup > "$1/reaper"'
    )
    text = json.dumps(meta, separators=(",", ":"))
    (await sb.exec("sh", ["-c", script, "sh", job_dir, text])).check()


async def test_a_job_written_before_the_format_version_is_read(
    jobs: Jobs, sb: sandlot.Sandbox
) -> None:
    await write_job_dir(sb, f"{jobs.root}/old-job", {**OLD_META, "root": jobs.root})
    handle = await jobs.attach("old-job")
    assert handle == JobHandle(
        id="old-job",
        root=jobs.root,
        argv=("sh", "-c", "echo hi; exit 3"),
        env_names=("SECRET",),
        created=1700000000.5,
    )
    data, status = await drain(jobs, handle)
    assert data == b"hi\n"
    assert status == JobStatus(JobState.EXITED, sandlot.ExitStatus(code=3), reaper="pgroup")
    assert await jobs.tail(handle, 1) == b"hi\n"
    assert [info.handle for info in await jobs.list()] == [handle]
    await jobs.remove(handle)
    assert await jobs.list() == []
    # What this sandlot writes carries the version.
    new = await jobs.start("true")
    meta = json.loads(await sb.read_file(f"{jobs.root}/{new.id}/meta.json"))
    assert meta["format"] == 1 and json.loads(new.to_json())["format"] == 1


async def test_a_job_in_a_newer_format_is_refused(jobs: Jobs, sb: sandlot.Sandbox) -> None:
    meta = {**OLD_META, "id": "new-job", "root": jobs.root, "format": 99}
    await write_job_dir(sb, f"{jobs.root}/new-job", meta)
    refused = (
        r"job 'new-job' was written in job format 99, newer than this sandlot reads "
        r"\(format 1\): upgrade sandlot to use it"
    )
    with pytest.raises(sandlot.SandlotError, match=refused):
        await jobs.attach("new-job")
    with pytest.raises(sandlot.SandlotError, match=refused):
        await jobs.list()
    with pytest.raises(sandlot.SandlotError, match=refused):
        JobHandle.from_json(json.dumps(meta))
    with pytest.raises(sandlot.InvalidArgument, match="malformed job handle: format '1'"):
        JobHandle.from_json(json.dumps({**meta, "format": "1"}))
    await jobs.remove("new-job")  # by id: no need to read it
    assert await jobs.list() == []


def script_variables() -> set[str]:
    """Every variable name the shipped jobs scripts assign (or read into)."""
    from sandlot._jobs import _script

    text = "\n".join(_script.load(name) for name in _script.SCRIPTS)
    names = set(re.findall(r"(?:^|[\s;({])([A-Za-z_][A-Za-z0-9_]*)=", text, re.MULTILINE))
    for words in re.findall(r"read -r ([A-Za-z_ ]+)", text):
        names.update(words.split())
    names.update(re.findall(r"\bfor ([A-Za-z_][A-Za-z0-9_]*) in", text))
    return names - {"_"}


async def test_the_scripts_variables_never_reach_the_job(jobs: Jobs) -> None:
    # The job gets its environment exactly, whatever names the scripts use themselves
    # (and the names the scripts used before they were renamed).
    # (PATH aside: the job's PATH is where its command is looked up.)
    names = script_variables() - {"PATH"}
    names |= {"d", "t", "g", "i", "cg", "st", "cmd", "S", "C", "HOME", "IFS"}
    assert {"job_dir", "timeout", "state", "cgroup", "workdir"} <= names
    env = {name: f"user-{name}" for name in names}
    handle = await jobs.start("env", env=env)
    data, status = await drain(jobs, handle)
    assert status.exit == sandlot.ExitStatus(code=0)
    seen = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
    assert {name: seen.get(name) for name in names} == env
    assert not [name for name in seen if name.startswith("SANDLOT_JOB_ENV_")]


async def test_the_command_is_found_on_the_jobs_path(
    jobs: Jobs, sb: sandlot.Sandbox, scratch: str
) -> None:
    script = 'mkdir "$1/bin" && printf "#!/bin/sh\\necho found-me\\n" > "$1/bin/mytool"'
    (await sb.exec("sh", ["-c", script + ' && chmod +x "$1/bin/mytool"', "sh", scratch])).check()
    with pytest.raises(sandlot.CommandNotFound, match="mytool"):
        await jobs.start("mytool")
    handle = await jobs.start("mytool", env={"PATH": f"{scratch}/bin:/usr/bin:/bin"})
    data, status = await drain(jobs, handle)
    assert (data, status.exit) == (b"found-me\n", sandlot.ExitStatus(code=0))
