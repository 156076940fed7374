"""Fixtures for the Temporal tests: asyncio only, and worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import attrs
import pytest

from temporal_server import TemporalServer

WORKER = Path(__file__).with_name("worker.py")

try:
    import temporalio  # noqa: F401
except ImportError:  # not installed: skipped, except in CI, where it must be
    if os.environ.get("CI") == "true":
        raise
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Temporal's Python SDK runs on asyncio only


@attrs.define
class Workers:
    """Worker processes (tests/temporal/worker.py) on one private task queue; each
    appends what it delivers to ``deliveries`` (``PID OFFSET LENGTH`` lines)."""

    server: TemporalServer
    queue: str
    deliveries: Path
    procs: list[subprocess.Popen[bytes]] = attrs.field(factory=list)

    async def spawn(self) -> subprocess.Popen[bytes]:
        """A worker process, connected to the server but not yet polling (see :meth:`go`)."""
        argv = [sys.executable, str(WORKER), self.server.address, self.queue]
        proc = subprocess.Popen(  # noqa: ASYNC220  (returns at once)
            [*argv, str(self.deliveries)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.procs.append(proc)
        await self._expect(proc, b"connected\n")
        return proc

    async def go(self, proc: subprocess.Popen[bytes]) -> None:
        """Let a spawned worker poll; return once it does."""
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        await self._expect(proc, b"ready\n")

    async def start(self) -> subprocess.Popen[bytes]:
        proc = await self.spawn()
        await self.go(proc)
        return proc

    @staticmethod
    async def _expect(proc: subprocess.Popen[bytes], line: bytes) -> None:
        assert proc.stdout is not None
        with anyio.fail_after(60):
            got = await anyio.to_thread.run_sync(proc.stdout.readline, abandon_on_cancel=True)
        assert got == line, got

    def delivered(self) -> list[tuple[int, int, int]]:
        """``(pid, offset, length)`` of every chunk delivered so far, in order."""
        if not self.deliveries.exists():
            return []
        lines = self.deliveries.read_text().splitlines()
        return [(int(p), int(o), int(n)) for p, o, n in (line.split() for line in lines)]


@pytest.fixture
def workers(temporal_server: TemporalServer, tmp_path: Path) -> Iterator[Workers]:
    found = Workers(temporal_server, f"q-{uuid.uuid4().hex}", tmp_path / "deliveries")
    yield found
    for proc in found.procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
