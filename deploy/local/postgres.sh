#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for local development and tests.
#   deploy/local/postgres.sh start|stop|status|crash
# Listens on 127.0.0.1:$CRM_PG_PORT only (trust auth, superuser "crm"), keeps
# everything under $CRM_DATA_DIR/postgres and creates one database per service.
set -euo pipefail
# shellcheck source=deploy/local/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PG_BIN="${CRM_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER="${CRM_PG_OS_USER:-crm-pg}"   # PostgreSQL refuses to run as root.
PG_ROOT="$CRM_DATA_DIR/postgres"      # owned by $PG_USER
PGDATA="$PG_ROOT/pgdata"
PG_SOCKETS="$PG_ROOT/run"             # not /var/run: no system state touched
PG_LOG="$PG_ROOT/postgres.log"
DATABASES=(crm_gateway crm_profile crm_lifecycle crm_feedback crm_loyalty)

as_pg() { runuser -u "$PG_USER" -- "$@"; }
pg_running() { as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; }
pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$CRM_PG_PORT" -U crm -d postgres; }
psql_crm() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CRM_PG_PORT" -U crm "$@"; }

require_binaries() {
  [[ -x "$PG_BIN/pg_ctl" ]] && return
  # Install only the Debian package we expect, as root, for the default path.
  [[ $(id -u) -eq 0 && -z "${CRM_PG_BIN:-}" ]] ||
    die "PostgreSQL 15 not found in $PG_BIN (install postgresql-15 or set CRM_PG_BIN)"
  log "PostgreSQL 15 not found in $PG_BIN: running apt-get install -y postgresql-15"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15
  [[ -x "$PG_BIN/pg_ctl" ]] || die "apt-get installed postgresql-15 but $PG_BIN/pg_ctl is still missing"
}

ensure_os_user() {
  id -u "$PG_USER" >/dev/null 2>&1 && return
  log "creating system user $PG_USER"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
}

# The cluster stays inside the data dir (so `rm -rf .data` really resets it),
# which means $PG_USER must be able to traverse every parent directory, e.g.
# /root (mode 700) when the repo is under /root. We add only o+x (traverse,
# not list) to the parents that lack it; a symlink to a directory elsewhere
# would also work but leaves state outside the data dir that outlives a reset.
ensure_traversable() {
  local path="" part parts
  IFS=/ read -ra parts <<<"${CRM_DATA_DIR#/}"
  for part in "${parts[@]}"; do   # top-down: a closed parent hides the rest
    path+="/$part"
    if ! as_pg test -x "$path"; then
      log "chmod o+x $path (so $PG_USER can reach $PG_ROOT)"
      chmod o+x "$path"
    fi
  done
}

ensure_dirs() {
  mkdir -p "$CRM_DATA_DIR"
  ensure_traversable
  install -d -o "$PG_USER" -g "$(id -gn "$PG_USER")" -m 700 "$PG_ROOT" "$PG_SOCKETS"
}

init_cluster() {
  [[ -f "$PGDATA/PG_VERSION" ]] && return
  log "initdb in $PGDATA"
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U crm -E UTF8 --locale=C.UTF-8 \
    --auth-local=reject --auth-host=reject >"$PG_ROOT/initdb.log" 2>&1 ||
    { tail -n 30 "$PG_ROOT/initdb.log" >&2; die "initdb failed (log: $PG_ROOT/initdb.log)"; }
  # Loopback TCP only, trust: a throw-away dev/test cluster. The socket is
  # rejected by pg_hba anyway; it only exists because pg_ctl expects one.
  printf 'host all all 127.0.0.1/32 trust\n' | as_pg tee "$PGDATA/pg_hba.conf" >/dev/null
  printf "include_if_exists = 'crm.conf'\n" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
}

# Regenerated on every start so a changed port or setting takes effect.
# fsync stays on: the tests measure real numbers.
write_settings() {
  as_pg tee "$PGDATA/crm.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $CRM_PG_PORT
unix_socket_directories = '$PG_SOCKETS'
max_connections = 200
shared_buffers = 256MB
fsync = on
# Safe for committed state (fsync and synchronous commit stay on): checkpoints spaced out
# so fewer full-page images go to the WAL, and those that do compressed.
max_wal_size = 8GB
checkpoint_timeout = 15min
wal_compression = lz4
wal_buffers = 16MB
# Statement statistics for profiling (tests/perf): SELECT * FROM pg_stat_statements.
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
EOF
}

ensure_databases() {
  local db
  for db in "${DATABASES[@]}"; do
    if [[ -z "$(psql_crm -d postgres -tAc "select 1 from pg_database where datname = '$db'")" ]]; then
      log "creating database $db"
      psql_crm -d postgres -c "create database $db owner crm"
    fi
    psql_crm -d "$db" -c "create extension if not exists pg_stat_statements" >/dev/null
  done
}

cmd_start() {
  require_binaries
  reserve_ports "$CRM_PG_PORT"
  ensure_os_user
  ensure_dirs
  init_cluster
  if pg_running; then
    log "already running (127.0.0.1:$CRM_PG_PORT)"
  else
    write_settings
    log "starting on 127.0.0.1:$CRM_PG_PORT (log: $PG_LOG)"
    # setsid: the postmaster must not die with the calling terminal/job.
    as_pg setsid -w "$PG_BIN/pg_ctl" start -D "$PGDATA" -l "$PG_LOG" -w -t 60 >/dev/null ||
      { tail -n 30 "$PG_LOG" >&2; die "PostgreSQL did not start (log: $PG_LOG)"; }
  fi
  local i
  for ((i = 0; i < 30; i++)); do pg_ready && break; sleep 1; done
  pg_ready || { tail -n 30 "$PG_LOG" >&2; die "pg_isready fails on 127.0.0.1:$CRM_PG_PORT"; }
  ensure_databases
  log "ready on 127.0.0.1:$CRM_PG_PORT (user crm, databases: ${DATABASES[*]})"
}

cmd_stop() {
  if ! id -u "$PG_USER" >/dev/null 2>&1 || ! pg_running; then
    log "not running"
    return
  fi
  log "stopping"
  as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >/dev/null ||
    { tail -n 30 "$PG_LOG" >&2; die "pg_ctl stop failed (log: $PG_LOG)"; }
  log "stopped"
}

# Immediate mode: every backend killed, no checkpoint; the next start replays the WAL.
cmd_crash() {
  pg_running || { log "not running"; return; }
  as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 60 >/dev/null
  log "crashed (immediate stop)"
}

cmd_status() {
  if [[ -f "$PGDATA/postmaster.pid" ]] && pg_ready; then
    log "running on 127.0.0.1:$CRM_PG_PORT (data: $PGDATA)"
  else
    log "not running"
    return 3
  fi
}

usage_dispatch "$@"
