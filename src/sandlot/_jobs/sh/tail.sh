# shellcheck shell=sh
# The last lines of a log. Args: ROOT ID STREAM LINES
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
read_status
echo "sandlot-job $status_header"
[ -e "$job_dir/$3" ] && tail -n "$4" "$job_dir/$3"
exit 0
