# shellcheck shell=sh
# Daytona's spawn launcher: the shared checks and report (sandlot/_launcher/sh/checks.sh)
# around the framing a Daytona session command needs (see _launcher.py here), run as
#   set -- TOKEN FLAGS CWD NENV NAME=VALUE... ARGV...
# TOKEN names the private FIFOs $d.i, $d.o, $d.e. The NENV NAME=VALUE strings are the
# command's environment, applied to the command and its lookup only. FLAGS holds letters:
#   c  change to CWD first
#   p  the environment changes PATH: find setsid before it applies
# Reports go to stdout, next to the framing's own lines (o/e output, x exit status).
set -f
# shellcheck source=../../../_launcher/sh/checks.sh
. ./checks.sh
sandlot_tag=sandlot sandlot_fd=1
d="${TMPDIR:-/tmp}/sandlot.$1"
sandlot_flags=$2 sandlot_cwd=$3 n=$4
shift 4
trap 'rm -f "$d.i" "$d.o" "$d.e"' EXIT
case $sandlot_flags in *c*) check_cwd "$sandlot_cwd" ;; esac
choose_setsid
check_env_command "$n" "$@"
# Private by their mode (no directory: one exec fewer before ready).
mkfifo -m 600 "$d.i" "$d.o" "$d.e" || { report nosetup mkfifo; exit 126; }
enc() {
  while c=$(dd bs=65536 count=1 2>/dev/null | base64 -w 4000) && [ -n "$c" ]; do
    for l in $c; do printf '%s%s\n' "$1" "$l"; done
  done
}
enc o <"$d.o" & eo=$!
enc e <"$d.e" >&2 & ee=$!
exec 3<&0
{ while IFS= read -r l; do
    case $l in I*) printf '%s' "${l#I}" | base64 -d ;; Z*) break ;; esac
  done; } <&3 >"$d.i" 2>/dev/null & ip=$!
exec 3<&-
# The command (the pipeline's first element) and its watcher (the second). Neither is a
# background job: dash and busybox sh start those with SIGINT and SIGQUIT ignored, for
# good (inherited across exec), so this shell is the command's parent, and it cannot reap
# it while stopped: the watcher stops it (once both exist) and the command execs only
# then; the watcher continues it once it has read the wait status of the zombie.
(
  read -r s </proc/self/stat
  echo "${s%% *}"
  exec <"$d.i" >"$d.o" 2>"$d.e"
  s=''
  while [ "${s%% *}" != T ] && read -r s <"/proc/$$/stat"; do s=${s##*) }; done
  i=$n
  # export NAME=VALUE (the name is in the string)
  # shellcheck disable=SC2163
  while [ "$i" -gt 0 ]; do export "$1"; shift; i=$((i - 1)); done
  exec "$S" "$@"
) | (
  read -r p || exit
  kill -STOP $$
  # Ready once the command leads its own process group: a signal sent to it from then on
  # cannot miss. (Fields after the name: state, ppid, pgrp.)
  while read -r s <"/proc/$p/stat"; do
    # shellcheck disable=SC2086
    set -- ${s##*) }
    if [ "$3" = "$p" ] || [ "$1" = Z ]; then break; fi
    sleep 0.001
  done
  report ok "$p"
  # Every FIFO is open now (the command got past its redirections): remove them, after
  # the report (off the critical path).
  rm -f "$d.i" "$d.o" "$d.e" >/dev/null 2>&1 & rp=$!
  t=0.002
  while :; do
    if ! read -r s <"/proc/$p/stat"; then w='?'; break; fi
    # shellcheck disable=SC2086
    set -- ${s##*) }
    if [ "$1" = Z ]; then eval "w=\${50}"; break; fi
    sleep $t
    case $t in
      0.002) t=0.003 ;; 0.003) t=0.005 ;; 0.005) t=0.01 ;; 0.01) t=0.02 ;; 0.02) t=0.05 ;;
      0.05) t=0.1 ;;
    esac
  done
  kill -CONT $$
  # The directory must be gone before the client hears of the exit: it then deletes our
  # session, which kills this process group before an EXIT trap could run.
  wait $rp
  echo "x $w"
)
trap - EXIT
kill -9 $ip 2>/dev/null
wait $eo $ee
