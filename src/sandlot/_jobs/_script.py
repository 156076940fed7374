"""The POSIX ``sh`` scripts that run in the sandbox, shipped as package data in ``sh/``:
``launch.sh``, the job's supervisor ``wrapper.sh``, and one small script per operation.

Every operation is one ``exec`` of ``sh -c SCRIPT sandlot-job ROOT ID ARGS...``; it prints
one header line ``sandlot-job ...`` (and, for reads, the raw log bytes after it). Nothing
is decoded in transit.

**How a script is assembled** (:func:`load`), the one rule: the line ``. ./lib.sh`` in a
script is replaced by the text of ``sh/lib.sh`` (the shared functions), so the script
still travels as one ``sh -c`` argument and needs nothing in the sandbox but ``sh``;
``shellcheck -x`` follows the same line to check the script with its functions. Lines
that hold only a comment, and blank lines, are dropped on the way (they would be sent on
every call), so no quoted string in a script may have a line starting with ``#``.

Layout of a job directory ``ROOT/ID``:

* ``meta.json``  the handle (argv, cwd, env *names*, the format version), written before
  the launch;
* ``launcher``  "PID STARTTIME" of launch.sh, written just after the directory, for
  the cleanup of a cancelled start (``claim.sh``), which waits while it runs;
* ``wrapper.sh``  the supervisor's script (run from the file so ``ps`` stays readable);
* ``output`` or ``stdout`` + ``stderr``  append-only logs, byte-exact;
* ``stdin``  a FIFO; the wrapper holds it open read-write so writers never block on open
  and the command sees EOF only after ``close_stdin`` (``stdin.closed`` + SIGUSR1);
* ``wrapper`` / ``pid``  "PID STARTTIME" of the wrapper and the command (field 22 of
  ``/proc/PID/stat``), so a recycled pid never looks alive;
* ``reaper`` (``cgroup`` or ``pgroup``), ``cgroup`` (its path), ``timedout``, ``capped``;
* ``exit``  ``code N`` or ``signal N NAME`` (``signal 9 KILL``; the name matters, numbers
  differ between architectures), written atomically (rename) by the wrapper once the
  command and its whole tree have ended and the logs are complete.

A *tombstone* is a directory ``ROOT/ID`` holding only ``cancelled`` (the time of the
claim, in seconds since the epoch): a cancelled start's cleanup made it before the
launcher could, so a launcher still on its way finds the id taken and starts nothing.
Without meta.json it is no job: nothing lists, counts or attaches it. ``list.sh`` and
``claim.sh`` remove tombstones older than 10 minutes.

On Linux the wrapper reads the command's raw wait status from ``/proc`` (see
``wrapper.sh``), so a signal is reported as a signal and ``exit 130`` as code 130.
Without ``/proc`` a shell's ``$?`` cannot tell them apart: statuses 129..191 are then
reported as signals.
"""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["SCRIPTS", "load", "shipped"]

#: The scripts :func:`load` knows (``sh/NAME.sh``); ``lib`` is only ever included.
SCRIPTS = (
    "adopt",
    "attach",
    "claim",
    "close",
    "kill",
    "launch",
    "list",
    "read",
    "remove",
    "stop",
    "tail",
    "wrapper",
    "write",
)

_INCLUDE = ". ./lib.sh"


def _text(name: str) -> str:
    return (resources.files(__package__) / "sh" / f"{name}.sh").read_text(encoding="utf-8")


def shipped() -> list[str]:
    """The names of every ``.sh`` file shipped in ``sh/`` (for checking them)."""
    return sorted(
        entry.name
        for entry in (resources.files(__package__) / "sh").iterdir()
        if entry.name.endswith(".sh")
    )


@functools.cache
def load(name: str) -> str:
    """The script ``sh/NAME.sh`` as it is sent: ``lib.sh`` included, comments dropped."""
    if name not in SCRIPTS:
        raise ValueError(f"no jobs script {name!r}")
    lines = _text(name).splitlines()
    if lines.count(_INCLUDE) != 1:  # a packaging mistake, caught by the tests
        raise RuntimeError(f"sh/{name}.sh must include {_INCLUDE!r} exactly once")
    at = lines.index(_INCLUDE)
    lines[at : at + 1] = _text("lib").splitlines()
    kept = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join(kept) + "\n"
