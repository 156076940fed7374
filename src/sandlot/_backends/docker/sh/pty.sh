# shellcheck shell=sh
# Docker's pty launcher: the shared checks and report (sandlot/_launcher/sh/checks.sh) on
# the exec's terminal, run as
#   set -- TAG FLAGS CWD ROWS COLS ARGV...
# FLAGS holds `c` (change to CWD first). A PATH of the caller's comes in $SANDLOT_PATH
# (see spawn.sh): it applies from the command's lookup on. The Engine gives an exec's terminal a size only
# after the process started (racy), so the size is set here, before the command runs. The
# command is then this process: PID = process group = session, on its terminal.
# shellcheck source=../../../_launcher/sh/checks.sh
. ./checks.sh
sandlot_tag=$1 sandlot_fd=1
sandlot_flags=$2 sandlot_cwd=$3
stty rows "$4" cols "$5" 2>/dev/null
shift 5
case $sandlot_flags in *c*) check_cwd "$sandlot_cwd" ;; esac
if [ -n "${SANDLOT_PATH+x}" ]; then PATH=$SANDLOT_PATH; unset SANDLOT_PATH; fi
check_command "$1"
report ok $$
exec "$@"
