# shellcheck shell=sh
# sandlot's launcher: checks, reports, and becomes the command. It runs in the shell the
# transport starts (the SSH login shell, a Daytona terminal's `sh -c`) after
#   set -- TAG FLAGS CWD ARGV...
# TAG is the report's tag (see checks.sh); FLAGS holds letters:
#   c  change to CWD first          n  the command reads /dev/null
#   o  report on stdout (else stderr)
# It reports `ok PID` just before it execs: PID ($$) is then the command's, and leads
# its process group (and session: the transport started the shell as its leader).
# shellcheck source=checks.sh
. ./checks.sh
sandlot_tag=$1 sandlot_flags=$2 sandlot_cwd=$3
shift 3
case $sandlot_flags in *o*) sandlot_fd=1 ;; *) sandlot_fd=2 ;; esac
case $sandlot_flags in *c*) check_cwd "$sandlot_cwd" ;; esac
check_command "$1"
report ok $$
case $sandlot_flags in *n*) exec "$@" </dev/null ;; esac
exec "$@"
