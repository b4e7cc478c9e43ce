# shellcheck shell=bash
# Shared helpers for the operations scripts. Source it; it sets strict mode and moves to the repository root.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
fail() { printf '%s: FAIL: %s\n' "${0##*/}" "$*" >&2; exit 1; }

require_engine() {
  command -v docker >/dev/null || fail "docker is not installed; see README.md (on Debian: scripts/install-engine.sh)"
  docker info >/dev/null 2>&1 ||
    fail "the Docker engine does not answer; start it (Debian without systemd: scripts/install-engine.sh)"
  docker compose version >/dev/null 2>&1 || fail "Compose v2 is missing ('docker compose'); see README.md"
}

# The group that may read the secret files, which every service joins (see config/src/secret-files.ts). Root can
# give the files to the platform's own gid; anyone else can only give them to a group of their own.
if [[ -z ${PDPL_SECRETS_GID:-} ]]; then
  if [[ $(id -u) -eq 0 ]]; then PDPL_SECRETS_GID=10001; else PDPL_SECRETS_GID=$(id -g); fi
fi
export PDPL_SECRETS_GID

# npm inside the API build may have to trust a TLS-intercepting proxy. The host's CA bundle is the usual source;
# an operator can name another file. It holds public certificates only.
default_build_ca() {
  if [[ -z ${BUILD_CA_FILE:-} && -s /etc/ssl/certs/ca-certificates.crt ]]; then
    export BUILD_CA_FILE=/etc/ssl/certs/ca-certificates.crt
  fi
}
