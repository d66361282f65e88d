#!/usr/bin/env bash
# The stage's sink mode over the dev broker, with a transactional file store
# (tests/tools/test_sink.c) in place of a database:
#  1. kill between the store's commit and Kafka's: the store committed 3
#     batches, Kafka nothing; the restart seeks to the store's offsets and
#     every record is in the store exactly once;
#  2. the store down for longer than max.poll.interval.ms: the partitions are
#     paused, /readyz says 503, the member stays in the group (no revocation),
#     and nothing is lost or doubled when the store comes back;
#  3. poison in the middle of batches: a record prepare() refuses and a row
#     the store rejects each become exactly one dead letter with its code,
#     and the good records around them are written;
#  4. after a seek to the store's offsets, the group's commit follows them
#     even for partitions that get no new record;
#  5. --stdio: a file loads into the store; blank lines skipped, poison to the
#     dead-letter file, exit 0.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_dev_broker "$T"
TOPIC=sink.snowflake.orders
G=test-sink
export TEST_SINK_DIR="$T/store" SINK_BATCH_RECORDS=100 INPUT_TOPICS=$TOPIC
# Records: ids r-<n>; every 97th has no id (prepare refuses it), every 89th
# asks the store to reject it.
gen() { # FIRST COUNT
  $PY - "$1" "$2" "$TOPIC" <<'PY'
import json, sys
first, count, topic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for n in range(first, first + count):
    rec = {"id": "r-%d" % n, "n": n}
    if n % 97 == 0:
        del rec["id"]
    elif n % 89 == 0:
        rec["reject"] = True
    print("%s\t%s\t%s" % (topic, "k-%d" % n, json.dumps(rec)))
PY
}
expected() { # FIRST COUNT: records the store must hold
  $PY -c "import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); print(sum(1 for n in range(a,a+b) if n%97 and n%89))" "$1" "$2"
}
poison() { # FIRST COUNT
  $PY -c "import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); print(sum(1 for n in range(a,a+b) if n%97==0 or n%89==0))" "$1" "$2"
}
# store_rows: "rows distinct" over every committed batch file
store_rows() {
  $PY - "$TEST_SINK_DIR" <<'PY'
import glob, json, sys
ids = [r["id"] for f in sorted(glob.glob(sys.argv[1] + "/batch-*.json"))
       for r in json.load(open(f))["records"]]
print(len(ids), len(set(ids)))
PY
}
wait_rows() { # N TIMEOUT
  local deadline=$((SECONDS + $2)) rows distinct
  while ((SECONDS < deadline)); do
    read -r rows distinct < <(store_rows)
    ((rows >= $1)) && return 0
    sleep 0.3
  done
  echo "wait_rows: $rows of $1" >&2
  return 1
}

# --- 1. crash between the store's commit and Kafka's ---------------------------
N1=3000
gen 1 $N1 >"$T/in1.tsv"
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in1.tsv"
# No periodic commits: only the store knows how far it got when it dies.
COMMIT_INTERVAL_MS=600000 TEST_SINK_CRASH_AFTER=3 start_svc sink-a test-sink
pid="$(recorded_pid "$T" sink-a)"
rc=0
wait "$pid" || rc=$?
rm -f "$T/pids/sink-a.pid"
check_eq "the store crashed right after its 3rd commit" 9 "$rc"
check_eq "Kafka holds no committed offset" 0 "$(committed $G $TOPIC)"
read -r rows distinct < <(store_rows)
check "the store committed 3 batches" test "$rows" -gt 0
start_svc sink-b test-sink
want1="$(expected 1 $N1)"
check "every record reaches the store" wait_rows "$want1" 120
check "the restart started at the store's offsets" grep -q '"event":"seek_to_store"' "$T/logs/sink-b.log"
read -r rows distinct < <(store_rows)
check_eq "exactly once: rows" "$want1" "$rows"
check_eq "exactly once: distinct ids" "$want1" "$distinct"

# --- 2. store down longer than max.poll.interval.ms -----------------------------
check "committed after the first run" wait_committed $G $TOPIC $N1 60
pid="$(recorded_pid "$T" sink-b)"
kill -TERM "$pid"
wait "$pid" || true
rm -f "$T/pids/sink-b.pid"
export TEST_SINK_DOWN_FILE="$T/store-down"
start_svc sink-c test-sink -X consumer.max.poll.interval.ms=7000
wait_ready sink-c
touch "$TEST_SINK_DOWN_FILE"
N2=1000
gen $((N1 + 1)) $N2 >"$T/in2.tsv"
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in2.tsv"
sleep 12 # longer than max.poll.interval.ms
port="$(<"$T/sink-c.port")"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
check_eq "/readyz while the store is down" 503 "$code"
check "the stage paused and retried" grep -q '"event":"store_unavailable"' "$T/logs/sink-c.log"
lag="$(curl -s "http://127.0.0.1:$port/metrics" |
  awk '/^test_sink_consumer_lag\{topic="sink.snowflake.orders",partition="[0-9]+"\}/ {s += $2} END {print s + 0}')"
check "consumer lag per partition shows the records waiting ($lag)" test "$lag" -gt 0
rm -f "$TEST_SINK_DOWN_FILE"
want2=$((want1 + $(expected $((N1 + 1)) $N2)))
check "the records arrive after the outage" wait_rows "$want2" 120
check_eq "no revocation during the outage (the member stayed)" 0 \
  "$(grep -c '"event":"revoked"' "$T/logs/sink-c.log" || true)"
read -r rows distinct < <(store_rows)
check_eq "nothing doubled by the outage" "$rows" "$distinct"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
check_eq "/readyz after the store is back" 200 "$code"
metrics="$(curl -s "http://127.0.0.1:$port/metrics")"
check "flush reasons exported" grep -q 'test_sink_sink_flushes_total{reason=' <<<"$metrics"
check "store retries counted" grep -Eq '^test_sink_sink_write_retries_total [1-9]' <<<"$metrics"
check "end-to-end latency observed per written record" \
  grep -Eq '^test_sink_end_to_end_seconds_count\{topic="sink.snowflake.orders"\} [1-9]' <<<"$metrics"

# --- 3. poison: one dead letter each, with its code ------------------------------
want_dead=$(($(poison 1 $N1) + $(poison $((N1 + 1)) $N2)))
check "dead letters arrive" wait_count dead-letters-market "$want_dead" 60
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics dead-letters-market --idle 2 \
  --out "$T/dlq.jsonl"
read -r total schema rejected < <($PY - "$T/dlq.jsonl" <<'PY'
import json, sys
codes = [json.loads(json.loads(l)["value"])["error"]["code"] for l in open(sys.argv[1])]
print(len(codes), codes.count("schema"), codes.count("store_rejected"))
PY
)
check_eq "one dead letter per poison record" "$want_dead" "$total"
last=$((N1 + N2))
check_eq "prepare() refusals" "$($PY -c "print(sum(1 for n in range(1,$last+1) if n%97==0))")" "$schema"
check_eq "store rejections" "$($PY -c "print(sum(1 for n in range(1,$last+1) if n%97 and n%89==0))")" "$rejected"
check "committed everything" wait_committed $G $TOPIC $((N1 + N2)) 60

# --- 4. an idle partition after a seek to the store ------------------------------
# The store holds every record, Kafka nothing (killed before any commit); no
# new record arrives after the restart: the group must still move to the
# store's positions (else its lag would never go away).
pid="$(recorded_pid "$T" sink-c)"
kill -TERM "$pid"
wait "$pid" || true
rm -f "$T/pids/sink-c.pid"
unset TEST_SINK_DOWN_FILE
G2=test-sink-idle
export TEST_SINK_DIR="$T/store-idle"
KAFKA_GROUP_ID=$G2 COMMIT_INTERVAL_MS=600000 start_svc sink-d test-sink
check "a fresh group writes every record" wait_rows "$want2" 120
pid="$(recorded_pid "$T" sink-d)"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
rm -f "$T/pids/sink-d.pid"
check_eq "killed before any Kafka commit" 0 "$(committed $G2 $TOPIC)"
KAFKA_GROUP_ID=$G2 start_svc sink-e test-sink
check "the group reaches the store's positions without new records" \
  wait_committed $G2 $TOPIC $((N1 + N2)) 60
read -r rows distinct < <(store_rows)
check_eq "and reads nothing twice" "$want2" "$rows"

# --- 5. --stdio --------------------------------------------------------------------
gen 10001 500 | cut -f3 | sed '5a\\' >"$T/file.jsonl" # a blank line in it
export TEST_SINK_DIR="$T/store"
rm -rf "$T/store" && mkdir "$T/store"
rc=0
METRICS_ADDR= "$SENSORY_BIN/test-sink" --stdio --topic $TOPIC --dlq-file "$T/file-dlq.jsonl" \
  <"$T/file.jsonl" 2>"$T/logs/stdio.log" || rc=$?
check_eq "--stdio exits 0 when all are written or dead-lettered" 0 "$rc"
read -r rows distinct < <(store_rows)
check_eq "--stdio rows" "$(expected 10001 500)" "$rows"
check_eq "--stdio dead letters" "$(poison 10001 500)" "$(wc -l <"$T/file-dlq.jsonl")"

finish
