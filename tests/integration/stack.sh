#!/usr/bin/env bash
# Integration test of deploy/lib.sh: Redis and PostgreSQL start on loopback
# in a throwaway directory, answer, carry the warehouse schema, and stop_all
# stops exactly the processes it recorded, programs before the stack.
# Needs SENSORY_SOURCE_DIR (repo) and SENSORY_BIN (built programs).
set -euo pipefail

: "${SENSORY_SOURCE_DIR:?set SENSORY_SOURCE_DIR to the repository}"
# shellcheck source=deploy/lib.sh
source "$SENSORY_SOURCE_DIR/deploy/lib.sh"
psql_bin="$SENSORY_PG_BIN/psql"

# shellcheck source=tests/tools/checks.sh
source "$SENSORY_SOURCE_DIR/tests/tools/checks.sh"

tmp="$(mktemp -d)"
cleanup() {
  stop_all "$tmp" 5 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if start_redis "$tmp"; then ok "redis starts ($REDIS_URL)"; else not_ok "redis starts"; finish; exit 1; fi
if start_postgres "$tmp"; then ok "postgres starts ($DATABASE_URL)"; else not_ok "postgres starts"; finish; exit 1; fi
redis_pid="$(recorded_pid "$tmp" redis)"
pg_pid="$(recorded_pid "$tmp" postgres)"

sql() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 -tA "$DATABASE_URL" "$@"; }

check "redis answers PONG" test "$(redis-cli -u "$REDIS_URL" ping)" = PONG
check "redis is bound to 127.0.0.1 only" \
  test "$(redis-cli -u "$REDIS_URL" config get bind | tail -n 1)" = 127.0.0.1
check "redis keeps no snapshots" test -z "$(redis-cli -u "$REDIS_URL" config get save | tail -n 1)"
check "select count(*) from orders is 0" test "$(sql -c 'select count(*) from orders')" = 0
check "postgres listens on 127.0.0.1 only" test "$(sql -c 'show listen_addresses')" = 127.0.0.1
check "all four warehouse tables exist" test "$(sql -c "select count(*) from information_schema.tables
  where table_schema = 'public' and table_name in
  ('orders','weather_observations','risk_decisions','privacy_audit')")" = 4
check "the DDL applies a second time (idempotent)" \
  sql -f "$SENSORY_SOURCE_DIR/deploy/sql/postgres.sql"

insert="insert into orders (order_id, platform, merchant_id, product_id, product_name, quantity,
  price, order_status, payment_method, event_time, kafka_topic, kafka_partition, kafka_offset)
  values ('o-1', 'shopify', 'm-1', 'p-1', 'Raincoat', 1, 5000, 'pending', 'cod',
  '2024-06-01T10:00:00Z', 'sink.snowflake.orders', 0, 42)
  on conflict (platform, order_id, product_id) do nothing"
sql -c "$insert" >/dev/null && sql -c "$insert" >/dev/null || true
check "a replayed order row stays one row" test "$(sql -c 'select count(*) from orders')" = 1
check "currency defaults to BDT" test "$(sql -c 'select currency from orders')" = BDT

# Stopping a running pipeline: the program first (it drains and commits
# while the broker is up), then the stack; nobody needs KILL.
start_dev_broker "$tmp"
head -c 32 /dev/urandom >"$tmp/dlq.key"
printf 'stack-test-hmac-key-0123456789ab\n' >"$tmp/hmac.key"
SCHEMAS_DIR="$SENSORY_SOURCE_DIR/schemas" PRIVACY_HMAC_KEY_FILE="$tmp/hmac.key" \
  DLQ_KEY_FILE="$tmp/dlq.key" METRICS_ADDR=127.0.0.1:0 "$SENSORY_BIN/privacy-shield" \
  2>"$tmp/logs/privacy-shield.log" &
record_pid "$tmp" privacy-shield $!
deadline=$((SECONDS + 30))
until grep -q '"event":"assigned"' "$tmp/logs/privacy-shield.log" || ((SECONDS > deadline)); do
  sleep 0.2
done
check "privacy-shield joined the dev broker" grep -q '"event":"assigned"' "$tmp/logs/privacy-shield.log"
stop_all "$tmp" 2>"$tmp/stop.err"
check "stop_all needed no KILL" bash -c '! grep -q "sending KILL" "$1"' _ "$tmp/stop.err"
check "privacy-shield drained and exited 0" \
  grep -q '"event":"stopped".*exit code 0' "$tmp/logs/privacy-shield.log"
check "redis pid $redis_pid is gone" bash -c '! kill -0 "$1" 2>/dev/null' _ "$redis_pid"
check "postgres pid $pg_pid is gone" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pg_pid"
check "pid files are removed" bash -c '! compgen -G "$1/pids/*.pid" >/dev/null' _ "$tmp"

finish
