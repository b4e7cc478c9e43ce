#!/usr/bin/env bash
# Stops the platform and removes its containers; the data volumes stay, so users and data survive.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

require_engine
docker compose down
