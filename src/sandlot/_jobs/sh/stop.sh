# shellcheck shell=sh
# SIGTERM to the job's whole tree; with WAIT=1, wait up to GRACE_STEPS (of 50 ms), then
# SIGKILL. Args: ROOT ID GRACE_STEPS WAIT
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
grace_steps=$3 wait_for_end=$4
wait_until_launched
if is_busy; then
  signal_tree TERM
  if [ "$wait_for_end" = 1 ]; then
    wait_while_busy "$grace_steps"
    is_busy && signal_tree KILL
    wait_while_busy 200
  fi
fi
release_holder
read_status
echo "sandlot-job $status_header"
