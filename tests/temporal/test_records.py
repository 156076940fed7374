"""The plain parts of sandlot.temporal, without a server: job ids, records, the file sink."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from sandlot._jobs._records import check_job_id
from sandlot.temporal import FileSink, JobProgress, JobRequest, JobResult, job_id_for


def test_job_ids_are_stable_per_activity_and_distinct_otherwise() -> None:
    base = job_id_for("build-42", "1", run_id="r1", namespace="default")
    assert base == job_id_for("build-42", "1", run_id="r1", namespace="default")
    assert base.startswith("temporal-build-42-1-")
    others = {
        job_id_for("build-42", "2", run_id="r1", namespace="default"),
        job_id_for("build-42", "1", run_id="r2", namespace="default"),
        job_id_for("build-42", "1", run_id="r1", namespace="prod"),
        job_id_for("build-43", "1", run_id="r1", namespace="default"),
        # the separator cannot be forged by the parts
        job_id_for("build-42\0r1", "1", run_id="", namespace="default"),
    }
    assert base not in others and len(others) == 5
    for workflow_id in ("../../etc", "é/ü " * 300, "..", "-", "a" * 1000, ""):
        check_job_id(job_id_for(workflow_id, "1/2", run_id="x"))  # a valid id, always


def test_results_and_requests_are_plain_json() -> None:
    result = JobResult(
        job_id="j",
        state="exited",
        code=None,
        signal="SIGTERM",
        timed_out=False,
        truncated=False,
        output_size=5,
        output_b64="AP/+AQ==",
        attempt=2,
    )
    again = JobResult(**json.loads(json.dumps(dataclasses.asdict(result))))
    assert again == result
    assert again.output == b"\x00\xff\xfe\x01" and not again.output_complete
    assert again.returncode == -15
    request = JobRequest(sandbox="local", argv=["sh", "-c", "exit 3"], env={"A": "1"})
    assert JobRequest(**json.loads(json.dumps(dataclasses.asdict(request)))) == request


@pytest.mark.parametrize(
    "details",
    [
        None,
        "x",
        {"sandbox": "local", "job_id": "j"},
        {"sandbox": "local", "job_id": "j", "cursor": -1},
        {"sandbox": "local", "job_id": "j", "cursor": True},
    ],
)
def test_malformed_heartbeat_details_are_ignored(details: object) -> None:
    assert JobProgress.from_details(details) is None


async def test_the_file_sink_is_byte_exact_under_redelivery(tmp_path: Path) -> None:
    path = tmp_path / "out"
    sink = FileSink(path)
    assert await sink.resume(100) == 0  # no file yet: deliver from the start
    await sink(0, b"hello ")
    await sink(6, b"wor")
    await sink(0, b"hello ")  # a retry's redelivery lands on itself
    await sink(6, b"world\n")
    assert path.read_bytes() == b"hello world\n"
    assert await sink.resume(6) == 6
    assert await sink.resume(100) == 12  # shorter than the cursor: resume from its end
