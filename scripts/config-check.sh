#!/usr/bin/env bash
# Validates configuration without starting anything: npm run config:check [-- --json] [-- --compose]
#   (default)  the environment of this shell, as a script or one-shot job on this host would see it
#   --compose  the secret files, then the api service of docker-compose.yml, with its variables and Docker secrets,
#              inside its image
# Exit 0 when valid, 1 when not, 2 when the check itself failed.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

args=()
compose=false
for arg in "$@"; do
  if [[ $arg == --compose ]]; then compose=true; else args+=("$arg"); fi
done

if [[ $compose == true ]]; then
  require_engine
  npx tsc -b config
  # The secret files the API never reads (PostgreSQL's superuser, Grafana's admin, ...): one set by hand is held
  # to the rules the API's own secrets meet, which check.js applies to those below.
  json=()
  for arg in "${args[@]}"; do [[ $arg == --json ]] && json=(--json); done
  node config/dist/cli/check-secret-files.js "${json[@]}"
  # Compose reads api.env itself, and would pass a misspelt name on to be ignored: refuse such lines first.
  env_file=${PDPL_API_ENV_FILE:-./api.env}
  if [[ -f $env_file ]]; then
    # What the compose files set for the api themselves (rendered without api.env): api.env cannot change those.
    fixed=$(PDPL_API_ENV_FILE=/dev/null docker compose config --format json | node -e '
      const { environment = {} } = JSON.parse(require("node:fs").readFileSync(0, "utf8")).services.api;
      console.log(JSON.stringify(environment));') || fail "the compose files do not render; see above"
    node config/dist/cli/check-env-file.js "$env_file" "$fixed"
  fi
  exec docker compose run --rm --no-deps -T api node /app/config/dist/cli/check.js "${args[@]}"
fi
npx tsc -b config
exec node config/dist/cli/check.js "${args[@]}"
