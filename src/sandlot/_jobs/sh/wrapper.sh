# shellcheck shell=sh
# The job's supervisor ("wrapper"), started by launch.sh in a new session and run from
# the file ROOT/ID/wrapper.sh (so that `ps` stays readable).
# Args: JOB_DIR WORKDIR TIMEOUT LOG_CAP SEPARATE GRACE ENV_NAMES ARGV... (ENV_NAMES: see
# launch.sh; the job's variables are still named SANDLOT_JOB_ENV_NAME here)
# It keeps the stdin FIFO open, starts the command in its own session (and cgroup when
# it can make one), waits for it, sweeps what is left of its tree, waits for the logs to
# be complete and writes the exit file.
set -u
# shellcheck source=lib.sh
. ./lib.sh
job_dir=$1 workdir=$2 timeout=$3 log_cap=$4 separate=$5 grace=$6 env_names=$7
shift 7
cd "$job_dir" || exit 1
state=running # for signal_tree: the command is ours, signal its group
# close_stdin (close.sh) sends SIGUSR1: close our end of the FIFO, so that the command
# sees EOF once it has read what was written.
trap 'stdin_closed=1; exec 3>&-' USR1
exec 3<> stdin

read_start_time $$
printf '%s %s\n' $$ "$start_time" > wrapper.tmp && mv -f wrapper.tmp wrapper

# A cgroup-v2 child of our own cgroup, if we may create one: then `cgroup.kill` reaches
# even the command's children that left its session.
cgroup=''
if [ -r /proc/self/mounts ] && [ -r /proc/self/cgroup ]; then
  cgroup2_mount=''
  while read -r _ mount_point fs_type _; do
    [ "$fs_type" = cgroup2 ] && { cgroup2_mount=$mount_point; break; }
  done < /proc/self/mounts
  own_cgroup=''
  while IFS= read -r line; do
    case $line in 0::/*) own_cgroup=${line#0::} ;; esac
  done < /proc/self/cgroup
  if [ -n "$cgroup2_mount" ] && [ -n "$own_cgroup" ]; then
    cgroup=$cgroup2_mount${own_cgroup%/}/sandlot-job-${job_dir##*/}-$$
    if mkdir "$cgroup" 2>/dev/null && [ -w "$cgroup/cgroup.procs" ]; then
      printf '%s\n' "$cgroup" > cgroup
    else
      rmdir "$cgroup" 2>/dev/null
      cgroup=''
    fi
  fi
fi

if [ "$separate" = 1 ]; then out_log=stdout err_log=stderr; else out_log=output err_log=output; fi
# With a log cap, a stream goes through a FIFO to a copy of exactly CAP bytes, which
# appends to the log; what is left is counted (so discarded, never buffered) and flagged
# in `capped`. The copy must not read past CAP (busybox's `head -c` does, and what it
# read and dropped would go uncounted): `dd iflag=fullblock` (GNU, busybox) where there
# is one, else `head -c`.
copy_cap() {
  if [ "$exact_dd" = 1 ]; then
    blocks=$((log_cap / 65536)) tail_bytes=$((log_cap % 65536))
    [ $blocks -gt 0 ] && dd bs=65536 count=$blocks iflag=fullblock 2>/dev/null
    [ $tail_bytes -gt 0 ] && dd bs=$tail_bytes count=1 iflag=fullblock 2>/dev/null
    return 0
  fi
  head -c "$log_cap"
}
cap_into() {
  { copy_cap; rest=$(wc -c); [ $((rest + 0)) -gt 0 ] && : > capped; } < "$1" >> "$2"
}
exact_dd=0
[ "$log_cap" -gt 0 ] && [ "$(printf ab | dd bs=1 count=1 iflag=fullblock 2>/dev/null)" = a ] \
  && exact_dd=1
if [ "$log_cap" -gt 0 ]; then
  mkfifo "$out_log.pipe"
  cap_into "$out_log.pipe" "$out_log" 3>&- &
  out_log=$out_log.pipe
  if [ "$separate" = 1 ]; then
    mkfifo "$err_log.pipe"
    cap_into "$err_log.pipe" "$err_log" 3>&- &
    err_log=$err_log.pipe
  else
    err_log=$out_log
  fi
fi

# The command's own shell, in a new session: it joins the cgroup if there is one,
# records which reaper applies, goes to the working directory, gives the job's
# variables their names back (positional parameters only from there on: assigning any
# variable could change one of them), and becomes the command.
# Args: GATE CGROUP WORKDIR ENV_NAMES ARGV... With a GATE (a FIFO), it first waits until
# its holder opens the gate, which the holder does only as it becomes `sleep` (see below).
# shellcheck disable=SC2016 # expanded by that shell, not this one
command_script='[ -z "$1" ] || : < "$1"
cgroup=$2 workdir=$3 env_names=$4; shift 4
if [ -n "$cgroup" ] && { echo $$ > "$cgroup/cgroup.procs"; } 2>/dev/null
then reaper=cgroup; else reaper=pgroup; fi
echo $reaper > reaper.tmp && mv -f reaper.tmp reaper
cd "$workdir" || exit
set -- $env_names -- "$@"
while [ "$1" != -- ]; do
  eval "export $1=\"\${SANDLOT_JOB_ENV_$1}\""; unset "SANDLOT_JOB_ENV_$1"; shift
done
shift
exec "$@"'
run_command() {
  if [ "$out_log" = "$err_log" ]; then
    setsid sh -c "$command_script" sandlot-job-cmd "$gate" "$cgroup" "$workdir" "$env_names" \
      "$@" < stdin >> "$out_log" 2>&1 3>&- &
  else
    setsid sh -c "$command_script" sandlot-job-cmd "$gate" "$cgroup" "$workdir" "$env_names" \
      "$@" < stdin >> "$out_log" 2>> "$err_log" 3>&- &
  fi
}

# `exact`: on Linux (/proc/PID/stat with the exit_code field, >= 3.5) the command's
# parent is a holder that never reaps it, so that once it is a zombie its raw wait
# status can be read: a signal is then told apart from `exit 128+N`. Elsewhere the
# command is our child and `wait` gives the shell's 128+N.
count_fields() {
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- ${1##*") "}
  field_count=$#
}
exact=0 stat_line=''
read -r stat_line 2>/dev/null < /proc/$$/stat && count_fields "$stat_line" \
  && [ "$field_count" -ge 50 ] && exact=1
holder_pid='' gate=''
if [ $exact = 1 ]; then
  # Builtins only before the exec: a shell waiting for any other child would reap it. A
  # shell may reap a child that ended even so (busybox's did, before the exec): the
  # command waits at the gate until the holder opens it, in the redirection of its exec.
  gate=gate
  mkfifo gate
  ( run_command "$@"; echo $! > cpid; exec sleep 2147483647 9> gate ) 3>&- < /dev/null \
    > /dev/null 2>&1 &
  holder_pid=$!
  read_start_time "$holder_pid"
  printf '%s %s\n' "$holder_pid" "$start_time" > holder
  steps=0
  while [ ! -s cpid ] && [ $steps -lt 500 ]; do sleep 0.01; steps=$((steps + 1)); done
  read -r command_pid < cpid
else
  run_command "$@"
  command_pid=$!
fi
# Publish the pid only once the command leads its own group (and sits in its cgroup):
# from then on, signalling the group or the cgroup reaches everything it starts.
steps=0
while [ ! -e reaper ] && kill -0 "$command_pid" 2>/dev/null && [ $steps -lt 500 ]; do
  sleep 0.01; steps=$((steps + 1))
done
read_start_time "$command_pid"
printf '%s %s\n' "$command_pid" "$start_time" > pid.tmp && mv -f pid.tmp pid

# The timeout: SIGTERM to the tree, then SIGKILL after the grace period.
watchdog_pid=''
if [ "$timeout" != 0 ]; then
  (
    trap 'kill "$sleep_pid" 2>/dev/null; exit 0' TERM
    sleep "$timeout" & sleep_pid=$!
    wait "$sleep_pid"
    : > timedout
    signal_tree TERM
    sleep "$grace" & sleep_pid=$!
    wait "$sleep_pid"
    signal_tree KILL
  ) 3>&- &
  watchdog_pid=$!
fi

exit_code=0 signal_number=0
if [ $exact = 1 ]; then
  # read_zombie_status PID: sets zombie_status to the raw wait status (field 52 of
  # /proc/PID/stat) once PID is a zombie, "gone" if it vanished, else empty.
  read_zombie_status() {
    zombie_status='' stat_line=''
    read -r stat_line 2>/dev/null < "/proc/$1/stat" || { zombie_status=gone; return 0; }
    # shellcheck disable=SC2086 # split into fields on purpose
    set -- ${stat_line##*") "}
    [ "$1" = Z ] && zombie_status=${50}
    return 0
  }
  # Only the parent could be told: poll, backing off to 4 checks a second.
  poll_interval=0.01
  while read_zombie_status "$command_pid"; [ -z "$zombie_status" ]; do
    sleep $poll_interval
    case $poll_interval in
      0.01) poll_interval=0.02 ;;
      0.02) poll_interval=0.05 ;;
      0.05) poll_interval=0.1 ;;
      0.1) poll_interval=0.25 ;;
    esac
  done
  if [ "$zombie_status" = gone ]; then
    exit_code=255
  else
    signal_number=$((zombie_status & 127)) exit_code=$(((zombie_status >> 8) & 255))
  fi
else
  # A trapped SIGUSR1 (close stdin) interrupts `wait` with 128+n: wait again. If the
  # command's real status was reported at the same moment, the second wait says 127.
  interrupted_status=''
  while :; do
    stdin_closed=0
    wait "$command_pid"
    wait_status=$?
    if [ "$stdin_closed" = 1 ] && [ $wait_status -gt 128 ]; then
      interrupted_status=$wait_status
      continue
    fi
    [ $wait_status = 127 ] && [ -n "$interrupted_status" ] && wait_status=$interrupted_status
    exit_code=$wait_status
    break
  done
  [ $exit_code -gt 128 ] && [ $exit_code -lt 192 ] && signal_number=$((exit_code - 128))
fi

# The command has ended: sweep the rest of its tree, stop the holder and the watchdog,
# release the FIFO, and wait for the log relays (the logs are then complete).
signal_tree KILL
[ -n "$holder_pid" ] && kill -9 "$holder_pid" 2>/dev/null
[ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
exec 3>&-
wait
rm -f stdout.pipe stderr.pipe output.pipe gate
# Signals are recorded by name too: numbers differ between architectures.
if [ $signal_number != 0 ]; then
  signal_name=$(kill -l $signal_number 2>/dev/null) || signal_name=-
  exit_record="signal $signal_number ${signal_name#SIG}"
else
  exit_record="code $exit_code"
fi
if [ -n "$cgroup" ]; then
  steps=0
  while [ -d "$cgroup" ] && ! rmdir "$cgroup" 2>/dev/null && [ $steps -lt 100 ]; do
    sleep 0.05; steps=$((steps + 1))
  done
fi
# Last, atomically: once `exit` exists, the logs are final.
printf '%s\n' "$exit_record" > exit.tmp && mv -f exit.tmp exit
