#!/usr/bin/env bash
# Makes everything the stack needs that is not in the repository, and only what is missing: the base image where
# no registry is reachable, development secrets, the local CA and certificate, and the images. Idempotent.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

require_engine
bash scripts/make-base-image.sh
bash scripts/make-dev-secrets.sh
default_build_ca
log "building images"
docker compose build --quiet
