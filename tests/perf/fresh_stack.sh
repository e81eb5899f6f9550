#!/usr/bin/env bash
# Run a benchmark on a stack of its own: fresh databases, fresh topics, its own ports.
#
#   tests/perf/fresh_stack.sh .venv/bin/python -m tests.perf.replay
#
# A benchmark on the development stack measures whatever that stack also carries: the
# tenants earlier runs left behind are refitted at a service's start and then rescored,
# their timers come due, and the figures drift from one run to the next. Here every run
# starts from nothing and leaves nothing behind (the data directory is removed at exit).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

export CRM_DATA_DIR="${CRM_BENCH_DATA_DIR:-$repo/.data/bench}"
export CRM_PG_PORT="${CRM_BENCH_PG_PORT:-56932}"
export CRM_KAFKA_PORT="${CRM_BENCH_KAFKA_PORT:-59992}"
export CRM_KAFKA_CONTROLLER_PORT="${CRM_BENCH_KAFKA_CONTROLLER_PORT:-59993}"
base="${CRM_BENCH_SERVICE_PORT_BASE:-8900}"
export CRM_GATEWAY_PORT=$base CRM_PROFILE_PORT=$((base + 1)) CRM_LIFECYCLE_PORT=$((base + 2))
export CRM_FEEDBACK_PORT=$((base + 3)) CRM_LOYALTY_PORT=$((base + 4))

stop() {
  "$repo/deploy/local/services.sh" stop || true
  "$repo/deploy/local/kafka.sh" stop || true
  "$repo/deploy/local/postgres.sh" stop || true
  rm -rf "$CRM_DATA_DIR"
}
trap stop EXIT
rm -rf "$CRM_DATA_DIR"
"$repo/deploy/local/postgres.sh" start
"$repo/deploy/local/kafka.sh" start
"$repo/deploy/local/services.sh" start
"$@"
