"""Durable jobs: start a job, leave, and pick it up again by id from another process.

    python examples/job_runner.py [SANDBOX_URL]                       # default: local
    python examples/job_runner.py [SANDBOX_URL] --attach JOB_ID CURSOR

The first form starts a job, reads its first line, remembers the cursor and exits by
handing over to a brand-new Python process (the second form), which re-attaches by id,
follows the output from that cursor to the end and removes the job.
"""

from __future__ import annotations

import subprocess
import sys

import anyio

import sandlot

SCRIPT = "for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done; exit 3"


async def start(url: str) -> tuple[str, int]:
    async with sandlot.open_sandbox(url) as sb:
        handle = await sb.jobs.start("sh", ["-c", SCRIPT])
        print(f"started job {handle.id}")
        cursor = 0
        with anyio.fail_after(30):
            while True:
                chunk = await sb.jobs.read(handle, cursor, wait=1.0)
                cursor = chunk.cursor
                if chunk.data:
                    print(f"first output: {chunk.data.decode().splitlines()[0]}")
                    cursor = chunk.data.index(b"\n") + 1
                    break
    return handle.id, cursor  # the connection is closed: the job keeps running


async def reattach(url: str, job_id: str, cursor: int) -> None:
    async with sandlot.open_sandbox(url) as sb:
        handle = await sb.jobs.attach(job_id)
        print(f"re-attached to {job_id} at byte {cursor}")
        status = None
        async for chunk in sb.jobs.follow(handle, cursor, poll=0.5):
            for line in chunk.data.decode().splitlines():
                print(f"later output: {line}")
            status = chunk.status
        if status is None or status.running:
            status = await sb.jobs.status(handle)
        print(f"job ended: {status}")
        await sb.jobs.remove(handle)


def main() -> None:
    args = sys.argv[1:]
    url = args[0] if args and args[0] != "--attach" else "local"
    if "--attach" in args:
        i = args.index("--attach")
        anyio.run(reattach, url, args[i + 1], int(args[i + 2]))
        return
    job_id, cursor = anyio.run(start, url)
    sys.stdout.flush()
    # A different process, with nothing but the id and the cursor.
    again = [sys.executable, __file__, url, "--attach", job_id, str(cursor)]
    sys.exit(subprocess.run(again, check=False).returncode)


if __name__ == "__main__":
    main()
