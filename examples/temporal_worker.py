"""Sandbox commands as Temporal activities: a worker dies, another finishes the job.

    temporal server start-dev                      # a Temporal dev cluster on localhost:7233
    python examples/temporal_worker.py worker      # in two (or more) terminals, any machines
    python examples/temporal_worker.py run SANDBOX_URL -- CMD [ARG...]

``worker`` polls the task queue and runs the ``SandboxJob`` workflow and sandlot's
``sandlot.run_job`` activity until Ctrl-C. ``run`` starts one workflow that runs CMD in
the sandbox (``local``, ``ssh://user@host``, ``docker://container``...), waits for it,
writes the command's output and exits with its status. Kill (``kill -9``) the worker that
holds the activity: after the heartbeat timeout (``--heartbeat-timeout``, default 10 s)
another worker re-attaches to the same job and the output still arrives whole, the
command having run once. Options: ``--address`` (default ``$TEMPORAL_ADDRESS`` or
``localhost:7233``), ``--task-queue`` (default ``sandlot-jobs``). Needs
``pip install 'sandlot[temporal]'``; Temporal's SDK runs on asyncio only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from sandlot.temporal import JobRequest, JobResult, run_job_activity


@workflow.defn(name="SandboxJob")
class SandboxJob:
    """Run one command in a sandbox; retried on another worker if this one is lost."""

    @workflow.run
    async def run(self, request: JobRequest, heartbeat_timeout: float = 10.0) -> JobResult:
        return await workflow.execute_activity(
            run_job_activity,
            request,
            start_to_close_timeout=timedelta(hours=12),
            # How long a worker may be silent before the activity moves to another one.
            heartbeat_timeout=timedelta(seconds=heartbeat_timeout),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            # A cancelled workflow ends once the job has been stopped in the sandbox.
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )


async def serve(client: Client, queue: str) -> None:
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[SandboxJob],
        activities=[run_job_activity],
        # Heartbeats reach the server every second (by default every 0.8 x the heartbeat
        # timeout), so that a short timeout does not move a busy worker's activities.
        max_heartbeat_throttle_interval=timedelta(seconds=1),
    )
    print(f"worker {os.getpid()} polling task queue {queue!r}", flush=True)
    await worker.run()


async def start(client: Client, queue: str, args: argparse.Namespace) -> int:
    request = JobRequest(
        sandbox=args.sandbox, argv=args.command, cwd=args.cwd, jobs_root=args.jobs_root
    )
    workflow_id = args.workflow_id or f"sandbox-job-{uuid.uuid4().hex[:12]}"
    handle = await client.start_workflow(
        SandboxJob.run,
        args=[request, args.heartbeat_timeout],
        id=workflow_id,
        task_queue=queue,
    )
    print(f"started workflow {workflow_id} on task queue {queue!r}", flush=True)
    result = await handle.result()
    sys.stdout.buffer.write(result.output)
    sys.stdout.buffer.flush()
    if result.output and not result.output.endswith(b"\n"):
        print()
    if not result.output_complete:
        print(f"[only the last {len(result.output)} of {result.output_size} bytes]")
    ended = f"exit code {result.code}" if result.code is not None else result.signal
    if result.state != "exited":
        ended = result.state
    print(f"job {result.job_id} ended: {ended} (attempts: {result.attempt})", flush=True)
    if result.returncode is None:
        return 1
    return result.returncode if result.returncode >= 0 else 128 - result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    parser.add_argument("--task-queue", default="sandlot-jobs")
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("worker", help="run a worker until Ctrl-C")
    run = sub.add_parser("run", help="run CMD in SANDBOX_URL through a workflow")
    run.add_argument("sandbox", metavar="SANDBOX_URL")
    run.add_argument("command", nargs="+", metavar="CMD")
    run.add_argument("--cwd")
    run.add_argument("--jobs-root", help="where the jobs live (default ~/.sandlot/jobs)")
    run.add_argument("--workflow-id")
    run.add_argument("--heartbeat-timeout", type=float, default=10.0, metavar="SECONDS")
    args = parser.parse_args()

    async def go() -> int:
        client = await Client.connect(args.address)
        if args.mode == "worker":
            await serve(client, args.task_queue)
            return 0
        return await start(client, args.task_queue, args)

    try:
        code = asyncio.run(go())
    except KeyboardInterrupt:
        print("worker stopped", flush=True)
        code = 0
    sys.stdout.flush()
    # Skip the interpreter's teardown: the SDK's threads may still touch it there and
    # abort the process (temporalio/sdk-python#300), turning our exit status into 134.
    os._exit(code)


if __name__ == "__main__":
    main()
