# shellcheck shell=sh
# Functions shared by the jobs scripts. A script includes them with the line
# `. ./lib.sh`, which sandlot replaces by this file's text when it loads the script
# (see _script.py): every operation then travels as one `sh -c SCRIPT` argument.
#
# They return values in global variables (POSIX sh has no locals); the names below
# say which. `job_dir` is the job's directory, set by open_job (or by the wrapper).

# open_job ROOT ID: sets jobs_root (ROOT, or the default root if empty) and job_dir.
open_job() {
  jobs_root=${1:-${HOME:-/tmp}/.sandlot/jobs}
  job_dir=$jobs_root/$2
}

# require_job: replies "unknown" and ends the script unless the job exists.
require_job() {
  [ -f "$job_dir/meta.json" ] || { echo "sandlot-job unknown"; exit 0; }
}

# read_start_time PID: sets start_time to field 22 of /proc/PID/stat (the fields are
# counted after the parenthesised command name, which may contain spaces). Empty if the
# process is gone or a zombie (a zombie is dead).
read_start_time() {
  start_time='' stat_line=''
  read -r stat_line 2>/dev/null < "/proc/$1/stat" || return 0
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- ${stat_line##*") "}
  [ "$1" = Z ] && return 0
  [ $# -ge 20 ] && start_time=${20}
  return 0
}

# is_alive PID START_TIME: PID runs and is the process that started at START_TIME, so
# a recycled pid never looks alive. Without /proc, `kill -0` has to do.
is_alive() {
  [ -n "$1" ] || return 1
  if [ -d /proc/self ]; then
    read_start_time "$1"
    [ "$start_time" = "$2" ]
  else
    kill -0 "$1" 2>/dev/null
  fi
}

# read_status: sets state (running, exited or crashed), wrapper_pid, and status_header:
# "STATE EXIT TIMEDOUT CAPPED REAPER", the words every reply starts with (parsed by
# _manager.py). EXIT is KIND:VALUE:NAME from the exit file, or "-".
read_status() {
  state=crashed exit_words=- wrapper_pid='' wrapper_start=''
  if [ -e "$job_dir/exit" ]; then
    state=exited
  else
    [ -e "$job_dir/wrapper" ] && read -r wrapper_pid wrapper_start < "$job_dir/wrapper"
    if is_alive "$wrapper_pid" "$wrapper_start"; then
      state=running
    elif [ -e "$job_dir/exit" ]; then
      state=exited # the wrapper wrote it and ended since the first look
    fi
  fi
  if [ "$state" = exited ]; then
    read -r exit_kind exit_value exit_name < "$job_dir/exit"
    exit_words=$exit_kind:$exit_value:${exit_name:--}
  fi
  timed_out=0; [ -e "$job_dir/timedout" ] && timed_out=1
  capped=0; [ -e "$job_dir/capped" ] && capped=1
  status_reaper=-; [ -e "$job_dir/reaper" ] && read -r status_reaper < "$job_dir/reaper"
  # shellcheck disable=SC2034 # read by the scripts that include this file
  status_header="$state $exit_words $timed_out $capped $status_reaper"
}

# signal_tree SIGNAL: sends SIGNAL (a name without SIG) to everything the job runs: the
# processes of its cgroup (or `cgroup.kill` for KILL), else the command's process group
# while the job runs (per `state`) or its command is alive. Each process gets a catchable
# signal once: the group lies inside the cgroup, and a trap that ran between two sends
# would run twice. KILL goes to the group too: a child forked after the cgroup was read.
signal_tree() {
  command_pid='' command_start='' cgroup='' reaper='' via_cgroup=0
  [ -e "$job_dir/pid" ] && read -r command_pid command_start < "$job_dir/pid"
  [ -e "$job_dir/cgroup" ] && read -r cgroup < "$job_dir/cgroup"
  [ -e "$job_dir/reaper" ] && read -r reaper < "$job_dir/reaper"
  if [ "$reaper" = cgroup ] && [ -n "$cgroup" ] && [ -d "$cgroup" ]; then
    [ "$1" = KILL ] || via_cgroup=1
    if [ "$1" = KILL ] && [ -e "$cgroup/cgroup.kill" ]; then
      echo 1 > "$cgroup/cgroup.kill"
    else
      # shellcheck disable=SC2013 # one pid a line: words are lines
      for member in $(cat "$cgroup/cgroup.procs" 2>/dev/null); do
        kill -"$1" "$member" 2>/dev/null
      done
    fi
  fi
  [ "$via_cgroup" = 1 ] && return 0
  if [ -n "$command_pid" ] && { [ "$state" = running ] || is_alive "$command_pid" "$command_start"; }
  then
    kill -"$1" -"$command_pid" 2>/dev/null
  fi
  return 0
}

# is_busy: the job's wrapper runs, or (after a crash) its command or cgroup still does.
is_busy() {
  [ -e "$job_dir/exit" ] && return 1
  read_status
  [ "$state" = running ] && return 0
  command_pid='' command_start='' cgroup=''
  [ -e "$job_dir/pid" ] && read -r command_pid command_start < "$job_dir/pid"
  is_alive "$command_pid" "$command_start" && return 0
  [ -e "$job_dir/cgroup" ] && read -r cgroup < "$job_dir/cgroup"
  [ -n "$cgroup" ] && [ -s "$cgroup/cgroup.procs" ]
}

# wait_while_busy STEPS: polls is_busy every 50 ms, at most STEPS times.
wait_while_busy() {
  steps=0
  while [ $steps -lt "$1" ] && is_busy; do sleep 0.05; steps=$((steps + 1)); done
}

# release_holder: after a crash nobody continues the command's holder (the wrapper's
# stopped shell, see wrapper.sh): kill it once the job is over, so the command is reaped.
release_holder() {
  [ -e "$job_dir/holder" ] && ! is_busy || return 0
  holder_pid='' holder_start=''
  read -r holder_pid holder_start < "$job_dir/holder"
  is_alive "$holder_pid" "$holder_start" && kill -9 "$holder_pid" 2>/dev/null
  return 0
}

# wait_until_launched: a job still being launched has no pid file yet: wait for it
# (or for the wrapper's end), at most 5 s.
wait_until_launched() {
  steps=0
  while [ ! -e "$job_dir/pid" ] && [ $steps -lt 100 ] && is_busy; do
    sleep 0.05; steps=$((steps + 1))
  done
}

# launcher_alive: the launcher that made the job's directory still runs. Its record
# (`launcher`) appears just after the directory: until then, it counts as alive.
launcher_alive() {
  [ -e "$job_dir/launcher" ] || return 0
  launcher_pid='' launcher_start=''
  read -r launcher_pid launcher_start < "$job_dir/launcher"
  is_alive "$launcher_pid" "$launcher_start"
}

# wait_for_launcher: waits (at most 10 s) until the launcher of an existing directory has
# started the wrapper, or the job has ended, or the id is a tombstone, or the launcher is
# gone (then nothing more will start).
wait_for_launcher() {
  steps=0
  while [ ! -e "$job_dir/wrapper" ] && [ ! -e "$job_dir/exit" ] \
    && [ ! -e "$job_dir/cancelled" ] && launcher_alive && [ $steps -lt 200 ]; do
    sleep 0.05; steps=$((steps + 1))
  done
}

# prune_tombstones: removes the tombstones of cancelled starts (see claim.sh) claimed
# more than 10 minutes ago. Until then a tombstone keeps its id from a launcher that is
# still on its way; a launcher later than that is beyond what the claim can stop.
prune_tombstones() {
  tomb_now=''
  for tomb_file in "$jobs_root"/*/cancelled; do
    [ -f "$tomb_file" ] || continue
    [ -e "${tomb_file%/cancelled}/meta.json" ] && continue
    tomb_born=''
    read -r tomb_born < "$tomb_file" 2>/dev/null
    case $tomb_born in '' | *[!0-9]*) continue ;; esac
    # `date` only once there is a tombstone: listing stays fork-free without.
    [ -n "$tomb_now" ] || tomb_now=$(date +%s 2>/dev/null) || return 0
    [ $((tomb_now - tomb_born)) -gt 600 ] && rm -rf "${tomb_file%/cancelled}"
  done
  return 0
}
