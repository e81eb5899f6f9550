#!/usr/bin/env bash
# A base image with Python 3.11 from Debian's packages, for machines that reach Debian's
# mirror but no container registry (the official python:3.11-slim is the default base).
#   deploy/docker/debian-base.sh [TAG]      (root; default tag crm-base:bookworm)
# Builds a minimal bookworm root file system with debootstrap and imports it.
set -euo pipefail
TAG="${1:-crm-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "[base] $TAG exists"; exit 0
fi
command -v debootstrap >/dev/null || { echo "[base] ERROR: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }
root="$(mktemp -d /var/tmp/crm-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
# python3.11-venv depends on the virtual python3.11-distutils, which debootstrap does not
# resolve: name the package that provides it.
debootstrap --variant=minbase \
  --include=python3.11,python3.11-venv,python3-distutils,python3-lib2to3,python3-pip-whl,python3-setuptools-whl,ca-certificates \
  bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
rm -f "$root.log"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
ln -sf python3.11 "$root/usr/bin/python3"
tar -C "$root" -c . | docker import --change 'CMD ["python3"]' - "$TAG" >/dev/null
echo "[base] $TAG imported ($(docker image inspect -f '{{.Size}}' "$TAG") bytes)"
