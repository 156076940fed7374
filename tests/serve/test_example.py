"""examples/serve_client.sh (sh + curl, no Python) against the session's server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from targets.serve import Server

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "serve_client.sh"


def test_the_curl_client_example(serve_server: Server) -> None:
    if shutil.which("curl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("curl is missing (CI=true: it must be installed)")
        pytest.skip("curl is not installed")
    done = subprocess.run(
        ["sh", str(SCRIPT), serve_server.base],
        env={**os.environ, "SANDLOT_TOKEN": serve_server.token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "run: exit 0, stdout Linux"
    assert re.fullmatch(r"process: [0-9]{8}-[0-9]{6}-[0-9a-f]{8}", lines[1])
    assert lines[2:] == ["got one", "got two", "bye", "status: exited, exit code 0", "deleted"]
