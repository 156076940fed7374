"""run_job under Temporal's ActivityEnvironment (no server): what each kind of
cancellation does to the job, at each step. The sandbox is the local backend."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from temporalio.activity import ActivityCancellationDetails
from temporalio.testing import ActivityEnvironment

import sandlot
from sandlot import Jobs
from sandlot.temporal import JobProgress, JobRequest, JobResult, run_job

pytestmark = pytest.mark.timeout(60)


def attempt(
    number: int, heartbeats: list[Any], progressed: asyncio.Event | None = None
) -> ActivityEnvironment:
    """An activity attempt; its heartbeats are appended to ``heartbeats``, and it starts
    from the last one there (as the server would hand it over). ``progressed`` is set at
    its first heartbeat with a cursor past 0."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, attempt=number, heartbeat_details=heartbeats[-1:] and [heartbeats[-1][0]]
    )

    def on_heartbeat(*details: Any) -> None:
        heartbeats.append(details)
        progress = JobProgress.from_details(details[0])
        if progressed is not None and progress is not None and progress.cursor > 0:
            progressed.set()

    env.on_heartbeat = on_heartbeat
    return env


async def job_status(root: Path) -> sandlot.JobStatus:
    async with sandlot.open_sandbox("local") as sb:
        [info] = await Jobs(sb, root=str(root)).list()
    return info.status


async def test_a_start_cancelled_by_a_timeout_still_starts_the_job_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attempt cancelled (timed out: the server gave the activity to another worker)
    while its launch is in flight lets the launch finish rather than undo it: the next
    attempt adopts the job, and the command runs once."""
    launched = asyncio.Event()
    proceed = asyncio.Event()
    launch = Jobs._launch

    async def slow_reply(self: Jobs, *args: Any) -> list[str]:
        tokens = await launch(self, *args)
        launched.set()  # the job runs; its launcher's reply is still on its way
        await proceed.wait()
        return tokens

    monkeypatch.setattr(Jobs, "_launch", slow_reply)
    script = 'echo run >> "$0/counter"; echo out; exit 4'
    request = JobRequest(
        sandbox="local", argv=["sh", "-c", script, str(tmp_path)], jobs_root=str(tmp_path / "j")
    )
    heartbeats: list[Any] = []
    first = attempt(1, heartbeats)
    task = asyncio.ensure_future(first.run(run_job, request))
    await launched.wait()
    first.cancel(ActivityCancellationDetails(timed_out=True))
    proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.setattr(Jobs, "_launch", launch)
    result: JobResult = await attempt(2, heartbeats).run(run_job, request)
    assert (result.output, result.code, result.attempt) == (b"out\n", 4, 2)
    assert (tmp_path / "counter").read_bytes() == b"run\n"


async def test_a_worker_shutdown_leaves_the_job_to_the_next_attempt(tmp_path: Path) -> None:
    """Mid-job, a worker shutting down ends the attempt, not the job; the next attempt
    resumes delivery from the last heartbeat's cursor."""
    script = 'echo first; while [ ! -e "$0/go" ]; do sleep 0.05; done; echo second'
    request = JobRequest(
        sandbox="local", argv=["sh", "-c", script, str(tmp_path)], jobs_root=str(tmp_path / "j")
    )
    heartbeats: list[Any] = []
    delivered: list[tuple[int, bytes]] = []

    async def sink(offset: int, data: bytes) -> None:
        delivered.append((offset, data))

    progressed = asyncio.Event()
    first = attempt(1, heartbeats, progressed)
    task = asyncio.ensure_future(first.run(run_job, request, sink=sink))
    await progressed.wait()
    first.cancel(ActivityCancellationDetails(worker_shutdown=True))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await job_status(tmp_path / "j")).running
    (tmp_path / "go").touch()
    result = await attempt(2, heartbeats).run(run_job, request, sink=sink)
    assert result.output == b"first\nsecond\n"
    assert delivered == [(0, b"first\n"), (6, b"second\n")]


async def test_a_cancel_the_workflow_asked_for_stops_the_job(tmp_path: Path) -> None:
    request = JobRequest(
        sandbox="local",
        argv=["sh", "-c", "echo up; sleep 300 & wait"],
        jobs_root=str(tmp_path / "j"),
        kill_grace=0.3,
    )
    heartbeats: list[Any] = []
    progressed = asyncio.Event()
    first = attempt(1, heartbeats, progressed)
    task = asyncio.ensure_future(first.run(run_job, request))
    await progressed.wait()
    first.cancel()  # cancel_requested
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await job_status(tmp_path / "j")).exit == sandlot.ExitStatus(signal=15)
