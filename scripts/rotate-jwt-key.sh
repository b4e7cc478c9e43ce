#!/usr/bin/env bash
# Rotates the key that signs tokens, without logging anyone out: npm run jwt:rotate
# The current key becomes the previous one (its tokens keep verifying until they expire), a new key signs from now
# on, and the API is recreated to read both. `npm run jwt:rotate -- --retire`, once the old tokens have expired
# (JWT_REFRESH_TTL_SECONDS after the rotation), makes the old key stop verifying. README.md walks through both.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

case ${1:-} in
  '' | --retire) ;;
  -h | --help) printf 'usage: npm run jwt:rotate [-- --retire]\n'; exit 0 ;;
  *) printf 'rotate-jwt-key: unknown argument: %s\nusage: npm run jwt:rotate [-- --retire]\n' "$1" >&2; exit 64 ;;
esac
require_engine
npx tsc -b config
node config/dist/cli/rotate-jwt-key.js "$@"

if docker compose ps --status running --services | grep -qx api; then
  log "recreating the api so it reads the new keys"
  # Compose mounts a secret file as it was when the container was made: only a new container sees the new keys.
  docker compose up --detach --no-deps --force-recreate --wait --wait-timeout 120 api ||
    fail "the api did not become healthy with the new keys; see 'docker compose logs api'"
  if [[ ${1:-} == --retire ]]; then log "done: the api no longer accepts tokens of the retired key"
  else log "done: the api signs with the new key and still accepts the old one's tokens until --retire"; fi
else
  log "the api is not running; it reads the new keys at the next: npm run up"
fi
