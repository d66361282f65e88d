#!/usr/bin/env bash
# snowflake-sink with sink.backend=snowflake against the contract server
# (tests/tools/snowflake_server.py: every request checked against the SQL
# API's OpenAPI document, the JWT verified with the public key, statements
# run on an in-memory warehouse), over the dev broker:
#  1. --init-schema: three migrations as multi-statement requests, recorded;
#     again: none;
#  2. a stream of orders with out-of-order updates, duplicates and poison,
#     while the server answers one batch 202 (then polled), one 429 and one
#     503 with Retry-After, drops the connection after running one, and
#     refuses one token: every requestId runs once, a resubmission carries
#     retry=true and the same id (the dropped one is answered from its first
#     execution), Retry-After is honoured, the final states are exact, rows
#     Snowflake cannot cast become dead letters with its error code;
#  3. kill -9 mid-stream, no Kafka commit: the restart starts at the
#     offsets kept in Snowflake and ends with the same warehouse; a batch the
#     restart sends again under the same id (it cannot know its predecessor
#     sent it) writes no row;
#  4. --stdio into Snowflake.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

FX="$SENSORY_SOURCE_DIR/tests/fixtures"
start_dev_broker "$T"
# start_api NAME [--fault KIND:N ...]: the contract server; sets SNOWFLAKE_URL.
start_api() {
  local name="$1" i
  shift
  $PY "$TOOLS/snowflake_server.py" --spec "$FX/api/snowflake-sqlapi-openapi.yaml" \
    --fixtures "$FX/api" --public-key "$FX/snowflake/rsa_key.pub" \
    --account XY12345 --user SENSORY_LOADER --port-file "$T/$name.api-port" \
    --log "$T/logs/$name.requests.jsonl" "$@" 2>>"$T/logs/$name.log" &
  record_pid "$T" "$name" $!
  for ((i = 0; i < 100; i++)); do [[ -s "$T/$name.api-port" ]] && break; sleep 0.1; done
  SNOWFLAKE_URL="http://127.0.0.1:$(<"$T/$name.api-port")"
  export SNOWFLAKE_URL
}
state() { curl -sf "$SNOWFLAKE_URL/_test/state"; }
# jq-like reads of the server's state with Python
st() { state | $PY -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
export SINK_BACKEND=snowflake SNOWFLAKE_ACCOUNT=xy12345.us-east-1 SNOWFLAKE_USER=sensory_loader \
  SNOWFLAKE_PRIVATE_KEY_FILE="$FX/snowflake/rsa_key_encrypted.p8" \
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_FILE="$FX/snowflake/rsa_key.passphrase" \
  SNOWFLAKE_DATABASE=SENSORY SNOWFLAKE_SCHEMA=PUBLIC SNOWFLAKE_WAREHOUSE=LOAD_WH \
  SNOWFLAKE_RETRY_AFTER_MAX_S=5 SINK_BATCH_RECORDS=200 SINK_BATCH_AGE_MS=200
TOPICS=sink.snowflake.orders,context.weather,risk.decisions,audit.privacy

# --- 1. --init-schema ---------------------------------------------------------------
start_api api1 --fault 202:2 --fault 429:3 --fault drop:4 --fault 503:5 --fault 401:6
check "--init-schema" "$SENSORY_BIN/snowflake-sink" --init-schema --metrics-addr ""
check_eq "three migrations recorded" "3" "$(st 'len(s["schema_migrations"])')"
check_eq "each sent once, as a multi-statement request" 3 "$(st 's["ddl"]')"
check "--init-schema again" "$SENSORY_BIN/snowflake-sink" --init-schema --metrics-addr ""
check_eq "nothing applied the second time" 3 "$(st 's["ddl"]')"

# --- 2. the stream, with the server's faults ---------------------------------------------
$PY "$TOOLS/warehouse_records.py" --orders 2000 --updates --dup-every 15 --poison-every 50 \
  --seed 3 --expected "$T/expected" >"$T/in.tsv"
count() { awk -v k="$1" '$1 == k {print $2}' "$T/expected/counts"; }
TOTAL="$(count records)"
# Snowflake's INTEGER has 38 digits: the quantities PostgreSQL refuses load here.
want_orders=$(($(count orders) + $(count int_overflow)))
want_rejected=$(($(count store_rejected) - $(count int_overflow)))
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in.tsv"
G1=snowflake-sink-sf1
KAFKA_GROUP_ID=$G1 start_svc sink1 snowflake-sink
check "everything committed" wait_committed $G1 $TOPICS "$TOTAL" 180
check_eq "no request broke the contract" "0" "$(st 's["counters"]["violations"]')"
st 's["violations"]' >&2
check_eq "orders rows" "$want_orders" "$(st 's["tables"]["orders"]')"
check_eq "final states (mismatches)" 0 "$(state | $PY -c "
import json, sys
s = json.load(sys.stdin)
got = {(o[0], o[1], o[2]): (o[3], o[4][:19]) for o in s['orders'] if not o[1].endswith('-X')}
want = {}
for line in open('$T/expected/orders.tsv'):
    p, o, pr, status, t = line.rstrip('\n').split('\t')
    want[(p, o, pr)] = (status, t[:19])
print(sum(1 for k in set(got) | set(want) if got.get(k) != want.get(k)))")"
check_eq "weather rows" "$(count weather)" "$(st 's["tables"]["weather_observations"]')"
check_eq "risk rows" "$(count risk)" "$(st 's["tables"]["risk_decisions"]')"
check_eq "audit rows" "$(count audit)" "$(st 's["tables"]["privacy_audit"]')"
check_eq "price_history rows" "$(count price_history)" "$(st 's["tables"]["price_history"]')"
check_eq "every injected fault happened" 5 "$(st 's["counters"]["faults"]')"
check_eq "no requestId ran twice" 1 "$(st 'max(s["executions"].values())')"
check_eq "no id sent again without retry=true" 0 "$(st 's["counters"]["reexecuted"]')"
check "resubmissions carried retry=true" test "$(st 's["counters"]["retries"]')" -ge 4
check "the dropped request was answered from its first execution" \
  test "$(st 's["counters"]["dedup"]')" -ge 1
check "the 202 was polled until done" test "$(st 's["counters"]["polls"]')" -ge 2
check_eq "Retry-After honoured (429 and 503 resubmitted no sooner than 1 s)" "2 True" \
  "$(st 'len(s["retry_gaps"]), all(g >= 1.0 for g in s["retry_gaps"])')"
check "the dropped and the retried requests kept their ids" $PY - "$T/logs/api1.requests.jsonl" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if '"requestId"' in l]
first = {}
for r in reqs:
    rid = r["requestId"]
    if rid in first:
        assert r["retry"], "resubmission of %s without retry=true" % rid
    else:
        first[rid] = r
dropped = [r["requestId"] for r in reqs if r.get("dropped")]
assert dropped and all(sum(1 for r in reqs if r["requestId"] == d) >= 2 for d in dropped)
PY
want_dead=$(($(count schema) + want_rejected))
check "dead letters arrive" wait_count dead-letters-market "$want_dead" 60
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics dead-letters-market --idle 2 \
  --out "$T/dlq.jsonl"
read -r total schema rejected coded leaks < <($PY - "$T/dlq.jsonl" <<'PY'
import json, sys
errs = [json.loads(json.loads(l)["value"])["error"] for l in open(sys.argv[1])]
rej = [e for e in errs if e["code"] == "store_rejected"]
print(len(errs), sum(e["code"] == "schema" for e in errs), len(rej),
      sum(1 for e in rej if e["message"].startswith(("100039", "100035"))),
      sum(1 for e in errs if "1e+15" in e["message"] or "0000-01-01" in e["message"]))
PY
)
check_eq "one dead letter per poison record" "$want_dead" "$total"
check_eq "contract failures" "$(count schema)" "$schema"
check_eq "rows Snowflake refused" "$want_rejected" "$rejected"
check_eq "with Snowflake's error code" "$want_rejected" "$coded"
check_eq "and never the value" 0 "$leaks"
kept="$(st 'sum(o[3] for o in s["sink_offsets"] if o[0] == "'$G1'")')"
check "offsets kept in Snowflake ($kept of $TOTAL)" test "$kept" -gt 0 -a "$kept" -le "$TOTAL"
stop_programs

# --- 3. kill -9, restart from the offsets kept in Snowflake --------------------------------
start_api api2
G2=snowflake-sink-sf2
SINK_BATCH_RECORDS=100 COMMIT_INTERVAL_MS=600000 KAFKA_GROUP_ID=$G2 start_svc sink2a snowflake-sink
for _ in $(seq 1 600); do (($(st 's["calls"]') >= 8)) && break; sleep 0.05; done
pid="$(recorded_pid "$T" sink2a)"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
rm -f "$T/pids/sink2a.pid"
kept="$(st 'sum(o[3] for o in s["sink_offsets"])')"
check "killed mid-stream ($kept of $TOTAL kept)" test "$kept" -gt 0 -a "$kept" -lt "$TOTAL"
check_eq "Kafka holds no committed offset" 0 "$(committed $G2 $TOPICS)"
KAFKA_GROUP_ID=$G2 start_svc sink2b snowflake-sink
# Done when every record it read is written or dead-lettered (a partition the
# store had finished gets no Kafka commit: no new record arrives there).
check "the restart finishes" wait_sink_done sink2b snowflake_sink $((TOTAL - kept)) 180
check "the restart started at Snowflake's offsets" grep -q '"event":"seek_to_store"' "$T/logs/sink2b.log"
check_eq "orders rows after the restart" "$want_orders" "$(st 's["tables"]["orders"]')"
# The restart may send the killed process's last batch again under the same
# id (it cannot know it was sent); if that runs again, it writes nothing.
check_eq "a batch run again after the restart wrote no row" 0 \
  "$(st 's["counters"]["reexecuted_rows"]')"
check_eq "no request broke the contract" 0 "$(st 's["counters"]["violations"]')"
stop_programs

# --- 4. --stdio --------------------------------------------------------------------------
start_api api3 --fault drop:1
$PY "$TOOLS/warehouse_records.py" --orders 500 --poison-every 50 --seed 5 --format jsonl \
  --only-orders --expected "$T/expected4" >"$T/file.jsonl"
for run in 1 2; do
  rc=0
  METRICS_ADDR= "$SENSORY_BIN/snowflake-sink" --stdio --topic sink.snowflake.orders \
    --dlq-file "$T/file-dlq-$run.jsonl" <"$T/file.jsonl" 2>>"$T/logs/stdio.log" || rc=$?
  check_eq "--stdio run $run exits 0" 0 "$rc"
done
ints="$(awk '$1 == "int_overflow" {print $2}' "$T/expected4/counts")"
check_eq "--stdio rows (the same after loading the file twice)" \
  $(($(awk '$1 == "orders" {print $2}' "$T/expected4/counts") + ints)) "$(st 's["tables"]["orders"]')"
check_eq "--stdio: each run's requests ran once (ids carry the run's nonce)" 1 \
  "$(st 'max(s["executions"].values())')"
check_eq "--stdio keeps no Kafka position" 0 "$(st 'len(s["sink_offsets"])')"
check_eq "--stdio: no request broke the contract" 0 "$(st 's["counters"]["violations"]')"

finish
