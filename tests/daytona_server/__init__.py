"""Start the local Daytona stand-in (``app.py``) as a subprocess on a free port."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import attrs

APP = Path(__file__).with_name("app.py")
SANDBOX_ID = "sandbox-test-1"
SANDBOX_NAME = "sandlot-test"


@attrs.frozen
class LocalDaytona:
    """A running server: point the SDK at ``api_url`` with ``api_key``."""

    api_url: str
    api_key: str = attrs.field(repr=False)
    proc: subprocess.Popen[bytes] = attrs.field(repr=False)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def start(env: dict[str, str], child_env: dict[str, str], rtt_ms: float = 0) -> LocalDaytona:
    """Start a server with environment ``env``; the processes it runs get ``child_env``;
    ``rtt_ms`` simulates a network round trip (see app.py)."""
    key = secrets.token_hex(16)
    args = [sys.executable, str(APP), "--api-key", key, "--rtt-ms", str(rtt_ms)]
    for name, value in child_env.items():
        args += ["--child-env", f"{name}={value}"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("PORT "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the local Daytona server did not start: {line!r}")
    port = int(line.split()[1])
    return LocalDaytona(api_url=f"http://127.0.0.1:{port}/api", api_key=key, proc=proc)
