"""The remote launcher: a few lines of POSIX sh run by the login shell before the command.

It exports the environment in the command itself (sshd drops ``env`` requests outside
``AcceptEnv``), changes directory, checks the command exists, then reports its pid on
stderr in one marker line and ``exec``s the command. sshd makes every session its own
session and process group (``setsid`` before running the shell), so that pid is the
session and process group id the command keeps: :func:`kill_command` on another channel
signals the whole tree, which works where sshd refuses ``signal`` requests. Because the
command is ``exec``ed, the server's exit-status / exit-signal is the command's own.

Closing a channel (or losing the connection) does not stop a process without a pty: the
connection's guardian (:mod:`._guardian`) stops the session if the client dies.
"""

from __future__ import annotations

import errno
import os
import re
import signal as _signal

from ..._errors import CommandNotFound, LaunchError
from ..._transport import LaunchSpec

__all__ = ["MARKER", "build_command", "kill_command", "parse_marker", "quote"]

#: Starts the launcher's report line; ``\x1e`` (record separator) keeps it unambiguous.
MARKER = b"\x1esandlot:"
_LINE = re.compile(rb"\x1esandlot:([a-z]+):([A-Z0-9]*)\r?\n")


def quote(text: str) -> str:
    """Single-quote ``text`` for any POSIX shell; every character survives as is."""
    return "'" + text.replace("'", "'\\''") + "'"


def _signal_session(sid: str, name: str) -> str:
    return (
        f"if command -v pkill >/dev/null 2>&1; then pkill -{name} -s {sid}; "
        f"else kill -{name} -{sid}; fi 2>/dev/null"
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
    return "; ".join(parts) + "; exec " + command


def kill_command(pgid: int, sig: _signal.Signals) -> str:
    """Signal everything the launcher started; fine if it is already gone.

    sshd made the launcher a session leader, so ``pkill -s`` reaches the whole session,
    including jobs a shell moved to process groups of their own (a pty running a shell
    with job control). Without ``pkill``, the process group: ``kill -NAME -PGID`` (no
    ``--``) is the spelling both dash and bash accept.
    """
    return _signal_session(str(pgid), sig.name.removeprefix("SIG")) + "; true"


def parse_marker(buf: bytes | bytearray) -> tuple[bytes, str, int] | None:
    """Find the launcher's report in ``buf``: ``(kind, argument, end)`` or ``None``.

    ``kind`` is ``ok`` (the argument is the pgid) or a failure; ``end`` is the offset just
    past the line. Bytes before it (e.g. noise from a login script) are dropped.
    """
    m = _LINE.search(buf)
    if m is None:
        return None
    return bytes(m.group(1)), m.group(2).decode(), m.end()


def launch_error(kind: bytes, code: str, spec: LaunchSpec) -> LaunchError:
    """The same errors (and messages) the local backend raises."""
    strerror = os.strerror(getattr(errno, code, errno.EIO)) if code else ""
    if kind == b"nocmd":
        return CommandNotFound(spec.argv[0])
    if kind == b"nocwd":
        return LaunchError(f"cannot use working directory {spec.cwd!r}: {strerror}")
    if kind == b"noexec":
        return LaunchError(f"cannot execute {spec.argv[0]!r}: {strerror}")
    return LaunchError(f"the remote launcher reported {kind.decode()!r}")
