#!/usr/bin/env bash
# Entrypoint of pdpl/redis: turns the password file into a config include, then execs redis-server as PID 1.
# The password never appears on a command line or in the environment of redis-server.
# Env: REDIS_PASSWORD_FILE (required).
set -euo pipefail

log() { printf 'redis-entrypoint: %s\n' "$*" >&2; }
fail() { printf 'redis-entrypoint: FAIL: %s\n' "$*" >&2; exit 1; }

readonly conf=/etc/redis/pdpl.conf
# Under /tmp so it works with a read-only root filesystem and a tmpfs /tmp, which also keeps it off the disk.
readonly auth_dir=/tmp/redis
readonly auth_file=$auth_dir/auth.conf

require_secret_file() {
  local var=$1 file=${!1:-}
  [[ -n $file ]] || fail "$var is not set; it must name a file holding the password (e.g. /run/secrets/...)"
  [[ -f $file ]] || fail "$var names $file, which is missing or not a regular file"
  [[ -r $file ]] || fail "$var names $file, which uid $(id -u) cannot read; chown it or start the container as root"
}

write_auth_include() {
  local password
  password=$(<"$REDIS_PASSWORD_FILE")
  [[ -n ${password//[[:space:]]/} ]] || fail "REDIS_PASSWORD_FILE names $REDIS_PASSWORD_FILE, which is empty"
  [[ $password != *[[:cntrl:]]* ]] || fail "REDIS_PASSWORD_FILE names a file whose password has control characters"
  # Redis reads double-quoted config strings with backslash escapes.
  password=${password//\\/\\\\}
  password=${password//\"/\\\"}

  (
    umask 077
    mkdir -p "$auth_dir"
    printf 'requirepass "%s"\n' "$password" >"$auth_file.tmp"
    mv -f "$auth_file.tmp" "$auth_file"
  )
}

if [[ ${1:-} != redis-server ]]; then
  exec "$@"
fi
shift

require_secret_file REDIS_PASSWORD_FILE
if [[ $(id -u) -eq 0 ]]; then
  # Compose bind-mounts secret files with their host owner and mode (uid/gid/mode are ignored outside Swarm,
  # docker/compose#9648), so root reads the secret and then drops to redis.
  write_auth_include
  chown -R redis:redis "$auth_dir"
  [[ -n $(ls -A /data) ]] || chown redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$conf" "$@"
fi

write_auth_include
exec redis-server "$conf" "$@"
