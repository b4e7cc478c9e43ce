#!/usr/bin/env bash
# Entrypoint of pdpl/redis: turns the secret files into a config include (the ACL users, the TLS key pair), then
# execs redis-server as PID 1. The include holds SHA-256 hashes of the passwords only: no password reaches a file,
# a command line or the environment of redis-server.
# Env: REDIS_PASSWORD_FILE (pdpl_api, the API's user) and REDIS_OPERATOR_PASSWORD_FILE (pdpl_operator), both
#      required; REDIS_INFISICAL_PASSWORD_FILE (pdpl_infisical, Infisical's user: compose/infisical.yml), optional:
#      without it there is no such user; REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE (the server's pair, PEM;
#      default: the compose secrets).
set -euo pipefail

fail() { printf 'redis-entrypoint: FAIL: %s\n' "$*" >&2; exit 1; }

readonly conf=/etc/redis/pdpl.conf
# Under /tmp so it works with a read-only root filesystem and a tmpfs /tmp, which also keeps it off the disk.
readonly runtime_dir=/tmp/redis
readonly runtime_conf=$runtime_dir/pdpl-runtime.conf
: "${REDIS_TLS_CERT_FILE:=/run/secrets/redis_tls_certificate}"
: "${REDIS_TLS_KEY_FILE:=/run/secrets/redis_tls_private_key}"

# pdpl_api may send exactly what services/api/src and ioredis send, on its own keys and channel, nothing else.
# AUTH and HELLO need no right: Redis lets every connection log in.
readonly api_rights=(
  '~auth:*' '~rate:*' '&auth:revocations' -@all
  +info '+client|setinfo'              # ioredis, on connecting: INFO is its ready check, SETINFO names the library
  +ping                                # GET /health/ready
  +get +mget +set +del                 # sessions, revocations, login attempts (auth/sessions.ts, login-attempts.ts)
  +multi +exec                         # a logout: the revocation and its announcement together
  +eval +evalsha                       # the Lua of auth/*.ts and the rate limits (defineCommand: EVALSHA first)
  +exists +incr +incrby +pexpire +pttl # what those scripts call: Redis checks each call against the user too
  +publish +subscribe                  # revocations announced to every API instance (auth/revocation-mirror.ts)
  +scan                                # the mirror reading every revocation again after a reconnection
)

# pdpl_operator inspects and maintains; it changes no data and no settings. Left out on purpose: writes and
# FLUSHALL/FLUSHDB (a revocation deleted by hand makes a revoked token valid again), CONFIG SET/REWRITE (the config
# is this image's), ACL SETUSER and friends (users come from the secrets), DEBUG, SHUTDOWN (stop the container
# instead), KEYS (blocks the server; SCAN does the same job) and MONITOR (it would echo every command's arguments).
readonly operator_rights=(
  '%R~*' -@all
  +ping +info +time +role +dbsize +lastsave '+config|get' +command  # health and settings; the healthcheck pings
  +slowlog +latency '+memory|stats' '+memory|doctor' '+memory|usage' # why it is slow or full
  '+client|list' '+client|info' '+client|kill' '+client|setinfo'     # who is connected; dropping a stuck client
  '+script|kill' '+function|kill'                                    # ending a runaway script (else: BUSY for all)
  '+acl|whoami' '+acl|users' '+acl|list' '+acl|getuser' '+acl|log' '+acl|cat' '+acl|dryrun' # who may do what
  +scan +type +ttl +pttl +exists +get +mget +strlen '+object|encoding' # reading keys, one at a time
  +bgsave +bgrewriteaof                                                # a snapshot now, a compacted AOF
)

# Usage: patterns_outside SIGIL PREFIX... — ACL patterns (~ keys, & channels) for every name that starts with none
# of the PREFIXes. ACL rules only ever allow, so "all but auth:" is spelt out a character at a time: names starting
# with another character, and for each start of the prefix, that start alone or followed by another character
# (a, a[^u]*, au, au[^t]*, ...). The prefixes must begin with different characters.
patterns_outside() {
  local sigil=$1 firsts="" prefix i
  shift
  for prefix in "$@"; do
    firsts+=${prefix:0:1}
    for ((i = 1; i < ${#prefix}; i++)); do
      printf '%s ' "${sigil}${prefix:0:i}" "${sigil}${prefix:0:i}[^${prefix:i:1}]*"
    done
  done
  printf '%s' "${sigil}[^${firsts}]*"
}

# pdpl_infisical: Infisical's BullMQ queues, cache and locks (Redlock). Neither has a key prefix to confine them to
# (its keys are named per feature: backend/src/keystore/keystore.ts in Infisical's repository; BullMQ's start
# with bull:), so the user may use every key but the API's: a bug or a compromise of Infisical can neither read
# nor drop a revocation or a rate-limit counter. Its commands are all but the @dangerous category (FLUSHALL,
# FLUSHDB, CONFIG, DEBUG, SHUTDOWN, MODULE, REPLICAOF, KEYS, MONITOR, SAVE, CLIENT KILL and LIST, ...) and ACL;
# INFO comes back, for BullMQ and ioredis read the server's version and eviction policy from it. Any channel: its
# events use pub/sub, and a forged message on auth:revocations could at worst end sessions, which a party holding
# Infisical (every secret of the platform) can do anyway. It shares maxmemory with the API (a known limit:
# README.md, Known limits).
readonly infisical_commands=('&*' +@all -@dangerous -acl +info)

# Usage: require_file VAR WHAT — VAR names a regular file this user can read.
require_file() {
  local var=$1 what=$2 file=${!1:-}
  [[ -n $file ]] || fail "$var is not set; it must name the file holding $what (e.g. /run/secrets/...)"
  [[ -f $file ]] || fail "$var names $file, which is missing or not a regular file"
  [[ -r $file ]] || fail "$var names $file, which uid $(id -u) (groups $(id -G)) cannot read;" \
    "give one of those groups read access (compose's group_add), or start the container as root"
}

# Usage: password_hash VAR — prints the SHA-256 (hex) of the password in the file VAR names, read as the API's
# config reads secret files: one trailing newline dropped, any other white space around the value refused.
password_hash() {
  local var=$1 file=${!1} password="" sum
  IFS= read -r -d '' password <"$file" || true
  if [[ $password == *$'\r\n' ]]; then password=${password%$'\r\n'}; else password=${password%$'\n'}; fi
  [[ -n $password ]] || fail "$var names $file, which is empty"
  if [[ $password == [[:space:]]* || $password == *[[:space:]] ]]; then
    fail "$var names $file, whose password has white space around it; remove the blank lines or spaces"
  fi
  # printf is a builtin: the password is piped to sha256sum, never in its arguments.
  sum=$(printf '%s' "$password" | sha256sum)
  printf '%s' "${sum%% *}"
}

# Redis reads double-quoted config strings with backslash escapes.
quoted() {
  local value=${1//\\/\\\\}
  printf '"%s"' "${value//\"/\\\"}"
}

# Usage: write_runtime_conf CERT KEY — the users and the TLS pair, through a temporary file and a rename.
write_runtime_conf() {
  local cert=$1 key=$2 api_hash operator_hash infisical_hash=""
  api_hash=$(password_hash REDIS_PASSWORD_FILE)
  operator_hash=$(password_hash REDIS_OPERATOR_PASSWORD_FILE)
  [[ $api_hash != "$operator_hash" ]] ||
    fail "REDIS_PASSWORD_FILE and REDIS_OPERATOR_PASSWORD_FILE hold the same password; give each user its own"
  if [[ -n ${REDIS_INFISICAL_PASSWORD_FILE:-} ]]; then
    infisical_hash=$(password_hash REDIS_INFISICAL_PASSWORD_FILE)
    [[ $infisical_hash != "$api_hash" && $infisical_hash != "$operator_hash" ]] ||
      fail "REDIS_INFISICAL_PASSWORD_FILE holds the password of another user; give pdpl_infisical its own"
  fi

  (
    umask 077
    mkdir -p "$runtime_dir"
    {
      # `reset`: off and no password, so no one can log in as the default user, and a connection that has not
      # logged in as another user is refused every command. Its rights are everything on purpose: Redis replays the
      # append-only file as the default user, and Redis 8.0 (Debian's) checks every command of a MULTI/EXEC block
      # against that user's rights again while it loads; with none, it silently drops every transaction (a logout,
      # a Lua script's writes) at each restart (redis/redis#14541, fixed upstream by #14545).
      printf 'user default reset ~* &* +@all\n'
      printf 'user pdpl_api reset on #%s %s\n' "$api_hash" "${api_rights[*]}"
      printf 'user pdpl_operator reset on #%s %s\n' "$operator_hash" "${operator_rights[*]}"
      if [[ -n $infisical_hash ]]; then
        printf 'user pdpl_infisical reset on #%s %s %s\n' "$infisical_hash" "$(patterns_outside '~' auth: rate:)" \
          "${infisical_commands[*]}"
      fi
      printf 'tls-cert-file %s\n' "$(quoted "$cert")"
      printf 'tls-key-file %s\n' "$(quoted "$key")"
    } >"$runtime_conf.tmp"
    mv -f "$runtime_conf.tmp" "$runtime_conf"
  )
}

if [[ ${1:-} != redis-server ]]; then
  exec "$@"
fi
shift

require_file REDIS_PASSWORD_FILE "pdpl_api's password"
require_file REDIS_OPERATOR_PASSWORD_FILE "pdpl_operator's password"
[[ -z ${REDIS_INFISICAL_PASSWORD_FILE:-} ]] || require_file REDIS_INFISICAL_PASSWORD_FILE "pdpl_infisical's password"
require_file REDIS_TLS_CERT_FILE "the server's TLS certificate (PEM)"
require_file REDIS_TLS_KEY_FILE "the server's TLS private key (PEM)"

if [[ $(id -u) -eq 0 ]]; then
  # Compose bind-mounts secret files with their host owner and mode (uid/gid/mode are ignored outside Swarm,
  # docker/compose#9648). Root reads them here and drops to redis, whose own groups exclude the secrets group
  # that compose adds: so the TLS pair is copied to the tmpfs, readable by redis alone.
  install -d -m 0700 "$runtime_dir"
  install -m 0600 -o redis -g redis "$REDIS_TLS_CERT_FILE" "$runtime_dir/tls.crt"
  install -m 0600 -o redis -g redis "$REDIS_TLS_KEY_FILE" "$runtime_dir/tls.key"
  write_runtime_conf "$runtime_dir/tls.crt" "$runtime_dir/tls.key"
  chown -R redis:redis "$runtime_dir"
  [[ -n $(ls -A /data) ]] || chown redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$conf" "$@"
fi

# Unprivileged, redis-server keeps this process's groups, so it reads the pair where it is mounted.
write_runtime_conf "$REDIS_TLS_CERT_FILE" "$REDIS_TLS_KEY_FILE"
exec redis-server "$conf" "$@"
