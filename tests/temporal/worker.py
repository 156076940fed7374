"""A Temporal worker for the tests, run as a process of its own (so that it can be
SIGKILLed): ``python worker.py ADDRESS TASK_QUEUE DELIVERIES``. It connects, then
waits for a line on stdin before it polls: the tests start a spare worker early (imports
take seconds on a loaded machine) and let it poll only once the first one is gone.

It runs the ``RunJob`` workflow and an activity around :func:`sandlot.temporal.run_job`
whose sink appends ``PID OFFSET LENGTH`` to the file DELIVERIES for every chunk, so the
test sees which worker delivered what. Prints ``connected``, then ``ready`` once it polls.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

with workflow.unsafe.imports_passed_through():
    from sandlot.temporal import JobRequest, JobResult, run_job

DELIVERIES = sys.argv[3] if __name__ == "__main__" else ""


def _append(line: str) -> None:
    with open(DELIVERIES, "a") as f:
        f.write(line)


@activity.defn(name="test.run_job")
async def run_job_logged(request: JobRequest) -> JobResult:
    async def sink(offset: int, data: bytes) -> None:
        _append(f"{os.getpid()} {offset} {len(data)}\n")

    return await run_job(request, sink=sink)


@workflow.defn(name="RunJob")
class RunJob:
    @workflow.run
    async def run(self, request: JobRequest) -> JobResult:
        return await workflow.execute_activity(
            run_job_logged,
            request,
            start_to_close_timeout=timedelta(minutes=5),
            # A dead worker is noticed after 3 s; a retry follows 0.2 s later.
            heartbeat_timeout=timedelta(seconds=3),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=0.2), maximum_attempts=5),
            # The workflow's end (cancelled) comes after the activity has stopped the job.
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )


async def main(address: str, queue: str) -> None:
    client = await Client.connect(address)
    print("connected", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    # The workflow is trivial and ours: no sandbox (it re-imports modules for every task).
    # No workflow cache, hence no sticky queue: the workflow's next task goes to any worker
    # at once, not first to a dead worker's queue (and to the others 5 s later).
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[RunJob],
        activities=[run_job_logged],
        max_cached_workflows=0,
        workflow_runner=UnsandboxedWorkflowRunner(),
        # Heartbeats reach the server every 0.5 s (not 0.8 x 3 s): a busy machine that
        # delays one by a second does not time a live worker's activity out.
        max_heartbeat_throttle_interval=timedelta(seconds=0.5),
    )
    async with worker:
        print("ready", flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
