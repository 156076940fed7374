"""POSIX helpers the local backend's pipes and pty share: process groups and exec's limits."""

from __future__ import annotations

import errno
import os
import signal as _signal

from .._validate import MAX_ARG_BYTES, command_line_too_large

__all__ = ["GroupSignaller", "refuse_too_large", "signal_group"]


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
