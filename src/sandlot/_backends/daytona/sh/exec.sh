# shellcheck shell=sh
# Daytona's exec launcher: one command run to its end inside ONE `/process/execute`
# request (see _oneshot.py), with the shared checks and report (checks.sh), run as
#   set -- TOKEN FLAGS CWD LIMIT GRACE CAP INLINE INPUT NENV NAME=VALUE... ARGV...
# TOKEN names the private files $d.*. LIMIT is the timeout in seconds (empty:
# none), GRACE the centiseconds between SIGTERM and SIGKILL, CAP the bytes kept per
# stream (empty: all), INLINE the most output bytes printed in the answer (more is left
# in $d.O and $d.E for the client to fetch in chunks, and remove). INPUT is stdin as base64 (flag
# i) or the path of an uploaded file (flag f, removed at the end); else /dev/null.
# FLAGS also: c  change to CWD first;  p  the environment changes PATH.
# The answer is this shell's stdout (its stderr is dropped): a failed check's report, or
#   x WAITSTATUS     t (timed out)     s OUTTOTAL ERRTOTAL (bytes written, ? if unknown)
# then either `=o`, stdout as base64, `=e`, stderr as base64, `=z`, or `k` (kept).
# Base64 survives the daemon's text handling of the answer byte for byte.
set -f
# shellcheck source=../../../_launcher/sh/checks.sh
. ./checks.sh
sandlot_tag=sandlot sandlot_fd=1
d="${TMPDIR:-/tmp}/sandlot.$1"
sandlot_flags=$2 sandlot_cwd=$3 lim=$4 grace=$5 cap=$6 inl=$7 in=$8 n=$9
shift 9
exec 2>/dev/null
rm_in=''
case $sandlot_flags in *f*) rm_in=$in ;; esac
# A cancellation came first (see cancel_command): run nothing.
if [ -e "$d.c" ]; then rm -f "$d.c" "$rm_in"; exit 0; fi
trap 'rm -f "$d.o" "$d.e" "$d.O" "$d.E" "$d.on" "$d.en" "$d.p" "$d.i" "$d.c" "$rm_in"' EXIT
case $sandlot_flags in *c*) check_cwd "$sandlot_cwd" ;; esac
choose_setsid
check_env_command "$n" "$@"
i=/dev/null
case $sandlot_flags in
  *i*)
    i="$d.i"
    printf '%s' "$in" | (umask 077; base64 -d >"$i") || { report nosetup base64; exit 126; } ;;
  *f*) i=$in ;;
esac
# Pipes, as a local exec has: a child holding them keeps the exec going. The private
# files are made private one by one: a umask set here would reach the command.
mkfifo -m 600 "$d.o" "$d.e" || { report nosetup mkfifo; exit 126; }
# The command (the pipeline's first element) and its watcher (the second), as in
# spawn.sh: this shell is the command's parent, stopped by the watcher until it has read
# the zombie's raw wait status (the signal included).
(
  # Its pid is told once the pipes are open: a command side that dies before (its input
  # gone, or killed) tells nothing, and the watcher ends without waiting for it.
  exec 3>&1 <"$i" >"$d.o" 2>"$d.e"
  read -r s </proc/self/stat
  echo "${s%% *}" >&3
  exec 3>&-
  s=''
  while [ "${s%% *}" != T ] && read -r s <"/proc/$$/stat"; do s=${s##*) }; done
  i=$n
  # export NAME=VALUE (the name is in the string)
  # shellcheck disable=SC2163
  while [ "$i" -gt 0 ]; do export "$1"; shift; i=$((i - 1)); done
  exec "$S" "$@"
) | (
  umask 077
  # Both FIFOs held open read-write (which never blocks) until the command side has opened
  # its ends: no open below waits for a partner that may never come, and the readers see
  # EOF only once the command and whatever inherited its output are gone.
  exec 3<>"$d.o" 4<>"$d.e"
  # The readers, children of this watcher so that it can wait for them, none holding 3 or
  # 4 (a redirection of a { group } keeps a copy in its shell: exec closes them for good).
  # dd reports the bytes it moved; past CAP they are read and dropped here (head reads no
  # further).
  if [ -z "$cap" ]; then
    dd bs=65536 <"$d.o" >"$d.O" 2>"$d.on" 3>&- 4>&- & ro=$!
    dd bs=65536 <"$d.e" >"$d.E" 2>"$d.en" 3>&- 4>&- & re=$!
  else
    dd bs=65536 <"$d.o" 2>"$d.on" 3>&- 4>&- \
      | { exec 3>&- 4>&-; head -c "$cap" >"$d.O"; exec cat >/dev/null; } & ro=$!
    dd bs=65536 <"$d.e" 2>"$d.en" 3>&- 4>&- \
      | { exec 3>&- 4>&-; head -c "$cap" >"$d.E"; exec cat >/dev/null; } & re=$!
  fi
  read -r p || { exec 3>&- 4>&-; wait; exit; }
  exec 3>&- 4>&-
  kill -STOP $$
  # A cancellation writes c, then reads p; we write p, then read c: one sees the other.
  echo "$p" >"$d.p"
  if [ -e "$d.c" ]; then kill -KILL -"$p" || kill -KILL "$p"; fi
  # zombie: true once the leader is dead, its raw wait status in w.
  zombie() {
    read -r s <"/proc/$p/stat" || { w='?'; return 0; }
    # shellcheck disable=SC2086
    set -- ${s##*) }
    [ "$1" = Z ] && eval "w=\${50}"
  }
  # drained: true once both readers are at EOF (every writer of the pipes is gone).
  drained() {
    for r in $ro $re; do
      read -r s <"/proc/$r/stat" || continue
      case ${s##*) } in Z*) ;; *) return 1 ;; esac
    done
  }
  t=0.002
  nap() {
    sleep $t
    case $t in
      0.002) t=0.003 ;; 0.003) t=0.005 ;; 0.005) t=0.01 ;; 0.01) t=0.02 ;; 0.02) t=0.05 ;;
      0.05) t=0.1 ;;
    esac
  }
  w='' fired='' tp=''
  if [ -n "$lim" ]; then
    read -r s </proc/self/stat
    me=${s%% *}
    trap 'fired=1' USR1
    # The timer: a signal interrupts `wait` below.
    (
      trap 'kill $z; exit 0' TERM
      sleep "$lim" & z=$!
      wait $z && kill -USR1 "$me"
    ) & tp=$!
  fi
  # The pipes close, or the deadline passes. The leader may outlive its pipes.
  wait $ro $re
  until zombie || [ -n "$fired" ]; do nap; done
  if [ -n "$fired" ]; then
    if [ -z "$w" ]; then
      echo t
      kill -TERM -"$p"
      n=$grace
      until zombie || [ "$n" -le 0 ]; do sleep 0.01; n=$((n - 1)); done
    fi
    # SIGKILL even when the leader is gone: it sweeps the group members holding the pipes.
    kill -KILL -"$p"
    until zombie; do sleep 0.01; done
    n=25
    until drained || [ "$n" -le 0 ]; do sleep 0.01; n=$((n - 1)); done
    # shellcheck disable=SC2086
    kill -KILL $ro $re
  fi
  if [ -n "$tp" ]; then kill "$tp"; fi
  kill -CONT $$
  echo "x $w"
)
# bytes FILE: what dd's report in FILE says it moved (its last line's first word), or ?
bytes() {
  b='?'
  while read -r l; do b=${l%% *}; done <"$1"
  case $b in *[!0-9]*|'') b='?' ;; esac
}
bytes "$d.on"; so=$b
bytes "$d.en"; se=$b
echo "s $so $se"
ko=$so ke=$se
if [ -n "$cap" ]; then
  [ "$ko" = '?' ] || [ "$ko" -le "$cap" ] || ko=$cap
  [ "$ke" = '?' ] || [ "$ke" -le "$cap" ] || ke=$cap
fi
set --
if [ "$ko" != '?' ] && [ "$ke" != '?' ] && [ $((ko + ke)) -le "$inl" ]; then
  set -- "$d.O" "$d.E"
  echo '=o'
  if [ "$ko" -gt 0 ]; then base64 <"$d.O"; fi
  echo '=e'
  if [ "$ke" -gt 0 ]; then base64 <"$d.E"; fi
  echo '=z'
else
  # Left for the client, which fetches and removes them.
  echo k
fi
# Removed off the critical path: the answer ends when this shell does.
trap - EXIT
rm -f "$d.o" "$d.e" "$d.on" "$d.en" "$d.p" "$d.i" "$d.c" "$rm_in" "$@" >/dev/null 2>&1 &
