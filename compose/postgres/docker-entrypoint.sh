#!/usr/bin/env bash
# Entrypoint of pdpl/postgres. On every start it writes pg_hba.conf for the platform's network, stages the TLS key,
# initialises an empty PGDATA and brings the roles, database and schemas to the platform's layout (passwords from
# the secret files, so changing a file and restarting rotates a password); then it execs postgres as PID 1, so
# the server receives the stop signal itself.
#
# Env: POSTGRES_CLIENT_NETWORKS       addresses (CIDR, comma-separated) that may connect: the platform's network
#      POSTGRES_<ROLE>_PASSWORD_FILE  one file per role: SUPERUSER, OWNER, APP, READONLY, BACKUP
#      POSTGRES_INFISICAL_PASSWORD_FILE  optional: Infisical's role and database (compose/infisical.yml); without
#                                     it the role infisical cannot log in
#      POSTGRES_TLS_CERT_FILE, POSTGRES_TLS_KEY_FILE   server pair (default: the Docker secrets of docker-compose.yml)
#      POSTGRES_APP_CONNECTION_LIMIT (50), POSTGRES_APP_STATEMENT_TIMEOUT (30s),
#      POSTGRES_APP_IDLE_IN_TRANSACTION_TIMEOUT (60s)
set -euo pipefail

log() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }
fail() { printf 'postgres-entrypoint: FAIL: %s\n' "$*" >&2; exit 1; }

readonly conf=/etc/postgresql/postgresql.conf
# Under /tmp: a tmpfs in compose, so the staged key and secrets never reach a disk, and a read-only root works.
readonly runtime=/tmp/postgres
readonly staged=/tmp/postgres-secrets
# The volume is mounted here; the cluster lives in a directory of it (PGDATA), so a first start can initialise a
# cluster beside it and rename it into place: an interrupted initdb leaves nothing that looks like a cluster.
readonly volume=${PGDATA%/*}
readonly database=pdpl
readonly roles=(SUPERUSER OWNER APP READONLY BACKUP)
# Infisical's role and database have the same name; they exist once a start was given the role's password.
readonly infisical=infisical
: "${POSTGRES_TLS_CERT_FILE:=/run/secrets/postgres_tls_certificate}"
: "${POSTGRES_TLS_KEY_FILE:=/run/secrets/postgres_tls_private_key}"
export POSTGRES_TLS_CERT_FILE POSTGRES_TLS_KEY_FILE

infisical_enabled() { [[ -n ${POSTGRES_INFISICAL_PASSWORD_FILE:-} ]]; }

# Checks the file named by an env var without reading the secret into the shell.
require_file() {
  local var=$1 file=${!1:-}
  [[ -n $file ]] || fail "$var is not set; it must name a file (e.g. /run/secrets/...)"
  [[ -f $file ]] || fail "$var names $file, which is missing or not a regular file"
  [[ -r $file ]] || fail "$var names $file, which uid $(id -u) cannot read; chown it or start the container as root"
  grep -q '[^[:space:]]' "$file" || fail "$var names $file, which is empty"
}

require_inputs() {
  local role
  for role in "${roles[@]}"; do require_file "POSTGRES_${role}_PASSWORD_FILE"; done
  ! infisical_enabled || require_file POSTGRES_INFISICAL_PASSWORD_FILE
  require_file POSTGRES_TLS_CERT_FILE
  require_file POSTGRES_TLS_KEY_FILE
  [[ ${POSTGRES_APP_CONNECTION_LIMIT:-50} =~ ^[1-9][0-9]{0,3}$ ]] ||
    fail "POSTGRES_APP_CONNECTION_LIMIT must be a whole number from 1 to 9999"
  local var
  for var in POSTGRES_APP_STATEMENT_TIMEOUT POSTGRES_APP_IDLE_IN_TRANSACTION_TIMEOUT; do
    [[ -z ${!var:-} || ${!var} =~ ^[1-9][0-9]*(ms|s|min|h)$ ]] ||
      fail "$var must be a duration such as 500ms, 30s, 5min or 1h"
  done
}

# Compose bind-mounts secret files with their host owner and mode (uid/gid/mode are ignored outside Swarm,
# docker/compose#9648), so a 0600 file owned by the deploying user is unreadable to uid postgres. Started as
# root, the entrypoint copies the secrets for postgres and drops to postgres.
drop_root() {
  local vars=(POSTGRES_TLS_CERT_FILE POSTGRES_TLS_KEY_FILE) role var
  for role in "${roles[@]}"; do vars+=("POSTGRES_${role}_PASSWORD_FILE"); done
  ! infisical_enabled || vars+=(POSTGRES_INFISICAL_PASSWORD_FILE)
  require_inputs
  install -d -o postgres -g postgres -m 0700 "$staged"
  for var in "${vars[@]}"; do
    install -o postgres -g postgres -m 0400 "${!var}" "$staged/$var.copy"
    export "$var=$staged/$var.copy"
  done
  # A fresh bind-mounted directory is root's; existing contents are left alone rather than chowned blindly.
  [[ -n $(ls -A "$volume") ]] || chown postgres:postgres "$volume"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
}

# Usage: clean_password VAR — replaces the file VAR names by a private copy holding the password exactly as the API
# reads it (config/src/sources/secret-file.ts): one trailing newline dropped, white space around it refused. Both
# sides then agree on every password, whatever characters it has.
clean_password() {
  local var=$1 password=""
  IFS= read -r -d '' password <"${!var}" || true
  if [[ $password == *$'\r\n' ]]; then password=${password%$'\r\n'}; else password=${password%$'\n'}; fi
  [[ -n $password ]] || fail "$var names ${!var}, which is empty"
  if [[ $password == [[:space:]]* || $password == *[[:space:]] ]]; then
    fail "$var names ${!var}, whose password has white space around it; remove the blank lines or spaces"
  fi
  # printf is a builtin: the password never appears in a command's arguments.
  (umask 077 && printf '%s' "$password" >"$staged/$var")
  export "$var=$staged/$var"
}

# PostgreSQL refuses a key that others can read, unless root owns it; secrets arrive 0640 in the secrets group,
# so the server gets its own 0600 copy.
stage_tls() {
  install -d -m 0700 "$runtime/tls"
  install -m 0644 "$POSTGRES_TLS_CERT_FILE" "$runtime/tls/server.crt"
  install -m 0600 "$POSTGRES_TLS_KEY_FILE" "$runtime/tls/server.key"
}

# Only the platform's roles, only over TLS, only from the platform's network; the superuser only on the socket
# inside the container (docker compose exec). Anything not matched is refused.
write_hba() {
  local networks=${POSTGRES_CLIENT_NETWORKS:-} network lines=""
  [[ -n $networks ]] ||
    fail "POSTGRES_CLIENT_NETWORKS is not set; give the platform network's range, e.g. 172.30.80.0/24"
  IFS=',' read -ra list <<<"$networks"
  for network in "${list[@]}"; do
    network=${network//[[:space:]]/}
    [[ $network =~ ^[0-9A-Fa-f:.]+/[0-9]{1,3}$ ]] ||
      fail "POSTGRES_CLIENT_NETWORKS has \"$network\", which is not an address range like 172.30.80.0/24"
    [[ ! $network =~ /0$ ]] ||
      fail "POSTGRES_CLIENT_NETWORKS has \"$network\", which is every address; name the platform's network"
    lines+="hostssl    $database  pdpl_owner,pdpl_app,pdpl_readonly,pdpl_backup  $network  scram-sha-256"$'\n'
    # Infisical's role reaches its own database only, and no other role reaches that one.
    ! infisical_enabled || lines+="hostssl    $infisical  $infisical  $network  scram-sha-256"$'\n'
  done
  cat >"$runtime/pg_hba.conf.tmp" <<EOF
# Written by docker-entrypoint.sh at every start from POSTGRES_CLIENT_NETWORKS; edits here are lost.
# TYPE     DATABASE  USER      ADDRESS  METHOD
local      all       postgres           peer
hostssl    all       postgres  all      reject
hostnossl  all       all       all      reject
${lines}
EOF
  mv -f "$runtime/pg_hba.conf.tmp" "$runtime/pg_hba.conf"
}

init_cluster() {
  local staging=$PGDATA.initdb
  [[ ! -e $volume/PG_VERSION ]] ||
    fail "the volume at $volume holds a cluster of an earlier pdpl/postgres, made before the platform's database" \
      "layout (issue #5); recreate the volume if it holds nothing to keep (README.md, \"Known limits\")"
  # Left by a first start that was interrupted: never a cluster anyone used.
  rm -rf "$staging"
  log "initialising a new cluster in $PGDATA"
  initdb --pgdata="$staging" --username=postgres --pwfile="$POSTGRES_SUPERUSER_PASSWORD_FILE" \
    --auth-local=peer --auth-host=reject \
    --encoding=UTF8 --locale=C.UTF-8 --locale-provider=builtin >/dev/null
  mv "$staging" "$PGDATA"
}

# Idempotent: creates what is missing and resets what may have drifted, so it runs at every start.
apply_layout() {
  local socket_dir
  socket_dir=$(mktemp -d /tmp/postgres-setup.XXXXXX)
  # Unix socket only, so nothing connects before the layout is in place; statements are never logged, not even on
  # error, because some carry passwords.
  # Stopped while the layout is applied: take the temporary server down cleanly rather than leave it to SIGKILL.
  trap 'pg_ctl --pgdata="$PGDATA" --silent stop -m fast || true; exit 143' INT TERM
  # As long as it takes: after a crash this start replays the WAL first, and stopping it halfway only starts over.
  pg_ctl --pgdata="$PGDATA" --wait --timeout=86400 --silent start -o "-c config_file=$conf -c listen_addresses='' \
    -c unix_socket_directories=$socket_dir -c log_statement=none -c log_min_error_statement=panic \
    -c log_connections=off -c log_disconnections=off"

  local infisical_state=off
  ! infisical_enabled || infisical_state=on
  # Passwords reach psql through backtick commands reading the files, never through argv or the environment.
  psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host="$socket_dir" --username=postgres --dbname=postgres \
    -v db="$database" -v infisical="$infisical_state" \
    -v infisical_pw_file="${POSTGRES_INFISICAL_PASSWORD_FILE:-}" \
    -v superuser_pw_file="$POSTGRES_SUPERUSER_PASSWORD_FILE" -v owner_pw_file="$POSTGRES_OWNER_PASSWORD_FILE" \
    -v app_pw_file="$POSTGRES_APP_PASSWORD_FILE" \
    -v readonly_pw_file="$POSTGRES_READONLY_PASSWORD_FILE" -v backup_pw_file="$POSTGRES_BACKUP_PASSWORD_FILE" \
    -v app_limit="${POSTGRES_APP_CONNECTION_LIMIT:-50}" \
    -v app_statement_timeout="${POSTGRES_APP_STATEMENT_TIMEOUT:-30s}" \
    -v app_idle_timeout="${POSTGRES_APP_IDLE_IN_TRANSACTION_TIMEOUT:-60s}" \
    -f /etc/postgresql/layout.sql >/dev/null

  pg_ctl --pgdata="$PGDATA" --wait --silent stop -m fast
  trap - INT TERM
  rm -rf "$socket_dir"
}

if [[ ${1:-} != postgres ]]; then
  exec "$@"
fi
shift

# PID 1 ignores signals it has no handler for: until postgres takes over, a stop request ends the start.
trap 'exit 143' INT TERM
[[ $(id -u) -ne 0 ]] || drop_root postgres "$@"

require_inputs
install -d -m 0700 "$runtime" "$staged"
for role in "${roles[@]}"; do clean_password "POSTGRES_${role}_PASSWORD_FILE"; done
! infisical_enabled || clean_password POSTGRES_INFISICAL_PASSWORD_FILE
stage_tls
write_hba
[[ -s $PGDATA/PG_VERSION ]] || init_cluster
apply_layout
rm -rf "$staged"
log "roles and schemas are in place; starting the server"

exec postgres -D "$PGDATA" -c config_file="$conf" "$@"
