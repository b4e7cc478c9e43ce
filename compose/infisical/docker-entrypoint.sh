#!/bin/sh
# Entrypoint of the infisical service (compose/infisical.yml). Infisical takes every setting, its secrets too, from
# environment variables (https://infisical.com/docs/self-hosting/configuration/envars); the platform keeps secrets
# in files. So this exports each secret from its Docker secret file, puts the passwords into the connection URLs
# that compose gives without them, and execs its arguments: the image's own ./standalone-entrypoint.sh (the CMD of
# Dockerfile.standalone-infisical in Infisical/infisical). POSIX sh, for the image's /bin/sh is Debian's dash.
# It never prints a value.
set -eu

readonly secrets=/run/secrets

fail() {
  printf 'infisical-entrypoint: FAIL: %s\n' "$*" >&2
  exit 1
}

# Usage: read_secret NAME — prints the secret in /run/secrets/NAME, trailing newlines dropped. `cat` gets the file's
# name, never the value, in its arguments.
read_secret() {
  file=$secrets/$1
  [ -f "$file" ] || fail "$file is missing; give the service the Docker secret $1 (compose/infisical.yml)"
  [ -r "$file" ] || fail "$file is unreadable for uid $(id -u) (groups $(id -G)); group_add must name the" \
    "secret files' group (PDPL_SECRETS_GID)"
  value=$(cat -- "$file")
  [ -n "$value" ] || fail "$file is empty; make it with npm run secrets:generate"
  case $value in *[[:space:]]*) fail "$file holds white space; make it again with npm run secrets:generate" ;; esac
  printf '%s' "$value"
}

# Usage: url_password NAME — the password in /run/secrets/NAME, which goes into a URL as it is: so it may hold only
# characters a URL needs no escape for (those of npm run secrets:generate).
url_password() {
  password=$(read_secret "$1")
  case $password in
    *[!A-Za-z0-9._~-]*) fail "$secrets/$1 holds characters a URL must escape; make it with npm run secrets:generate" ;;
  esac
  printf '%s' "$password"
}

# Usage: with_password VAR URL PASSWORD — the URL (VAR's), scheme://user@host..., with the password after the user.
with_password() {
  case $2 in
    *://*:*@* | *@*@*) fail "$1 must not hold a password; the entrypoint adds it from the secret file" ;;
    *://*@*) ;;
    *) fail "$1 must be a URL like scheme://user@host:port (compose/infisical.yml)" ;;
  esac
  printf '%s:%s@%s' "${2%%@*}" "$3" "${2#*@}"
}

[ "$#" -gt 0 ] || fail "no command to run; compose/infisical.yml gives the image's ./standalone-entrypoint.sh"

# AES-256-GCM keyed by the 32 characters themselves: 16 random bytes in hex, as secrets:generate makes it.
ENCRYPTION_KEY=$(read_secret infisical_encryption_key)
case $ENCRYPTION_KEY in *[!0-9a-f]*) fail "$secrets/infisical_encryption_key is not hexadecimal" ;; esac
[ "${#ENCRYPTION_KEY}" -eq 32 ] || fail "$secrets/infisical_encryption_key is not 32 hex digits (16 bytes)"
AUTH_SECRET=$(read_secret infisical_auth_secret)
database_password=$(url_password postgres_infisical_password)
DB_CONNECTION_URI=$(with_password DB_CONNECTION_URI "${DB_CONNECTION_URI:-}" "$database_password")
redis_password=$(url_password redis_infisical_password)
REDIS_URL=$(with_password REDIS_URL "${REDIS_URL:-}" "$redis_password")
# The CA that PostgreSQL's certificate is checked against, base64 as Infisical wants it (rejectUnauthorized, and
# the name in DB_CONNECTION_URI verified). Redis's is checked against NODE_EXTRA_CA_CERTS, the same file.
[ -r "$secrets/tls_ca" ] || fail "$secrets/tls_ca is missing or unreadable; give the service the secret tls_ca"
DB_ROOT_CERT=$(base64 -w 0 "$secrets/tls_ca")
export ENCRYPTION_KEY AUTH_SECRET DB_CONNECTION_URI REDIS_URL DB_ROOT_CERT

exec "$@"
