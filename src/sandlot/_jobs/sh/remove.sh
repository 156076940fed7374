# shellcheck shell=sh
# Deletes the job's directory; refused while it runs unless FORCE=1, which kills it
# first. Args: ROOT ID FORCE
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
if is_busy; then
  [ "$3" = 1 ] || { echo "sandlot-job running"; exit 0; }
  wait_until_launched
  signal_tree KILL
  wait_while_busy 200
  is_busy && { echo "sandlot-job running"; exit 0; }
fi
release_holder
cgroup=''
[ -e "$job_dir/cgroup" ] && read -r cgroup < "$job_dir/cgroup"
[ -n "$cgroup" ] && rmdir "$cgroup" 2>/dev/null
rm -rf "$job_dir"
echo "sandlot-job removed"
