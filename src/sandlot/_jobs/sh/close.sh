# shellcheck shell=sh
# Delivers EOF to the job's stdin: marks it closed (later writes are refused) and asks
# the wrapper (SIGUSR1) to close its end of the FIFO. Args: ROOT ID
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
: > "$job_dir/stdin.closed"
read_status
[ "$state" = running ] && kill -USR1 "$wrapper_pid" 2>/dev/null
echo "sandlot-job $status_header"
