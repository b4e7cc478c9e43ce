#!/usr/bin/env bash
# Makes sure the local engine has debian:trixie-slim, the base of every image in this repo.
# Order: already present -> pull it -> build it with debootstrap from the Debian mirror apt already uses.
# The last step is for hosts without an image registry; official Debian images are built the same way,
# so Dockerfiles `FROM debian:trixie-slim` stay unchanged.
# Env: DEBIAN_MIRROR (default: first Debian mirror in the host's apt sources),
#      DEBIAN_SECURITY_MIRROR (default: the host's debian-security mirror, if any).
set -euo pipefail

log() { printf 'make-base-image: %s\n' "$*" >&2; }
fail() { printf 'make-base-image: FAIL: %s\n' "$*" >&2; exit 1; }

readonly image=debian:trixie-slim
readonly suite=trixie
rootfs=""
trap '[[ -z $rootfs ]] || rm -rf "$rootfs"' EXIT

apt_source_uri() {
  # First URI whose path ends in the given suffix, from either sources format.
  { grep -rhoE "https?://[^ ]+/$1/?( |\$)" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true; } |
    awk 'NR == 1 { print $1 }'
}

write_apt_sources() {
  local rootfs=$1 mirror=$2 security=$3 file
  file="$rootfs/etc/apt/sources.list.d/debian.sources"
  # Same layout as the official image, so builds also get trixie-updates and security fixes.
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "${mirror%/}" "$suite" "$suite"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [[ -n $security ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "${security%/}" "$suite"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$file.tmp"
  mv "$file.tmp" "$file"
  rm -f "$rootfs/etc/apt/sources.list"
}

build_with_debootstrap() {
  command -v debootstrap >/dev/null ||
    fail "debootstrap not found: install debootstrap or load a $image image with docker load"
  [[ $(id -u) -eq 0 ]] || fail "debootstrap needs root"

  local mirror security
  mirror=${DEBIAN_MIRROR:-$(apt_source_uri debian)}
  [[ -n $mirror ]] || fail "no Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR"
  security=${DEBIAN_SECURITY_MIRROR:-$(apt_source_uri debian-security)}
  [[ -n $security ]] || log "no debian-security mirror found; the image will not list $suite-security"

  rootfs=$(mktemp -d /tmp/trixie-rootfs.XXXXXX)
  log "debootstrap --variant=minbase $suite from $mirror (about 30 s)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -n 20 "$rootfs.log" >&2
    fail "debootstrap failed; full log in $rootfs.log"
  }
  rm -f "$rootfs.log"

  write_apt_sources "$rootfs" "$mirror" "$security"
  # Package indexes go stale at once and only add size; every Dockerfile runs apt-get update first.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb

  log "importing $image"
  # The same PATH and CMD as the official image, so containers behave alike whichever way the image came.
  tar -C "$rootfs" -c . |
    docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]' \
      - "$image" >/dev/null
}

docker info >/dev/null 2>&1 || fail "docker engine does not answer; run scripts/install-engine.sh first"

if docker image inspect "$image" >/dev/null 2>&1; then
  log "$image already present"
  exit 0
fi

# Without a registry the pull hangs on DNS or TCP for minutes; cap it.
if timeout 20 docker pull -q "$image" >/dev/null 2>&1; then
  log "pulled $image"
  exit 0
fi

log "pull of $image failed; building it locally"
build_with_debootstrap
docker image inspect "$image" >/dev/null 2>&1 || fail "$image still missing after import"
log "built $image"
