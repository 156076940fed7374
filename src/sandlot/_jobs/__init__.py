"""Durable jobs: detached processes found again by id (SPEC §4)."""

from __future__ import annotations

from ._manager import Jobs
from ._records import JobHandle, JobInfo, JobLimits, JobRead, JobState, JobStatus

__all__ = ["JobHandle", "JobInfo", "JobLimits", "JobRead", "JobState", "JobStatus", "Jobs"]
