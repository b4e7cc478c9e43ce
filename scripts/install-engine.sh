#!/usr/bin/env bash
# Installs and starts a Docker Engine with the Compose v2 plugin on a Debian host that has no systemd and no
# image registry (CI machines, air-gapped on-prem VMs). Only the Debian mirror that apt already uses is needed.
# Idempotent: does nothing when `docker info` and `docker compose version` already answer.
set -euo pipefail

log() { printf 'install-engine: %s\n' "$*" >&2; }
fail() { printf 'install-engine: FAIL: %s\n' "$*" >&2; exit 1; }

engine_root=${ENGINE_ROOT:-/var/lib/pdpl-engine}
plugin_dir=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

[[ $(id -u) -eq 0 ]] || fail "run as root: it installs Debian packages and starts dockerd"

debian_mirror() {
  # The first Debian mirror apt is configured with, from either sources format.
  { grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true; } |
    awk 'NR == 1 { print $1 }'
}

install_packages() {
  command -v dockerd >/dev/null && command -v debootstrap >/dev/null && return 0
  log "installing docker.io and debootstrap from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
}

install_compose_plugin() {
  docker compose version >/dev/null 2>&1 && return 0
  local mirror work
  mirror=$(debian_mirror)
  [[ -n $mirror ]] || fail "no Debian mirror found in /etc/apt/sources.list*; cannot fetch docker-compose"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  # Bookworm's docker-compose is v1 (Python); trixie's is the static Go v2 binary, which runs on bookworm.
  # A private apt state keeps the host's sources untouched.
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  # Signed by Debian's archive key, which bookworm's debian-archive-keyring already carries for trixie.
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -r $keyring ]] || fail "$keyring is missing; install debian-archive-keyring"
  echo "deb [signed-by=$keyring] ${mirror%/} trixie main" >"$work/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Get::List-Cleanup=0"
    -o "APT::Sandbox::User=root")
  log "fetching docker-compose v2 from Debian trixie ($mirror)"
  apt-get "${opts[@]}" update -qq
  (cd "$work" && apt-get "${opts[@]}" download docker-compose >/dev/null)
  dpkg -x "$work"/docker-compose_*.deb "$work/root"
  mkdir -p "$plugin_dir"
  install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$plugin_dir/docker-compose"
  docker compose version >/dev/null || fail "docker compose still does not answer after installing the plugin"
}

start_engine() {
  docker info >/dev/null 2>&1 && return 0
  log "starting dockerd (data in $engine_root)"
  mkdir -p "$engine_root"
  setsid dockerd --data-root "$engine_root/data" --exec-root "$engine_root/exec" \
    --pidfile "$engine_root/dockerd.pid" >"$engine_root/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -n 20 "$engine_root/dockerd.log" >&2
  fail "dockerd did not answer within 30 s; its log is $engine_root/dockerd.log"
}

install_packages
start_engine
install_compose_plugin
log "ready: engine $(docker version --format '{{.Server.Version}}'), compose $(docker compose version --short)"
