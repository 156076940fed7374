"""Signalling a remote process group by signal *name*: numbers differ between
architectures (SIGUSR1 is 10 on x86 and arm, 30 on alpha, 16 on mips), names do not."""

from __future__ import annotations

import signal as _signal

__all__ = ["kill_group", "kill_session"]


def _name(sig: _signal.Signals) -> str:
    return _signal.Signals(sig).name.removeprefix("SIG")


def kill_group(pgid: int | str, sig: _signal.Signals) -> str:
    """Shell that signals process group ``pgid``; fine if it is already gone.

    ``kill -NAME -PGID`` (no ``--``) is the spelling both dash and bash accept.
    """
    return f"kill -{_name(sig)} -{pgid} 2>/dev/null; true"


def kill_session(sid: int | str, sig: _signal.Signals) -> str:
    """Shell that signals session ``sid`` (also jobs a shell moved to groups of their
    own), or its process group without ``pkill``; fine if it is already gone."""
    name = _name(sig)
    return (
        f"if command -v pkill >/dev/null 2>&1; then pkill -{name} -s {sid}; "
        f"else kill -{name} -{sid}; fi 2>/dev/null"
    )
