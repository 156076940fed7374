"""What the routes work on: the one sandbox, its jobs, the terminals, the limits."""

from __future__ import annotations

import time
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .._errors import JobLimitReached
from .._jobs import JobHandle, JobLimits, Jobs, JobStatus
from .._records import TerminalSize
from .._sandbox import Sandbox
from ._limits import Limits
from ._terminals import LiveTerminal, Terminals
from ._wire import exit_to_json

__all__ = ["Service"]


class Service:
    """The served sandbox. Non-tty managed processes are durable jobs (found again by
    any server on the same sandbox, and after a restart); terminals and attached spawns
    live in this server."""

    def __init__(self, sb: Sandbox, limits: Limits, jobs_root: str | None = None) -> None:
        self.sb = sb
        self.limits = limits
        self.jobs_root = jobs_root
        self.terminals = Terminals()
        self.attached = 0  # spawns bound to a WebSocket
        self.task_group: TaskGroup | None = None

    def live(self) -> int:
        return self.terminals.running() + self.attached

    def check_room(self) -> None:
        """Refuse one more server-held process past ``maxConcurrentProcesses``."""
        if self.live() >= self.limits.max_concurrent_processes:
            raise JobLimitReached(
                f"{self.live()} processes already run "
                f"(maxConcurrentProcesses={self.limits.max_concurrent_processes})"
            )

    def jobs(self) -> Jobs:
        """A jobs manager under the current limits (what this server holds counts; a
        start checks :meth:`check_room` first)."""
        room = max(1, self.limits.max_concurrent_processes - self.live())
        return Jobs(
            self.sb,
            root=self.jobs_root,
            limits=JobLimits(
                max_concurrent=room, max_log_bytes=self.limits.max_log_bytes_per_process
            ),
        )

    async def start_terminal(
        self, argv: tuple[str, ...], cwd: str | None, env: dict[str, str], size: TerminalSize
    ) -> LiveTerminal:
        self.check_room()
        assert self.task_group is not None
        term = await self.sb.pty(argv[0], list(argv[1:]), cwd=cwd, env=env, size=size)
        try:
            await term.ready
        except BaseException:
            with anyio.CancelScope(shield=True):
                await term.aclose()
            raise
        live = LiveTerminal(term, cwd)
        self.terminals.add(live)
        self.task_group.start_soon(live.pump)
        return live


def job_json(handle: JobHandle, status: JobStatus) -> dict[str, Any]:
    return {
        "id": handle.id,
        "argv": list(handle.argv),
        "cwd": handle.cwd,
        "tty": False,
        "streams": ["stdout", "stderr"] if handle.separate_streams else ["combined"],
        "status": status.state.value,
        **({"exitCode": None, "signal": None} | exit_to_json(status.exit)),
        "timedOut": status.timed_out,
        "logTruncated": status.log_truncated,
        "createdAtMs": int(handle.created * 1000),
    }


def terminal_json(live: LiveTerminal) -> dict[str, Any]:
    size = live.term.size
    status = live.status
    return {
        "id": live.id,
        "argv": list(live.term.argv),
        "cwd": live.cwd,
        "tty": True,
        "streams": ["combined"],
        "status": "running" if status is None else "exited",
        **({"exitCode": None, "signal": None} | exit_to_json(status)),
        "timedOut": False,
        "logTruncated": live.start > 0,
        "createdAtMs": int(live.created * 1000),
        "size": {"rows": size.rows, "cols": size.cols},
    }


def now_ms() -> int:
    return int(time.time() * 1000)
