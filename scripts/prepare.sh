#!/usr/bin/env bash
# Makes everything the stack needs that is not in the repository, and only what is missing: the npm dependencies,
# the base image where no registry is reachable, the secrets, the local CA and certificate, and the images.
# Idempotent. Arguments name the services whose images to build (scripts/dev.sh); none builds them all.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

require_engine
# Before any change: an overlay's required setting (PDPL_PUBLIC_HOST, PDPL_ACME_EMAIL) unset fails here, by name.
docker compose config --quiet || fail "the compose files above do not render; nothing was changed. Set what they name"
[[ -f node_modules/.package-lock.json ]] || npm ci --no-audit --no-fund --loglevel=error
npx tsc -b config
node config/dist/cli/generate-secrets.js
bash scripts/make-tls-certs.sh
bash scripts/make-base-image.sh
default_build_ca
log "building images"
docker compose build --quiet "$@"
