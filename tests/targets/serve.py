"""``sandlot serve local`` as a conformance target, through the ``sandlot+http`` backend.

Each pytest process (each xdist worker too) starts its own server on a free port of
127.0.0.1, with a token and its own ``HOME`` (so its jobs are its own). The server
itself is untagged infrastructure; the processes it starts carry the leak tag (set in
its environment after it started, which /proc/PID/environ does not show), so the leak
check sees anything a test leaves running behind the server.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import attrs
import pytest

import sandlot
from sandlot.http import HttpOptions

from . import LEAK_TAG, LEAK_TAG_VAR, Target, infrastructure_env

__all__ = ["Server", "serve_server", "start_server", "target_sandlot_http"]
TARGETS = ["target_sandlot_http"]
#: The target's id in test ids and $SANDLOT_TEST_TARGETS (a fixture name has no "+").
IDS = {"target_sandlot_http": "sandlot+http"}

# Tag what the server starts, not the server: /proc/PID/environ keeps the environment
# the process started with; os.environ (putenv) is what its children get.
_BOOT = (
    "import os, sys; os.environ[sys.argv.pop(1)] = sys.argv.pop(1); "
    "from sandlot._cli import main; sys.exit(main(sys.argv[1:]))"
)


@attrs.frozen
class Server:
    """A running ``sandlot serve``."""

    port: int
    token: str = attrs.field(repr=False)
    home: str
    proc: subprocess.Popen[bytes] = attrs.field(eq=False)
    log: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"sandlot+http://127.0.0.1:{self.port}"

    def options(self) -> HttpOptions:
        return HttpOptions(token=self.token)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(
    workdir: str,
    *extra: str,
    token: str | None = None,
    home: str | None = None,
    backend: str = "asyncio",
    port: int = 0,
) -> Server:
    """Start ``sandlot serve local`` on 127.0.0.1 and wait until it listens."""
    token = token or secrets.token_urlsafe(16)
    home = home or tempfile.mkdtemp(dir=workdir, prefix="home-")
    token_file = os.path.join(workdir, f"token-{secrets.token_hex(4)}")
    with open(token_file, "w") as f:
        f.write(token)
    log = os.path.join(workdir, f"serve-{secrets.token_hex(4)}.log")
    env = infrastructure_env() | {"HOME": home, "SANDLOT_CLI_ASYNC_BACKEND": backend}
    argv = [sys.executable, "-c", _BOOT, LEAK_TAG_VAR, LEAK_TAG, "serve", "local"]
    argv += ["--listen", f"127.0.0.1:{port}", "--token-file", token_file, *extra]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(log, "rb") as f:
            found = re.search(rb"on http://127\.0\.0\.1:(\d+)", f.read())
        if found:
            return Server(int(found.group(1)), token, home, proc, log)
        if proc.poll() is not None:
            break
        time.sleep(0.02)  # the server's first line: nothing else to wait on
    proc.kill()
    with open(log, "rb") as f:
        raise RuntimeError(f"sandlot serve did not start: {f.read().decode(errors='replace')}")


@pytest.fixture(scope="session")
def serve_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(str(tmp_path_factory.mktemp("serve")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def target_sandlot_http(serve_server: Server) -> Target:
    options = {"sandlot+http": serve_server.options(), "kill_grace": 0.2}
    url = serve_server.url
    return Target(name="sandlot+http", open=lambda: sandlot.open_sandbox(url, **options))
