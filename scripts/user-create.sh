#!/usr/bin/env bash
# Creates a user in the running stack: npm run user:create -- --email you@example.com
# The password is asked for without echo (or read from standard input when piped) and handed to the API container
# on its standard input, so it never appears in a process list, a shell history or a log.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  printf 'usage: npm run user:create -- --email ADDRESS   (password from the prompt or standard input)\n' >&2
  exit 64
}

email=
while (($#)); do
  case $1 in
    --email) [[ $# -ge 2 ]] || usage; email=$2; shift 2 ;;
    --email=*) email=${1#--email=}; shift ;;
    -h | --help) usage ;;
    *) printf 'user-create: unknown argument: %s\n' "$1" >&2; usage ;;
  esac
done
[[ -n $email ]] || usage
require_engine
docker compose ps --status running --services | grep -qx api || fail "the api service is not running; run: npm run up"

run_in_api() { docker compose exec -T api node dist/cli/create-user.js --email "$email"; }

if [[ -t 0 ]]; then
  # IFS= keeps spaces at either end: they are part of the password, as they are when it is piped in.
  IFS= read -rsp "Password for $email: " password && echo >&2
  IFS= read -rsp "Repeat the password: " again && echo >&2
  [[ $password == "$again" ]] || fail "the two passwords differ"
  printf '%s\n' "$password" | run_in_api
else
  run_in_api
fi
