# shellcheck shell=sh
# The job's supervisor ("wrapper"), started by launch.sh in a new session and run from
# the file ROOT/ID/wrapper.sh (so that `ps` stays readable).
# Args: JOB_DIR WORKDIR TIMEOUT LOG_CAP SEPARATE GRACE ENV_NAMES ARGV... (ENV_NAMES: see
# launch.sh; the job's variables are still named SANDLOT_JOB_ENV_NAME here)
# This shell prepares, then runs a pipeline of two subshells, neither a background job:
# dash and busybox sh start those with SIGINT and SIGQUIT ignored, for good (inherited
# across exec), so the command could not be interrupted. The first becomes the command,
# in its own session (and cgroup when it can make one); the second is the supervisor
# (recorded as the wrapper): it keeps the stdin FIFO open, waits for the command, sweeps
# what is left of its tree, waits for the logs to be complete and writes the exit file.
set -u
# shellcheck source=lib.sh
. ./lib.sh
job_dir=$1 workdir=$2 timeout=$3 log_cap=$4 separate=$5 grace=$6 env_names=$7
shift 7
cd "$job_dir" || exit 1
state=running # for signal_tree: the command is ours, signal its group
# This shell is the wrapper until the supervisor takes over (so the job is busy from
# now on). A close_stdin meanwhile sends it SIGUSR1: caught (an ignored signal would be
# inherited by the command), and the supervisor then finds `stdin.closed`.
trap : USR1
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
# read and dropped would go uncounted), and must pass output on as it comes (a follower
# reads the log while the job runs): GNU `head -c` unbuffered (`stdbuf -o0`: its stdio
# would hold a file's output back), else busybox's `dd iflag=count_bytes` (GNU dd's
# stops after one short read); failing both, `dd iflag=fullblock`, which writes only
# full 64 KiB blocks until the end, else `head -c`. The supervisor starts the copies.
copy_cap() {
  case $copier in
    gnu_head) stdbuf -o0 head -c "$log_cap" ;;
    dd_bytes) dd bs=65536 iflag=count_bytes count="$log_cap" 2>/dev/null ;;
    dd_blocks)
      blocks=$((log_cap / 65536)) tail_bytes=$((log_cap % 65536))
      [ $blocks -gt 0 ] && dd bs=65536 count=$blocks iflag=fullblock 2>/dev/null
      [ $tail_bytes -gt 0 ] && dd bs=$tail_bytes count=1 iflag=fullblock 2>/dev/null
      ;;
    *) head -c "$log_cap" ;;
  esac
  return 0
}
cap_into() {
  { copy_cap; rest=$(wc -c); [ $((rest + 0)) -gt 0 ] && : > capped; } < "$1" >> "$2"
}
copier=plain
if [ "$log_cap" -gt 0 ]; then
  if head --version 2>/dev/null | grep -q GNU \
    && [ "$(printf abc | stdbuf -o0 head -c 2 2>/dev/null)" = ab ]; then
    copier=gnu_head
  elif dd --help 2>&1 | grep -q BusyBox \
    && [ "$(printf abc | dd bs=65536 iflag=count_bytes count=2 2>/dev/null)" = ab ]; then
    copier=dd_bytes
  elif [ "$(printf ab | dd bs=1 count=1 iflag=fullblock 2>/dev/null)" = a ]; then
    copier=dd_blocks
  fi
fi
out_file=$out_log err_file=$err_log
if [ "$log_cap" -gt 0 ]; then
  out_log=$out_file.pipe err_log=$err_file.pipe
  mkfifo "$out_log"
  [ "$separate" = 1 ] && mkfifo "$err_log"
fi
start_caps() {
  if [ "$log_cap" -gt 0 ]; then
    # `exec 3>&-` in a subshell, not `cap_into ... 3>&-`: for a function's redirection
    # dash and busybox keep a saved copy of fd 3 (the stdin FIFO) open in the copy,
    # and the command would never read EOF after close_stdin.
    (exec 3>&-; cap_into "$out_log" "$out_file") &
    [ "$separate" = 1 ] && { (exec 3>&-; cap_into "$err_log" "$err_file") & }
  fi
  return 0
}

# The command's own shell, in a new session: it tells the supervisor its pid (on fd 4),
# joins the cgroup if there is one, records which reaper applies, goes to the working
# directory, gives the job's variables their names back (positional parameters only
# from there on: assigning any variable could change one of them), and becomes the
# command. Args: CGROUP WORKDIR ENV_NAMES ARGV...
# shellcheck disable=SC2016 # expanded by that shell, not this one
command_script='echo $$ >&4; exec 4>&-
cgroup=$1 workdir=$2 env_names=$3; shift 3
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

# `exact`: on Linux (/proc/PID/stat with the exit_code field, >= 3.5) the command is
# this shell's child (the first subshell execs it) and the supervisor reads its raw wait
# status from the zombie, so a signal is told apart from `exit 128+N`. This shell must
# not reap it first (busybox's reaps an ended child even before it waits): the
# supervisor stops it (SIGSTOP), the command starts only then, and the supervisor
# continues it once it has the status. Elsewhere the first subshell waits for the
# command and records the shell's `$?` (128+N for a signal) in `status`.
count_fields() {
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- ${1##*") "}
  field_count=$#
}
exact=0 stat_line=''
read -r stat_line 2>/dev/null < /proc/$$/stat && count_fields "$stat_line" \
  && [ "$field_count" -ge 50 ] && exact=1

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
# poll_sleep: sleeps poll_interval, backing off from 0.01 s to 4 checks a second.
poll_sleep() {
  sleep "$poll_interval"
  case $poll_interval in
    0.01) poll_interval=0.02 ;;
    0.02) poll_interval=0.05 ;;
    0.05) poll_interval=0.1 ;;
    0.1) poll_interval=0.25 ;;
  esac
}

# The pipeline: the command (with its standard streams, and fd 4 the pipe for its pid),
# then the supervisor, which holds the stdin FIFO open (fd 3).
(
  exec 4>&1 < stdin >> "$out_log"
  if [ "$out_log" = "$err_log" ]; then exec 2>&1; else exec 2>> "$err_log"; fi
  if [ $exact = 1 ]; then
    s=''
    while [ "${s%% *}" != T ] && read -r s < "/proc/$$/stat"; do s=${s##*) }; done
    exec setsid sh -c "$command_script" sandlot-job-cmd "$cgroup" "$workdir" "$env_names" "$@"
  fi
  setsid sh -c "$command_script" sandlot-job-cmd "$cgroup" "$workdir" "$env_names" "$@"
  echo $? > status.tmp && mv -f status.tmp status
) | (
  # close_stdin (close.sh) sends SIGUSR1: close our end of the FIFO, so that the
  # command sees EOF once it has read what was written.
  trap 'exec 3>&-' USR1
  exec > /dev/null 2>&1
  if [ $exact = 1 ]; then
    kill -STOP $$
    # If this supervisor dies, stop or remove kills the stopped shell (lib.sh).
    read_start_time $$
    printf '%s %s\n' $$ "$start_time" > holder
  fi
  start_caps
  command_pid=''
  read -r command_pid
  exec < /dev/null
  if read -r own_stat 2>/dev/null < /proc/self/stat; then
    own_pid=${own_stat%% *}
  else
    own_pid=$(exec sh -c 'echo "$PPID"')
  fi
  read_start_time "$own_pid"
  printf '%s %s\n' "$own_pid" "$start_time" > wrapper.tmp && mv -f wrapper.tmp wrapper
  [ -e stdin.closed ] && exec 3>&-

  # Publish the pid only once the command leads its own group (and sits in its
  # cgroup): from then on, signalling the group or the cgroup reaches everything it
  # starts.
  steps=0
  while [ -n "$command_pid" ] && [ ! -e reaper ] && kill -0 "$command_pid" 2>/dev/null \
    && [ $steps -lt 500 ]; do
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

  # Only the parent could be told of the end: poll (the trap runs between two polls).
  exit_code=255 signal_number=0 poll_interval=0.01
  if [ -z "$command_pid" ]; then
    : # it never started
  elif [ $exact = 1 ]; then
    while read_zombie_status "$command_pid"; [ -z "$zombie_status" ]; do poll_sleep; done
    if [ "$zombie_status" != gone ]; then
      signal_number=$((zombie_status & 127)) exit_code=$(((zombie_status >> 8) & 255))
    fi
  else
    # The command's end is recorded by the first subshell, just after it; allow it 10 s.
    gone_polls=0
    while [ ! -e status ] && [ $gone_polls -lt 40 ]; do
      kill -0 "$command_pid" 2>/dev/null || gone_polls=$((gone_polls + 1))
      poll_sleep
    done
    [ -e status ] && read -r exit_code < status
    [ "$exit_code" -gt 128 ] && [ "$exit_code" -lt 192 ] && signal_number=$((exit_code - 128))
  fi
  if [ $exact = 1 ]; then
    kill -CONT $$
    rm -f holder
  fi

  # The command has ended: sweep the rest of its tree, stop the watchdog, release the
  # FIFO, and wait for the log copies (the logs are then complete).
  signal_tree KILL
  [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
  exec 3>&-
  # A late close_stdin (SIGUSR1, trapped) would cut `wait` short: wait again.
  until wait; do :; done
  rm -f stdout.pipe stderr.pipe output.pipe status
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
) 3<> stdin
