# shellcheck shell=bash disable=SC2034 # the constants are read by the scripts that source this file
# What the scripts of pdpl/certbot share (compose/letsencrypt.yml): strict mode, the paths, and the checks of
# their settings, which collect every problem and report them all at once. Source it.
# Env: PUBLIC_HOST (the edge's public DNS name), ACME_EMAIL (the CA's contact for this account), ACME_SERVER (an
#      ACME directory URL; empty: Let's Encrypt), ACME_STAGING (true: Let's Encrypt's staging CA),
#      RENEW_INTERVAL_S and ACME_RETRY_S (the loop's pauses), EDGE_TLS_GID (the group nginx reads the key through).
set -euo pipefail

# One lineage, whatever the host's name: its files are always under live/edge/.
readonly LINEAGE_NAME=edge
readonly LINEAGE=/etc/letsencrypt/live/$LINEAGE_NAME
readonly RENEWAL_CONF=/etc/letsencrypt/renewal/$LINEAGE_NAME.conf
readonly WEBROOT=/var/www/acme
# Where nginx reads its pair in this overlay (TLS_CERTIFICATE_FILE and TLS_PRIVATE_KEY_FILE of its entrypoint).
readonly EDGE_DIR=/run/edge-tls
readonly LETSENCRYPT=https://acme-v02.api.letsencrypt.org/directory
readonly LETSENCRYPT_STAGING=https://acme-staging-v02.api.letsencrypt.org/directory

log() { printf 'certbot: %s\n' "$*" >&2; }
fail() { printf 'certbot: FAIL: %s\n' "$*" >&2; exit 1; }

problems=()

check_host() {
  local host=${PUBLIC_HOST:-}
  # At least two labels, the last one not a number: a public DNS name, never an address or localhost.
  if [[ -z $host ]]; then
    problems+=("PUBLIC_HOST is not set: the public DNS name of this host (compose: PDPL_PUBLIC_HOST)")
  elif [[ ! $host =~ ^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$ ]]; then
    problems+=("PUBLIC_HOST must be a public DNS name such as api.example.vn, got: $host")
  fi
}

check_email() {
  local email=${ACME_EMAIL:-}
  if [[ -z $email ]]; then
    problems+=("ACME_EMAIL is not set: the address the CA writes to about this certificate (compose: PDPL_ACME_EMAIL)")
  elif [[ ! $email =~ ^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$ ]]; then
    problems+=("ACME_EMAIL must be an email address, got: $email")
  fi
}

check_server() {
  local server=${ACME_SERVER:-} staging=${ACME_STAGING:-false}
  [[ $staging == true || $staging == false ]] ||
    problems+=("ACME_STAGING must be true or false, got: $staging (compose: PDPL_ACME_STAGING)")
  [[ -z $server || $server =~ ^https://[^[:space:]]+$ ]] ||
    problems+=("ACME_SERVER must be an https:// ACME directory URL, got: $server (compose: PDPL_ACME_SERVER)")
  [[ -z $server || $staging != true ]] ||
    problems+=("ACME_SERVER and ACME_STAGING=true are both set; choose one (compose: PDPL_ACME_*)")
}

# Usage: check_seconds NAME MINIMUM
check_seconds() {
  local value=${!1:-}
  [[ $value =~ ^[0-9]+$ ]] && ((value >= $2)) || problems+=("$1 must be a number of seconds, $2 or more, got: $value")
}

check_group() {
  local gid=${EDGE_TLS_GID:-}
  if [[ ! $gid =~ ^[0-9]+$ ]]; then
    problems+=("EDGE_TLS_GID must be the numeric group nginx reads the key through (compose: PDPL_SECRETS_GID)")
  elif [[ " $(id -G) " != *" $gid "* ]]; then
    problems+=("this container is not in group $gid (EDGE_TLS_GID), so it cannot give nginx the key (group_add)")
  fi
}

# Exits 1 naming every problem the checks above found; returns when they found none.
report_problems() {
  ((${#problems[@]} == 0)) && return 0
  local problem
  for problem in "${problems[@]}"; do printf 'certbot: FAIL: %s\n' "$problem" >&2; done
  exit 1
}

# The ACME directory to use: ACME_SERVER, else Let's Encrypt's staging or production CA.
acme_server() {
  if [[ -n ${ACME_SERVER:-} ]]; then
    printf '%s' "$ACME_SERVER"
  elif [[ ${ACME_STAGING:-false} == true ]]; then
    printf '%s' "$LETSENCRYPT_STAGING"
  else
    printf '%s' "$LETSENCRYPT"
  fi
}
