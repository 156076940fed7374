"""Every script in examples/ runs and prints what it promises."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from temporal_server import TemporalServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Not yet "daytona": under load the stand-in intermittently drops the log WebSocket
# ("No PONG received after 10.0 seconds") and quickstart's spawn hangs; reported.
URLS = ["local", "ssh_user"]


@attrs.frozen
class Where:
    """A sandbox URL for the examples, and the environment that makes it reachable."""

    url: str
    env: dict[str, str] = attrs.field(factory=dict)


def run_example(
    name: str, where: Where, *args: str, input: bytes = b""
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SANDLOT_SANDBOX", None)
    env.update(where.env)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), where.url, *args],
        input=input.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture(params=URLS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    """``local``, or a plain ssh:// URL reached the way users do: through ~/.ssh/config
    (here a private $HOME pointing at the test sshd's key and known_hosts)."""
    if request.param == "local":
        return Where("local")
    if request.param == "daytona":  # configured the SDK's way: environment variables
        import daytona_server

        server = request.getfixturevalue("daytona_local")
        env = {"DAYTONA_API_KEY": server.api_key, "DAYTONA_API_URL": server.api_url}
        return Where(f"daytona://{daytona_server.SANDBOX_ID}", {**env, "DAYTONA_TARGET": "local"})
    from targets.ssh import TEST_USER

    sshd = request.getfixturevalue("sshd")
    dot_ssh = tmp_path / "home" / ".ssh"
    dot_ssh.mkdir(parents=True)
    (dot_ssh / "config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {sshd.client_key}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {sshd.known_hosts}\n"
    )
    return Where(sshd.url(TEST_USER), {"HOME": str(tmp_path / "home"), "SSH_AUTH_SOCK": ""})


def test_every_example_is_tested() -> None:
    tested = {"quickstart.py", "repl_bridge.py", "test_runner.py", "ssh_like_client.py"}
    tested |= {"temporal_worker.py"}
    tested |= {"job_runner.py"} if (EXAMPLES / "job_runner.py").exists() else set()
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_quickstart(where: Where) -> None:
    r = run_example("quickstart.py", where)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout == (
        "exec: stdout=b'hello from sh\\n' stderr=b'oops\\n' exit=exit code 3\n"
        "spawn: [b'apple', b'fig', b'pear'] exit code 0\n"
        "pty: stty size says 40 132; exit code 7\n"
    )


def test_repl_bridge(where: Where) -> None:
    r = run_example("repl_bridge.py", where)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout == (
        "x = 6 * 7 -> ''\n"
        "x -> '42'\n"
        "import sys; sys.stdin.isatty() -> 'True'\n"
        "'é' * 3 -> \"'ééé'\"\n"
        "repl ended: exit code 4\n"
    )


def test_test_runner_streams_both_streams_and_passes_the_exit_code(where: Where) -> None:
    r = run_example("test_runner.py", where)
    assert (r.returncode, r.stderr) == (1, "")
    lines = r.stdout.splitlines()
    assert "[out] progress from test_one" in lines
    assert "[err] AssertionError: 54 != 42 : the question was wrong" in lines
    assert "[err] FAILED (failures=1)" in lines
    assert any(re.fullmatch(r"\[err\] test_two \(.*\) \.\.\. ok", line) for line in lines)
    assert lines[-1] == "test run finished: exit code 1"


def test_ssh_like_client_scripted(where: Where) -> None:
    r = run_example("ssh_like_client.py", where, "sh", input=b"echo $((6*7))\nexit 3\n")
    assert r.returncode == 3, r.stderr
    assert r.stderr == ""
    assert re.search(r"(^|[$#] )42$", r.stdout, re.MULTILINE), r.stdout


def test_job_runner_reattaches_from_another_process(where: Where) -> None:
    r = run_example("job_runner.py", where)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    lines = r.stdout.splitlines()
    job = lines[0].removeprefix("started job ")
    assert lines == [
        f"started job {job}",
        "first output: tick 1",
        f"re-attached to {job} at byte 7",
        *(f"later output: tick {i}" for i in range(2, 6)),
        "job ended: exited (exit code 3)",
    ]


def test_temporal_worker_runs_a_command_through_a_workflow(
    temporal_server: TemporalServer, tmp_path: Path
) -> None:
    """A worker in one process, a workflow started from another, as the docstring says
    (the killed-worker story is tests/temporal's)."""
    where = ["--address", temporal_server.address, "--task-queue", f"q-{os.getpid()}"]
    example = [sys.executable, str(EXAMPLES / "temporal_worker.py"), *where]
    worker = subprocess.Popen([*example, "worker"], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        assert (
            worker.stdout.readline()
            == f"worker {worker.pid} polling task queue 'q-{os.getpid()}'\n"
        )
        script = "echo one; printf 'two\\n'; printf 'no newline'; exit 3"
        run = ["run", "--workflow-id", "example-run", "--jobs-root", str(tmp_path)]
        r = subprocess.run(
            [*example, *run, "local", "--", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert (r.returncode, r.stderr) == (3, ""), r.stderr
        job = r.stdout.splitlines()[-1].split()[1]
        assert r.stdout == (
            f"started workflow example-run on task queue 'q-{os.getpid()}'\none\ntwo\nno newline\n"
            f"job {job} ended: exit code 3 (attempts: 1)\n"
        )
        assert job.startswith("temporal-example-run-1-")
        worker.send_signal(signal.SIGINT)  # Ctrl-C
        assert worker.wait(timeout=30) == 0
        assert worker.stdout.read() == "worker stopped\n"
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()
