#!/usr/bin/env bash
# Entrypoint of pdpl/nginx: writes the public origin that plain-HTTP requests are redirected to, then execs nginx.
# The redirect uses this configured origin, never the request's Host header, which a client controls.
# Env: PUBLIC_HOST (default localhost), PUBLIC_HTTPS_PORT (default 443).
set -euo pipefail

fail() { printf 'nginx-entrypoint: FAIL: %s\n' "$*" >&2; exit 1; }

host=${PUBLIC_HOST:-localhost}
port=${PUBLIC_HTTPS_PORT:-443}
[[ $host =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
  fail "PUBLIC_HOST must be a DNS name or an IPv4 address, got: $host"
if [[ ! $port =~ ^[0-9]{1,5}$ ]] || ((port < 1 || port > 65535)); then
  fail "PUBLIC_HTTPS_PORT must be a port number from 1 to 65535, got: $port"
fi

origin=https://$host
[[ $port == 443 ]] || origin+=:$port

mkdir -p /tmp/nginx
# shellcheck disable=SC2016 # $public_origin is an nginx variable, written literally
printf 'set $public_origin "%s";\n' "$origin" >/tmp/nginx/public-origin.conf.tmp
mv -f /tmp/nginx/public-origin.conf.tmp /tmp/nginx/public-origin.conf

exec "$@"
