"""Frozen records of the durable-jobs API: handles, statuses, reads and limits."""

from __future__ import annotations

import enum
import json
import math
import re
import signal as _signal
from typing import Any

import attrs

from .._errors import InvalidArgument, SandlotError
from .._records import ExitStatus

__all__ = [
    "JOB_FORMAT",
    "JobHandle",
    "JobInfo",
    "JobLimits",
    "JobRead",
    "JobState",
    "JobStatus",
    "check_job_id",
]

#: The version of the job directory layout, stored in meta.json (and a handle's JSON) as
#: ``"format"``. A meta.json without it was written before the field existed, in the
#: layout that became format 1, and is read as such. A newer format is refused.
JOB_FORMAT = 1

# Ids become directory names in the sandbox: no separators, no dot-dot, nothing a shell
# could misread.
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")


def check_job_id(job_id: object) -> str:
    """Return ``job_id`` if it is a safe job id, else raise :class:`InvalidArgument`."""
    if not isinstance(job_id, str):
        raise InvalidArgument(f"job id must be a str, not {type(job_id).__name__}: {job_id!r}")
    if not _JOB_ID.match(job_id) or ".." in job_id:
        raise InvalidArgument(
            f"invalid job id {job_id!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, and no '..'"
        )
    return job_id


class JobState(enum.Enum):
    """``running``; ``exited`` (the exit file holds its status); ``crashed`` (the job's
    supervisor died without writing an exit file, e.g. killed or the machine rebooted)."""

    RUNNING = "running"
    EXITED = "exited"
    CRASHED = "crashed"


@attrs.frozen
class JobStatus:
    """Where a job stands. ``exit`` is set exactly when ``state`` is ``exited``."""

    state: JobState
    exit: ExitStatus | None = None
    #: the job ran past its timeout and was stopped
    timed_out: bool = False
    #: the output log hit ``JobLimits.max_log_bytes``; later output was discarded
    log_truncated: bool = False
    #: how the job's process tree is reaped: ``"cgroup"`` (cgroup-v2 ``cgroup.kill``,
    #: catches children that called ``setsid()``) or ``"pgroup"`` (the process group)
    reaper: str | None = None

    @property
    def running(self) -> bool:
        return self.state is JobState.RUNNING

    @property
    def ended(self) -> bool:
        return self.state is not JobState.RUNNING

    def __str__(self) -> str:
        if self.state is JobState.EXITED:
            assert self.exit is not None
            return f"exited ({self.exit}{', timed out' if self.timed_out else ''})"
        return str(self.state.value)


@attrs.frozen
class JobRead:
    """The result of :meth:`Jobs.read`: the bytes after the cursor, and the new cursor."""

    data: bytes
    #: byte offset in the log just after ``data``; pass it to the next ``read``
    cursor: int
    status: JobStatus
    stream: str
    #: the job has ended and everything it wrote up to ``cursor`` has been delivered
    eof: bool = False


@attrs.frozen
class JobLimits:
    """Limits applied by a :class:`Jobs` manager.

    ``max_concurrent``: running jobs allowed under one jobs root (``None``: no limit).
    ``default_timeout``: seconds before a job started without ``timeout`` is stopped.
    ``max_log_bytes``: per log file; output past it is discarded and flagged.
    ``kill_grace``: seconds between SIGTERM and SIGKILL when stopping a job.
    """

    max_concurrent: int | None = 64
    default_timeout: float | None = None
    max_log_bytes: int | None = None
    kill_grace: float = 2.0

    def __attrs_post_init__(self) -> None:
        for name in ("max_concurrent", "max_log_bytes"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise InvalidArgument(f"JobLimits.{name} must be a positive int, got {value!r}")
        for name in ("default_timeout", "kill_grace"):
            value = getattr(self, name)
            if value is None and name == "default_timeout":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or math.isnan(value)
                or value <= 0
            ):
                raise InvalidArgument(f"JobLimits.{name} must be positive seconds, got {value!r}")


@attrs.frozen
class JobHandle:
    """Everything needed to find a job again; JSON round-trips with :meth:`to_json`.

    It never holds environment values (they may be secrets), only their names.
    """

    id: str
    #: the jobs root directory in the sandbox (``None``: the default root)
    root: str | None
    argv: tuple[str, ...]
    cwd: str | None = None
    env_names: tuple[str, ...] = ()
    separate_streams: bool = False
    timeout: float | None = None
    created: float = 0.0

    @property
    def streams(self) -> tuple[str, ...]:
        """The log names: ``("stdout", "stderr")`` or ``("output",)``."""
        return ("stdout", "stderr") if self.separate_streams else ("output",)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": JOB_FORMAT,
            "id": self.id,
            "root": self.root,
            "argv": list(self.argv),
            "cwd": self.cwd,
            "env_names": list(self.env_names),
            "separate_streams": self.separate_streams,
            "timeout": self.timeout,
            "created": self.created,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: object) -> JobHandle:
        if not isinstance(data, dict):
            raise InvalidArgument(f"a job handle must be a JSON object, not {data!r}")
        version = data.get("format", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidArgument(f"malformed job handle: format {version!r}")
        if version > JOB_FORMAT:
            raise SandlotError(
                f"job {data.get('id')!r} was written in job format {version}, newer than this"
                f" sandlot reads (format {JOB_FORMAT}): upgrade sandlot to use it"
            )
        try:
            root = data.get("root")
            timeout = data.get("timeout")
            handle = cls(
                id=check_job_id(data["id"]),
                root=None if root is None else str(root),
                argv=tuple(str(a) for a in data["argv"]),
                cwd=None if data.get("cwd") is None else str(data["cwd"]),
                env_names=tuple(str(n) for n in data.get("env_names", ())),
                separate_streams=bool(data.get("separate_streams", False)),
                timeout=None if timeout is None else float(timeout),
                created=float(data.get("created", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidArgument):
                raise
            raise InvalidArgument(f"malformed job handle: {exc!r}") from None
        return handle

    @classmethod
    def from_json(cls, text: str | bytes) -> JobHandle:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgument(f"malformed job handle JSON: {exc}") from None
        return cls.from_dict(data)


@attrs.frozen
class JobInfo:
    """One entry of :meth:`Jobs.list`."""

    handle: JobHandle
    status: JobStatus


def exit_from_record(kind: str, value: str, name: str = "-") -> ExitStatus:
    """Parse the exit file's ``code N`` / ``signal N NAME``."""
    number = int(value)
    if kind != "signal":
        return ExitStatus(code=number)
    if name != "-":
        try:
            return ExitStatus(signal=_signal.Signals["SIG" + name])
        except KeyError:
            pass
    try:
        return ExitStatus(signal=_signal.Signals(number))
    except ValueError:
        return ExitStatus(code=128 + number)  # a signal unknown here: what a shell reports
