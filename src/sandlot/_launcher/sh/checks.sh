# shellcheck shell=sh
# The launcher's checks and its one report line, shared by every launcher script: a
# script includes them with the line `. ./checks.sh`, which sandlot replaces by this
# file's text when it loads the script (see _script.py).
#
# Globals (prefixed: the user's environment may hold any other name):
#   sandlot_tag  the report's tag: `sandlot`, or `sandlot-NONCE` on a terminal
#   sandlot_fd   the descriptor the report goes to (1 or 2)

# report KIND ARG: the report line, RS TAG:KIND:ARG LF. printf makes the RS byte, so no
# echo of this text (a terminal's) ever holds a report.
# shellcheck disable=SC2154  # the including script sets both
report() {
  printf '\036%s:%s:%s\n' "$sandlot_tag" "$1" "$2" >&"$sandlot_fd"
}

# check_cwd DIR: changes to DIR, or reports why not (an errno name) and exits 126.
check_cwd() {
  cd -- "$1" >/dev/null 2>&1 && return
  if [ ! -e "$1" ]; then sandlot_e=ENOENT
  elif [ ! -d "$1" ]; then sandlot_e=ENOTDIR
  else sandlot_e=EACCES
  fi
  report nocwd "$sandlot_e"
  exit 126
}

# check_command NAME: returns if NAME can be executed, else reports it and exits: 127
# when it does not exist, 126 when it is a directory or not executable (as exec says).
check_command() {
  case $1 in
    */*)
      if [ ! -e "$1" ]; then report nocmd ''; exit 127; fi
      if [ -d "$1" ] || [ ! -x "$1" ]; then report noexec EACCES; exit 126; fi ;;
    *) command -v -- "$1" >/dev/null 2>&1 || { report nocmd ''; exit 127; } ;;
  esac
}

# check_env_command N NAME=VALUE... CMD ...: check_command CMD as the command's environment
# (the N assignments) finds it; the assignments are exported in a subshell, only when
# there are some (forks cost milliseconds).
check_env_command() {
  if [ "$1" -eq 0 ]; then check_command "$2"; return; fi
  (
    i=$1
    shift
    # export NAME=VALUE (the name is in the string)
    # shellcheck disable=SC2163
    while [ "$i" -gt 0 ]; do export "$1"; shift; i=$((i - 1)); done
    check_command "$1"
  ) || exit
}

# choose_setsid: sets S, the setsid to run: its full path when the command's environment
# changes PATH (flag p in sandlot_flags), else the name.
# shellcheck disable=SC2034  # the including script runs "$S"
choose_setsid() {
  S=setsid
  case $sandlot_flags in
    *p*) S=$(command -v setsid) || { report nosetup setsid; exit 126; } ;;
  esac
}
