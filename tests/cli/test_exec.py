"""``sandlot exec`` through a real subprocess, on asyncio and trio."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from .conftest import CLI, one_error_line, read_until, reap

# What every backend must get right runs on all of them; the rest on local and ssh_user.
QUICK = ["local", "ssh_user"]


def shared_marker() -> Path:
    """A path every sandbox user may create (the ssh targets run on this machine)."""
    return Path("/tmp") / f"sandlot-cli-marker-{uuid.uuid4().hex}"


def assert_nothing_left(cli: CLI, sandbox: str, marker: Path) -> None:
    """In the sandbox itself (a container has its own /tmp and processes): no process
    whose command line names ``marker`` is left, and ``marker`` was not created."""
    # The bracket keeps this command's own command line from matching: to grep it is a
    # pattern, to the shell a glob that names the marker only if it exists.
    pattern = f"{str(marker)[:-1]}[{str(marker)[-1]}]"
    script = f'! grep -qs "{pattern}" /proc/[0-9]*/cmdline && ! test -e {pattern}'
    deadline = time.monotonic() + 10
    while cli.run("exec", sandbox, "--", "sh", "-c", script).returncode != 0:
        assert time.monotonic() < deadline, f"{marker} or a process naming it is left"
        time.sleep(0.1)  # an orphan's exit gives no event to wait on


def test_stdout_and_stderr_are_kept_apart(cli: CLI, sandbox: str) -> None:
    r = cli.run("exec", sandbox, "--", "sh", "-c", "echo out; echo err >&2; echo out2; exit 0")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"out\nout2\n", b"err\n")


def test_default_sandbox_is_local_and_url_can_be_given(cli: CLI) -> None:
    a = cli.run("exec", "--", "echo", "hi")
    b = cli.run("exec", "local", "--", "echo", "hi")
    assert (a.returncode, a.stdout, a.stderr) == (0, b"hi\n", b"")
    assert (b.returncode, b.stdout, b.stderr) == (0, b"hi\n", b"")


# Not docker: the test container has no python3 (the conformance suite checks argv there).
@pytest.mark.parametrize("sandbox", ["local", "ssh_root", "ssh_user", "daytona"], indirect=True)
def test_arguments_reach_the_process_byte_for_byte(cli: CLI, sandbox: str) -> None:
    args = ["a b", "'q'", '"d"', "$HOME", "new\nline", "ünï", "-n", "--", "--debug", ""]
    r = cli.run(
        "exec", sandbox, "--", "python3", "-c", "import sys; print(repr(sys.argv[1:]))", *args
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == repr(args) + "\n"


def test_piped_stdin_is_forwarded_byte_exact_with_eof(cli: CLI, sandbox: str) -> None:
    data = os.urandom(100_000) + b"\x00\xff\n"  # more than one 64 KiB chunk
    r = cli.run("exec", sandbox, "--", "cat", input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data
    r = cli.run("exec", sandbox, "--", "wc", "-c", input=b"12345")
    assert r.stdout.split() == [b"5"]


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_no_stdin_sends_eof_at_once(cli: CLI, sandbox: str) -> None:
    r = cli.run("exec", sandbox, "-n", "--", "cat", input=None)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")


def test_output_streams_while_the_process_runs(cli: CLI, sandbox: str) -> None:
    proc = cli.popen(
        "exec", sandbox, "--", "sh", "-c", 'echo first; read line; echo "got $line"; exit 4'
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        # "first" arrives before we send anything: output is streamed, not buffered.
        assert read_until(proc.stdout, b"first\n") == b"first\n"
        proc.stdin.write(b"hello\n")
        proc.stdin.close()
        assert read_until(proc.stdout, b"got hello\n") == b"got hello\n"
        assert proc.wait(timeout=15) == 4
    finally:
        reap(proc)


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
@pytest.mark.parametrize(("script", "code"), [("exit 3", 3), ("exit 0", 0), ("exit 255", 255)])
def test_exit_code_is_passed_through(cli: CLI, sandbox: str, script: str, code: int) -> None:
    r = cli.run("exec", sandbox, "--", "sh", "-c", script)
    assert (r.returncode, r.stderr) == (code, b"")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_killed_by_signal_exits_128_plus_n(cli: CLI, sandbox: str, sig: signal.Signals) -> None:
    r = cli.run("exec", sandbox, "--", "sh", "-c", f"kill -{sig.name.removeprefix('SIG')} $$")
    assert (r.returncode, r.stderr) == (128 + sig, b"")


def test_timeout_kills_and_exits_124(cli: CLI, sandbox: str) -> None:
    marker = shared_marker()
    start = time.monotonic()
    r = cli.run(
        "exec", sandbox, "--timeout", "0.5", "--",
        "sh", "-c", f"echo started; sleep 30; touch {marker}",
    )  # fmt: skip
    assert time.monotonic() - start < 15
    assert r.returncode == 124
    assert r.stdout == b"started\n"
    assert one_error_line(r) == "timed out after 0.5s; the command was killed"
    assert_nothing_left(cli, sandbox, marker)


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_timeout_not_reached(cli: CLI, sandbox: str) -> None:
    r = cli.run("exec", sandbox, "--timeout", "20", "--", "sh", "-c", "echo quick")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"quick\n", b"")


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "soon"])
def test_bad_timeout_is_a_usage_error(cli: CLI, bad: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    r = cli.run("exec", f"--timeout={bad}", "--", "touch", str(marker))
    assert r.returncode == 2
    assert "--timeout" in one_error_line(r)
    assert not marker.exists()


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_cwd(cli: CLI, sandbox: str) -> None:
    r = cli.run("exec", sandbox, "--cwd", "/usr/bin", "--", "pwd")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"/usr/bin\n", b"")


def test_bad_cwd_names_the_directory(cli: CLI, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    r = cli.run("exec", "--cwd", str(missing), "--", "pwd")
    assert r.returncode == 126
    assert str(missing) in one_error_line(r)
    assert r.stdout == b""


def test_env_is_repeatable_and_exact(cli: CLI, sandbox: str) -> None:
    r = cli.run("exec", sandbox, "--env", "A=x y=z", "--env", "B=", "--env", "A2=2", "--",
        "sh", "-c", 'printf "%s|%s|%s" "$A" "${B-unset}" "$A2"',
    )  # fmt: skip
    assert (r.returncode, r.stdout) == (0, b"x y=z||2")


@pytest.mark.parametrize(
    ("item", "needle"),
    [("NOEQUALS", "--env takes NAME=VALUE, got 'NOEQUALS'"), ("1A=x", "'1A'"), ("=x", "=x")],
)
def test_bad_env_is_a_usage_error(cli: CLI, item: str, needle: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    r = cli.run("exec", "--env", item, "--", "touch", str(marker))
    assert r.returncode == 2
    assert needle in one_error_line(r)
    assert not marker.exists()


def test_sigterm_to_the_cli_stops_the_command(cli: CLI, sandbox: str) -> None:
    marker = shared_marker()
    proc = cli.popen("exec", sandbox, "--", "sh", "-c", f"echo started; sleep 30; touch {marker}")
    try:
        assert proc.stdout is not None
        read_until(proc.stdout, b"started\n")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 128 + signal.SIGTERM
    finally:
        reap(proc)
    assert_nothing_left(cli, sandbox, marker)


def test_a_closed_reader_does_not_hang_the_command(cli: CLI) -> None:
    # `sandlot exec -- yes | head -c 10`: the CLI keeps draining until the command ends.
    r = subprocess.run(
        f"{' '.join(cli.argv())} exec --timeout 1 -- yes | head -c 10",
        shell=True,
        capture_output=True,
        env=cli.env,
        timeout=30,
    )
    assert r.stdout == b"y\n" * 5
