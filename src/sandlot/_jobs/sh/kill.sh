# shellcheck shell=sh
# Sends a signal to every process of the job. Args: ROOT ID SIGNAL
# SIGNAL is a name without SIG: signal numbers differ between architectures.
set -u
# shellcheck source=lib.sh
. ./lib.sh
open_job "$1" "$2"
require_job
wait_until_launched
is_busy && signal_tree "$3"
read_status
echo "sandlot-job $status_header"
