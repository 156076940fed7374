# shellcheck shell=sh
# The job that holds an id a start found taken (start with exist_ok). Args: ROOT ID
# Waits while a concurrent launcher still makes it (the directory comes before meta.json,
# the wrapper after), then replies as attach.sh does; `unknown` if the id is held by
# something that is no job (the tombstone of a cancelled start, see claim.sh).
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
[ -d "$job_dir" ] && wait_for_launcher
require_job
read_status
echo "sandlot-job $status_header"
cat "$job_dir/meta.json"
