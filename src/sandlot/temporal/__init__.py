"""Temporal activities that run sandbox commands as durable jobs (``sandlot[temporal]``).

A retried activity re-attaches to the job its first attempt started (the job id derives
from the activity's identity) and resumes the output from the last heartbeat's byte
cursor, so a worker that dies mid-command costs neither a second run nor lost output.
See docs/temporal.md.

Temporal's Python SDK runs on asyncio only: so do these helpers. Nothing else in sandlot
imports this module (or ``temporalio``); sandlot itself still runs on asyncio and trio.
"""

from __future__ import annotations

from .._errors import MissingDependency

try:
    import temporalio.activity  # noqa: F401  (the extra's presence, checked up front)
except ImportError as exc:
    raise MissingDependency(
        "temporal", "temporalio", exc.name, feature="Temporal activities"
    ) from exc

from ._activity import FileSink, OutputSink, job_id_for, run_job, run_job_activity
from ._records import JobProgress, JobRequest, JobResult

__all__ = [
    "FileSink",
    "JobProgress",
    "JobRequest",
    "JobResult",
    "OutputSink",
    "job_id_for",
    "run_job",
    "run_job_activity",
]
