# shellcheck shell=sh
# sandlot's launcher: checks, reports, and becomes the command. It runs in the shell the
# transport starts (the SSH login shell, a Daytona terminal's `sh -c`) after
#   set -- TAG FLAGS CWD ARGV...
# TAG is the report's tag (see checks.sh); FLAGS holds letters:
#   c  change to CWD first          w  start the watcher (SSH without a pty)
#   n  the command reads /dev/null  o  report on stdout (else stderr)
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
# The watcher stops the session once the client is gone (SSH closes no channel's
# process without a pty). Started now, $$ is the command and $PPID sshd's per-connection
# process. It polls, fast at first (short commands end before it sleeps long), then
# every second: while the command (not a zombie) is that process's child, sshd, and so
# the client's connection, are alive. Without /proc it asks `kill -0` about both. It
# reads nothing, writes only to /dev/null and ignores the signals a terminal or the user
# send the group. Forked twice (the middle subshell exits at once), so it is not the
# command's child: a command that waits for all its children never waits for it.
case $sandlot_flags in *w*)
  ( {
    trap '' HUP INT QUIT TERM
    p=$PPID t=0.01
    while if [ -r /proc/self/stat ]; then
        read -r s </proc/$$/stat || exit
        # shellcheck disable=SC2086
        set -- ${s##*) }
        [ "$1" != Z ] || exit
        [ "$2" = "$p" ]
      else
        kill -0 $$ || exit
        kill -0 "$p"
      fi
    do
      sleep $t
      case $t in 0.01) t=0.1 ;; 0.1) t=1 ;; esac
    done
    # pkill -s reaches the whole session; without pkill, the process group.
    if command -v pkill >/dev/null 2>&1; then pkill -TERM -s $$; else kill -TERM -$$; fi
    sleep 1
    if command -v pkill >/dev/null 2>&1; then pkill -KILL -s $$; else kill -KILL -$$; fi
  } </dev/null >/dev/null 2>&1 & ) ;;
esac
case $sandlot_flags in *n*) exec "$@" </dev/null ;; esac
exec "$@"
