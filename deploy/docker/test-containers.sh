#!/usr/bin/env bash
# `make test-containers`: build the image from this tree and run the compose topology's
# tests (tests/deploy/containers) against it, on a machine with Debian's packages and no
# container registry (CI's): root installs docker.io, docker-compose and debootstrap when
# missing, starts a Docker daemon without iptables or bridge when none answers (and stops
# it afterwards), and builds the base image from Debian's packages (debian-base.sh)
# unless CRM_BASE_IMAGE names one. PostgreSQL and Kafka are `make infra`'s.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION="$(.venv/bin/python -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
DATA=".data"
STARTED_DAEMON=""
log() { printf '[containers] %s\n' "$*"; }
die() { printf '[containers] ERROR: %s\n' "$*" >&2; exit 1; }

install_tools() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || [[ -n "${CRM_BASE_IMAGE:-}" ]] || missing+=(debootstrap)
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "needs ${missing[*]} (apt-get install them, or run as root)"
  log "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_daemon() {
  docker info >/dev/null 2>&1 && return 0
  [[ $(id -u) == 0 ]] || die "no Docker daemon answers, and only root may start one"
  mkdir -p "$DATA"
  log "starting dockerd (no iptables, no bridge: containers use the host network)"
  setsid dockerd --iptables=false --bridge=none >"$DATA/dockerd.log" 2>&1 </dev/null &
  STARTED_DAEMON=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  tail -n 20 "$DATA/dockerd.log" >&2
  die "dockerd did not start (log: $DATA/dockerd.log)"
}

stop_daemon() {
  [[ -n "$STARTED_DAEMON" ]] || return 0
  log "stopping the dockerd we started (pid $STARTED_DAEMON)"
  kill "$STARTED_DAEMON" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$STARTED_DAEMON" 2>/dev/null || return 0; sleep 0.5; done
}

build_images() {
  local base="${CRM_BASE_IMAGE:-crm-base:bookworm}"
  [[ -n "${CRM_BASE_IMAGE:-}" ]] || deploy/docker/debian-base.sh "$base"
  deploy/docker/wheels.sh .venv/bin/python
  log "building crm:$VERSION and crm:$VERSION-slim on $base"
  local build=(docker build -q --network host -f deploy/docker/Dockerfile --build-arg "BASE=$base")
  "${build[@]}" -t "crm:$VERSION" . >/dev/null
  "${build[@]}" --target slim -t "crm:$VERSION-slim" . >/dev/null
  docker image ls --format '  {{.Repository}}:{{.Tag}} {{.Size}}' crm
}

main() {
  local started=$SECONDS status=0
  install_tools
  start_daemon
  trap stop_daemon EXIT
  build_images
  CRM_CONTAINER_TESTS=1 CRM_VERSION="$VERSION" .venv/bin/python -m pytest tests/deploy/containers \
    -p no:cacheprovider -q -s $PYTEST_ARGS || status=$?
  log "took $((SECONDS - started)) s"
  return "$status"
}

PYTEST_ARGS="${PYTEST_ARGS:-}"
main
