"""sandlot.temporal against a real Temporal dev server, with worker processes: one is
SIGKILLed mid-job and another finishes the activity; a cancelled workflow leaves nothing
running. The sandbox is the local backend."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError

import sandlot
from sandlot.temporal import JobProgress, JobRequest, JobResult
from temporal_server import TemporalServer

from .conftest import Workers

T = TypeVar("T")
LINES = 20
# ~20 s: a line a second, a last line without a newline (and a two-byte character), and a
# status of its own. $0 is the counter file: one line per run of the command.
SCRIPT = (
    'echo run >> "$0"; i=1; while [ $i -le 20 ]; do printf "line %d of 20\\n" $i; '
    'i=$((i + 1)); sleep 1; done; printf "done: \\303\\251, no newline"; exit 7'
)
EXPECTED = b"".join(b"line %d of 20\n" % i for i in range(1, LINES + 1))
EXPECTED += "done: é, no newline".encode()


async def _append(into: list[T], value: Awaitable[T]) -> None:
    into.append(await value)


async def wait_for_heartbeat(run: WorkflowHandle[Any, Any], client: Client) -> int:
    """Until the server holds a heartbeat of the activity with a cursor past 0."""
    with anyio.fail_after(60):
        while True:
            described = await run.describe()
            for pending in described.raw_description.pending_activities:
                if pending.HasField("heartbeat_details"):
                    details = await client.data_converter.decode(pending.heartbeat_details.payloads)
                    progress = JobProgress.from_details(details[0]) if details else None
                    if progress is not None and progress.cursor > 0:
                        return progress.cursor
            await anyio.sleep(0.1)  # polling the server


async def wait_for_delivery(workers: Workers, size: int) -> None:
    """Until the workers have delivered the first ``size`` bytes to their sink."""
    with anyio.fail_after(60):
        while not any(o + n >= size for _, o, n in workers.delivered()):  # noqa: ASYNC110
            await anyio.sleep(0.05)


def processes_marked(mark: str) -> list[int]:
    """Live processes whose environment holds SANDLOT_TEST_MARK=mark."""
    needle = f"SANDLOT_TEST_MARK={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


async def test_a_worker_killed_mid_job_costs_neither_a_second_run_nor_output(
    temporal_server: TemporalServer, workers: Workers, tmp_path: Path
) -> None:
    counter = tmp_path / "counter"
    request = JobRequest(
        sandbox="local", argv=["sh", "-c", SCRIPT, str(counter)], jobs_root=str(tmp_path / "jobs")
    )
    client = await Client.connect(temporal_server.address)
    async with anyio.create_task_group() as tg:  # the spare worker imports meanwhile
        spare: list[subprocess.Popen[bytes]] = []
        tg.start_soon(lambda: _append(spare, workers.spawn()))
        first = await workers.start()
        run = await client.start_workflow(
            "RunJob",
            request,
            id=f"kill-{uuid.uuid4().hex}",
            task_queue=workers.queue,
            result_type=JobResult,
        )
        # Mid-job, once the server holds a heartbeat past the start of the output (so the
        # retry has a cursor to resume from), the worker dies without a word.
        await wait_for_heartbeat(run, client)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    [second] = spare
    await workers.go(second)
    with anyio.fail_after(90):
        result = await run.result()

    assert result.output == EXPECTED and result.output_complete
    assert (result.state, result.code, result.signal) == ("exited", 7, None)
    assert (result.timed_out, result.truncated, result.output_size) == (False, False, len(EXPECTED))
    # The second worker finished it (a busy machine may have timed out an attempt of the
    # first one too: its retry re-attached as well).
    assert result.attempt >= 2
    assert counter.read_bytes() == b"run\n"  # the command ran exactly once
    # At least once, with no gap: the second worker resumed from the first's last
    # heartbeat (not from 0), at or before where the first stopped delivering. (A busy
    # machine may have retried an attempt on the first worker too, likewise.)
    delivered = workers.delivered()
    assert {pid for pid, _, _ in delivered} == {first.pid, second.pid}
    firsts = [(o, n) for pid, o, n in delivered if pid == first.pid]
    seconds = [(o, n) for pid, o, n in delivered if pid == second.pid]
    assert 0 < seconds[0][0] <= max(o + n for o, n in firsts)
    end = 0
    for o, n in sorted((o, n) for _, o, n in delivered):
        assert o <= end, f"nothing delivered bytes {end}..{o}"
        end = max(end, o + n)
    assert end == sum(seconds[-1]) == len(EXPECTED)


async def test_cancelling_the_workflow_stops_the_whole_job(
    temporal_server: TemporalServer, workers: Workers, tmp_path: Path
) -> None:
    mark = uuid.uuid4().hex
    # A child in the background (the job's tree, not only its command) and a TERM-proof one.
    script = "sleep 300 & sh -c 'trap \"\" TERM; sleep 300' & echo started; wait"
    request = JobRequest(
        sandbox="local",
        argv=["sh", "-c", script],
        env={"SANDLOT_TEST_MARK": mark},
        jobs_root=str(tmp_path / "jobs"),
        kill_grace=0.5,
    )
    client = await Client.connect(temporal_server.address)
    await workers.start()
    run = await client.start_workflow(
        "RunJob",
        request,
        id=f"cancel-{uuid.uuid4().hex}",
        task_queue=workers.queue,
        result_type=JobResult,
    )
    await wait_for_delivery(workers, len(b"started\n"))
    assert len(processes_marked(mark)) >= 3
    await run.cancel()
    with anyio.fail_after(60), pytest.raises(WorkflowFailureError) as failure:
        await run.result()
    assert isinstance(failure.value.cause, CancelledError)
    # The workflow ended once the activity had stopped the job: nothing of it is left.
    assert processes_marked(mark) == []
    async with sandlot.open_sandbox("local") as sb:
        [info] = await sandlot.Jobs(sb, root=request.jobs_root).list()
    assert info.status.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
