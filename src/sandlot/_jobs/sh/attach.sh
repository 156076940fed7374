# shellcheck shell=sh
# A job's status and handle. Args: ROOT ID
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
read_status
echo "sandlot-job $status_header"
cat "$job_dir/meta.json"
