"""The POSIX sh launchers that run a command inside a Daytona sandbox.

Daytona's session commands merge nothing but frame output line by line (NULs dropped, a
final newline added), cannot receive EOF, cannot be signalled, and report signals as
``128+N`` or ``-1``. The spawn launcher works around each of these:

* the command's stdout and stderr go to FIFOs read by two encoders that print base64
  lines (``o<b64>`` on stdout, ``e<b64>`` on stderr), each line at most 4002 bytes so a
  single ``write`` keeps it whole next to the launcher's own control lines;
* stdin comes from a FIFO fed by a decoder of ``I<b64>`` input lines; ``Z`` closes it (EOF);
* the command leads its own process group (``setsid``), whose id is reported (``r <pgid>``)
  so that any signal can be sent to the group;
* the command's parent is a holder that never reaps it: once it is a zombie the launcher
  reads the raw wait status from ``/proc/<pid>/stat`` (field 52) and reports ``x <status>``.

Launch failures are reported before anything runs: ``f cwd``, ``f notfound``, ``f noexec``.
Needs sh, mkfifo, setsid, dd, base64, sleep and Linux ``/proc`` (>= 3.5) in the sandbox.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Mapping

from ..._validate import MAX_ARG_BYTES, command_line_too_large

#: All arguments and environment strings of one command together: half of Linux's usual
#: ARG_MAX, leaving room for the environment the sandbox's own shell passes on.
MAX_TOTAL_BYTES = 1 << 20

# $d: private directory; $1..: argv. The env assignments are only applied to the command.
_SPAWN = r"""
set -f
d="${TMPDIR:-/tmp}/sandlot.%(token)s"
mkdir -m 700 "$d" || { printf '\036sandlot:nosetup:mkdir\n'; exit 126; }
trap 'rm -rf "$d"' EXIT
%(cd)s
%(setsid)s
case $1 in
  */*) if [ ! -e "$1" ]; then printf '\036sandlot:nocmd:\n'; exit 127; fi
       if [ -d "$1" ] || [ ! -x "$1" ]; then printf '\036sandlot:noexec:EACCES\n'; exit 126; fi ;;
  *) %(lookup)s >/dev/null 2>&1 || { printf '\036sandlot:nocmd:\n'; exit 127; } ;;
esac
mkfifo "$d/i" "$d/o" "$d/e" "$d/c" "$d/g" || { printf '\036sandlot:nosetup:mkfifo\n'; exit 126; }
enc() {
  while c=$(dd bs=65536 count=1 2>/dev/null | base64 -w 4000) && [ -n "$c" ]; do
    for l in $c; do printf '%%s%%s\n' "$1" "$l"; done
  done
}
enc o <"$d/o" & eo=$!
enc e <"$d/e" >&2 & ee=$!
exec 3<&0
{ while IFS= read -r l; do
    case $l in I*) printf '%%s' "${l#I}" | base64 -d ;; Z*) break ;; esac
  done; } <&3 >"$d/i" 2>/dev/null & ip=$!
exec 3<&-
# The holder must not reap the command: the command waits (on g) until the holder is
# about to become `sleep`, which never reaps, so dash cannot reap it first.
( ( : <"$d/g"; %(env)s exec "$S" "$@" ) <"$d/i" >"$d/o" 2>"$d/e" &
  echo $! >"$d/c"
  exec sleep 2147483647 >/dev/null 2>&1 3>"$d/g" ) &
h=$!
read -r p <"$d/c"
# Ready once the command leads its own process group: a signal sent to it from then on
# cannot miss. (Fields after the name: state, ppid, pgrp.)
while read -r s <"/proc/$p/stat"; do
  set -- ${s##*) }
  if [ "$3" = "$p" ] || [ "$1" = Z ]; then break; fi
  sleep 0.001
done
# Every FIFO is open now (the command got past g): remove them off the critical path.
trap - EXIT
rm -rf "$d" >/dev/null 2>&1 & rp=$!
printf '\036sandlot:ok:%%s\n' "$p"
t=0.002
while :; do
  if ! read -r s <"/proc/$p/stat"; then w='?'; break; fi
  set -- ${s##*) }
  if [ "$1" = Z ]; then eval "w=\${50}"; break; fi
  sleep $t
  case $t in
    0.002) t=0.003 ;; 0.003) t=0.005 ;; 0.005) t=0.01 ;; 0.01) t=0.02 ;; 0.02) t=0.05 ;;
    0.05) t=0.1 ;;
  esac
done
# The directory must be gone before the client hears of the exit: it then deletes our
# session, which kills this process group before an EXIT trap could run.
wait $rp
echo "x $w"
kill -9 $h $ip 2>/dev/null
wait $eo $ee
"""

_PTY = r"""
unset SANDLOT_LAUNCH
%(cd)s
case $1 in
  */*) if [ ! -e "$1" ]; then printf '\036%%s:nocmd:\n' "$T"; exit 127; fi
       if [ -d "$1" ] || [ ! -x "$1" ]; then printf '\036%%s:noexec:EACCES\n' "$T"; exit 126; fi ;;
  *) command -v -- "$1" >/dev/null 2>&1 || { printf '\036%%s:nocmd:\n' "$T"; exit 127; } ;;
esac
printf '\036%%s:ok:%%s\n' "$T" "$$"
exec "$@"
"""

_SPAWN_CD = """cd -- %(d)s 2>/dev/null || { if [ ! -e %(d)s ]; then e=ENOENT; \
elif [ ! -d %(d)s ]; then e=ENOTDIR; else e=EACCES; fi; \
printf '\\036sandlot:nocwd:%%s\\n' $e; exit 126; }"""
_PTY_CD = """cd -- %(d)s 2>/dev/null || { if [ ! -e %(d)s ]; then e=ENOENT; \
elif [ ! -d %(d)s ]; then e=ENOTDIR; else e=EACCES; fi; \
printf '\\036%%s:nocwd:%%s\\n' "$T" $e; exit 126; }"""


def _env_prefix(env: Mapping[str, str]) -> str:
    # Names were validated (letters, digits, underscore): only the values need quoting.
    return " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())


def _exports(env: Mapping[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}; " for name, value in env.items())


def spawn_command(argv: tuple[str, ...], cwd: str | None, env: Mapping[str, str]) -> str:
    """The session command that runs ``argv`` under the spawn launcher."""
    # Forks cost milliseconds: look the command up in a subshell only when the env changes
    # what a lookup sees, and resolve setsid first only when PATH itself changes.
    lookup = f'( {_exports(env)}command -v -- "$1" )' if env else 'command -v -- "$1"'
    setsid = "S=setsid"
    if "PATH" in env:
        setsid = "S=$(command -v setsid) || { printf '\\036sandlot:nosetup:setsid\\n'; exit 126; }"
    script = _SPAWN % {
        "token": secrets.token_hex(8),
        "cd": _SPAWN_CD % {"d": shlex.quote(cwd)} if cwd is not None else "",
        "env": _exports(env),
        "lookup": lookup,
        "setsid": setsid,
    }
    check_command_line([script, *argv])
    # No exec: a real daemon runs the command inside its session shell, which must survive.
    return "sh -c " + shlex.join([script, "sandlot", *argv])


def check_command_line(strings: list[str]) -> None:
    """Refuse, before anything is sent, what exec in the sandbox would refuse (E2BIG)."""
    sizes = [len(s.encode()) for s in strings]
    if max(sizes) > MAX_ARG_BYTES:
        raise command_line_too_large(
            f"{max(sizes)} bytes in one argument (the environment travels in the launcher's "
            f"script, one argument), over Linux's limit of {MAX_ARG_BYTES} bytes for one"
        )
    if sum(sizes) > MAX_TOTAL_BYTES:
        raise command_line_too_large(
            f"{sum(sizes)} bytes of arguments and environment in all, over sandlot's limit "
            f"of {MAX_TOTAL_BYTES} for Daytona (exec's limit, ARG_MAX, is usually 2 MiB "
            f"including the sandbox's own environment; one argument holds {MAX_ARG_BYTES})"
        )


def pty_script(argv: tuple[str, ...], cwd: str | None) -> tuple[str, str]:
    """The pty launcher (passed in ``$SANDLOT_LAUNCH``) and the nonce its report carries.

    The shell's echo of the typed line never holds a report: the ``RS`` byte is made by
    ``printf``, and the nonce is known only to this launch.
    """
    token = secrets.token_hex(8)
    body = _PTY % {"cd": _PTY_CD % {"d": shlex.quote(cwd)} if cwd is not None else ""}
    script = f"T=sandlot-{token}; set -- {shlex.join(argv)}\n{body}"
    return script, token


PTY_TYPED_LINE = b'exec sh -c "$SANDLOT_LAUNCH"\n'
