"""``sandlot jobs``: every invocation is a fresh process, so ids must work across them."""

from __future__ import annotations

import re
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CLI, one_error_line, read_until, reap

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\n\Z")


# Jobs outlive every invocation: run them locally, over ssh as a plain user, and in a
# Docker container.
pytestmark = pytest.mark.parametrize("sandbox", ["local", "ssh_user", "docker"], indirect=True)


@pytest.fixture
def root(cli: CLI, sandbox: str) -> Iterator[str]:
    """A jobs root every sandbox user can create (the ssh targets run on this machine,
    the container has its own /tmp). Jobs a failed test left behind are removed (killed)
    afterwards."""
    path = Path("/tmp") / f"sandlot-cli-jobs-{uuid.uuid4().hex}"
    yield str(path)
    listed = cli.run("jobs", "ls", sandbox, "--root", str(path)).stdout.decode()
    for line in listed.splitlines()[1:]:
        cli.run("jobs", "rm", sandbox, "-f", "--root", str(path), line.split()[0])
    shutil.rmtree(path, ignore_errors=True)


def start(cli: CLI, sandbox: str, root: str, *argv: str, opts: tuple[str, ...] = ()) -> str:
    r = cli.run("jobs", "start", sandbox, "--root", root, *opts, "--", *argv)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    out = r.stdout.decode()
    assert ID.match(out), out
    return out.strip()


def test_start_then_attach_from_another_invocation(cli: CLI, sandbox: str, root: str) -> None:
    job = start(cli, sandbox, root, "sh", "-c", "echo first; sleep 0.5; printf 'second\\n'; exit 4")
    r = cli.run("jobs", "attach", sandbox, "--root", root, job)
    assert (r.returncode, r.stdout, r.stderr) == (4, b"first\nsecond\n", b"")
    # Attaching again replays the same bytes and the same status.
    r = cli.run("jobs", "attach", sandbox, "--root", root, job)
    assert (r.returncode, r.stdout) == (4, b"first\nsecond\n")
    r = cli.run("jobs", "logs", sandbox, "--root", root, job)
    assert (r.returncode, r.stdout) == (0, b"first\nsecond\n")
    r = cli.run("jobs", "logs", sandbox, "--root", root, "--tail", "1", job)
    assert (r.returncode, r.stdout) == (0, b"second\n")
    r = cli.run("jobs", "ls", sandbox, "--root", root)
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["ID", "STATUS", "STARTED", "COMMAND"]
    assert len(lines) == 2 and lines[1].startswith(f"{job}  exited (exit code 4)")
    assert lines[1].endswith(
        "sh -c 'echo first; sleep 0.5; printf '\"'\"'second\\n'\"'\"'; exit 4'"
    )
    assert cli.run("jobs", "rm", sandbox, "--root", root, job).returncode == 0
    r = cli.run("jobs", "logs", sandbox, "--root", root, job)
    assert r.returncode == 1
    assert one_error_line(r) == f"no job {job!r} under {root}"
    assert cli.run("jobs", "ls", sandbox, "--root", root).stdout.decode().count("\n") == 1


def test_logs_follow_streams_until_the_job_ends(cli: CLI, sandbox: str, root: str) -> None:
    job = start(cli, sandbox, root, "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done")
    r = cli.run("jobs", "logs", sandbox, "-f", "--root", root, job)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"1\n2\n3\n", b"")
    cli.run("jobs", "rm", sandbox, "--root", root, job)


def test_attach_forwards_stdin_with_eof(cli: CLI, sandbox: str, root: str) -> None:
    job = start(cli, sandbox, root, "sh", "-c", "cat; echo done")
    r = cli.run("jobs", "attach", sandbox, "-i", "--root", root, job, input=b"hello\nworld\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello\nworld\ndone\n", b"")
    cli.run("jobs", "rm", sandbox, "--root", root, job)


def test_separate_streams_go_to_our_stdout_and_stderr(cli: CLI, sandbox: str, root: str) -> None:
    job = start(
        cli, sandbox, root, "sh", "-c", "echo out; echo err >&2; exit 5", opts=("--separate",)
    )
    r = cli.run("jobs", "attach", sandbox, "--root", root, job)
    assert (r.returncode, r.stdout, r.stderr) == (5, b"out\n", b"err\n")
    r = cli.run("jobs", "logs", sandbox, "--root", root, "--stream", "stderr", job)
    assert (r.returncode, r.stdout) == (0, b"err\n")
    cli.run("jobs", "rm", sandbox, "--root", root, job)


def test_stop_kill_and_rm(cli: CLI, sandbox: str, root: str) -> None:
    job = start(cli, sandbox, root, "sleep", "60")
    r = cli.run("jobs", "rm", sandbox, "--root", root, job)
    assert r.returncode == 1
    assert "is still running" in one_error_line(r)
    r = cli.run("jobs", "stop", sandbox, "--root", root, "--grace", "2", job)
    assert (r.returncode, r.stdout) == (0, f"{job} exited (killed by SIGTERM)\n".encode())
    assert cli.run("jobs", "rm", sandbox, "--root", root, job).returncode == 0

    job = start(cli, sandbox, root, "sleep", "60")
    r = cli.run("jobs", "kill", sandbox, "--root", root, "-s", "15", job)
    assert r.returncode == 0
    r = cli.run("jobs", "attach", sandbox, "--root", root, job)
    assert (r.returncode, r.stdout) == (143, b"")
    cli.run("jobs", "rm", sandbox, "--root", root, job)

    job = start(cli, sandbox, root, "sleep", "60")
    assert cli.run("jobs", "rm", sandbox, "-f", "--root", root, job).returncode == 0
    r = cli.run("jobs", "attach", sandbox, "--root", root, job)
    assert r.returncode == 1 and "no job" in one_error_line(r)


def test_job_errors(cli: CLI, sandbox: str, root: str) -> None:
    r = cli.run("jobs", "start", sandbox, "--root", root, "--", "no-such-command-xyz")
    assert r.returncode == 127
    assert one_error_line(r) == "command not found: 'no-such-command-xyz'"
    r = cli.run("jobs", "attach", sandbox, "--root", root, "bad/id")
    assert r.returncode == 2 and "invalid job id 'bad/id'" in one_error_line(r)
    r = cli.run("jobs", "kill", sandbox, "--root", root, "-s", "BOGUS", "some-id")
    assert r.returncode == 2 and "unknown signal" in one_error_line(r)
    r = cli.run("jobs", "start", sandbox, "--root", root)
    assert r.returncode == 2 and "no command given" in one_error_line(r)
    r = cli.run("jobs", "logs", sandbox, "-f", "--tail", "2", "--root", root, "some-id")
    assert r.returncode == 2
    assert one_error_line(r) == "--tail and --follow cannot be combined"
    r = cli.run("jobs", "attach", "--root", root)
    assert r.returncode == 2
    assert one_error_line(r) == "no job id given: use 'sandlot jobs attach [SANDBOX] JOB_ID'"


def test_interrupting_attach_only_detaches(cli: CLI, sandbox: str, root: str) -> None:
    job = start(cli, sandbox, root, "sh", "-c", "echo started; exec sleep 60")
    proc = cli.popen("jobs", "attach", sandbox, "--root", root, job)
    try:
        assert proc.stdout is not None
        read_until(proc.stdout, b"started\n")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 130
    finally:
        reap(proc)
    r = cli.run("jobs", "ls", sandbox, "--root", root)
    assert f"{job}  running" in r.stdout.decode()
    r = cli.run("jobs", "stop", sandbox, "--root", root, job)
    assert r.stdout == f"{job} exited (killed by SIGTERM)\n".encode()
    cli.run("jobs", "rm", sandbox, "--root", root, job)
