#!/usr/bin/env bash
# The one-shot step before nginx starts (edge-tls-init in compose/letsencrypt.yml). nginx needs a pair to start,
# and the CA's HTTP-01 challenge needs nginx serving. So nginx gets the lineage's pair when there is one (again: the
# edge volume may be new), else keeps the pair it has while that is valid, else a self-signed placeholder for
# PUBLIC_HOST, which the first issuance replaces as soon as the name resolves here and port 80 is reachable.
# shellcheck source=compose/certbot/settings.sh
source /usr/local/lib/pdpl-certbot/settings.sh

# Short-lived on purpose: the edge's expiry alert fires while the placeholder is still served.
readonly PLACEHOLDER_DAYS=7

check_host
check_group
report_problems

if [[ -r $LINEAGE/fullchain.pem ]]; then
  RENEWED_LINEAGE=$LINEAGE exec pdpl-install-edge-pair
fi
if [[ -s $EDGE_DIR/server.key ]] && openssl x509 -checkend 3600 -noout -in "$EDGE_DIR/server.crt" >/dev/null 2>&1; then
  log "no certificate from the CA yet; nginx keeps the pair it has until the first issuance"
  exit 0
fi

placeholder=$(mktemp -d)
trap 'rm -rf "$placeholder"' EXIT
# The name goes in subjectAltName only: a common name holds 64 characters at most, a DNS name up to 253.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$PLACEHOLDER_DAYS" \
  -subj "/CN=pdpl placeholder until the first issuance" -addext "subjectAltName=DNS:$PUBLIC_HOST" \
  -keyout "$placeholder/privkey.pem" -out "$placeholder/fullchain.pem" 2>"$placeholder/openssl.log" ||
  fail "openssl could not make the placeholder for $PUBLIC_HOST: $(tr '\n' ' ' <"$placeholder/openssl.log")"
log "no certificate from the CA yet; nginx starts with a self-signed placeholder for $PUBLIC_HOST"
RENEWED_LINEAGE=$placeholder pdpl-install-edge-pair
