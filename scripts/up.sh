#!/usr/bin/env bash
# Brings the platform up: prepares what is missing, then starts every service and waits until all are healthy.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

bash scripts/prepare.sh
log "starting the stack"
if ! docker compose up --detach --wait --wait-timeout 180; then
  docker compose ps --all >&2
  fail "a service did not become healthy; see 'docker compose logs SERVICE'"
fi
port=${PDPL_HTTPS_PORT:-443}
log "up: https://localhost:${port}/ (CA certificate: ${PDPL_SECRETS_DIR:-.secrets}/tls/ca.crt)"
log "no users yet? create the first with: npm run user:create -- --email you@example.com"
