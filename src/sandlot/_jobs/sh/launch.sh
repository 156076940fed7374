# shellcheck shell=sh
# Starts a job. Args: ROOT ID WRAPPER META LOG_CAP SEPARATE GRACE TIMEOUT MAX_RUNNING
# ENV_NAMES ARGV...
# Runs in the job's working directory. The job's environment variables arrive renamed,
# NAME as SANDLOT_JOB_ENV_NAME (ENV_NAMES lists the names, space-separated): so nothing
# that this script, the wrapper or lib.sh assigns can change what the command gets, and
# the job's variables (HOME, PATH, IFS...) do not change how these scripts run. The
# command's own shell gives them back their names just before it becomes the command.
# It never waits on the job: the wrapper is detached (new session, all three standard
# streams redirected), and this script only waits, bounded, for it to record the
# command's pid and reaper.
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
wrapper_script=$3 meta=$4 log_cap=$5 separate=$6 grace=$7 timeout=$8 max_running=$9
env_names=${10}
shift 10
command -v setsid > /dev/null 2>&1 || { echo "sandlot-job nosetsid"; exit 0; }
# The command is looked up with the job's PATH, as its shell will look it up.
(
  [ -z "${SANDLOT_JOB_ENV_PATH+set}" ] || PATH=$SANDLOT_JOB_ENV_PATH
  command -v "$1" > /dev/null 2>&1
) || { echo "sandlot-job notfound"; exit 0; }
# Only the root itself is private (700): its parents get the usual mode.
# shellcheck disable=SC2174
[ -d "$jobs_root" ] || mkdir -p -m 700 "$jobs_root" 2>/dev/null
[ -d "$jobs_root" ] || { echo "sandlot-job noroot"; exit 0; }
# A taken id is answered before the running jobs are counted: a start retried under the
# id of a running job (exist_ok) must find it even when it fills the limit. (The `mkdir`
# below still decides a race.)
[ -e "$job_dir" ] && { echo "sandlot-job exists"; exit 0; }
if [ "$max_running" -gt 0 ]; then
  # Count and create under a lock so that concurrent starts cannot both squeeze in. A
  # lock older than ~2 s is a launcher that died holding it: take it over.
  steps=0
  while ! mkdir "$jobs_root/.lock" 2>/dev/null && [ $steps -lt 200 ]; do
    sleep 0.01; steps=$((steps + 1))
  done
  trap 'rmdir "$jobs_root/.lock" 2>/dev/null' EXIT
  running=0
  for other in "$jobs_root"/*; do
    { [ -f "$other/meta.json" ] && [ ! -e "$other/exit" ]; } || continue
    other_pid='' other_start=''
    [ -e "$other/wrapper" ] && read -r other_pid other_start < "$other/wrapper"
    is_alive "$other_pid" "$other_start" && running=$((running + 1))
  done
  [ $running -ge "$max_running" ] && { echo "sandlot-job limit $running"; exit 0; }
fi
# The id is taken, by a job or by the tombstone of a cancelled start (see claim.sh):
# start nothing, remove nothing.
mkdir "$job_dir" 2>/dev/null || { echo "sandlot-job exists"; exit 0; }
# Who is launching, for a cancelled start's cleanup (claim.sh), which waits for it.
read_start_time $$
printf '%s %s\n' $$ "$start_time" > "$job_dir/launcher.tmp" \
  && mv -f "$job_dir/launcher.tmp" "$job_dir/launcher"
mkfifo "$job_dir/stdin" || { echo "sandlot-job nofifo"; exit 0; }
if [ "$separate" = 1 ]; then
  : > "$job_dir/stdout"
  : > "$job_dir/stderr"
else
  : > "$job_dir/output"
fi
# meta.json first: if this script is killed from here on, the job is still listed.
printf '%s\n' "$meta" > "$job_dir/meta.json"
# From a file rather than `sh -c`, so that `ps` shows `sh ROOT/ID/wrapper.sh ...`.
printf '%s' "$wrapper_script" > "$job_dir/wrapper.sh"
# Detached, yet no background job: dash and busybox sh start those with SIGINT and
# SIGQUIT ignored, for good, and the command would inherit that. The first setsid makes
# a session (no fork: it is no group leader); the second, its leader, forks, and its
# parent returns at once (util-linux and busybox alike): the wrapper is that child.
setsid setsid sh "$job_dir/wrapper.sh" "$job_dir" "$(pwd)" "$timeout" "$log_cap" "$separate" \
  "$grace" "$env_names" "$@" < /dev/null > /dev/null 2>&1
steps=0
while { [ ! -e "$job_dir/reaper" ] || [ ! -e "$job_dir/pid" ]; } && [ ! -e "$job_dir/exit" ] \
  && [ $steps -lt 1000 ]; do
  sleep 0.01; steps=$((steps + 1))
done
reaper=-
[ -e "$job_dir/reaper" ] && read -r reaper < "$job_dir/reaper"
echo "sandlot-job started $reaper"
