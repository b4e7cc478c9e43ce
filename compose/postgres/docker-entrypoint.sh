#!/usr/bin/env bash
# Entrypoint of pdpl/postgres. On an empty PGDATA it runs initdb and creates the application role and database,
# then it execs postgres so the server is PID 1 and receives the stop signal itself.
# Env: POSTGRES_SUPERUSER_PASSWORD_FILE, POSTGRES_APP_PASSWORD_FILE (needed on first start only),
#      POSTGRES_APP_USER (default pdpl_app), POSTGRES_APP_DB (default pdpl).
set -euo pipefail

log() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }
fail() { printf 'postgres-entrypoint: FAIL: %s\n' "$*" >&2; exit 1; }

readonly conf=/etc/postgresql/postgresql.conf
readonly staged=/tmp/postgres-secrets
# Present from initdb until the role and database exist, so an interrupted first start is completed next time.
readonly pending=$PGDATA/pdpl-setup.pending
app_user=${POSTGRES_APP_USER:-pdpl_app}
app_db=${POSTGRES_APP_DB:-pdpl}

# Checks the file named by an env var without reading the secret into the shell.
require_secret_file() {
  local var=$1 file=${!1:-}
  [[ -n $file ]] || fail "$var is not set; it must name a file holding the password (e.g. /run/secrets/...)"
  [[ -f $file ]] || fail "$var names $file, which is missing or not a regular file"
  [[ -r $file ]] || fail "$var names $file, which uid $(id -u) cannot read; chown it or start the container as root"
  grep -q '[^[:space:]]' "$file" || fail "$var names $file, which is empty"
}

needs_setup() { [[ ! -s $PGDATA/PG_VERSION || -e $pending ]]; }

# Compose bind-mounts secret files with their host owner and mode (uid/gid/mode are ignored outside Swarm,
# docker/compose#9648), so a 0600 file owned by the deploying user is unreadable to uid postgres. Started as
# root, the entrypoint copies the secrets for postgres and drops to postgres.
drop_root() {
  local var
  if needs_setup; then
    install -d -o postgres -g postgres -m 0700 "$staged"
    for var in POSTGRES_SUPERUSER_PASSWORD_FILE POSTGRES_APP_PASSWORD_FILE; do
      require_secret_file "$var"
      install -o postgres -g postgres -m 0400 "${!var}" "$staged/$var"
      export "$var=$staged/$var"
    done
  fi
  # A fresh bind-mounted directory is root's; existing contents are left alone rather than chowned blindly.
  [[ -n $(ls -A "$PGDATA") ]] || chown postgres:postgres "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
}

init_cluster() {
  [[ -z $(ls -A "$PGDATA") ]] ||
    fail "PGDATA ($PGDATA) is not empty but holds no cluster (no PG_VERSION); refusing to initdb over it"
  require_secret_file POSTGRES_SUPERUSER_PASSWORD_FILE
  require_secret_file POSTGRES_APP_PASSWORD_FILE

  log "initialising a new cluster in $PGDATA"
  initdb --pgdata="$PGDATA" --username=postgres --pwfile="$POSTGRES_SUPERUSER_PASSWORD_FILE" \
    --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --locale-provider=builtin >/dev/null
  touch "$pending"
}

create_app_role_and_db() {
  require_secret_file POSTGRES_APP_PASSWORD_FILE
  [[ $app_user != postgres ]] || fail "POSTGRES_APP_USER must not be the superuser postgres"

  local socket_dir
  socket_dir=$(mktemp -d /tmp/postgres-setup.XXXXXX)
  # Unix socket only, so nothing connects before setup is done; statements are never logged, not even on error,
  # because one of them carries the password.
  pg_ctl --pgdata="$PGDATA" --wait --timeout=60 --silent start -o "-c config_file=$conf -c listen_addresses='' \
    -c unix_socket_directories=$socket_dir -c log_statement=none -c log_min_error_statement=panic"

  # The password reaches psql through a backtick command reading the file, never through argv or the environment.
  psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host="$socket_dir" --username=postgres --dbname=postgres \
    -v app_user="$app_user" -v app_db="$app_db" -v pwfile="$POSTGRES_APP_PASSWORD_FILE" <<'SQL'
\set app_password `cat -- :'pwfile'`
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';
\unset app_password
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL

  pg_ctl --pgdata="$PGDATA" --wait --silent stop -m fast
  rm -rf "$socket_dir"
  rm -f "$pending"
  log "created role $app_user and database $app_db"
}

if [[ ${1:-} != postgres ]]; then
  exec "$@"
fi
shift

[[ $(id -u) -ne 0 ]] || drop_root postgres "$@"

[[ -s $PGDATA/PG_VERSION ]] || init_cluster
[[ ! -e $pending ]] || create_app_role_and_db
rm -rf "$staged"

exec postgres -D "$PGDATA" -c config_file="$conf" "$@"
