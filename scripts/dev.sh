#!/usr/bin/env bash
# Development on this machine, with nothing to configure: PostgreSQL and Redis run in compose, published on
# loopback by compose/development.yml, and the API runs on the host under `tsx watch`, restarted on every change
# under services/api/src. It reaches both as localhost, over TLS verified against the platform's CA, as the
# stack's own least-privilege role and user, with the passwords from the secret files.
#   npm run dev                                   prepare, start postgres, redis and migrate, then run the API
#   npm run dev -- user:create --email ADDRESS    a user in the development database (password on stdin)
#   npm run dev -- down                           stop the data services; their volumes stay
# A compose project of its own (pdpl-dev: its own containers, volumes and networks), so it never touches a stack
# started with `npm run up` on the same machine.
# Env: PDPL_DEV_PROJECT (pdpl-dev), PDPL_DEV_API_PORT (3000), PDPL_DEV_POSTGRES_PORT (5432), PDPL_DEV_REDIS_PORT
#      (6379), PDPL_DEV_DATA_SUBNET (172.30.78.128/25), PDPL_DEV_EDGE_SUBNET (172.30.78.0/25) and PDPL_DEV_SUBNET
#      (172.30.79.0/28), and the host settings of README.md.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  printf 'usage: npm run dev [-- user:create --email ADDRESS | -- down]\n' >&2
  exit 64
}

# Its networks must not overlap those of a stack from `npm run up` (docker-compose.yml's default ranges): Compose
# makes the edge network too, though no service of this project joins it.
export PDPL_DATA_SUBNET=${PDPL_DEV_DATA_SUBNET:-172.30.78.128/25}
export PDPL_EDGE_SUBNET=${PDPL_DEV_EDGE_SUBNET:-172.30.78.0/25}
export PDPL_DEV_SUBNET=${PDPL_DEV_SUBNET:-172.30.79.0/28}
dev_compose() {
  docker compose --project-name "${PDPL_DEV_PROJECT:-pdpl-dev}" -f docker-compose.yml -f compose/development.yml "$@"
}

# The API's settings for the data services as the overlay publishes them; the rest keeps the schema's development
# defaults. The API listens on loopback only: nothing on the network should reach a development process.
export_dev_settings() {
  local secrets
  secrets=$(cd "${PDPL_SECRETS_DIR:-.secrets}" && pwd) || fail "no secrets directory; run: npm run dev"
  export ENVIRONMENT=development HOST=127.0.0.1 PORT=${PDPL_DEV_API_PORT:-3000}
  export DATABASE_HOST=localhost DATABASE_PORT=${PDPL_DEV_POSTGRES_PORT:-5432} DATABASE_USER=pdpl_app
  export DATABASE_PASSWORD_FILE=$secrets/postgres_app_password
  export DATABASE_SSL_MODE=verify-full DATABASE_CA_FILE=$secrets/tls/ca.crt
  export REDIS_HOST=localhost REDIS_PORT=${PDPL_DEV_REDIS_PORT:-6379} REDIS_USERNAME=pdpl_api
  export REDIS_PASSWORD_FILE=$secrets/redis_password
  export REDIS_TLS=true REDIS_CA_FILE=$secrets/tls/ca.crt
  export JWT_SECRET_FILE=$secrets/jwt_secret JWT_PREVIOUS_SECRET_FILE=$secrets/jwt_previous_secret
}

start_data_services() {
  # Only the images these services run: the API itself runs from the sources.
  bash scripts/prepare.sh postgres redis migrate
  log "starting postgres and redis on 127.0.0.1:${PDPL_DEV_POSTGRES_PORT:-5432} and :${PDPL_DEV_REDIS_PORT:-6379}"
  if ! dev_compose up --detach --wait --wait-timeout 180 postgres redis; then
    dev_compose ps --all >&2
    fail "a data service did not become healthy; see above and 'docker compose logs SERVICE'"
  fi
  # `up --wait` counts a one-shot that exited, even with 0, as a failure (Compose 2.26): run it as the one-off
  # it is, with the service's own settings, and take its exit code.
  log "migrating the database"
  dev_compose run --rm -T migrate >&2 || fail "the migration failed; see above"
}

case ${1:-} in
  '')
    start_data_services
    export_dev_settings
    log "api: http://127.0.0.1:${PORT}/ (a user: npm run dev -- user:create --email you@example.com)"
    exec node_modules/.bin/tsx watch --clear-screen=false \
      --disable-warning=FAST_JWT_CACHE_KEY_BUILDER_SECURITY_RISK services/api/src/server.ts
    ;;
  user:create)
    shift
    require_engine
    dev_compose ps --status running --services | grep -qx postgres || fail "postgres is not running; run: npm run dev"
    export_dev_settings
    # create-user reads the password itself: at a prompt without echo, or the first line of a pipe.
    exec node_modules/.bin/tsx services/api/src/cli/create-user.ts "$@"
    ;;
  down)
    [[ $# -eq 1 ]] || usage
    require_engine
    dev_compose down
    ;;
  *) usage ;;
esac
