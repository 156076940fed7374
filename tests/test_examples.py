"""Every script in examples/ runs and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
URLS = ["local"]


def run_example(name: str, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SANDLOT_SANDBOX", None)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        input=input.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture(params=URLS)
def url(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_example_is_tested() -> None:
    tested = {"quickstart.py", "repl_bridge.py", "test_runner.py", "ssh_like_client.py"}
    tested |= {"job_runner.py"} if (EXAMPLES / "job_runner.py").exists() else set()
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_quickstart(url: str) -> None:
    r = run_example("quickstart.py", url)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (
        "exec: stdout=b'hello from sh\\n' stderr=b'oops\\n' exit=exit code 3\n"
        "spawn: [b'apple', b'fig', b'pear'] exit code 0\n"
        "pty: stty size says 40 132; exit code 7\n"
    )


def test_repl_bridge(url: str) -> None:
    r = run_example("repl_bridge.py", url)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (
        "x = 6 * 7 -> ''\n"
        "x -> '42'\n"
        "import sys; sys.stdin.isatty() -> 'True'\n"
        "'é' * 3 -> \"'ééé'\"\n"
        "repl ended: exit code 4\n"
    )


def test_test_runner_streams_both_streams_and_passes_the_exit_code(url: str) -> None:
    r = run_example("test_runner.py", url)
    assert (r.returncode, r.stderr) == (1, "")
    lines = r.stdout.splitlines()
    assert "[out] progress from test_one" in lines
    assert "[err] AssertionError: 54 != 42 : the question was wrong" in lines
    assert "[err] FAILED (failures=1)" in lines
    assert any(re.fullmatch(r"\[err\] test_two \(.*\) \.\.\. ok", line) for line in lines)
    assert lines[-1] == "test run finished: exit code 1"


def test_ssh_like_client_scripted(url: str) -> None:
    r = run_example("ssh_like_client.py", url, "sh", input=b"echo $((6*7))\nexit 3\n")
    assert r.returncode == 3, r.stderr
    assert r.stderr == ""
    assert re.search(r"^42$", r.stdout, re.MULTILINE), r.stdout


def test_job_runner_reattaches_from_another_process(url: str) -> None:
    r = run_example("job_runner.py", url)
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    job = lines[0].removeprefix("started job ")
    assert lines == [
        f"started job {job}",
        "first output: tick 1",
        f"re-attached to {job} at byte 7",
        *(f"later output: tick {i}" for i in range(2, 6)),
        "job ended: exited (exit code 3)",
    ]
