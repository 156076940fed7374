"""Every script in examples/ runs and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from targets.postgres import Postgres

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
    tested |= {"shared_records.py"}
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


def test_shared_records_two_workers_on_postgres(postgres: Postgres) -> None:
    """Two processes, as two shells would: one creates and starts a job, the other finds
    the sandbox, opens it by sandlot id and follows the job."""
    db = postgres.new_database()
    made = run_example("shared_records.py", Where(db), "create", "local")
    assert (made.returncode, made.stderr) == (0, ""), made.stderr
    m = re.fullmatch(r"created (sb_[0-9a-f]{32}) \(local\), started job (\S+)\n", made.stdout)
    assert m, made.stdout
    sid, job = m.groups()
    r = run_example("shared_records.py", Where(db), "follow")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout.splitlines() == [
        f"found {sid}, job {job}, created by worker-1",
        *(f"job output: step {i}" for i in (1, 2, 3)),
        "job ended: exited (exit code 3)",
        f"{sid} is now stopped",
    ]
