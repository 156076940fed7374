"""POSIX helpers the local backend's pipes and pty share: process groups and exec's limits."""

from __future__ import annotations

import errno
import os
import signal as _signal
import sys
from collections.abc import Sequence

from .._validate import MAX_ARG_BYTES, command_line_too_large

__all__ = [
    "GroupSignaller",
    "ignored_signals",
    "refuse_too_large",
    "reset_signals",
    "signal_group",
    "with_default_signals",
]

# Python ignores these itself; subprocess's `restore_signals` resets them in the child.
_RESTORED = {_signal.SIGPIPE, _signal.SIGXFSZ}
_UNCATCHABLE = {_signal.SIGKILL, _signal.SIGSTOP}

# Run by `with_default_signals`: reset, then exec the command; on failure report errno
# through the inherited fd (closed on exec when it succeeds) as subprocess itself does.
_EXEC_WITH_DEFAULTS = """\
import os, signal, sys
for s in sys.argv[1].split(","):
    signal.signal(int(s), signal.SIG_DFL)
fd = int(sys.argv[2])
os.set_inheritable(fd, False)
try:
    os.execvp(sys.argv[3], sys.argv[3:])
except OSError as e:
    os.write(fd, b"%d" % (e.errno or 5))
    os._exit(127)
"""


def ignored_signals() -> list[int]:
    """The signals this process ignores that a child it starts would inherit ignored.

    A program started as ``app &`` from a script ignores SIGINT and SIGQUIT, a TUI may
    ignore SIGINT itself; the commands it runs must still start with the dispositions a
    fresh session gives, or ``kill(SIGINT)`` would mean nothing to them.
    """
    skip = _RESTORED | _UNCATCHABLE
    return [
        s
        for s in _signal.valid_signals()
        if s not in skip and _signal.getsignal(s) is _signal.SIG_IGN
    ]


def reset_signals(signals: Sequence[int]) -> None:
    """Give ``signals`` their default action (in a child, before it execs)."""
    for s in signals:
        _signal.signal(s, _signal.SIG_DFL)


def with_default_signals(argv: Sequence[str], signals: Sequence[int], fd: int) -> list[str]:
    """``argv`` run through a Python that resets ``signals`` first, then execs it.

    For the pipes, which anyio starts without a ``preexec_fn``; only taken when the caller
    ignores a signal (it costs an interpreter start). An exec failure is reported as the
    errno written to ``fd``, which stays empty when the exec succeeds.
    """
    nums = ",".join(str(int(s)) for s in (*signals, *_RESTORED))
    return [sys.executable, "-I", "-S", "-c", _EXEC_WITH_DEFAULTS, nums, str(fd), *argv]


def refuse_too_large(exc: OSError) -> None:
    """Raise E2BIG as the bad input it is (nothing was launched), as every backend does."""
    if exc.errno == errno.E2BIG:
        raise command_line_too_large(
            f"one argument or environment string may hold at most {MAX_ARG_BYTES} bytes, "
            f"and all of them {os.sysconf('SC_ARG_MAX')} bytes together (exec's limits)"
        ) from None


def signal_group(pgid: int, sig: _signal.Signals) -> bool:
    """Signal a process group; False when it has no member left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a member of another user (a setuid program): the rest got it
    return True


class GroupSignaller:
    """Signals the group a child leads, also after the child exited, until it is empty.

    The group id is the leader's pid, which Linux can hand out again only once no process
    is left in the group. So the group is signalled while it may have members, and never
    again once a signal after the leader's exit finds it empty (an empty group never
    refills): a later sweep cannot hit a newer group that recycled the number.
    """

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.gone = False

    def signal(self, sig: _signal.Signals, leader_exited: bool) -> None:
        if not self.gone and not signal_group(self.pgid, sig) and leader_exited:
            self.gone = True
