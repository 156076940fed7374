# shellcheck shell=sh
# Copies this script's stdin (the data) to the job's stdin FIFO. Args: ROOT ID
# The FIFO has a reader while the wrapper runs (it holds it open), and the wrapper
# closes it once the command has ended, so a blocked writer then fails instead of
# hanging. Replies "ok" after the header once everything was written.
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
[ -e "$job_dir/stdin.closed" ] && { echo "sandlot-job closed"; exit 0; }
read_status
[ "$state" = running ] || { echo "sandlot-job ended"; exit 0; }
exec 4> "$job_dir/stdin" || { echo "sandlot-job ended"; exit 0; }
echo "sandlot-job writing"
cat >&4 && echo ok
exit 0
