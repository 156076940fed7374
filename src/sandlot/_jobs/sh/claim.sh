# shellcheck shell=sh
# The cleanup of a cancelled start: claims the job's id, or finds the job the launcher
# made for it. Args: ROOT ID META (META: the handle's JSON, as launch.sh writes it)
# Replies `claimed`: the id is taken by a tombstone (the file `cancelled`, holding the
# time of the claim, and no meta.json, so nothing lists or counts it), and the launcher,
# should it still come, finds its id taken and starts nothing. `ours`: the launcher got
# there first and has started the wrapper (or given up): the caller removes the job.
# `other`: the id belongs to someone else (another job, a tombstone), or the launcher
# stalled past the bound.
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
meta=$3
prune_tombstones
# shellcheck disable=SC2174 # as launch.sh makes it
[ -d "$jobs_root" ] || mkdir -p -m 700 "$jobs_root" 2>/dev/null
if mkdir "$job_dir" 2>/dev/null; then
  claimed_at=$(date +%s 2>/dev/null) || claimed_at=-
  printf '%s\n' "$claimed_at" > "$job_dir/cancelled"
  echo "sandlot-job claimed"
  exit 0
fi
# The launcher made the directory: wait until it has started the wrapper, or gave up.
wait_for_launcher
if [ -f "$job_dir/meta.json" ] && [ "$(cat "$job_dir/meta.json")" = "$meta" ]; then
  echo "sandlot-job ours"
else
  echo "sandlot-job other"
fi
