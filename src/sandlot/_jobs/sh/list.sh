# shellcheck shell=sh
# Every job under the root: a status line and the meta.json line for each. Args: ROOT -
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
prune_tombstones
for job_dir in "$jobs_root"/*; do
  [ -f "$job_dir/meta.json" ] || continue
  read_status
  echo "sandlot-job $status_header"
  cat "$job_dir/meta.json"
done
exit 0
