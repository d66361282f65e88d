#!/usr/bin/env bash
# deploy/stack.sh — the local stack on one machine: dev Kafka broker, Redis and
# PostgreSQL, all on 127.0.0.1 under one directory (default ./.stack).
#   stack.sh up [DIR]            start all three; writes DIR/env
#   stack.sh down [DIR]          stop exactly what "up" started
#   stack.sh status [DIR]        what is running
#   stack.sh fault 'CMD' [DIR]   send a control command to the dev broker,
#                                e.g. 'broker-down 1', 'error Produce NOT_LEADER_FOR_PARTITION 5'
# Then: source DIR/env  (KAFKA_BROKERS, REDIS_URL, DATABASE_URL)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

case "$cmd" in
up)
  dir="$(abs_dir "${1:-./.stack}")"
  if [[ -n "$(recorded_pid "$dir" dev-broker || recorded_pid "$dir" redis || recorded_pid "$dir" postgres || true)" ]]; then
    echo "stack: already running in $dir (stack.sh down $dir first)" >&2
    stack_status "$dir" >&2
    exit 1
  fi
  stack_dir "$dir"
  # Anything half-started is stopped again, so a failed "up" leaves nothing behind.
  trap 'echo "stack: up failed; stopping what was started" >&2; stop_all "$dir"' ERR
  start_dev_broker "$dir"
  start_redis "$dir"
  start_postgres "$dir"
  trap - ERR
  {
    printf 'export KAFKA_BROKERS=%q\n' "$KAFKA_BROKERS"
    printf 'export REDIS_URL=%q\n' "$REDIS_URL"
    printf 'export DATABASE_URL=%q\n' "$DATABASE_URL"
    printf 'export DEV_BROKER_CONTROL_PORT=%q\n' "$DEV_BROKER_CONTROL_PORT"
    printf 'export KAFKA_CONSUMER_FETCH_WAIT_MAX_MS=%q  # dev broker only (see deploy/lib.sh)\n' \
      "$KAFKA_CONSUMER_FETCH_WAIT_MAX_MS"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  cat <<MSG
stack up in $dir
  kafka (dev broker, mock):  $KAFKA_BROKERS   control 127.0.0.1:$DEV_BROKER_CONTROL_PORT
  redis:                     $REDIS_URL
  postgres:                  $DATABASE_URL
  logs:                      $dir/logs/
use it:   source $dir/env
stop it:  $here/stack.sh down $dir
MSG
  ;;
down)
  dir="${1:-./.stack}"
  [[ -d "$dir" ]] || { echo "stack: no $dir" >&2; exit 0; }
  dir="$(abs_dir "$dir")"
  stop_all "$dir"
  rm -f "$dir/env"
  echo "stack down in $dir (data left in $dir; rm -rf it to start clean)"
  ;;
status)
  dir="$(abs_dir "${1:-./.stack}")"
  out="$(stack_status "$dir")"
  if [[ -z "$out" ]]; then echo "stack: nothing recorded in $dir"; exit 1; fi
  printf '%s\n' "$out"
  [[ -f "$dir/env" ]] && sed 's/^export /  /' "$dir/env"
  grep -q running <<<"$out"
  ;;
fault)
  what="${1:?stack.sh fault 'COMMAND' [DIR]}"
  dir="$(abs_dir "${2:-./.stack}")"
  recorded_pid "$dir" dev-broker >/dev/null || { echo "stack: no dev broker running in $dir" >&2; exit 1; }
  dev_broker_ctl "$dir" "$what"
  ;;
*) usage ;;
esac
