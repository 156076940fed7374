"""The SSH command: the shared launcher (``sandlot/_launcher/sh/launcher.sh``), run by the
login shell.

It exports the environment in the command itself (sshd drops ``env`` requests outside
``AcceptEnv``); the launcher changes directory, checks the command exists, then reports
its pid on stderr in one report line and ``exec``s the command. sshd makes every session its own
session and process group (``setsid`` before running the shell), so that pid is the
session and process group id the command keeps: :func:`kill_command` on another channel
signals the whole tree, which works where sshd refuses ``signal`` requests. Because the
command is ``exec``ed, the server's exit-status / exit-signal is the command's own.

Closing a channel (or losing the connection) does not stop a process without a pty: the
connection's guardian (:mod:`._guardian`) stops the session if the client dies.
"""

from __future__ import annotations

import signal as _signal

from ..._launcher import kill_session
from ..._launcher._script import quote, with_args
from ..._transport import LaunchSpec

__all__ = ["build_command", "kill_command", "quote"]


def build_command(spec: LaunchSpec) -> str:
    """The command string for the SSH ``exec`` request that launches ``spec``."""
    # The environment is exported here, by the login shell, so the launcher's command
    # lookup sees its PATH too.
    exports = "".join(f"export {name}={quote(value)}; " for name, value in spec.env.items())
    flags = ("c" if spec.cwd is not None else "") + ("" if spec.stdin else "n")
    return exports + with_args("launcher", ["sandlot", flags, spec.cwd or "", *spec.argv])


def kill_command(pgid: int, sig: _signal.Signals) -> str:
    """Signal everything the launcher started; fine if it is already gone.

    sshd made the launcher a session leader, so ``pkill -s`` reaches the whole session,
    including jobs a shell moved to process groups of their own (a pty running a shell
    with job control). Without ``pkill``, the process group: ``kill -NAME -PGID`` (no
    ``--``) is the spelling both dash and bash accept.
    """
    return kill_session(pgid, sig) + "; true"
