"""The shared launcher script (``sandlot/_launcher/sh/launcher.sh``) on its own, under
dash, bash and busybox sh: the report its checks print, parsed by the one Parser; and the
Docker and Daytona spawn launchers' signal dispositions under the same shells."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sandlot._backends.daytona._oneshot import _Answer, exec_command
from sandlot._launcher import Failed, Output, Parser, Ready
from sandlot._launcher._script import load, with_args
from sandlot._records import ExitStatus
from sandlot._transport import LaunchSpec

DAYTONA = "sandlot._backends.daytona"

SHELLS = {"dash": ["dash"], "bash": ["bash", "--posix"], "busybox": ["busybox", "sh"]}


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> list[str]:
    argv = SHELLS[request.param]
    if shutil.which(argv[0]) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{argv[0]} is missing (CI=true: it must be installed)")
        pytest.skip(f"{argv[0]} is not installed")
    return argv


def launch(shell: list[str], flags: str, cwd: str, *argv: str) -> tuple[list[object], int]:
    text = with_args("launcher", ["sandlot", flags, cwd, *argv])
    run = subprocess.run([*shell, "-c", text], capture_output=True, timeout=30, check=False)
    events: list[object] = list(Parser().feed(run.stderr))
    if run.stdout:
        events.append(run.stdout)
    return events, run.returncode


def test_ready_carries_the_commands_pid(shell: list[str], tmp_path: Path) -> None:
    events, code = launch(shell, "c", str(tmp_path), "sh", "-c", 'echo "$$ $PWD" >&2; echo out')
    assert len(events) == 3 and isinstance(events[0], Ready)
    assert events[1] == Output(f"{events[0].pid} {tmp_path}\n".encode())
    assert events[2] == b"out\n" and code == 0


def test_the_report_can_go_to_stdout(shell: list[str]) -> None:
    run = subprocess.run(
        [*shell, "-c", with_args("launcher", ["sandlot-n0nce", "on", "", "true"])],
        capture_output=True,
        timeout=30,
        check=False,
    )
    events = Parser(nonce="n0nce").feed(run.stdout)
    assert len(events) == 1 and isinstance(events[0], Ready) and run.stderr == b""


@pytest.mark.parametrize(
    ("cmd", "cwd", "failure", "code"),
    [
        ("sandlot-no-such-cmd", None, Failed("nocmd", ""), 127),
        ("{d}/missing", None, Failed("nocmd", ""), 127),
        ("{d}/plain", None, Failed("noexec", "EACCES"), 126),
        ("{d}", None, Failed("noexec", "EACCES"), 126),
        ("true", "{d}/missing", Failed("nocwd", "ENOENT"), 126),
        ("true", "{d}/plain", Failed("nocwd", "ENOTDIR"), 126),
    ],
)
def test_each_failure_is_reported(
    shell: list[str], tmp_path: Path, cmd: str, cwd: str | None, failure: Failed, code: int
) -> None:
    (tmp_path / "plain").write_text("#!/bin/sh\n")
    flags = "c" if cwd else ""
    cwd = cwd.format(d=tmp_path) if cwd else ""
    events, got = launch(shell, flags, cwd, cmd.format(d=tmp_path))
    assert (events, got) == ([failure], code)


def test_the_scripts_load_with_their_checks() -> None:
    for name, package in [("launcher", "sandlot._launcher"), ("spawn", DAYTONA)]:
        text = load(name, package)
        assert ". ./checks.sh" not in text and "check_command() {" in text
        assert "\x1e" not in text  # printf makes the RS byte: no echo forges a report


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT], ids=lambda s: s.name)
@pytest.mark.parametrize("backend", ["docker", "daytona"])
def test_the_spawn_launchers_command_ends_on_sigint_and_sigquit(
    shell: list[str], backend: str, sig: signal.Signals, tmp_path: Path
) -> None:
    # A background job of dash or busybox sh ignores both for good: the command is none.
    if backend == "docker":
        args = [f"sandlot-n{os.getpid()}", "", "", "sleep", "60"]
    else:
        args = [f"t{os.getpid()}", "", "", "0", "sleep", "60"]
    text = with_args("spawn", args, f"sandlot._backends.{backend}")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    run = subprocess.Popen(
        [*shell, "-c", text],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    pid = 0
    try:
        stream = run.stderr if backend == "docker" else run.stdout
        assert stream is not None
        seen = b""
        while not re.search(rb":ok:\d+\n", seen):
            assert select.select([stream], [], [], 10)[0], seen
            chunk = os.read(stream.fileno(), 4096)
            assert chunk, seen
            seen += chunk
        pid = int(re.findall(rb":ok:(\d+)\n", seen)[0])
        with open(f"/proc/{pid}/status") as f:
            ignored = next(line for line in f if line.startswith("SigIgn:"))
        os.kill(pid, sig)
        out, err = run.communicate(timeout=10)
    finally:
        for group in (pid, run.pid):  # the command leads its own group, the launcher too
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(group, signal.SIGKILL)
        run.communicate()
    assert int(ignored.split()[1], 16) & (1 << (sig - 1)) == 0
    seen += err if backend == "docker" else out
    assert re.findall(rb"x[: ](\d+)\n", seen) == [str(int(sig)).encode()]


def test_the_daytona_exec_launcher_ends_when_its_command_never_opens_the_pipes(
    shell: list[str], tmp_path: Path
) -> None:
    # The command side dies before it opens the output FIFOs (here its input file is gone,
    # as when a cancellation removed the uploaded input; or it is killed by one): the
    # launcher must still end, and leave nothing behind.

    spec = LaunchSpec(("echo", "ran"), None, {}, pty=None, stdin=True)
    command = exec_command(
        f"t{os.getpid()}",
        spec,
        timeout=None,
        grace=0.2,
        cap=None,
        stdin=("f", str(tmp_path / "gone")),
    )
    words = shlex.split(command)
    assert words[:3] == ["exec", "sh", "-c"]
    run = subprocess.Popen(
        [*shell, "-c", *words[3:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        start_new_session=True,
    )
    try:
        out, _ = run.communicate(timeout=10)
        deadline = time.monotonic() + 5
        while (left := live_members(run.pid)) and time.monotonic() < deadline:
            time.sleep(0.01)  # its last act, removing its files, runs in the background
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
    assert b"ran" not in out and not re.search(rb"^x ", out, re.M)
    assert left == []  # nothing of the launcher is left
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nor any of its files


def live_members(group: int) -> list[int]:
    """The processes of process group ``group`` that are not zombies."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == group:
                found.append(int(entry))
    return found


def test_the_daytona_exec_launcher_caps_each_stream_under_each_shell(
    shell: list[str], tmp_path: Path
) -> None:
    script = "head -c 300000 /dev/zero; printf 'e%.0s' $(seq 5000) >&2; exit 3"
    spec = LaunchSpec(("sh", "-c", script), None, {}, pty=None, stdin=False)
    command = exec_command("tcap", spec, timeout=None, grace=0.2, cap=1000, stdin=None)
    run = subprocess.run(
        [*shell, "-c", *shlex.split(command)[3:]],
        capture_output=True,
        timeout=10,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        check=False,
    )
    answer = _Answer(run.stdout.decode(), spec)
    assert answer.status == ExitStatus(code=3)
    assert (answer.out, answer.err) == (bytes(1000), b"e" * 1000)
    assert answer.totals == (300000, 5000)
