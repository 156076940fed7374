"""Terminals the server keeps: they live as long as the server does, outlive the
WebSocket that watches them, and keep their recent output for a client that reattaches."""

from __future__ import annotations

import secrets
import time

import anyio

from .._errors import JobStillRunning, UnknownJob
from .._process import Terminal
from .._records import ExitStatus

__all__ = ["LiveTerminal", "Terminals"]

#: Output kept for a client that reattaches, per terminal.
RECENT_BYTES = 256 << 10


class LiveTerminal:
    """One terminal and its recent output. Offsets count every byte it ever wrote: a
    cursor older than what is kept reads from the oldest byte still kept."""

    def __init__(self, term: Terminal, cwd: str | None) -> None:
        self.id = "t" + time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)
        self.term = term
        self.cwd = cwd
        self.created = time.time()
        self._recent = bytearray()
        self.start = 0  # offset of _recent[0]
        self.end = 0
        self.output_done = False
        self.status: ExitStatus | None = None
        self._changed = anyio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def pump(self) -> None:
        """Read the output for as long as there is some, then the exit status."""
        try:
            async for chunk in self.term.output:
                self._recent += chunk
                self.end += len(chunk)
                if len(self._recent) > RECENT_BYTES:
                    drop = len(self._recent) - RECENT_BYTES
                    del self._recent[:drop]
                    self.start += drop
                self._notify()
        except Exception:  # a broken terminal ends like a closed one
            pass
        finally:
            self.output_done = True
            self._notify()
        self.status = await self.term.exit
        self._notify()

    def read(self, cursor: int, max_bytes: int) -> tuple[bytes, int, int]:
        """``(data, start, end)``: the kept bytes from ``cursor`` (or the oldest kept)."""
        cursor = min(cursor, self.end)
        begin = max(cursor, self.start)
        lo = begin - self.start
        data = bytes(self._recent[lo : lo + max_bytes])
        return data, begin, begin + len(data)

    async def wait_beyond(self, cursor: int) -> None:
        """Until there is output past ``cursor``, the output ended or the status came."""
        while self.end <= cursor and not self.output_done:
            await self._changed.wait()

    async def wait_status(self) -> ExitStatus:
        while self.status is None:
            await self._changed.wait()
        return self.status

    @property
    def running(self) -> bool:
        return self.status is None and self.term.returncode is None


class Terminals:
    """The server's terminals by id."""

    def __init__(self) -> None:
        self._by_id: dict[str, LiveTerminal] = {}

    def add(self, live: LiveTerminal) -> None:
        self._by_id[live.id] = live

    def get(self, pid: str) -> LiveTerminal | None:
        return self._by_id.get(pid)

    def require(self, pid: str) -> LiveTerminal:
        live = self._by_id.get(pid)
        if live is None:
            raise UnknownJob(f"no process {pid!r}")
        return live

    def remove(self, pid: str) -> None:
        live = self.require(pid)
        if live.running:
            raise JobStillRunning(f"process {pid!r} is still running; stop it first")
        del self._by_id[pid]

    def all(self) -> list[LiveTerminal]:
        return list(self._by_id.values())

    def running(self) -> int:
        return sum(1 for t in self._by_id.values() if t.running)

    async def aclose(self) -> None:
        for live in list(self._by_id.values()):
            await live.term.aclose()
        self._by_id.clear()
