"""``sandlot exec`` output delivery: every byte to a slow reader, EPIPE like ssh, and an
event loop that never blocks on our stdout (asyncio and trio, local and the real sshd)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CLI, one_error_line, read_until, reap

QUICK = ["local", "ssh_user"]

# Reads its stdin slowly (after a pause), then prints the byte count and the sha256.
SLOW_READER = """
import hashlib, os, sys, time
time.sleep(float(sys.argv[1]))
h, n = hashlib.sha256(), 0
while chunk := os.read(0, 65536):
    h.update(chunk)
    n += len(chunk)
    time.sleep(float(sys.argv[2]))
print(n, h.hexdigest())
"""


@pytest.fixture
def payload() -> Iterator[tuple[Path, Path]]:
    """Random stdout and stderr contents in files every sandbox user can read."""
    base = Path("/tmp") / f"sandlot-cli-out-{uuid.uuid4().hex}"
    out, err = base.with_suffix(".out"), base.with_suffix(".err")
    out.write_bytes(os.urandom(6_000_000))
    err.write_bytes(os.urandom(1_500_000))
    for p in (out, err):
        p.chmod(0o644)
    try:
        yield out, err
    finally:
        out.unlink()
        err.unlink()


def digest(path: Path) -> str:
    data = path.read_bytes()
    return f"{len(data)} {hashlib.sha256(data).hexdigest()}"


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_a_slow_reader_gets_every_byte(cli: CLI, sandbox: str, payload: tuple[Path, Path]) -> None:
    # The command exits long before its output is read: the remote side buffers megabytes
    # (SSH window, our buffers), and a paused then slow reader takes seconds to drain them.
    out, err = payload
    proc = subprocess.Popen(
        cli.argv("exec", sandbox, "--", "sh", "-c", f"cat {out}; cat {err} >&2"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env,
    )
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", SLOW_READER, pause, "0.02"],
            stdin=pipe,
            stdout=subprocess.PIPE,
        )
        for pipe, pause in ((proc.stdout, "0.5"), (proc.stderr, "1.0"))
    ]
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the readers hold them now
    proc.stderr.close()
    try:
        got = [r.communicate(timeout=30)[0].decode().strip() for r in readers]
        assert proc.wait(timeout=10) == 0
    finally:
        for r in readers:
            r.kill()
            r.wait()
        reap(proc)
    assert got == [digest(out), digest(err)]


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_a_closed_stdout_ends_the_command_with_sigpipe(cli: CLI, sandbox: str) -> None:
    # `sandlot exec -- yes | head -c 1`: like ssh, and like `yes | head -c 1`, the command
    # dies of SIGPIPE and that is our exit code; no `yes` is left running (leak check).
    proc = cli.popen("exec", sandbox, "--", "yes")
    assert proc.stdout is not None and proc.stderr is not None
    try:
        start = time.monotonic()
        assert os.read(proc.stdout.fileno(), 1) == b"y"
        proc.stdout.close()
        assert proc.wait(timeout=15) == 128 + signal.SIGPIPE
        assert time.monotonic() - start < 10
        assert proc.stderr.read() == b""
    finally:
        reap(proc)


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_a_closed_stdout_stops_a_command_that_ignores_sigpipe(cli: CLI, sandbox: str) -> None:
    # It keeps writing (its own pipe is not broken): its output is discarded, then it is
    # terminated like on --timeout, and its status (SIGTERM) is our exit code.
    proc = cli.popen("exec", sandbox, "--", "sh", "-c", "trap '' PIPE; exec yes")
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert os.read(proc.stdout.fileno(), 1) == b"y"
        proc.stdout.close()
        assert proc.wait(timeout=15) == 128 + signal.SIGTERM
        assert proc.stderr.read() == b""
    finally:
        reap(proc)


@pytest.fixture
def stuck_stdout() -> Iterator[int]:
    """The write end of a pipe nobody reads: a stdout that blocks once the pipe is full."""
    r, w = os.pipe()
    try:
        yield w
    finally:
        os.close(w)
        os.close(r)


def popen_stuck(cli: CLI, stdout: int, *args: str) -> subprocess.Popen[bytes]:
    """Start ``sandlot *args`` writing to ``stdout`` (a stuck pipe); stderr is piped."""
    return subprocess.Popen(
        cli.argv(*args),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=cli.env,
    )


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_timeout_fires_while_our_stdout_is_stuck(cli: CLI, sandbox: str, stuck_stdout: int) -> None:
    # A write blocking the event loop would stop the timer (and the SSH connection) too.
    start = time.monotonic()
    proc = popen_stuck(cli, stuck_stdout, "exec", sandbox, "--timeout", "1", "--", "yes")
    try:
        assert proc.wait(timeout=15) == 124
        assert time.monotonic() - start < 10
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        reap(proc)
    result = subprocess.CompletedProcess(proc.args, 124, b"", err)
    assert one_error_line(result) == "timed out after 1s; the command was killed"


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_sigterm_is_handled_while_our_stdout_is_stuck(
    cli: CLI, sandbox: str, stuck_stdout: int
) -> None:
    proc = popen_stuck(
        cli, stuck_stdout, "exec", sandbox, "--", "sh", "-c", "echo started >&2; exec yes"
    )
    try:
        read_until(proc.stderr, b"started\n")
        time.sleep(0.5)  # not a synchronisation: gives `yes` the time to fill the pipe
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        reap(proc)


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_a_background_child_holding_the_output_does_not_hang_us(cli: CLI, sandbox: str) -> None:
    # `sleep` inherits stdout and stays silent: once the command exited and nothing came
    # for a while, the group is swept (the leak check proves `sleep` is gone).
    start = time.monotonic()
    r = cli.run("exec", sandbox, "--", "sh", "-c", "sleep 60 & echo done")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"done\n", b"")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_a_background_child_still_writing_is_delivered(cli: CLI, sandbox: str) -> None:
    # Output that keeps coming after the exit is not a held pipe: it is all delivered.
    script = "(for i in 1 2 3 4 5 6; do sleep 0.4; echo $i; done) & echo first"
    r = cli.run("exec", sandbox, "--", "sh", "-c", script)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"first\n1\n2\n3\n4\n5\n6\n", b"")


@pytest.mark.parametrize("sandbox", QUICK, indirect=True)
def test_an_escaped_grandchild_holding_the_output_does_not_hang_us(cli: CLI, sandbox: str) -> None:
    # setsid puts it beyond the group kill: we stop waiting for it all the same.
    pidfile = Path("/tmp") / f"sandlot-cli-escapee-{uuid.uuid4().hex}"
    start = time.monotonic()
    try:
        r = cli.run(
            "exec", sandbox, "--", "sh", "-c",
            f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 60' & echo done",
        )  # fmt: skip
        assert (r.returncode, r.stdout, r.stderr) == (0, b"done\n", b"")
        assert time.monotonic() - start < 15
    finally:
        for _ in range(100):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.05)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        pidfile.unlink()
