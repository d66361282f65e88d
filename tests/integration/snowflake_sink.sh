#!/usr/bin/env bash
# snowflake-sink over the dev broker into a real PostgreSQL (the local stack):
#  0. --init-schema applies the migrations, twice without harm;
#  1. 20,000 orders whose status updates arrive out of order, with
#     duplicates and poison (contract failures and rows the table refuses),
#     plus weather, risk decisions and audit events: exact row counts and
#     final states by SQL, one dead letter per poison record with its code;
#  2. kill -9 in the middle of a batch (a transaction open in PostgreSQL),
#     with no Kafka commit at all: the restart starts at the store's offsets,
#     reads exactly what was not committed and ends with the same tables;
#  3. PostgreSQL stopped and started mid-run: /readyz 503 meanwhile, then
#     the same tables again, nothing missing, nothing extra;
#  4. --stdio backfill of a file: exit 0, rows and dead letters exact.
# Each run consumes the same topics from the start under its own group, on
# emptied tables, so every run must produce the same warehouse.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

PSQL="$SENSORY_PG_BIN/psql"
start_dev_broker "$T"
start_postgres "$T"
q() { "$PSQL" -X -qtA -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
export SINK_BATCH_RECORDS=1000 SINK_BATCH_AGE_MS=200
TOPICS=sink.snowflake.orders,context.weather,risk.decisions,audit.privacy

# --- 0. schema ---------------------------------------------------------------------
check "--init-schema" "$SENSORY_BIN/snowflake-sink" --init-schema --metrics-addr "" \
  2>>"$T/logs/init.log"
check "--init-schema again (idempotent)" "$SENSORY_BIN/snowflake-sink" --init-schema \
  --metrics-addr "" 2>>"$T/logs/init.log"
check_eq "migrations recorded once" "1,2" \
  "$(q "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations WHERE component = 'warehouse'")"

# --- records -----------------------------------------------------------------------
$PY "$TOOLS/warehouse_records.py" --orders 20000 --updates --dup-every 20 --poison-every 200 \
  --seed 7 --expected "$T/expected" >"$T/in.tsv"
count() { awk -v k="$1" '$1 == k {print $2}' "$T/expected/counts"; }
TOTAL="$(count records)"
q "CREATE TABLE expected_orders (platform text, order_id text, product_id text, status text, event_time timestamptz)"
"$PSQL" -X -q "$DATABASE_URL" -c "\\copy expected_orders FROM '$T/expected/orders.tsv'"

reset_tables() {
  q "TRUNCATE orders, price_history, weather_observations, risk_decisions, privacy_audit"
}
# check_warehouse RUN: exact counts and final states.
check_warehouse() {
  check_eq "$1: orders rows" "$(count orders)" "$(q "SELECT count(*) FROM orders")"
  check_eq "$1: final states (mismatches)" 0 "$(q "SELECT count(*) FROM expected_orders e
    FULL JOIN orders o USING (platform, order_id, product_id)
    WHERE o.order_id IS NULL OR e.order_id IS NULL OR o.order_status <> e.status
       OR o.event_time <> e.event_time")"
  check_eq "$1: price_history rows" "$(count price_history)" "$(q "SELECT count(*) FROM price_history")"
  check_eq "$1: weather rows" "$(count weather)" "$(q "SELECT count(*) FROM weather_observations")"
  check_eq "$1: risk rows" "$(count risk)" "$(q "SELECT count(*) FROM risk_decisions")"
  check_eq "$1: audit rows" "$(count audit)" "$(q "SELECT count(*) FROM privacy_audit")"
  check_eq "$1: no poison row" 0 "$(q "SELECT count(*) FROM orders WHERE order_id LIKE '%-X'")"
}
# ready_sql: the number of rows, to watch progress
orders_now() { q "SELECT count(*) FROM orders"; }

# --- 1. the whole stream -----------------------------------------------------------
G1=snowflake-sink-run1
KAFKA_GROUP_ID=$G1 start_svc sink1 snowflake-sink
wait_ready sink1
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in.tsv"
check "run 1: everything committed" wait_committed $G1 $TOPICS "$TOTAL" 180
check_warehouse "run 1"
# The store's offsets stop before a record whose dead letter went out on its
# own in the partition's last batch (a crash re-reads from there): never past
# what the stream holds.
kept="$(q "SELECT sum(next_offset) FROM sink_offsets WHERE sink = '$G1'")"
check "run 1: the store's offsets ($kept) within the stream ($TOTAL)" test "$kept" -gt 0 -a "$kept" -le "$TOTAL"
want_dead=$(($(count schema) + $(count store_rejected)))
check "run 1: dead letters arrive" wait_count dead-letters-market "$want_dead" 60
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics dead-letters-market --idle 2 \
  --out "$T/dlq.jsonl"
read -r total schema rejected leaks < <($PY - "$T/dlq.jsonl" <<'PY'
import json, sys
errs = [json.loads(json.loads(l)["value"])["error"] for l in open(sys.argv[1])]
leaks = sum(1 for e in errs if "3000000000" in e["message"] or "1e+15" in e["message"]
            or "0000-01-01" in e["message"])
print(len(errs), sum(e["code"] == "schema" for e in errs),
      sum(e["code"] == "store_rejected" for e in errs), leaks)
PY
)
check_eq "run 1: one dead letter per poison record" "$want_dead" "$total"
check_eq "run 1: contract failures" "$(count schema)" "$schema"
check_eq "run 1: rows the table refused" "$(count store_rejected)" "$rejected"
check_eq "run 1: no value in any dead letter's message" 0 "$leaks"
port="$(<"$T/sink1.port")"
metrics="$(curl -s "http://127.0.0.1:$port/metrics")"
check "rows written per table" grep -q '^snowflake_sink_rows_written_total{table="orders"} [1-9]' <<<"$metrics"
check "store errors by code" grep -q '^snowflake_sink_store_errors_total{code="22003"} [1-9]' <<<"$metrics"
check "store latency histogram" grep -q '^snowflake_sink_sink_write_seconds_count [1-9]' <<<"$metrics"
check "batch flush reasons" grep -q '^snowflake_sink_sink_flushes_total{reason=' <<<"$metrics"
check "end-to-end latency" grep -q '^snowflake_sink_end_to_end_seconds_count{topic="sink.snowflake.orders"} [1-9]' <<<"$metrics"
check "batch size" grep -q '^snowflake_sink_batch_records [1-9]' <<<"$metrics"
check "consumer lag per partition" grep -q '^snowflake_sink_consumer_lag{topic="sink.snowflake.orders",partition=' <<<"$metrics"
# The README's "querying the warehouse" SQL runs on these tables and answers.
$PY - "$SENSORY_SOURCE_DIR/services/snowflake-sink/README.md" "$T/queries" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
section = text.split("## Querying the warehouse", 1)[1].split("\n## ", 1)[0]
os.makedirs(sys.argv[2], exist_ok=True)
for i, q in enumerate(re.findall(r"```sql\n(.*?)```", section, re.S)):
    open(os.path.join(sys.argv[2], "q%d.sql" % i), "w").write(q)
PY
nq=0
for f in "$T"/queries/q*.sql; do
  nq=$((nq + 1))
  rows="$("$PSQL" -X -qtA -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$f" 2>>"$T/logs/queries.log" | wc -l)" || rows=0
  check "README query $(basename "$f") answers ($rows rows)" test "$rows" -gt 0
done
check_eq "README queries found" 4 "$nq"
stop_programs

# --- 2. kill -9 in the middle of a batch --------------------------------------------
reset_tables
G2=snowflake-sink-run2
# No Kafka commits: the restart can only know where to start from the store.
COMMIT_INTERVAL_MS=600000 KAFKA_GROUP_ID=$G2 start_svc sink2a snowflake-sink
pid="$(recorded_pid "$T" sink2a)"
# Kill while the sink holds an open transaction, after a few batches committed.
killed=0
for _ in $(seq 1 3000); do
  if (($(orders_now) > 3000)) &&
    [[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snowflake-sink/$G2' AND xact_start IS NOT NULL")" == 1 ]]; then
    kill -KILL "$pid"
    killed=1
    break
  fi
  sleep 0.005
done
wait "$pid" 2>/dev/null || true
rm -f "$T/pids/sink2a.pid"
check_eq "run 2: killed inside a transaction" 1 "$killed"
check_eq "run 2: Kafka holds no committed offset" 0 "$(committed $G2 $TOPICS)"
kept="$(q "SELECT coalesce(sum(next_offset), 0) FROM sink_offsets WHERE sink = '$G2'")"
check "run 2: part of the stream was committed before the kill" test "$kept" -gt 0 -a "$kept" -lt "$TOTAL"
echo "run 2: killed with $kept of $TOTAL records committed in the store"
KAFKA_GROUP_ID=$G2 start_svc sink2b snowflake-sink
# Done when every record it read is written or dead-lettered. (Not Kafka's
# committed offsets: a partition the store had finished gets no new record,
# so the stage never commits the position it sought to.)
check "run 2: the restart finishes" wait_sink_done sink2b snowflake_sink $((TOTAL - kept)) 180
check_warehouse "run 2"
check_eq "run 2: the restart read exactly what the store had not committed" \
  $((TOTAL - kept)) "$(metric_sum snowflake_sink_messages_in_total sink2b)"
check_eq "run 2: nothing below the store's offsets was read again" 0 \
  "$(metric_sum snowflake_sink_records_skipped_total sink2b)"
check "run 2: started at the store's offsets" grep -q '"event":"seek_to_store"' "$T/logs/sink2b.log"
stop_programs

# --- 3. PostgreSQL restarted mid-run ---------------------------------------------------
reset_tables
G3=snowflake-sink-run3
pg_user="$(_pg_user)"
pg_port="${DATABASE_URL##*:}"
pg_port="${pg_port%%/*}"
pg_ctl() {
  _as_pg "$pg_user" "$SENSORY_PG_BIN/pg_ctl" -D "$T/pg/data" -l "$T/logs/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k '$T/pg/sock' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    "$@" >/dev/null
}
# Small batches, and the stop lands inside a transaction well before the end,
# so the sink has batches left to write while the server is away.
SINK_BATCH_RECORDS=200 KAFKA_GROUP_ID=$G3 start_svc sink3 snowflake-sink
port="$(<"$T/sink3.port")"
for _ in $(seq 1 3000); do
  n="$(orders_now)"
  ((n > 2000 && n < 12000)) &&
    [[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snowflake-sink/$G3' AND xact_start IS NOT NULL")" == 1 ]] &&
    break
  sleep 0.005
done
echo "run 3: stopping PostgreSQL with $(orders_now) orders written"
pg_ctl stop -m fast
rm -f "$T/pids/postgres.pid"
sleep 3
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
check_eq "run 3: /readyz while PostgreSQL is down" 503 "$code"
pg_ctl start
record_pid "$T" postgres "$(head -n 1 "$T/pg/data/postmaster.pid")"
check "run 3: finishes after the restart" wait_committed $G3 $TOPICS "$TOTAL" 180
check_warehouse "run 3"
check "run 3: the outage was seen and survived" grep -q '"event":"store_available"' "$T/logs/sink3.log"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
check_eq "run 3: /readyz after the restart" 200 "$code"
stop_programs

# --- 4. --stdio backfill ---------------------------------------------------------------
reset_tables
$PY "$TOOLS/warehouse_records.py" --orders 3000 --updates --dup-every 10 --poison-every 100 \
  --seed 11 --format jsonl --only-orders --expected "$T/expected4" >"$T/backfill.jsonl"
rc=0
METRICS_ADDR= "$SENSORY_BIN/snowflake-sink" --stdio --topic sink.snowflake.orders \
  --dlq-file "$T/backfill-dlq.jsonl" <"$T/backfill.jsonl" 2>"$T/logs/stdio.log" || rc=$?
check_eq "--stdio exits 0 when all are written or dead-lettered" 0 "$rc"
check_eq "--stdio orders rows" "$(awk '$1 == "orders" {print $2}' "$T/expected4/counts")" \
  "$(q "SELECT count(*) FROM orders")"
check_eq "--stdio dead letters" \
  "$(awk '$1 == "schema" || $1 == "store_rejected" {s += $2} END {print s}' "$T/expected4/counts")" \
  "$(wc -l <"$T/backfill-dlq.jsonl")"
check_eq "--stdio keeps no Kafka position" 0 \
  "$(q "SELECT count(*) FROM sink_offsets WHERE \"partition\" < 0")"

finish
