"""Running the ``sandlot`` command line as users do: a subprocess."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

LOOPS = ["asyncio", "trio"]


@attrs.frozen
class CLI:
    """``python -m sandlot`` on one event loop, with an isolated config."""

    loop: str
    env: dict[str, str]

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "sandlot", *args]

    def run(
        self, *args: str, input: bytes | None = b"", timeout: float = 30.0, **env: str
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            self.argv(*args),
            input=input,
            capture_output=True,
            timeout=timeout,
            env={**self.env, **env},
        )

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv(*args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """Where ``$SANDLOT_CONFIG`` points for this test (not created)."""
    return tmp_path / "config.toml"


@pytest.fixture(params=LOOPS)
def cli(request: pytest.FixtureRequest, config_file: Path) -> Iterator[CLI]:
    env = dict(os.environ)
    env.pop("SANDLOT_SANDBOX", None)
    env["SANDLOT_CONFIG"] = str(config_file)
    env["SANDLOT_CLI_ASYNC_BACKEND"] = str(request.param)
    yield CLI(str(request.param), env)


def one_error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    """The CLI's error: exactly one line ``sandlot: error: ...`` and no traceback."""
    err = result.stderr.decode()
    assert err.startswith("sandlot: error: "), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("sandlot: error: ").rstrip("\n")


#: Where the CLI runs commands: named sandboxes the ``sandbox`` fixture defines.
SANDBOXES = ["local", "ssh_root", "ssh_user", "daytona", "docker"]


@pytest.fixture(params=SANDBOXES)
def sandbox(request: pytest.FixtureRequest, config_file: Path, cli: CLI) -> str:
    """A SANDBOX argument: ``local``, a configured name for the test sshd (with real
    host-key checking) or the local Daytona stand-in, or the URL of the test container
    with ``$DOCKER_HOST`` naming its Engine, as the docker CLI's users have it (the
    backends' session fixtures)."""
    name = str(request.param)
    if name == "local":
        return name
    if name == "docker":
        dockerd = request.getfixturevalue("dockerd")
        cli.env["DOCKER_HOST"] = dockerd.host
        return f"docker://{dockerd.container}"
    if name == "daytona":
        import daytona_server

        server = request.getfixturevalue("daytona_local")
        cli.env["DAYTONA_API_KEY"] = server.api_key  # the SDK's variable: never in a file
        with open(config_file, "a") as f:
            f.write(
                f'[sandboxes.daytona]\nurl = "daytona://{daytona_server.SANDBOX_ID}"\n'
                f'api_url = "{server.api_url}"\ntarget = "local"\n'
            )
        return name
    from targets.ssh import TEST_USER

    sshd = request.getfixturevalue("sshd")
    with open(config_file, "a") as f:
        for entry, user in (("ssh_root", "root"), ("ssh_user", TEST_USER)):
            f.write(
                f"[sandboxes.{entry}]\n"
                f'url = "{sshd.url(user)}"\n'
                f'known_hosts = "{sshd.known_hosts}"\n'
                f'identity_file = "{sshd.client_key}"\n'
                "agent = false\nconfig = []\n"
            )
    return name


def read_until(stream: object, needle: bytes, deadline: float = 15.0) -> bytes:
    """Read from a pipe until ``needle`` shows up; fails after ``deadline`` seconds."""
    fd = stream.fileno()  # type: ignore[attr-defined]
    data = b""
    end = time.monotonic() + deadline
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while needle not in data:
            left = end - time.monotonic()
            assert left > 0, f"no {needle!r} within {deadline}s; got {data!r}"
            if sel.select(left):
                chunk = os.read(fd, 65536)
                assert chunk, f"EOF before {needle!r}; got {data!r}"
                data += chunk
    return data


def reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill a CLI process a test started and close its pipes."""
    proc.kill()
    proc.wait()
    for f in (proc.stdin, proc.stdout, proc.stderr):
        if f is not None:
            f.close()
