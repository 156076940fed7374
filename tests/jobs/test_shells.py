"""The jobs scripts behave the same under dash, bash and busybox sh.

A sandbox's ``sh`` may be any of them. Each test runs the jobs API on the local backend
with ``PATH`` starting with a directory in which ``sh`` is the shell under test, so every
``sh`` involved (the operation scripts, the wrapper, the command's own shell, and the
``sh -c`` commands of the test) is that shell. Byte-exact output, exit records (a
signal by name), stdin, stop, kill, timeout, log cap, list and remove are checked.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

import sandlot
from sandlot import JobHandle, Jobs, JobState, JobStatus

from . import DEADLINE, check_int_or_quit_ends_a_job, drain, wait_for_output

SHELLS = {"dash": ["dash"], "bash": ["bash"], "busybox": ["busybox"]}


@pytest.fixture(params=sorted(SHELLS))
def shell(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """PATH starts with a directory where ``sh`` is the shell; yields its real path."""
    found = shutil.which(request.param)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{request.param} is missing (CI=true: it must be installed)")
        pytest.skip(f"{request.param} is not installed")
    real = os.path.realpath(found)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sh").symlink_to(real)  # busybox runs its `sh` applet, bash its POSIX mode
    if request.param == "busybox":
        # The tools the log cap uses, as on a busybox userland (Alpine): busybox's differ.
        for tool in ("head", "dd", "wc"):
            (bindir / tool).symlink_to(real)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    yield real


@pytest.fixture
async def sb(shell: str) -> AsyncIterator[sandlot.Sandbox]:
    """The local sandbox, opened with ``sh`` the shell under test (for the ``jobs`` fixture)."""
    async with sandlot.open_sandbox("local", kill_grace=0.2) as sandbox:
        yield sandbox


@pytest.fixture
def scratch(tmp_path: Path) -> str:
    return str(tmp_path)


def executable(pid: bytes) -> str:
    return os.path.realpath(f"/proc/{pid.decode()}/exe")


def job_file(jobs: Jobs, handle: JobHandle, name: str) -> bytes:
    assert jobs.root is not None
    return (Path(jobs.root) / handle.id / name).read_bytes()


async def test_stdin_output_and_exit_code(jobs: Jobs, shell: str) -> None:
    handle = await jobs.start("sh", ["-c", "cat; printf 'eof-seen'; exit 3"])
    await jobs.write(handle, b"hello \x00\xff\n")
    await wait_for_output(jobs, handle, b"hello \x00\xff\n")
    # Every sh here is the shell under test: the wrapper and the job's own shell.
    assert executable(job_file(jobs, handle, "wrapper").split()[0]) == shell
    assert executable(job_file(jobs, handle, "pid").split()[0]) == shell
    assert (await jobs.status(handle)).running
    await jobs.close_stdin(handle)
    data, status = await drain(jobs, handle)
    assert data == b"hello \x00\xff\neof-seen"
    assert status == JobStatus(JobState.EXITED, sandlot.ExitStatus(code=3), reaper=status.reaper)
    assert job_file(jobs, handle, "exit") == b"code 3\n"
    with pytest.raises(sandlot.StreamClosed):
        await jobs.write(handle, b"late")
    # Binary output, byte-exact, and 128+N that is a code, not a signal.
    script = (
        'i=0; while [ $i -lt 256 ]; do printf "\\\\$(printf %o $i)"; i=$((i+1)); done; exit 130'
    )
    handle = await jobs.start("sh", ["-c", script])
    data, status = await drain(jobs, handle)
    assert data == bytes(range(256)) and status.exit == sandlot.ExitStatus(code=130)


async def test_separate_streams_tail_and_log_cap(jobs: Jobs, sb: sandlot.Sandbox) -> None:
    handle = await jobs.start(
        "sh", ["-c", "echo out1; echo err1 >&2; echo out2; printf err2 >&2"], separate_streams=True
    )
    out, _ = await drain(jobs, handle, stream="stdout")
    err, _ = await drain(jobs, handle, stream="stderr")
    assert (out, err) == (b"out1\nout2\n", b"err1\nerr2")
    assert await jobs.tail(handle, 1, stream="stderr") == b"err2"
    capped = Jobs(sb, root=jobs.root, limits=sandlot.JobLimits(max_log_bytes=100))
    handle = await capped.start(
        "sh", ["-c", "i=0; while [ $i -lt 100 ]; do echo 123456789; i=$((i+1)); done; exit 5"]
    )
    data, status = await drain(jobs, handle)
    assert data == b"123456789\n" * 10
    assert status.log_truncated and status.exit == sandlot.ExitStatus(code=5)


async def test_the_log_cap_flags_a_stream_cut_in_one_write(jobs: Jobs, sb: sandlot.Sandbox) -> None:
    # One write of 1000 bytes: a `head -c` that reads past its count (busybox's) would
    # leave nothing to count, and the cut would go unflagged.
    capped = Jobs(sb, root=jobs.root, limits=sandlot.JobLimits(max_log_bytes=100))
    handle = await capped.start("sh", ["-c", "printf '%01000d' 0"])
    data, status = await drain(jobs, handle)
    assert data == b"0" * 100
    assert status.log_truncated and status.exit == sandlot.ExitStatus(code=0)


async def test_signals_are_recorded_by_name(jobs: Jobs) -> None:
    handle = await jobs.start("sh", ["-c", "echo up; exec sleep 60"])
    await wait_for_output(jobs, handle, b"up\n")
    await jobs.kill(handle, signal.SIGKILL)
    _, status = await drain(jobs, handle)
    assert status.exit == sandlot.ExitStatus(signal=signal.SIGKILL)
    assert job_file(jobs, handle, "exit") == b"signal 9 KILL\n"
    # kill delivers the chosen signal; the job's trap answers it.
    handle = await jobs.start(
        "sh",
        [
            "-c",
            "exec 2>/dev/null; trap 'echo got-usr1; exit 9' USR1; echo ready; "
            "while :; do sleep 0.05; done",
        ],
    )
    await wait_for_output(jobs, handle, b"ready\n")
    await jobs.kill(handle, "USR1")
    data, status = await drain(jobs, handle)
    assert (data, status.exit) == (b"ready\ngot-usr1\n", sandlot.ExitStatus(code=9))


async def test_stop_timeout_list_and_remove(jobs: Jobs) -> None:
    stubborn = await jobs.start(
        "sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"]
    )
    await wait_for_output(jobs, stubborn, b"ready\n")
    with anyio.fail_after(DEADLINE):
        status = await jobs.stop(stubborn, grace=0.3)
    assert status.exit == sandlot.ExitStatus(signal=signal.SIGKILL)
    timed = await jobs.start("sleep", ["60"], timeout=0.3)
    _, status = await drain(jobs, timed)
    assert status.timed_out and status.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
    assert job_file(jobs, timed, "exit") == b"signal 15 TERM\n"
    running = await jobs.start("sleep", ["60"], job_id="running-job")
    with pytest.raises(sandlot.JobStillRunning):
        await jobs.remove(running)
    infos = {info.handle.id: info for info in await jobs.list()}
    assert set(infos) == {stubborn.id, timed.id, "running-job"}
    assert infos["running-job"].status.running and infos["running-job"].handle == running
    status = await jobs.stop(running)
    assert status.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
    for handle in (stubborn, timed, running):
        await jobs.remove(handle)
    assert await jobs.list() == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT], ids=["INT", "QUIT"])
async def test_sigint_and_sigquit_end_a_job(
    jobs: Jobs, sb: sandlot.Sandbox, sig: signal.Signals
) -> None:
    await check_int_or_quit_ends_a_job(jobs, sb, sig, by_name=False)


async def test_the_environment_reaches_the_job_exactly(jobs: Jobs) -> None:
    env = {
        "job_dir": "mine",
        "HOME": "/nonexistent-home",
        "MULTI": "a b\n'c' \"d\" $HOME \\",
        "SANDLOT_JOB_ENV_X": "1",
        "X": "2",
    }
    script = 'for n in "$@"; do printf "%s=[" "$n"; printenv "$n"; printf "]"; done'
    handle = await jobs.start("sh", ["-c", script, "sh", *env], env=env)
    data, status = await drain(jobs, handle)
    expected = "".join(f"{name}=[{value}\n]" for name, value in env.items())
    assert (data.decode(), status.exit) == (expected, sandlot.ExitStatus(code=0))


@pytest.mark.parametrize("with_cgroup", [True, False], ids=["cgroup", "group"])
def test_a_signal_reaches_each_process_once(shell: str, tmp_path: Path, with_cgroup: bool) -> None:
    # Standard signals do not queue: two sent at once merge, but one handled in between
    # (a trap) runs twice. lib.sh's signal_tree, with `kill` recorded instead of sent.
    lib = (Path(sandlot.__file__).parent / "_jobs" / "sh" / "lib.sh").read_text()
    job = tmp_path / "job"
    cgroup = tmp_path / "cgroup"
    job.mkdir()
    cgroup.mkdir()
    (job / "pid").write_text("4242 1\n")
    (cgroup / "cgroup.procs").write_text("4242\n4243\n")
    if with_cgroup:
        (job / "cgroup").write_text(f"{cgroup}\n")
        (job / "reaper").write_text("cgroup\n")
    script = (
        f"{lib}\n"
        'kill() { echo "kill $*" >> "$job_dir/kills"; }\n'
        f"job_dir={job}; state=running; signal_tree USR1\n"
    )
    subprocess.run(["sh", "-c", script], check=True, timeout=30)  # sh: the shell under test
    kills = (job / "kills").read_text().splitlines()
    expected = ["kill -USR1 4242", "kill -USR1 4243"] if with_cgroup else ["kill -USR1 -4242"]
    assert kills == expected


@pytest.mark.parametrize("separate", [False, True], ids=["combined", "separate"])
async def test_close_stdin_delivers_eof_with_a_log_cap(
    jobs: Jobs, sb: sandlot.Sandbox, separate: bool
) -> None:
    # With a log cap, the copies of the output are started by the supervisor, which
    # holds the stdin FIFO: a copy that kept a duplicate of it (dash saves fd 3 to fd 10
    # around a function's `3>&-`) would keep the FIFO open and EOF would never come.
    capped = Jobs(sb, root=jobs.root, limits=sandlot.JobLimits(max_log_bytes=1000))
    handle = await capped.start("sh", ["-c", "cat; echo eof-seen"], separate_streams=separate)
    await capped.write(handle, b"hello\n")
    await capped.close_stdin(handle)
    data, status = await drain(jobs, handle, stream="stdout" if separate else None)
    assert data == b"hello\neof-seen\n"
    assert status.exit == sandlot.ExitStatus(code=0)


async def test_a_capped_log_gets_output_while_the_job_runs(jobs: Jobs, sb: sandlot.Sandbox) -> None:
    # The copy that enforces the cap must pass output on as it comes (a follower of a
    # capped job saw nothing until 64 KiB had accumulated: dd iflag=fullblock).
    capped = Jobs(sb, root=jobs.root, limits=sandlot.JobLimits(max_log_bytes=1 << 20))
    handle = await capped.start("sh", ["-c", "echo early; exec sleep 60"])
    await wait_for_output(capped, handle, b"early\n")
    await capped.kill(handle)
