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

# Our default ports lie in Linux's ephemeral range (32768-60999). While a server is down,
# its clients' reconnects may be handed the very port as their own local port (even connect
# to themselves), and the server cannot bind it again until that socket has gone: seen
# after a kill -9 of Kafka, whose restart then failed for minutes. Reserved ports are never
# handed out. Root only (the scripts run as root); elsewhere a no-op.
reserve_ports() {
  local file=/proc/sys/net/ipv4/ip_local_reserved_ports current port
  [[ -w "$file" ]] || return 0
  for port in "$@"; do
    current="$(<"$file")"
    [[ ",$current," == *",$port,"* ]] && continue
    echo "${current:+$current,}$port" >"$file" 2>/dev/null || return 0
  done
}

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# usage_dispatch CMD [ARG...]: run the function named after the subcommand. ``crash`` stops
# without a goodbye (kill -9, or PostgreSQL's immediate mode), for the fault suite.
usage_dispatch() {
  case "${1:-}" in
    start | stop | status | crash) "cmd_$1" "${@:2}" ;;
    *) die "usage: $0 start|stop|status|crash" ;;
  esac
}
