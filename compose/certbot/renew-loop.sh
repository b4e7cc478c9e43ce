#!/usr/bin/env bash
# The certbot service (compose/letsencrypt.yml): obtains the edge's certificate for PUBLIC_HOST from the ACME CA by
# HTTP-01, the token served by nginx from the shared webroot, then every RENEW_INTERVAL_S (12 h by default) renews
# it when certbot finds it due (a third of its lifetime left). The deploy hook gives nginx each new pair, and
# nginx's watch loop reloads it gracefully. A failed round is retried after ACME_RETRY_S, doubling up to the interval,
# which keeps a host whose DNS is not ready yet well inside the CA's limit on failed validations.
# Running it agrees to the CA's subscriber agreement (--agree-tos), as the operator does by choosing this overlay.
# shellcheck source=compose/certbot/settings.sh
source /usr/local/lib/pdpl-certbot/settings.sh

RENEW_INTERVAL_S=${RENEW_INTERVAL_S:-43200}
ACME_RETRY_S=${ACME_RETRY_S:-300}
check_host
check_email
check_server
check_seconds RENEW_INTERVAL_S 60
check_seconds ACME_RETRY_S 1
check_group
report_problems
# `pdpl-renew-loop --check`: the settings alone, as npm run up asks before it changes anything.
if [[ ${1:-} == --check ]]; then
  log "settings valid"
  exit 0
fi
server=$(acme_server)

# The CA that issued the lineage: another one now (staging, then production) needs a new certificate, not a renewal.
issued_by() {
  [[ ! -r $RENEWAL_CONF ]] || awk -F' *= *' '$1 == "server" { print $2 }' "$RENEWAL_CONF"
}

# The first issuance, or a renewal when due; then nginx gets the lineage's pair if it does not have it yet (a hook
# that failed before, or a new edge volume).
round() {
  local previous args=(
    certonly --webroot --webroot-path "$WEBROOT" --cert-name "$LINEAGE_NAME" --domain "$PUBLIC_HOST"
    --email "$ACME_EMAIL" --agree-tos --keep-until-expiring --server "$server"
    --deploy-hook pdpl-install-edge-pair
  )
  previous=$(issued_by)
  if [[ -n $previous && $previous != "$server" ]]; then
    log "the certificate comes from $previous, the configured CA is $server: replacing it"
    args+=(--force-renewal)
  fi
  certbot "${args[@]}" || return 1
  cmp -s "$LINEAGE/fullchain.pem" "$EDGE_DIR/server.crt" || RENEWED_LINEAGE=$LINEAGE pdpl-install-edge-pair
}

# A pause that `docker stop` ends at once: bash runs a trap only between commands, and `wait` is one.
pause() {
  sleep "$1" &
  wait "$!"
}

trap 'log "stopped"; exit 0' TERM INT
log "CA $server, host $PUBLIC_HOST, checking every $RENEW_INTERVAL_S s"
delay=$ACME_RETRY_S
while true; do
  if round; then
    delay=$ACME_RETRY_S
    pause "$RENEW_INTERVAL_S"
  else
    log "no certificate this round (see certbot's lines above); trying again in $delay s"
    pause "$delay"
    delay=$((delay * 2 < RENEW_INTERVAL_S ? delay * 2 : RENEW_INTERVAL_S))
  fi
done
