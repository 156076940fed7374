"""The launchers that run a command inside a Daytona sandbox, package data: a terminal
runs the shared ``sandlot/_launcher/sh/launcher.sh``, a session command ``sh/spawn.sh``
here. Both check and report through the shared ``checks.sh``, the one protocol.

Daytona's session commands merge nothing but frame output line by line (NULs dropped, a
final newline added), cannot receive EOF, cannot be signalled, and report signals as
``128+N`` or ``-1``. The spawn launcher works around each of these:

* the command's stdout and stderr go to FIFOs read by two encoders that print base64
  lines (``o<b64>`` on stdout, ``e<b64>`` on stderr), each line at most 4002 bytes so a
  single ``write`` keeps it whole next to the launcher's own control lines;
* stdin comes from a FIFO fed by a decoder of ``I<b64>`` input lines; ``Z`` closes it (EOF);
* the command leads its own process group (``setsid``), whose id is reported (the
  shared report, ``ok PGID``) so that any signal can be sent to the group;
* the command's parent is a holder that never reaps it: once it is a zombie the launcher
  reads the raw wait status from ``/proc/<pid>/stat`` (field 52) and reports ``x <status>``.

Launch failures are reported before anything runs, in the shared report (``nocwd``,
``nocmd``, ``noexec``, ``nosetup``: see :mod:`sandlot._launcher._protocol`).
Needs sh, mkfifo, setsid, dd, base64, sleep and Linux ``/proc`` (>= 3.5) in the sandbox.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Mapping

from ..._launcher._script import load, with_args
from ..._validate import check_command_line

#: All arguments and environment strings of one command together: half of Linux's usual
#: ARG_MAX, leaving room for the environment the sandbox's own shell passes on.


def spawn_command(argv: tuple[str, ...], cwd: str | None, env: Mapping[str, str]) -> str:
    """The session command that runs ``argv`` under the spawn launcher."""
    flags = ("c" if cwd is not None else "") + ("p" if "PATH" in env else "")
    pairs = [f"{name}={value}" for name, value in env.items()]
    args = [secrets.token_hex(8), flags, cwd or "", str(len(pairs)), *pairs, *argv]
    script = load("spawn", __package__)
    check_command_line([script, *args], "Daytona")
    # No exec: a real daemon runs the command inside its session shell, which must survive.
    return "sh -c " + shlex.join([script, "sandlot", *args])


def pty_script(argv: tuple[str, ...], cwd: str | None) -> tuple[str, str]:
    """The pty launcher (passed in ``$SANDLOT_LAUNCH``) and the nonce its report carries.

    The shell's echo of the typed line never holds a report: the ``RS`` byte is made by
    ``printf``, and the nonce is known only to this launch.
    """
    nonce = secrets.token_hex(8)
    flags = "c" if cwd is not None else ""
    args = [f"sandlot-{nonce}", flags, cwd or "", *argv]
    return "unset SANDLOT_LAUNCH\n" + with_args("launcher", args), nonce


PTY_TYPED_LINE = b'exec sh -c "$SANDLOT_LAUNCH"\n'
