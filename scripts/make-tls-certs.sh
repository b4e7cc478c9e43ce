#!/usr/bin/env bash
# Creates the platform's local CA and the server certificates it signs, for on-prem and test installs: the edge's
# (tls/server.*, for nginx) and one pair for each data service (tls/postgres.*, tls/redis.*), each naming the
# service as the API reaches it, so every link inside the platform is verified too.
# Idempotent: an existing file is never overwritten, except a server pair that its CA no longer signs, that does
# not cover its names (PDPL_PUBLIC_HOST for the edge), or that expires within 30 days. Prints the names of the
# files it creates.
# (The passwords and keys are made by `npm run secrets:generate`.)
# With compose/letsencrypt.yml, nginx reads no tls/server.*: certbot gives it its pair through a volume, so this
# script never touches that certificate; the local pair it still makes is unused there.
# Env: PDPL_SECRETS_DIR (default <repo>/.secrets), PDPL_PUBLIC_HOST (extra DNS name in the server certificate),
#      PDPL_SECRETS_GID (the group the platform's containers join to read their secrets: 10001 for root,
#      otherwise the caller's own group; scripts/lib.sh exports the same value for compose).
set -euo pipefail

log() { printf 'make-tls-certs: %s\n' "$*" >&2; }
fail() { printf 'make-tls-certs: FAIL: %s\n' "$*" >&2; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secrets_dir=${PDPL_SECRETS_DIR:-$repo_root/.secrets}
tls_dir=$secrets_dir/tls
public_host=${PDPL_PUBLIC_HOST:-}
default_gid=10001
[[ $(id -u) -eq 0 ]] || default_gid=$(id -g) # without root, only one's own groups can be given
secrets_gid=${PDPL_SECRETS_GID:-$default_gid}
renew_before_s=$((30 * 24 * 3600))
work=""
trap '[[ -z $work ]] || rm -rf "$work"' EXIT

command -v openssl >/dev/null || fail "openssl not found; install it (apt-get install openssl)"
if [[ -n $public_host && ! $public_host =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
  fail "PDPL_PUBLIC_HOST must be a DNS name or IPv4 address"
fi

umask 077
install -d -m 0700 "$secrets_dir" "$tls_dir"
work=$(mktemp -d "$secrets_dir/.tmp.XXXXXX")

# Moves a finished temp file into place; the rename is atomic, so a reader never sees half a file.
publish() {
  local tmp=$1 target=$2
  chmod 0600 "$tmp"
  mv -f "$tmp" "$target"
  printf '%s\n' "${target#"$secrets_dir"/}"
}

# Compose mounts secret files with their host owner and mode (it ignores uid/gid/mode outside Swarm), and the
# services run as unprivileged users. So a file a container reads is 0640 in the group PDPL_SECRETS_GID, which
# every service joins with `group_add`; the directory stays 0700, so no other host user reaches the files.
# Re-applied on every run, so secrets made by an older version get the same access.
share_with_containers() {
  local file
  for file in "$@"; do
    chgrp "$secrets_gid" "$secrets_dir/$file"
    chmod 0640 "$secrets_dir/$file"
  done
}

new_ec_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# The names in each pair's certificate. Every pair covers localhost and 127.0.0.1, for checks inside its container.
edge_names() {
  local san="DNS:localhost,IP:127.0.0.1"
  if [[ -n $public_host && $public_host != localhost ]]; then
    if [[ $public_host =~ ^[0-9.]+$ ]]; then san+=",IP:$public_host"; else san+=",DNS:$public_host"; fi
  fi
  printf '%s' "$san"
}

write_openssl_config() {
  # openssl reads the whole config on every call, so SAN needs a value even where no server_ext is made.
  export SAN=DNS:localhost
  # A private config keeps the host's openssl.cnf defaults (extra extensions) out of the certificates.
  cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = pdpl local development CA
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
# SAN comes from the environment of each signing, so one config serves every pair.
[server_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

make_ca() {
  if [[ ! -e $tls_dir/ca.key ]]; then
    [[ -e $tls_dir/ca.crt ]] && fail "tls/ca.crt exists without tls/ca.key; remove tls/ca.crt to create a new CA"
    new_ec_key "$work/ca.key"
    publish "$work/ca.key" "$tls_dir/ca.key"
  fi
  [[ -e $tls_dir/ca.crt ]] && return 0
  openssl req -new -x509 -config "$work/openssl.cnf" -extensions ca_ext -key "$tls_dir/ca.key" \
    -days 3650 -sha256 -out "$work/ca.crt"
  publish "$work/ca.crt" "$tls_dir/ca.crt"
}

# Usage: pair_is_valid NAME HOST... — tls/NAME.crt and .key exist, match, are signed by the CA, last over 30 more
# days and cover every HOST.
pair_is_valid() {
  local name=$1 crt=$tls_dir/$1.crt key=$tls_dir/$1.key host check
  shift
  [[ -e $crt && -e $key ]] || return 1

  if ! openssl verify -no_check_time -CAfile "$tls_dir/ca.crt" "$crt" >/dev/null 2>&1; then
    log "tls/$name.crt is not signed by tls/ca.crt; replacing the pair"
    return 1
  fi
  if ! openssl x509 -in "$crt" -noout -checkend "$renew_before_s" >/dev/null; then
    log "tls/$name.crt expires within 30 days (or has expired); replacing the pair"
    return 1
  fi
  if [[ $(openssl pkey -in "$key" -pubout) != "$(openssl x509 -in "$crt" -noout -pubkey)" ]]; then
    log "tls/$name.key does not match tls/$name.crt; replacing the pair"
    return 1
  fi
  for host in "$@"; do
    check=(-verify_hostname "$host")
    [[ $host =~ ^[0-9.]+$ ]] && check=(-verify_ip "$host")
    if ! openssl verify -no_check_time "${check[@]}" -CAfile "$tls_dir/ca.crt" "$crt" >/dev/null 2>&1; then
      log "tls/$name.crt does not cover $host; replacing the pair"
      return 1
    fi
  done
}

# Usage: make_pair NAME COMMON_NAME SUBJECT_ALT_NAMES HOST... — signs tls/NAME.crt for the names unless the
# existing pair is still good for every HOST.
make_pair() {
  local name=$1 common_name=$2 san=$3
  shift 3
  pair_is_valid "$name" "$@" && return 0
  [[ -e $tls_dir/ca.key ]] || fail "tls/ca.key is missing, so tls/$name.crt cannot be signed"

  new_ec_key "$work/$name.key"
  openssl req -new -key "$work/$name.key" -subj "/CN=$common_name" -out "$work/$name.csr"
  SAN=$san openssl x509 -req -in "$work/$name.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile "$work/openssl.cnf" -extensions server_ext -out "$work/$name.crt" 2>/dev/null
  openssl verify -CAfile "$tls_dir/ca.crt" "$work/$name.crt" >/dev/null 2>&1 ||
    fail "tls/ca.crt does not match tls/ca.key; remove both to create a new CA"

  # Key first: a crash between the two renames leaves a pair the next run detects and replaces.
  publish "$work/$name.key" "$tls_dir/$name.key"
  publish "$work/$name.crt" "$tls_dir/$name.crt"
}

make_server_pairs() {
  # A new CA means every client must be given it again, so that stays the operator's decision.
  openssl x509 -in "$tls_dir/ca.crt" -noout -checkend "$renew_before_s" >/dev/null ||
    fail "tls/ca.crt expires within 30 days; remove tls/ca.crt and tls/ca.key to create a new CA, then redistribute it"
  local edge_hosts=(localhost)
  [[ -z $public_host ]] || edge_hosts+=("$public_host")
  # A common name holds 64 characters at most; clients check the names in subjectAltName, which holds them all.
  local common_name=${public_host:-localhost}
  ((${#common_name} <= 64)) || common_name="pdpl edge"
  make_pair server "$common_name" "$(edge_names)" "${edge_hosts[@]}"
  # The data services, by the names compose gives them on the platform's network.
  make_pair postgres postgres "DNS:postgres,DNS:localhost,IP:127.0.0.1" postgres localhost 127.0.0.1
  make_pair redis redis "DNS:redis,DNS:localhost,IP:127.0.0.1" redis localhost 127.0.0.1
}

write_openssl_config
make_ca
chmod 0644 "$tls_dir/ca.crt" # public: clients need it to verify the server
make_server_pairs
share_with_containers tls/{server,postgres,redis}.{crt,key}
