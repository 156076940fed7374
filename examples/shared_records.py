"""Workers sharing sandbox records: one creates a sandbox and starts a job in it; another
(another process, or another machine) finds the sandbox in the records, opens it by its
sandlot id and follows the job to its end.

    python examples/shared_records.py DB create [SANDBOX_URL]    # default: local
    python examples/shared_records.py DB follow

DB is what every worker shares: a PostgreSQL URL (``postgresql://user@host/db``), or a
SQLite file when they all run on one machine. Run ``create`` in one shell and ``follow``
in another.
"""

from __future__ import annotations

import sys

import anyio

import sandlot

PURPOSE = "shared-records-example"
SCRIPT = "for i in 1 2 3; do echo step $i; sleep 0.2; done; exit 3"


async def create(db: str, url: str) -> None:
    async with sandlot.SandboxRegistry(db) as records:
        record = await records.create(url, purpose=PURPOSE, labels={"owner": "worker-1"})
        async with records.open(record.id) as sb:
            job = await sb.jobs.start("sh", ["-c", SCRIPT])
        # Tell the other workers which job: a compare-and-set on the record, so that a
        # concurrent change by someone else is never overwritten.
        record = await records.get(record.id)
        await records.compare_and_set(record, labels={**record.labels, "job": job.id})
        print(f"created {record.id} ({record.provider}), started job {job.id}")


async def follow(db: str) -> None:
    async with sandlot.SandboxRegistry(db) as records:
        found = await records.list(purpose=PURPOSE, status="active", label="job")
        if not found:
            sys.exit("no active sandbox with a job: run 'create' first")
        record = found[-1]  # the newest
        job_id = record.labels["job"]
        print(f"found {record.id}, job {job_id}, created by {record.labels['owner']}")
        async with records.open(record.id) as sb:
            handle = await sb.jobs.attach(job_id)
            status = None
            async for chunk in sb.jobs.follow(handle, poll=0.2):
                for line in chunk.data.decode().splitlines():
                    print(f"job output: {line}")
                status = chunk.status
            if status is None or status.running:
                status = await sb.jobs.status(handle)
            print(f"job ended: {status}")
            await sb.jobs.remove(handle)
        stopped = await records.stop(record.id)
        print(f"{stopped.id} is now {stopped.status}")


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] not in ("create", "follow"):
        sys.exit(__doc__)
    db, verb = sys.argv[1], sys.argv[2]
    if verb == "create":
        anyio.run(create, db, sys.argv[3] if len(sys.argv) > 3 else "local")
    else:
        anyio.run(follow, db)


if __name__ == "__main__":
    main()
