"""Run a sandbox command as a durable job from a Temporal activity, and re-attach to it
from a retry of that activity (on any worker)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from os import PathLike
from typing import Any, TypeVar

import anyio
from temporalio import activity
from temporalio.exceptions import ApplicationError

from .._errors import (
    AuthenticationFailed,
    HostKeyRejected,
    InvalidArgument,
    InvalidSandboxURL,
    LaunchError,
    MissingDependency,
    NotSupported,
    SandboxNotFound,
    SandlotError,
    UnknownJob,
)
from .._jobs import JobHandle, JobLimits, Jobs, JobStatus
from .._sandbox import open_sandbox
from ._records import JobProgress, JobRequest, JobResult

__all__ = ["FileSink", "OutputSink", "job_id_for", "run_job", "run_job_activity"]

logger = logging.getLogger("sandlot.temporal")
T = TypeVar("T")

#: Where output goes: ``await sink(offset, data)``, ``offset`` being the byte offset of
#: ``data[0]`` in the job's output. At least once: after a retry, the chunks since the
#: last heartbeat come again, at the same offsets (skip what you already have).
OutputSink = Callable[[int, bytes], Awaitable[None]]

#: Errors that another attempt cannot fix: the activity fails for good.
_FINAL = (
    InvalidArgument,
    InvalidSandboxURL,
    LaunchError,  # CommandNotFound too
    NotSupported,
    MissingDependency,
    AuthenticationFailed,
    HostKeyRejected,
    SandboxNotFound,
    # The job was removed while its activity ran: a retry would start the command again.
    UnknownJob,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def job_id_for(
    workflow_id: str, activity_id: str, *, run_id: str = "", namespace: str = "default"
) -> str:
    """The job id of an activity: the same for every attempt of it, different for any other
    activity (another workflow run included). Readable prefix, then a digest of the whole
    identity (workflow ids may be long or hold any character)."""
    identity = "\0".join((namespace, workflow_id, run_id, activity_id)).encode()
    digest = hashlib.sha256(identity).hexdigest()[:24]
    readable = "-".join(
        part for part in (_UNSAFE.sub("_", workflow_id)[:60], _UNSAFE.sub("_", activity_id)[:20])
    ).strip("_-")
    return f"temporal-{readable}-{digest}" if readable else f"temporal-{digest}"


class FileSink:
    """Writes the output to ``path`` (on the worker's machine), each chunk at its offset:
    a chunk delivered twice lands on itself, so the file ends up byte-exact. A retry
    whose file is shorter than the last heartbeat's cursor (another machine, without
    shared storage) is delivered the output from the file's end."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"FileSink({self.path!r})"

    async def resume(self, cursor: int) -> int:
        """Where delivery resumes for a retry whose heartbeat said ``cursor``."""
        try:
            size = (await anyio.Path(self.path).stat()).st_size
        except FileNotFoundError:
            size = 0
        return min(cursor, size)

    async def __call__(self, offset: int, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._write, offset, data)

    def _write(self, offset: int, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        finally:
            os.close(fd)


def _resume_cursor(details: Sequence[Any], sandbox: str, job_id: str) -> int:
    """The cursor of the last heartbeat, if it was about this job (else 0)."""
    progress = JobProgress.from_details(details[0]) if details else None
    if progress is None or (progress.sandbox, progress.job_id) != (sandbox, job_id):
        return 0
    return progress.cursor


def _cancel_requested() -> bool:
    """The activity was cancelled because its workflow asked (not a worker shutting down,
    not a timeout or a lost heartbeat: then a retry takes the job over)."""
    details = activity.cancellation_details()
    return details is not None and details.cancel_requested


async def _uninterrupted(step: Awaitable[T]) -> T:
    """Run ``step`` to its end in a task of its own, even if the activity's task is
    cancelled meanwhile (then raise that cancellation once ``step`` is done)."""
    task = asyncio.ensure_future(step)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled() and task.exception() is None:
            raise asyncio.CancelledError
        task.result()  # its own error, if it failed meanwhile
    return task.result()


async def _stop_job(jobs: Jobs, job_id: str) -> None:
    """Stop the job's whole tree, although the activity's task is being cancelled (and
    may be again)."""

    async def stop() -> None:
        with anyio.move_on_after(30 + jobs.limits.kill_grace):
            try:
                await jobs.stop(await jobs.attach(job_id))
            except UnknownJob:
                pass  # never started
            except SandlotError as exc:
                logger.warning("could not stop job %s: %s", job_id, exc)

    await _uninterrupted(stop())


async def _deliver(
    jobs: Jobs,
    handle: JobHandle,
    request: JobRequest,
    cursor: int,
    poll: float,
    sink: OutputSink | None,
) -> tuple[JobStatus, int]:
    """Follow the job from ``cursor`` to its end, handing each chunk to ``sink`` before its
    cursor is heartbeated; return the final status and cursor (the log's size)."""
    activity.heartbeat(JobProgress(request.sandbox, handle.id, cursor))
    while True:
        chunk = await jobs.read(handle, cursor, wait=poll)
        if chunk.data and sink is not None:
            await sink(cursor, chunk.data)
        cursor = chunk.cursor
        # Every round trip, output or not: a cancellation reaches an activity only in the
        # answer to a heartbeat (the SDK throttles what it sends to the server).
        activity.heartbeat(JobProgress(request.sandbox, handle.id, cursor))
        if chunk.eof:
            return chunk.status, cursor


async def run_job(request: JobRequest, *, sink: OutputSink | None = None) -> JobResult:
    """Run ``request`` as a durable job from inside an activity, and return how it ended.

    The first attempt starts the job under an id derived from the activity (see
    :func:`job_id_for`); a retry finds it by that id (``Jobs.start(exist_ok=True)``: the
    command starts at most once) and resumes delivering output to ``sink`` from the
    last heartbeat's cursor. Give the activity a ``heartbeat_timeout``: it is how a dead
    worker is noticed, and how a cancellation arrives. A cancellation requested by the
    workflow stops the job's whole tree; a worker shutting down leaves it to the retry.
    Errors that a retry cannot fix (bad input, command not found, unknown sandbox...)
    fail the activity for good (non-retryable ``ApplicationError`` of the error's type).
    """
    info = activity.info()
    if not isinstance(request, JobRequest):
        raise ApplicationError(
            f"expected a JobRequest, not {type(request).__name__}",
            type="InvalidArgument",
            non_retryable=True,
        )
    job_id = request.job_id or job_id_for(
        info.workflow_id or "",
        info.activity_id,
        run_id=info.workflow_run_id or "",
        namespace=info.workflow_namespace or "",
    )
    cursor = _resume_cursor(info.heartbeat_details, request.sandbox, job_id)
    poll = request.poll
    if info.heartbeat_timeout:
        poll = min(poll, info.heartbeat_timeout.total_seconds() / 3)
    else:
        activity.logger.warning(
            "sandlot.temporal: activity without heartbeat_timeout: a lost worker is noticed"
            " only at its start_to_close_timeout"
        )
    try:
        return await _run(request, job_id, cursor, max(poll, 0.05), sink, info.attempt)
    except _FINAL as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc


async def _run(
    request: JobRequest,
    job_id: str,
    cursor: int,
    poll: float,
    sink: OutputSink | None,
    attempt: int,
) -> JobResult:
    if not request.argv:
        raise InvalidArgument("JobRequest.argv is empty: nothing to run")
    limits = JobLimits(max_log_bytes=request.max_log_bytes, kill_grace=request.kill_grace)
    async with open_sandbox(request.sandbox) as sb:
        jobs = Jobs(sb, root=request.jobs_root, limits=limits)
        try:
            # Never interrupted: a cancelled start undoes its launch (Jobs.start), and
            # the job may be one that another attempt has adopted, or will: a retry would
            # then start the command again. A requested cancel stops it just below.
            handle = await _uninterrupted(
                jobs.start(
                    request.argv[0],
                    request.argv[1:],
                    cwd=request.cwd,
                    env=request.env,
                    timeout=request.timeout,
                    job_id=job_id,
                    exist_ok=True,
                )
            )
            resume = getattr(sink, "resume", None)
            if resume is not None:
                cursor = await resume(cursor)
            status, size = await _deliver(jobs, handle, request, cursor, poll, sink)
        except BaseException:
            if _cancel_requested():
                await _stop_job(jobs, job_id)
            raise
        tail = b""
        if request.tail_bytes > 0 and size > 0:
            start = max(0, size - request.tail_bytes)
            tail = (await jobs.read(handle, start, max_bytes=request.tail_bytes)).data
    ended = status.exit
    return JobResult(
        job_id=job_id,
        state=status.state.value,
        code=None if ended is None else ended.code,
        signal=None if ended is None or ended.signal is None else ended.signal.name,
        timed_out=status.timed_out,
        truncated=status.log_truncated,
        output_size=size,
        output_b64=base64.b64encode(tail).decode("ascii"),
        attempt=attempt,
    )


@activity.defn(name="sandlot.run_job")
async def run_job_activity(request: JobRequest) -> JobResult:
    """The ready-made activity: :func:`run_job` with the output returned as the result's
    tail (``request.tail_bytes``). Register it on a worker; call it as
    ``"sandlot.run_job"``. For a callback or a file, write your own activity around
    :func:`run_job`."""
    return await run_job(request)
