#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser test (tests/e2e/test_dashboard.py), which
# Playwright drives as it is: no browser is downloaded (`playwright install` is not used).
#   deploy/local/chromium.sh        install it when missing (root, apt), then say where it is
# The binary is $CRM_CHROMIUM (default /usr/bin/chromium); set it to use another one.
set -euo pipefail
# shellcheck source=deploy/local/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

CHROMIUM="${CRM_CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM" ]]; then
  # Install only the Debian package we expect, as root, for the default path. Without
  # recommends (a minute or two instead of several); one font so pages render text.
  [[ $(id -u) -eq 0 && -z "${CRM_CHROMIUM:-}" ]] ||
    die "Chromium not found at $CHROMIUM (install Debian's chromium or set CRM_CHROMIUM)"
  log "Chromium not found at $CHROMIUM: running apt-get install -y chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
  [[ -x "$CHROMIUM" ]] || die "apt-get installed chromium but $CHROMIUM is still missing"
fi
log "$("$CHROMIUM" --version 2>/dev/null || echo chromium) at $CHROMIUM"
