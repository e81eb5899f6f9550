# shellcheck shell=bash
# Common settings for the local dev/test services; sourced by postgres.sh and kafka.sh.
# Every value can be overridden from the environment.

# The repo root is two levels above this file, wherever the repo is checked out.
CRM_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CRM_DATA_DIR="$(realpath -m "${CRM_DATA_DIR:-$CRM_REPO/.data}")"  # absolute: written into configs
CRM_PYTHON="${CRM_PYTHON:-$CRM_REPO/.venv/bin/python}"
CRM_PG_PORT="${CRM_PG_PORT:-55432}"
CRM_KAFKA_PORT="${CRM_KAFKA_PORT:-59092}"
CRM_KAFKA_CONTROLLER_PORT="${CRM_KAFKA_CONTROLLER_PORT:-59093}"
export CRM_REPO CRM_DATA_DIR CRM_PYTHON CRM_PG_PORT CRM_KAFKA_PORT CRM_KAFKA_CONTROLLER_PORT

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# usage_dispatch CMD: run the function named after the subcommand.
usage_dispatch() {
  case "${1:-}" in
    start | stop | status) "cmd_$1" ;;
    *) die "usage: $0 start|stop|status" ;;
  esac
}
