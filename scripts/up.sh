#!/usr/bin/env bash
# Brings the platform up: prepares what is missing, then starts every service and waits until all are healthy.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

bash scripts/prepare.sh
# Judge the settings before touching a running stack: refused settings must not take a working API down.
log "checking the secret files, and the api's settings (api.env, secrets) as the stack would boot them"
bash scripts/config-check.sh --compose >&2 ||
  fail "the settings above are refused; nothing was started or replaced. Fix them, then run npm run up again"
services=$(docker compose config --services)
# With compose/letsencrypt.yml: certbot's settings too, in a throwaway container of its image with the
# environment compose would give it (a host name, an email: nothing secret), so a bad one stops here, by name,
# rather than take nginx down with edge-tls-init.
if grep -qx certbot <<<"$services"; then
  log "checking certbot's settings (compose/letsencrypt.yml)"
  # shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
  certbot_spec=$(docker compose config --format json | node -e '
    const service = JSON.parse(require("node:fs").readFileSync(0, "utf8")).services.certbot;
    for (const [name, value] of Object.entries(service.environment ?? {})) console.log(`--env=${name}=${value ?? ""}`);
    for (const group of service.group_add ?? []) console.log(`--group-add=${group}`);
    console.log(service.image);') || fail "could not read the certbot service from the compose files; see above"
  mapfile -t certbot_run <<<"$certbot_spec"
  docker run --rm "${certbot_run[@]}" pdpl-renew-loop --check ||
    fail "certbot's settings above are refused (PUBLIC_HOST is PDPL_PUBLIC_HOST, ACME_* are PDPL_ACME_*);" \
      "nothing was started or replaced. Fix them, then run npm run up again"
fi
log "starting the stack"
if ! docker compose up --detach --wait --wait-timeout 180; then
  docker compose ps --all >&2
  # certbot with compose/letsencrypt.yml: a name that does not resolve here, or port 80 closed, shows there.
  while read -r service; do
    printf '\n--- last lines of %s ---\n' "$service" >&2
    docker compose logs --no-log-prefix --tail 15 "$service" >&2 || true
  done < <(grep -x -E 'migrate|api|edge-tls-init|certbot' <<<"$services")
  fail "a service did not become healthy; see above and 'docker compose logs SERVICE'"
fi
port=${PDPL_HTTPS_PORT:-443}
origin="https://${PDPL_PUBLIC_HOST:-localhost}$([[ $port == 443 ]] || printf ':%s' "$port")/"
if grep -qx certbot <<<"$services"; then
  log "up: ${origin} (certificate from the ACME CA; docker compose logs certbot shows its issuer)"
else
  log "up: ${origin} (CA certificate: ${PDPL_SECRETS_DIR:-.secrets}/tls/ca.crt)"
fi
log "to create a user: npm run user:create -- --email you@example.com"
