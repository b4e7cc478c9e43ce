#!/usr/bin/env bash
# Entrypoint of pdpl/nginx. Writes what the configuration includes from /tmp/nginx (the redirect's origin, who may
# ask the internal listener, OCSP stapling or not, the certificate metrics), then execs nginx with a watch loop as
# its child, which reloads nginx gracefully when the API's addresses or the certificate change.
# The redirect uses the configured origin, never the request's Host header, which a client controls.
# Env: PUBLIC_HOST (default localhost), PUBLIC_HTTPS_PORT (default 443), TLS_CERTIFICATE_FILE and
# TLS_PRIVATE_KEY_FILE (default the tls_certificate and tls_private_key secrets; compose/letsencrypt.yml names a
# volume's files instead, which certbot replaces by rename).
#
# Why nginx is PID 1 and the loop its child, not bash supervising both: `docker stop` signals PID 1 only, and
# nginx handles SIGQUIT and SIGTERM itself (a bash PID 1 would have to trap and forward them, and bash delivers a
# trapped signal only after its current foreground command ends). nginx's master reaps every child it gets,
# orphans included. And the container lives exactly as long as nginx: when the master exits, the kernel kills
# the loop with the rest of the PID namespace, so a dead nginx stops the container and the restart policy acts.
# If the loop itself ever stops, it stops nginx on its way out, for the same reason.
set -euo pipefail

readonly RUNTIME_DIR=/tmp/nginx
readonly CERTIFICATE=${TLS_CERTIFICATE_FILE:-/run/secrets/tls_certificate}
readonly PRIVATE_KEY=${TLS_PRIVATE_KEY_FILE:-/run/secrets/tls_private_key}
# The upstream's name in conf.d/pdpl.conf.
readonly API_NAME=api
readonly WATCH_INTERVAL_S=1

log() { printf 'nginx-entrypoint: %s\n' "$*" >&2; }
fail() { printf 'nginx-entrypoint: FAIL: %s\n' "$*" >&2; exit 1; }

# Standard input into a file nginx reads, through a temporary file and a rename: nginx never reads half a file.
publish() {
  cat >"$1.tmp" && mv -f "$1.tmp" "$1"
}

write_public_origin() {
  local host=${PUBLIC_HOST:-localhost} port=${PUBLIC_HTTPS_PORT:-443} origin
  [[ $host =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
    fail "PUBLIC_HOST must be a DNS name or an IPv4 address, got: $host"
  if [[ ! $port =~ ^[0-9]{1,5}$ ]] || ((port < 1 || port > 65535)); then
    fail "PUBLIC_HTTPS_PORT must be a port number from 1 to 65535, got: $port"
  fi

  origin=https://$host
  [[ $port == 443 ]] || origin+=:$port
  # shellcheck disable=SC2016 # $public_origin is an nginx variable, written literally
  printf 'set $public_origin "%s";\n' "$origin" | publish "$RUNTIME_DIR/public-origin.conf"
}

# Which pair the HTTPS server reads (conf.d/pdpl.conf includes this file). Plain paths only: nginx reads the text.
write_certificate_paths() {
  local path
  for path in "$CERTIFICATE" "$PRIVATE_KEY"; do
    [[ $path =~ ^/[A-Za-z0-9._/-]+$ ]] ||
      fail "TLS_CERTIFICATE_FILE and TLS_PRIVATE_KEY_FILE must be absolute paths (letters, digits, ._/-), got: $path"
  done
  printf 'ssl_certificate %s;\nssl_certificate_key %s;\n' "$CERTIFICATE" "$PRIVATE_KEY" |
    publish "$RUNTIME_DIR/certificate.conf"
}

# An IPv4 address from /proc/net/route's little-endian hex, plus an optional offset.
address_of() {
  local hex=$1 offset=${2:-0} n
  n=$(((0x${hex:6:2} << 24 | 0x${hex:4:2} << 16 | 0x${hex:2:2} << 8 | 0x${hex:0:2}) + offset))
  printf '%d.%d.%d.%d' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255))
}

prefix_length_of() {
  local n=$((0x$1)) bits=0
  while ((n)); do
    bits=$((bits + (n & 1)))
    n=$((n >> 1))
  done
  printf '%d' "$bits"
}

# Who the internal listener answers: the container itself and the other members of its networks (0 in the geo
# map of conf.d/pdpl.conf), not the host (1, refused). The host reaches a container network from that network's
# gateway: the default route's, or (Docker's default) the network's first address. geo picks the longest match,
# so a gateway's /32 wins over its network. Networks connected after the start are refused until the next start
# (a known limit: README.md, Known limits).
write_internal_clients() {
  local iface destination gateway mask host clients=$'127.0.0.1 0;\n::1 0;\n' hosts=""
  while read -r iface destination gateway _ _ _ _ mask _; do
    [[ $iface != Iface ]] || continue
    if [[ $gateway != 00000000 ]]; then
      host=$(address_of "$gateway")
    elif [[ $destination != 00000000 ]]; then
      host=$(address_of "$destination" 1)
      clients+="$(address_of "$destination")/$(prefix_length_of "$mask") 0;"$'\n'
    else
      continue
    fi
    [[ $hosts == *"$host/32 1;"* ]] || hosts+="$host/32 1;"$'\n'
  done </proc/net/route
  printf '%s%s' "$clients" "$hosts" | publish "$RUNTIME_DIR/internal-clients.conf"
}

# Stapling only for a certificate that names an OCSP responder: the local CA's name none, and Let's Encrypt
# dropped OCSP in 2025; with no responder nginx would only warn at every start. Returns 1 when it cannot decide.
write_ocsp_stapling() {
  local responder nameserver
  responder=$(openssl x509 -noout -ocsp_uri -in "$CERTIFICATE") || {
    log "cannot read the certificate $CERTIFICATE with openssl"
    return 1
  }
  if [[ -z $responder ]]; then
    printf '# The certificate names no OCSP responder: no stapling.\n' | publish "$RUNTIME_DIR/ocsp-stapling.conf"
    return 0
  fi

  # nginx asks the responder at run time, through this resolver (Docker's own, in a compose network).
  nameserver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
  if [[ -z $nameserver ]]; then
    log "the certificate names an OCSP responder, but /etc/resolv.conf names no nameserver to reach it"
    return 1
  fi
  [[ $nameserver != *:* ]] || nameserver="[$nameserver]"
  # The response is checked against the system's roots, with the intermediates from the certificate file (give
  # nginx the full chain). A CA of one's own that runs a responder needs its root here (a known limit: README.md).
  publish "$RUNTIME_DIR/ocsp-stapling.conf" <<EOF
# The certificate names an OCSP responder: nginx staples the CA's signed status to the handshake.
ssl_stapling on;
ssl_stapling_verify on;
ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
resolver $nameserver valid=300s ipv6=off;
resolver_timeout 5s;
EOF
}

# A date of the certificate (-startdate or -enddate) in Unix time.
certificate_date() {
  local line
  line=$(openssl x509 -noout "$1" -dateopt iso_8601 -in "$CERTIFICATE") || return 1
  date -u -d "${line#*=}" +%s
}

# The Prometheus page the internal listener serves at /metrics: what nginx loaded at its last start or reload.
# Args: the number of the API's addresses, and of reloads so far.
write_metrics() {
  local not_before not_after
  if ! not_before=$(certificate_date -startdate) || ! not_after=$(certificate_date -enddate); then
    log "cannot read the dates of the certificate $CERTIFICATE"
    return 1
  fi
  publish "$RUNTIME_DIR/metrics.prom" <<EOF
# HELP pdpl_tls_certificate_not_after_timestamp_seconds When the certificate nginx serves expires, in Unix time.
# TYPE pdpl_tls_certificate_not_after_timestamp_seconds gauge
pdpl_tls_certificate_not_after_timestamp_seconds $not_after
# HELP pdpl_tls_certificate_not_before_timestamp_seconds When the certificate nginx serves became valid, in Unix time.
# TYPE pdpl_tls_certificate_not_before_timestamp_seconds gauge
pdpl_tls_certificate_not_before_timestamp_seconds $not_before
# HELP pdpl_edge_api_addresses How many addresses the API's name had when nginx last read its configuration.
# TYPE pdpl_edge_api_addresses gauge
pdpl_edge_api_addresses $1
# HELP pdpl_edge_reloads_total Graceful reloads by the entrypoint's watch loop since the container started.
# TYPE pdpl_edge_reloads_total counter
pdpl_edge_reloads_total $2
# HELP pdpl_edge_configuration_loaded_timestamp_seconds When nginx last read its configuration, in Unix time.
# TYPE pdpl_edge_configuration_loaded_timestamp_seconds gauge
pdpl_edge_configuration_loaded_timestamp_seconds $(date -u +%s)
EOF
}

# The API's addresses, sorted, one a line: what nginx's upstream resolves to right now. Empty while the name is
# unknown (the api container being replaced).
api_addresses() {
  getent ahosts "$API_NAME" | awk '{ print $1 }' | sort -u || true
}

# The certificate file's whole text, read without a process: compared every second, it changes with the
# fingerprint and with nothing else.
certificate_text() {
  local text=""
  [[ ! -r $CERTIFICATE ]] || read -r -d '' text <"$CERTIFICATE" || true
  printf '%s' "$text"
}

count_lines() {
  if [[ -z $1 ]]; then printf '0'; else wc -l <<<"$1"; fi
}

fingerprint() {
  openssl x509 -noout -fingerprint -sha256 -in "$CERTIFICATE" 2>/dev/null | cut -d= -f2
}

# A graceful reload (new workers, open requests finish on the old ones), only once the new state passes
# nginx -t: otherwise nginx keeps serving what it has, and the next round tries again. Args: nginx's pid, the
# number of addresses, the number of reloads so far.
reload() {
  write_ocsp_stapling || return 1
  if ! nginx -t -q; then
    log "the new certificate or API address does not pass nginx -t; nginx keeps the old ones, retrying"
    return 1
  fi
  kill -HUP "$1"
  write_metrics "$2" "$3" || return 1
  log "reloaded nginx: API at $(api_addresses | paste -sd ' '), certificate $(fingerprint)"
}

# Runs beside nginx until nginx exits. Args: nginx's pid, then the addresses and certificate nginx started with.
watch() {
  local nginx_pid=$1 addresses=$2 certificate=$3 reloads=0 now_addresses now_certificate
  trap 'log "the watch loop stopped; stopping nginx, so the restart policy starts both again"
    kill -QUIT "$nginx_pid"' EXIT
  while kill -0 "$nginx_pid" 2>/dev/null; do
    sleep "$WATCH_INTERVAL_S"
    now_addresses=$(api_addresses)
    now_certificate=$(certificate_text)
    # No address is a container being replaced: keep the old one until the new one has a name.
    [[ -n $now_addresses ]] || continue
    [[ $now_addresses != "$addresses" || $now_certificate != "$certificate" ]] || continue
    if reload "$nginx_pid" "$(count_lines "$now_addresses")" $((reloads + 1)); then
      addresses=$now_addresses certificate=$now_certificate reloads=$((reloads + 1))
    fi
  done
  trap - EXIT
}

# Whether the command is nginx serving, rather than a one-off such as `nginx -t` or `nginx -V`.
serves() {
  [[ ${1:-} == nginx ]] || return 1
  local arg
  for arg in "$@"; do
    [[ $arg != -[tTvVs] ]] || return 1
  done
}

mkdir -p "$RUNTIME_DIR"
write_certificate_paths
[[ -r $CERTIFICATE ]] ||
  fail "the certificate $CERTIFICATE is missing or unreadable (the tls_certificate secret, or TLS_CERTIFICATE_FILE)"
write_public_origin
write_internal_clients
write_ocsp_stapling || fail "cannot decide on OCSP stapling (see above)"
addresses=$(api_addresses)
write_metrics "$(count_lines "$addresses")" 0 || fail "cannot write the certificate metrics (see above)"

if serves "$@"; then
  # $$ is this shell's pid, which exec hands to nginx.
  watch "$$" "$addresses" "$(certificate_text)" &
fi
exec "$@"
