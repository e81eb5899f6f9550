#!/usr/bin/env bash
# The five services as separate processes on this machine (the local topology).
#   deploy/local/services.sh start|stop|status|crash [SERVICE...]
# Needs PostgreSQL and Kafka running (postgres.sh, kafka.sh). Ports come from
# CRM_<SERVICE>_PORT (gateway 8000, profile 8001, lifecycle 8002, feedback 8003,
# loyalty 8004); logs and pid files live under $CRM_DATA_DIR.
set -euo pipefail
# shellcheck source=deploy/local/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

SERVICES=(profile lifecycle feedback loyalty gateway)
RUN_DIR="$CRM_DATA_DIR/run"
LOG_DIR="$CRM_DATA_DIR/logs"
KEY_FILE="$CRM_DATA_DIR/bootstrap-api-key"
SECRET_FILE="$CRM_DATA_DIR/internal-secret"
READY_TIMEOUT="${CRM_SERVICES_READY_TIMEOUT:-90}"

port_of() {
  local name="$1" default
  case "$name" in
    gateway) default=8000 ;; profile) default=8001 ;; lifecycle) default=8002 ;;
    feedback) default=8003 ;; loyalty) default=8004 ;;
  esac
  local variable="CRM_${name^^}_PORT"
  echo "${!variable:-$default}"
}

# Dead, or a zombie no one has reaped yet (it holds no port and no lock any more).
gone() { ! kill -0 "$1" 2>/dev/null || [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]]; }

pid_alive() { [[ -f "$RUN_DIR/$1.pid" ]] && ! gone "$(<"$RUN_DIR/$1.pid")"; }

ready() { curl -fsS -o /dev/null "http://127.0.0.1:$(port_of "$1")/readyz" 2>/dev/null; }

# A secret kept in a file only its owner reads (mode 600), made on first use by $2 (Python).
kept_secret() {
  local file="$1" make="$2"
  if [[ ! -s "$file" ]]; then (umask 077; "$CRM_PYTHON" -c "$make" >"$file"); fi
  chmod 600 "$file"
  cat "$file"
}

# The operator's admin key: CRM_BOOTSTRAP_API_KEY, else the one kept in .data, else a new one.
bootstrap_key() {
  if [[ -n "${CRM_BOOTSTRAP_API_KEY:-}" ]]; then echo "$CRM_BOOTSTRAP_API_KEY"; return; fi
  kept_secret "$KEY_FILE" 'from shared.auth import new_api_key; print(new_api_key())'
}

# What the gateway signs its calls to the services with: CRM_INTERNAL_SECRET, else kept in .data.
internal_secret() {
  if [[ -n "${CRM_INTERNAL_SECRET:-}" ]]; then echo "$CRM_INTERNAL_SECRET"; return; fi
  kept_secret "$SECRET_FILE" 'import secrets; print(secrets.token_urlsafe(32))'
}

start_one() {
  local name="$1"
  if pid_alive "$name"; then log "$name already running (pid $(<"$RUN_DIR/$name.pid"))"; return; fi
  # exec: the recorded pid is the service itself, and nothing holds our stdout open.
  (cd "$CRM_REPO" && CRM_SERVICE="$name" exec nohup "$CRM_PYTHON" -m services "$name") \
    >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  log "$name starting on 127.0.0.1:$(port_of "$name") (log: $LOG_DIR/$name.log)"
}

wait_ready() {
  local name="$1" deadline=$((SECONDS + READY_TIMEOUT))
  until ready "$name"; do
    if ! pid_alive "$name"; then
      tail -n 30 "$LOG_DIR/$name.log" >&2; die "$name exited during start (log above)"
    fi
    ((SECONDS < deadline)) || { tail -n 30 "$LOG_DIR/$name.log" >&2; die "$name not ready in ${READY_TIMEOUT}s"; }
    sleep 0.3
  done
}

cmd_start() {
  [[ -x "$CRM_PYTHON" ]] || die "$CRM_PYTHON not found: run 'make install' first"
  command -v curl >/dev/null || die "curl not found (apt-get install curl)"
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  local where="in $KEY_FILE (mode 600)"
  [[ -n "${CRM_BOOTSTRAP_API_KEY:-}" ]] && where="the one set in CRM_BOOTSTRAP_API_KEY"
  CRM_BOOTSTRAP_API_KEY="$(bootstrap_key)"
  CRM_INTERNAL_SECRET="$(internal_secret)"
  export CRM_BOOTSTRAP_API_KEY CRM_INTERNAL_SECRET
  for name in "${SERVICES[@]}"; do start_one "$name"; done
  for name in "${SERVICES[@]}"; do wait_ready "$name"; done
  log "all services ready; gateway on http://127.0.0.1:$(port_of gateway) (docs at /docs)"
  # Where the key is, never the key: a printed key ends up in scrollback and CI logs.
  log "bootstrap API key: $where"
}

stop_one() {
  local name="$1" pid i
  if ! pid_alive "$name"; then rm -f "$RUN_DIR/$name.pid"; return; fi
  pid="$(<"$RUN_DIR/$name.pid")"
  kill -TERM "$pid"
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$RUN_DIR/$name.pid"
  log "$name stopped"
}

cmd_stop() {
  local name
  for name in gateway profile lifecycle feedback loyalty; do stop_one "$name"; done
}

# kill -9 of one service (or of all): no shutdown hook runs, as in a power cut.
cmd_crash() {
  local name pid i
  for name in "${@:-${SERVICES[@]}}"; do
    pid_alive "$name" || continue
    pid="$(<"$RUN_DIR/$name.pid")"
    kill -KILL "$pid"
    for ((i = 0; i < 50; i++)); do gone "$pid" && break; sleep 0.1; done
    rm -f "$RUN_DIR/$name.pid"
    log "$name crashed (kill -9 of pid $pid)"
  done
}

cmd_status() {
  local name code=0
  for name in "${SERVICES[@]}"; do
    if pid_alive "$name" && ready "$name"; then log "$name ready on $(port_of "$name")"; else log "$name down"; code=3; fi
  done
  return "$code"
}

usage_dispatch "$@"
