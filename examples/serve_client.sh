#!/bin/sh
# A client of `sandlot serve` in plain sh + curl: no Python on this side.
#   sandlot serve local --token-file token &
#   SANDLOT_TOKEN=$(cat token) sh examples/serve_client.sh http://127.0.0.1:2468
# Runs a command, starts a managed process, feeds its stdin, follows its output live
# (Server-Sent Events) and forgets it.
set -eu
S=${1:-http://127.0.0.1:2468}
: "${SANDLOT_TOKEN:?set SANDLOT_TOKEN to the token of the server}"
A="Authorization: Bearer $SANDLOT_TOKEN"

api() { # METHOD PATH [JSON]
  curl -sS --fail-with-body -X "$1" -H "$A" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "$S$2"
}
field() { # NAME: a string or number field of the JSON on stdin
  sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1
}

# One-shot run: stdout comes back base64-encoded.
out=$(api POST /v1/run '{"argv": ["uname", "-s"]}')
printf 'run: exit %s, stdout %s\n' "$(echo "$out" | field exitCode)" \
  "$(echo "$out" | field stdout | base64 -d)"

# A managed process (a durable job): it reads its stdin, then says goodbye.
# shellcheck disable=SC2016 # $l is for the process's shell
script='while read -r l; do echo got $l; done; echo bye'
id=$(api POST /v1/processes "$(printf '{"argv": ["sh", "-c", "%s"]}' "$script")" | field id)
echo "process: $id"
input=$(printf 'one\ntwo\n' | base64)
api POST "/v1/processes/$id/input" "$(printf '{"data": "%s", "eof": true}' "$input")"

# Follow its stdout until the exit event; each output event carries base64 data.
curl -sSN -H "$A" "$S/v1/processes/$id/logs/follow?stream=stdout" | while IFS= read -r line; do
  case $line in
    'event: exit') break ;;
    'data: {"data"'*) printf '%s' "$line" | field data | base64 -d ;;
  esac
done
printf 'status: %s, exit code %s\n' "$(api GET "/v1/processes/$id" | field status)" \
  "$(api GET "/v1/processes/$id" | field exitCode)"
api DELETE "/v1/processes/$id"
echo "deleted"
