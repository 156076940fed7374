# shellcheck shell=sh
# Docker's spawn launcher (an exec without a tty): the shared checks and report
# (sandlot/_launcher/sh/checks.sh), and the command's real wait status. Run as
#   set -- TAG FLAGS CWD ARGV...
# TAG is the report's tag (`sandlot-NONCE`); FLAGS holds `c` (change to CWD first) and
# `p`: the command's PATH is in $SANDLOT_PATH (this script's tools come from the
# container's PATH, the command's lookup and environment from the caller's).
# The Engine reports a signal as exit code 128+N, like `exit 128+N`: so this shell reads
# the command's raw wait status from /proc/PID/stat (field 52) while it is a zombie, which
# its parent must not reap meanwhile (see "The command" below). Reports go to stderr:
# `ok PID` (the command leads its own session and process group), then `x STATUS` when it
# ended (empty if it could not be read).
# shellcheck source=../../../_launcher/sh/checks.sh
. ./checks.sh
sandlot_tag=$1 sandlot_fd=2
sandlot_flags=$2 sandlot_cwd=$3
shift 3
case $sandlot_flags in *c*) check_cwd "$sandlot_cwd" ;; esac
case $sandlot_flags in
  *p*) (PATH=$SANDLOT_PATH && check_command "$1") || exit ;;
  *) check_command "$1" ;;
esac
command -v setsid >/dev/null 2>&1 || { report nosetup setsid; exit 126; }
# The command's output goes through FIFOs to two relays (`cat`): the Engine ends an exec's
# stream 2 s after its process (this shell) exits, even while children of the command
# still write, so this shell ends only once no process holds the output (the relays end).
# Without a writable TMPDIR the command writes to the stream itself.
f="${TMPDIR:-/tmp}/$sandlot_tag"
# From here on this shell's own stderr is not the command's: busybox sh says "Terminated"
# there when it reaps a command killed by a signal. Fd 6 is the exec's stderr itself: the
# ok report goes there, not through a relay, so that it reaches the Engine before any of
# the command's output can (a relay that runs late would let the other stream's output
# run ahead, which the client must hold until the report comes).
exec 3<&0 4>&1 5>&2 6>&2 2>/dev/null
r=''
if mkfifo -m 600 "$f.o" "$f.e" 2>/dev/null; then
  cat <"$f.o" >&4 3<&- 6>&- & r=$!
  cat <"$f.e" >&5 3<&- 6>&- & r="$r $!"
  exec 4>"$f.o" 5>"$f.e"
  rm -f "$f.o" "$f.e" &
fi
# The command (the pipeline's first element) and its watcher (the second). Neither is a
# background job: dash and busybox sh start those with SIGINT and SIGQUIT ignored, for
# good (inherited across exec), so this shell is the command's parent, and it cannot reap
# it while stopped: the watcher stops it (once both exist) and the command execs only
# then; the watcher continues it once it has read the wait status of the zombie.
(
  read -r s </proc/self/stat
  echo "${s%% *}"
  s=''
  while [ "${s%% *}" != T ] && read -r s <"/proc/$$/stat"; do s=${s##*) }; done
  # The report, from the command's own session: setsid leaves it the leader. (The
  # report's format is checks.sh's; this new shell does not have it.)
  # shellcheck disable=SC2016
  exec setsid sh -c 'printf "\036%s:ok:%s\n" "$0" $$ >&6
if [ -n "${SANDLOT_PATH+x}" ]; then PATH=$SANDLOT_PATH; unset SANDLOT_PATH; fi
exec "$@" 6>&-' "$sandlot_tag" "$@" <&3 >&4 2>&5 3<&- 4>&- 5>&-
) | (
  exec 3<&- 4>&- 6>&- >/dev/null
  read -r p || exit 255
  kill -STOP $$
  # Until the command is a zombie: first without forking (a short command ends within a
  # few hundred reads, and a `sleep` costs a fork and an exec), then backing off to 0.1 s.
  t=0 n=0
  while :; do
    if ! read -r s <"/proc/$p/stat"; then w=''; break; fi
    # shellcheck disable=SC2086
    set -- ${s##*) }
    if [ "$1" = Z ]; then eval "w=\${50}"; break; fi
    if [ $n -lt 300 ]; then n=$((n + 1)); continue; fi
    case $t in
      0) t=0.001 ;; 0.001) t=0.002 ;; 0.002) t=0.005 ;; 0.005) t=0.01 ;; 0.01) t=0.02 ;;
      0.02) t=0.05 ;; *) t=0.1 ;;
    esac
    sleep $t
  done
  # Fd 5: the exit report follows the command's stderr (and its ok report). Written
  # before the launcher reaps the command: while the command is not a zombie, no exit
  # report is on its way (the client relies on it to release output it held back).
  sandlot_fd=5
  report x "$w"
  kill -CONT $$
  [ -n "$w" ] || exit 255
  if [ $((w & 127)) -eq 0 ]; then exit $((w >> 8)); fi
  exit $((128 + (w & 127)))
)
c=$?
exec 3<&- 4>&- 5>&- 6>&- </dev/null
# shellcheck disable=SC2086
[ -z "$r" ] || wait $r
exit $c
