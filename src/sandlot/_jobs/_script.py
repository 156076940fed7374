"""The POSIX ``sh`` scripts that run in the sandbox: the launcher, the job's supervisor
(the "wrapper") and one small script per operation.

Every operation is one ``exec`` of ``sh -c SCRIPT sandlot-job ROOT ID ARGS...``; it prints
one header line ``sandlot-job ...`` (and, for reads, the raw log bytes after it). Nothing
is decoded in transit.

Layout of a job directory ``ROOT/ID``:

* ``meta.json``  the handle (argv, cwd, env *names*), written before the launch;
* ``wrapper.sh``  the supervisor's script (run from the file so ``ps`` stays readable);
* ``output`` or ``stdout`` + ``stderr``  append-only logs, byte-exact;
* ``stdin``  a FIFO; the wrapper holds it open read-write so writers never block on open
  and the command sees EOF only after ``close_stdin`` (``stdin.closed`` + SIGUSR1);
* ``wrapper`` / ``pid``  "PID STARTTIME" of the wrapper and the command (field 22 of
  ``/proc/PID/stat``), so a recycled pid never looks alive;
* ``reaper`` (``cgroup`` or ``pgroup``), ``cgroup`` (its path), ``timedout``, ``capped``;
* ``exit``  ``code N`` or ``signal N NAME`` (``signal 9 KILL``; the name matters, numbers
  differ between architectures), written atomically (rename) by the wrapper once the
  command and its whole tree have ended and the logs are complete.

On Linux the wrapper reads the command's raw wait status from ``/proc`` (see WRAPPER),
so a signal is reported as a signal and ``exit 130`` as code 130. Without ``/proc`` a
shell's ``$?`` cannot tell them apart: statuses 129..191 are then reported as signals.
"""

from __future__ import annotations

__all__ = [
    "ATTACH",
    "CLOSE",
    "KILL",
    "LAUNCH",
    "LIST",
    "READ",
    "REMOVE",
    "STOP",
    "TAIL",
    "WRAPPER",
    "WRITE",
]

# Shared by every script. `stt PID` sets S to the start time (field 22 of /proc/PID/stat,
# counted after the parenthesised command name, which may contain spaces).
_FUNCS = r"""
stt() { S=; l=; read -r l 2>/dev/null < "/proc/$1/stat" || return 0
  set -- ${l##*") "}; [ "$1" = Z ] && return 0  # a zombie is dead
  [ $# -ge 20 ] && S=${20}; return 0; }
alive() { [ -n "$1" ] || return 1
  if [ -d /proc/self ]; then stt "$1"; [ "$S" = "$2" ]; else kill -0 "$1" 2>/dev/null; fi; }
jstat() { st=crashed; ex=-
  if [ -e "$d/exit" ]; then st=exited
  else w=; ws=; [ -e "$d/wrapper" ] && read -r w ws < "$d/wrapper"
    if alive "$w" "$ws"; then st=running; elif [ -e "$d/exit" ]; then st=exited; fi; fi
  if [ $st = exited ]; then read -r k v nm < "$d/exit"; ex=$k:$v:${nm:--}; fi
  to=0; [ -e "$d/timedout" ] && to=1
  cp=0; [ -e "$d/capped" ] && cp=1
  rp=-; [ -e "$d/reaper" ] && read -r rp < "$d/reaper"
  hdr="$st $ex $to $cp $rp"; }
reap() { C=; cs=; [ -e "$d/pid" ] && read -r C cs < "$d/pid"
  cg=; [ -e "$d/cgroup" ] && read -r cg < "$d/cgroup"
  r=; [ -e "$d/reaper" ] && read -r r < "$d/reaper"
  if [ "$r" = cgroup ] && [ -n "$cg" ] && [ -d "$cg" ]; then
    if [ "$1" = KILL ] && [ -e "$cg/cgroup.kill" ]; then echo 1 > "$cg/cgroup.kill"
    else for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -$1 $p 2>/dev/null; done; fi
  fi
  if [ -n "$C" ] && { [ "$st" = running ] || alive "$C" "$cs"; }; then
    kill -$1 -$C 2>/dev/null; fi; return 0; }
"""

# Every operation script starts with this: "$1" is the jobs root ("" = default), "$2" the id.
_PRELUDE = (
    'set -u\nroot=$1 id=$2; shift 2\n[ -n "$root" ] || root=${HOME:-/tmp}/.sandlot/jobs\n'
    "d=$root/$id\n" + _FUNCS
)

_KNOWN = '[ -f "$d/meta.json" ] || { echo "sandlot-job unknown"; exit 0; }\n'

# The job's supervisor, started by LAUNCH in a new session. Args: DIR CWD TIMEOUT CAP
# SEPARATE GRACE ARGV... It keeps the stdin FIFO open, starts the command in its own
# session (and cgroup when it can make one), waits for it, sweeps what is left of the
# tree, waits for the logs to be complete and writes the exit file.
WRAPPER = (
    r"""set -u
d=$1 cwd=$2 t=$3 cap=$4 sep=$5 g=$6; shift 6
cd "$d" || exit 1
st=running
trap 'intr=1; exec 3>&-' USR1
exec 3<>stdin
"""
    + _FUNCS
    + r"""
stt $$; printf '%s %s\n' $$ "$S" > wrapper.tmp && mv -f wrapper.tmp wrapper
cg=
if [ -r /proc/self/mounts ] && [ -r /proc/self/cgroup ]; then
  mnt=; while read -r _ m ty _; do [ "$ty" = cgroup2 ] && { mnt=$m; break; }
    done < /proc/self/mounts
  cur=; while IFS= read -r l; do case $l in 0::/*) cur=${l#0::};; esac; done < /proc/self/cgroup
  if [ -n "$mnt" ] && [ -n "$cur" ]; then
    cg=$mnt${cur%/}/sandlot-job-${d##*/}-$$
    if mkdir "$cg" 2>/dev/null && [ -w "$cg/cgroup.procs" ]; then printf '%s\n' "$cg" > cgroup
    else rmdir "$cg" 2>/dev/null; cg=; fi
  fi
fi
if [ "$sep" = 1 ]; then o=stdout e=stderr; else o=output e=output; fi
capto() { { head -c "$cap"; n=$(wc -c); [ $((n+0)) -gt 0 ] && : > capped; } < "$1" >> "$2"; }
if [ "$cap" -gt 0 ]; then
  mkfifo "$o.pipe"; capto "$o.pipe" "$o" 3>&- & o=$o.pipe
  if [ "$sep" = 1 ]; then mkfifo "$e.pipe"; capto "$e.pipe" "$e" 3>&- & e=$e.pipe; else e=$o; fi
fi
cmd='cg=$1 cwd=$2; shift 2
if [ -n "$cg" ] && { echo $$ > "$cg/cgroup.procs"; } 2>/dev/null; then r=cgroup; else r=pgroup; fi
echo $r > reaper.tmp && mv -f reaper.tmp reaper
cd "$cwd" && exec "$@"'
run() {
  if [ "$o" = "$e" ]; then
    setsid sh -c "$cmd" sandlot-job-cmd "$cg" "$cwd" "$@" < stdin >> "$o" 2>&1 3>&- &
  else
    setsid sh -c "$cmd" sandlot-job-cmd "$cg" "$cwd" "$@" < stdin >> "$o" 2>> "$e" 3>&- &
  fi
}
# `exact`: on Linux (/proc/PID/stat with the exit_code field, >= 3.5) the command's
# parent is a holder that never reaps it, so that once it is a zombie its raw wait
# status can be read: a signal is then told apart from `exit 128+N`. Elsewhere the
# command is our child and `wait` gives the shell's 128+N.
nf() { set -- ${1##*") "}; N=$#; }
exact=0; l=; read -r l 2>/dev/null < /proc/$$/stat && nf "$l" && [ "$N" -ge 50 ] && exact=1
H=
if [ $exact = 1 ]; then
  # Builtins only before the exec: a shell waiting for any other child would reap it.
  ( run "$@"; echo $! > cpid; exec sleep 2147483647 ) 3>&- < /dev/null > /dev/null 2>&1 &
  H=$!
  stt $H; printf '%s %s\n' "$H" "$S" > holder
  i=0; while [ ! -s cpid ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
  read -r C < cpid
else
  run "$@"; C=$!
fi
# Publish the pid only once the command leads its own group (and sits in its cgroup):
# from then on, signalling the group or the cgroup reaches everything it starts.
i=0; while [ ! -e reaper ] && kill -0 "$C" 2>/dev/null && [ $i -lt 500 ]; do
  sleep 0.01; i=$((i+1)); done
stt $C; printf '%s %s\n' "$C" "$S" > pid.tmp && mv -f pid.tmp pid
wd=
if [ "$t" != 0 ]; then
  ( trap 'kill $s 2>/dev/null; exit 0' TERM
    sleep "$t" & s=$!; wait $s; : > timedout; reap TERM
    sleep "$g" & s=$!; wait $s; reap KILL ) 3>&- &
  wd=$!
fi
rc=0 sig=0
if [ $exact = 1 ]; then
  # Poll for the zombie (only the parent could be told; backing off to 4 checks/s).
  zw() { Z=; l=; read -r l 2>/dev/null < "/proc/$1/stat" || { Z=gone; return 0; }
    set -- ${l##*") "}; [ "$1" = Z ] && Z=${50}; return 0; }
  p=0.01
  while zw "$C"; [ -z "$Z" ]; do sleep $p
    case $p in 0.01) p=0.02;; 0.02) p=0.05;; 0.05) p=0.1;; 0.1) p=0.25;; esac; done
  if [ "$Z" = gone ]; then rc=255; else sig=$((Z & 127)) rc=$(((Z >> 8) & 255)); fi
else
  # A trapped SIGUSR1 (close stdin) interrupts `wait` with 128+n: wait again. If the
  # command's real status was reported at the same moment, the second wait says 127.
  last=
  while :; do intr=0; wait "$C"; r=$?
    if [ "$intr" = 1 ] && [ $r -gt 128 ]; then last=$r; continue; fi
    [ $r = 127 ] && [ -n "$last" ] && r=$last
    rc=$r; break
  done
  [ $rc -gt 128 ] && [ $rc -lt 192 ] && sig=$((rc-128))
fi
reap KILL
[ -n "$H" ] && kill -9 "$H" 2>/dev/null
[ -n "$wd" ] && kill "$wd" 2>/dev/null
exec 3>&-
wait
rm -f stdout.pipe stderr.pipe output.pipe
if [ $sig != 0 ]; then
  nm=$(kill -l $sig 2>/dev/null) || nm=-; ex="signal $sig ${nm#SIG}"
else ex="code $rc"; fi
if [ -n "$cg" ]; then i=0
  while [ -d "$cg" ] && ! rmdir "$cg" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
fi
printf '%s\n' "$ex" > exit.tmp && mv -f exit.tmp exit
"""
)

# Args: WRAPPER META CAP SEPARATE GRACE TIMEOUT MAX ARGV...; runs in the job's cwd with
# its environment. Never waits on the job: the wrapper is detached (new session, all
# three standard streams redirected), and this script only waits, bounded, for it to
# record its own pid, the command's pid and the reaper.
LAUNCH = (
    _PRELUDE
    + r"""
wr=$1 meta=$2 cap=$3 sep=$4 g=$5 t=$6 max=$7; shift 7
command -v setsid >/dev/null 2>&1 || { echo "sandlot-job nosetsid"; exit 0; }
command -v "$1" >/dev/null 2>&1 || { echo "sandlot-job notfound"; exit 0; }
[ -d "$root" ] || mkdir -p -m 700 "$root" 2>/dev/null
[ -d "$root" ] || { echo "sandlot-job noroot"; exit 0; }
if [ "$max" -gt 0 ]; then
  # Count and create under a lock so that concurrent starts cannot both squeeze in. A
  # lock older than ~2 s is a launcher that died holding it: take it over.
  i=0; while ! mkdir "$root/.lock" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done
  trap 'rmdir "$root/.lock" 2>/dev/null' EXIT
  n=0
  for j in "$root"/*; do
    [ -f "$j/meta.json" ] && [ ! -e "$j/exit" ] || continue
    x=; y=; [ -e "$j/wrapper" ] && read -r x y < "$j/wrapper"
    alive "$x" "$y" && n=$((n+1))
  done
  [ $n -ge "$max" ] && { echo "sandlot-job limit $n"; exit 0; }
fi
mkdir "$d" 2>/dev/null || { echo "sandlot-job exists"; exit 0; }
mkfifo "$d/stdin" || { echo "sandlot-job nofifo"; exit 0; }
if [ "$sep" = 1 ]; then : > "$d/stdout"; : > "$d/stderr"; else : > "$d/output"; fi
# meta.json first: if this script is killed from here on, the job is still listed.
printf '%s\n' "$meta" > "$d/meta.json"
# From a file rather than `sh -c`, so that `ps` shows `sh ROOT/ID/wrapper.sh ...`.
printf '%s' "$wr" > "$d/wrapper.sh"
setsid sh "$d/wrapper.sh" "$d" "$(pwd)" "$t" "$cap" "$sep" "$g" "$@" \
  < /dev/null > /dev/null 2>&1 &
i=0
while { [ ! -e "$d/reaper" ] || [ ! -e "$d/pid" ]; } && [ ! -e "$d/exit" ] && [ $i -lt 1000 ]; do
  sleep 0.01; i=$((i+1)); done
rp=-; [ -e "$d/reaper" ] && read -r rp < "$d/reaper"
echo "sandlot-job started $rp"
"""
)

# Args: STREAM CURSOR MAX LINGER. Status first, then the size: if the job has ended, the
# size is final. LINGER (in 50 ms steps) waits in the sandbox for new output, so that a
# follower costs one round trip per burst of output rather than per poll.
READ = (
    _PRELUDE
    + _KNOWN
    + r"""
f=$d/$1 c=$2 m=$3 n=$4
size() { s=0; [ -e "$f" ] && s=$(wc -c < "$f"); s=$((s+0)); }
jstat; size
while [ "$st" = running ] && [ "$s" -le "$c" ] && [ "$n" -gt 0 ]; do
  sleep 0.05; n=$((n-1)); jstat; size; done
k=$((s-c)); [ $k -gt "$m" ] && k=$m; [ $k -lt 0 ] && k=0
echo "sandlot-job $hdr $s"
[ $k -gt 0 ] && tail -c +$((c+1)) "$f" | head -c $k
exit 0
"""
)

# Args: STREAM LINES.
TAIL = (
    _PRELUDE
    + _KNOWN
    + r"""
jstat; echo "sandlot-job $hdr"
[ -e "$d/$1" ] && tail -n "$2" "$d/$1"
exit 0
"""
)

ATTACH = (
    _PRELUDE
    + _KNOWN
    + r"""
jstat; echo "sandlot-job $hdr"; cat "$d/meta.json"
"""
)

LIST = (
    _PRELUDE
    + r"""
for d in "$root"/*; do
  [ -f "$d/meta.json" ] || continue
  jstat; echo "sandlot-job $hdr"; cat "$d/meta.json"
done
exit 0
"""
)

# `busy`: the job's supervisor runs, or (after a crash) its command or cgroup still does.
_BUSY = r"""
busy() { [ -e "$d/exit" ] && return 1; jstat; [ "$st" = running ] && return 0
  C=; cs=; [ -e "$d/pid" ] && read -r C cs < "$d/pid"; alive "$C" "$cs" && return 0
  cg=; [ -e "$d/cgroup" ] && read -r cg < "$d/cgroup"
  [ -n "$cg" ] && [ -s "$cg/cgroup.procs" ]; }
waitgone() { i=0; while [ $i -lt "$1" ] && busy; do sleep 0.05; i=$((i+1)); done; }
# After a crash nobody kills the command's holder (see WRAPPER): do it once it is over.
unhold() { [ -e "$d/holder" ] && ! busy || return 0; h=; hs=; read -r h hs < "$d/holder"
  alive "$h" "$hs" && kill -9 "$h" 2>/dev/null; return 0; }
# A job still being launched has no pid file yet: wait for it (or for the wrapper's end).
started() { i=0; while [ ! -e "$d/pid" ] && [ $i -lt 100 ] && busy; do
  sleep 0.05; i=$((i+1)); done; }
"""

# Args: GRACE_STEPS WAIT(0/1). SIGTERM to the whole tree, wait, then SIGKILL.
STOP = (
    _PRELUDE
    + _KNOWN
    + _BUSY
    + r"""
started
if busy; then reap TERM
  if [ "$2" = 1 ]; then waitgone "$1"; busy && reap KILL; waitgone 200; fi
fi
unhold
jstat; echo "sandlot-job $hdr"
"""
)

# Args: SIGNAL (a name without SIG: signal numbers differ between architectures).
KILL = (
    _PRELUDE
    + _KNOWN
    + _BUSY
    + r"""
started
busy && reap "$1"
jstat; echo "sandlot-job $hdr"
"""
)

CLOSE = (
    _PRELUDE
    + _KNOWN
    + r"""
: > "$d/stdin.closed"
jstat
[ "$st" = running ] && kill -USR1 "$w" 2>/dev/null
echo "sandlot-job $hdr"
"""
)

# stdin of this exec is the data. The FIFO has a reader while the wrapper runs (it holds
# it open), and the wrapper closes it once the command has ended, so a blocked writer
# then fails instead of hanging.
WRITE = (
    _PRELUDE
    + _KNOWN
    + r"""
[ -e "$d/stdin.closed" ] && { echo "sandlot-job closed"; exit 0; }
jstat
[ "$st" = running ] || { echo "sandlot-job ended"; exit 0; }
exec 4> "$d/stdin" || { echo "sandlot-job ended"; exit 0; }
echo "sandlot-job writing"
cat >&4 && echo ok
exit 0
"""
)

# Args: FORCE(0/1).
REMOVE = (
    _PRELUDE
    + _KNOWN
    + _BUSY
    + r"""
if busy; then
  [ "$1" = 1 ] || { echo "sandlot-job running"; exit 0; }
  started; reap KILL; waitgone 200
  busy && { echo "sandlot-job running"; exit 0; }
fi
unhold
cg=; [ -e "$d/cgroup" ] && read -r cg < "$d/cgroup"
[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
rm -rf "$d"
echo "sandlot-job removed"
"""
)
