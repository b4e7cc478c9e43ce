#!/usr/bin/env bash
# certbot's deploy hook (also run by pdpl-renew-loop and pdpl-prepare-edge): copies the pair of RENEWED_LINEAGE
# (privkey.pem, fullchain.pem) to where nginx reads it, each through a temporary file and a rename, the key first.
# nginx's watch loop reloads when the certificate's text changes, and by then the key that matches it is in place;
# a reload between the two renames fails nginx -t (key and certificate differ), and nginx keeps the old pair.
# The key is readable by its owner and EDGE_TLS_GID (the group nginx joins) only; the certificate by all.
# shellcheck source=compose/certbot/settings.sh
source /usr/local/lib/pdpl-certbot/settings.sh

check_group
report_problems
lineage=${RENEWED_LINEAGE:-}
[[ -n $lineage ]] || fail "RENEWED_LINEAGE is not set: run as certbot's --deploy-hook"
[[ -r $lineage/privkey.pem && -r $lineage/fullchain.pem ]] ||
  fail "$lineage lacks a readable privkey.pem or fullchain.pem"

tmp=""
trap '[[ -z $tmp ]] || rm -f "$tmp"' EXIT
umask 077

# Usage: install_file MODE SOURCE NAME — the group and mode are set before the rename: never readable by others.
install_file() {
  tmp=$(mktemp "$EDGE_DIR/.$3.XXXXXX")
  cat "$2" >"$tmp"
  chgrp "$EDGE_TLS_GID" "$tmp"
  chmod "$1" "$tmp"
  mv -f "$tmp" "$EDGE_DIR/$3"
  tmp=""
}

install_file 0640 "$lineage/privkey.pem" server.key
install_file 0644 "$lineage/fullchain.pem" server.crt
# To standard output: certbot shows a hook's standard error as "error output".
printf 'certbot: gave nginx the pair of %s: %s\n' "$lineage" \
  "$(openssl x509 -noout -serial -enddate -in "$EDGE_DIR/server.crt" | paste -sd ' ')"
