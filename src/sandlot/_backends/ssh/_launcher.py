"""The remote launcher: a few lines of POSIX sh run by the login shell before the command.

It exports the environment in the command itself (sshd drops ``env`` requests outside
``AcceptEnv``), changes directory, checks the command exists, then reports its pid on
stderr in one marker line and ``exec``s the command. sshd makes every session its own
session and process group (``setsid`` before running the shell), so that pid is the
session and process group id the command keeps: :func:`kill_command` on another channel
signals the whole tree, which works where sshd refuses ``signal`` requests. Because the
command is ``exec``ed, the server's exit-status / exit-signal is the command's own.

Closing a channel (or losing the connection) does not stop a process without a pty, so
the launcher also forks a watcher (:data:`WATCHER`) that stops the session once the
per-connection sshd process, the command's parent, is gone: a crashed client leaves
nothing running. The watcher exits with the command, holds none of its pipes, and ignores
the signals a terminal or the user may send the group, so only its own check ends it.
"""

from __future__ import annotations

import signal as _signal

from ..._launcher import kill_session
from ..._transport import LaunchSpec

__all__ = ["WATCHER", "build_command", "kill_command", "quote"]


def quote(text: str) -> str:
    """Single-quote ``text`` for any POSIX shell; every character survives as is."""
    return "'" + text.replace("'", "'\\''") + "'"


#: Seconds the watcher leaves between SIGTERM and SIGKILL when the client is gone.
ORPHAN_GRACE = 1
# The watcher, forked just before the command is exec'ed: $$ is then the command and
# $PPID sshd's per-connection process. It polls, fast at first (short commands end before
# it sleeps long), then every second: while the command (not a zombie) is still that
# process's child, sshd and so the client's connection are alive. Without /proc it asks
# `kill -0` about both. It reads nothing and writes only to /dev/null. Forked twice (the
# middle subshell exits at once), so it is not the command's child: a command that waits
# for all its children never waits for it.
WATCHER = (
    "( { trap '' HUP INT QUIT TERM; p=$PPID; t=0.01; "
    "while if [ -r /proc/self/stat ]; then "
    'read -r s </proc/$$/stat || exit; set -- ${s##*) }; [ "$1" != Z ] || exit; '
    '[ "$2" = "$p" ]; '
    "else kill -0 $$ || exit; kill -0 $p; fi; "
    "do sleep $t; case $t in 0.01) t=0.1;; 0.1) t=1;; esac; done; "
    + kill_session("$$", _signal.SIGTERM)
    + f"; sleep {ORPHAN_GRACE}; "
    + kill_session("$$", _signal.SIGKILL)
    + "; } </dev/null >/dev/null 2>&1 & )"
)


def build_command(spec: LaunchSpec) -> str:
    """The command string for the SSH ``exec`` request that launches ``spec``."""
    argv0 = spec.argv[0]
    parts = [f"export {name}={quote(value)}" for name, value in spec.env.items()]
    if spec.cwd is not None:
        d = quote(spec.cwd)
        parts.append(
            f"cd {d} 2>/dev/null || {{ if [ ! -e {d} ]; then e=ENOENT; "
            f"elif [ ! -d {d} ]; then e=ENOTDIR; else e=EACCES; fi; "
            "printf '\\036sandlot:nocwd:%s\\n' $e >&2; exit 126; }"
        )
    c = quote(argv0)
    if "/" in argv0:
        check = (
            f"if [ ! -e {c} ]; then printf '\\036sandlot:nocmd:\\n' >&2; exit 127; fi; "
            f"if [ -d {c} ] || [ ! -x {c} ]; then "
            "printf '\\036sandlot:noexec:EACCES\\n' >&2; exit 126; fi"
        )
    else:
        check = (
            f"command -v {c} >/dev/null 2>&1 || "
            "{ printf '\\036sandlot:nocmd:\\n' >&2; exit 127; }"
        )
    parts.append(check)
    parts.append("printf '\\036sandlot:ok:%s\\n' $$ >&2")
    # Without input, /dev/null spares sending EOF on the channel.
    command = " ".join(quote(a) for a in spec.argv) + ("" if spec.stdin else " </dev/null")
    parts.append(WATCHER)
    return "; ".join(parts) + "; exec " + command


def kill_command(pgid: int, sig: _signal.Signals) -> str:
    """Signal everything the launcher started; fine if it is already gone.

    sshd made the launcher a session leader, so ``pkill -s`` reaches the whole session,
    including jobs a shell moved to process groups of their own (a pty running a shell
    with job control). Without ``pkill``, the process group: ``kill -NAME -PGID`` (no
    ``--``) is the spelling both dash and bash accept.
    """
    return kill_session(pgid, sig) + "; true"
