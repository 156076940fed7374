# shellcheck shell=sh
# Reads a log. Args: ROOT ID STREAM CURSOR MAX_BYTES LINGER_STEPS
# Replies "sandlot-job STATUS... SIZE", then at most MAX_BYTES raw bytes of STREAM from
# byte offset CURSOR. The status is read before the size: if the job has ended, the size
# is final. LINGER_STEPS (of 50 ms) waits here for new output, so that a follower costs
# one round trip per burst of output rather than one per poll.
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
log=$job_dir/$3 cursor=$4 max_bytes=$5 linger_steps=$6
read_size() {
  size=0
  [ -e "$log" ] && size=$(wc -c < "$log")
  size=$((size + 0))
}
read_status
read_size
while [ "$state" = running ] && [ "$size" -le "$cursor" ] && [ "$linger_steps" -gt 0 ]; do
  sleep 0.05
  linger_steps=$((linger_steps - 1))
  read_status
  read_size
done
count=$((size - cursor))
[ $count -gt "$max_bytes" ] && count=$max_bytes
[ "$count" -lt 0 ] && count=0
echo "sandlot-job $status_header $size"
[ "$count" -gt 0 ] && tail -c +$((cursor + 1)) "$log" | head -c "$count"
exit 0
