"""The plain-data records of the Temporal activities: what goes into workflow history.

Dataclasses of JSON types only (Temporal's default converter, or ``json.dumps`` of
``dataclasses.asdict``); output bytes travel base64-encoded. No import of temporalio or of
the rest of sandlot, so a workflow can import them cheaply (pass-through).
"""

from __future__ import annotations

import base64
import dataclasses
import signal as _signal
from typing import Any

__all__ = ["JobProgress", "JobRequest", "JobResult"]


@dataclasses.dataclass(frozen=True)
class JobRequest:
    """What to run, where: the activity's input.

    ``argv`` runs in the sandbox at ``sandbox`` (a sandbox URL or configured name, as
    ``open_sandbox`` takes, e.g. ``local``) as a durable job under ``jobs_root``
    (default ``$HOME/.sandlot/jobs``). ``env`` values are recorded in workflow history
    like every input: pass secrets some other way (the sandbox's own environment).
    ``timeout``: seconds before the sandbox stops the job (``timed_out``), however many
    workers come and go. ``tail_bytes``: how much of the end of the output the result
    carries (the whole output when it is shorter). ``job_id``: a job id of your own
    instead of the one derived from the activity (see :func:`job_id_for`).
    """

    sandbox: str
    argv: list[str]
    cwd: str | None = None
    env: dict[str, str] | None = None
    timeout: float | None = None
    jobs_root: str | None = None
    tail_bytes: int = 256 * 1024
    max_log_bytes: int | None = None
    kill_grace: float = 2.0
    #: the longest wait for output between two heartbeats (shortened to a third of the
    #: activity's heartbeat timeout)
    poll: float = 1.0
    job_id: str | None = None


@dataclasses.dataclass(frozen=True)
class JobProgress:
    """The heartbeat details: everything a retry needs to re-attach and resume."""

    sandbox: str
    job_id: str
    #: bytes of output delivered to the sink so far
    cursor: int

    @classmethod
    def from_details(cls, details: Any) -> JobProgress | None:
        """Parse a heartbeat detail (a dict once it went through the server)."""
        if isinstance(details, JobProgress):
            return details
        if not isinstance(details, dict):
            return None
        sandbox, job_id, cursor = (details.get(k) for k in ("sandbox", "job_id", "cursor"))
        if not (isinstance(sandbox, str) and isinstance(job_id, str)):
            return None
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            return None
        return cls(sandbox=sandbox, job_id=job_id, cursor=cursor)


@dataclasses.dataclass(frozen=True)
class JobResult:
    """How the job ended, as plain data: the activity's result.

    ``state`` is ``exited`` (exactly one of ``code`` and ``signal``, a name such as
    ``"SIGKILL"``) or ``crashed`` (its supervisor in the sandbox died without recording
    an exit, e.g. the sandbox rebooted: neither is known). ``timed_out``: stopped by the
    job's timeout. ``truncated``: the log hit ``max_log_bytes``, later output was
    discarded. ``output_size``: bytes in the log; ``output_b64``: its last ``tail_bytes``
    (see :attr:`output`).
    """

    job_id: str
    state: str
    code: int | None
    signal: str | None
    timed_out: bool
    truncated: bool
    output_size: int
    output_b64: str
    #: how many activity attempts this took (1: no worker was lost on the way)
    attempt: int = 1

    @property
    def output(self) -> bytes:
        """The end of the output (all of it when :attr:`output_complete`), byte-exact."""
        return base64.b64decode(self.output_b64)

    @property
    def output_complete(self) -> bool:
        return len(self.output) == self.output_size

    @property
    def returncode(self) -> int | None:
        """Subprocess style: the code, ``-N`` for signal N; ``None`` if it crashed."""
        if self.code is not None:
            return self.code
        if self.signal is not None:
            return -int(_signal.Signals[self.signal])
        return None
