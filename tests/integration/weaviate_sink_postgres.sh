#!/usr/bin/env bash
# weaviate-sink over the dev broker into PostgreSQL (the postgres backend):
#  1. 10,000 vector records — new posts, new versions of earlier posts,
#     tombstones (null values keyed by post id), re-creations, 1 % poison —
#     leave exactly the posts a correct sink leaves (content, engagement and
#     the vector bit-exact, in both vector columns), each poison record is
#     one dead letter, and sink_offsets holds the end of every partition;
#  2. 5,000 more, and kill -9 in the middle of them, then a restart: still
#     exactly the right rows (offsets are kept with the rows, in one
#     transaction; the restart starts at the table's offsets);
#  3. metrics: objects written and deleted, batch latency;
#  4. --stdio writes a file to the same table and exits 0.
set -euo pipefail
# Until common/store/pg.c is on this branch the program is not built (77: skipped).
[[ -x "$SENSORY_BIN/weaviate-sink" ]] || { echo "SKIP: weaviate-sink not built"; exit 77; }
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_dev_broker "$T"
start_postgres "$T"
TOPIC=sink.weaviate.vectors
PSQL="$SENSORY_PG_BIN/psql -X -At $DATABASE_URL"

# --- 1. 10,000 records -----------------------------------------------------
$PY "$TOOLS/gen_vectors.py" --count 10000 --seed 11 --tsv "$T/in1.tsv" --expect "$T/exp1.json"
start_svc sink-a weaviate-sink
check "weaviate-sink ready" wait_ready sink-a 60
# The dev broker keeps ~5 MiB per partition (deploy/README.md): 10,000
# records of ~5 KB are more than that, so they are produced at a rate the
# sink keeps up with (it is never more than a few thousand behind).
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" --null-value '\N' --rate 2500 <"$T/in1.tsv"
check "all 10,000 records committed" wait_committed weaviate-sink $TOPIC 10000 180
verdict="$($PY "$TOOLS/check_posts.py" --expect "$T/exp1.json" --psql "$DATABASE_URL" || true)"
check_eq "exactly the right rows" "ok" "$(grep -q 'missing=0 extra=0 wrong=0' <<<"$verdict" &&
  echo ok || echo "$verdict")"
echo "$verdict"
dead="$(topic_count dead-letters-social)"
want_dead="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["dead_letters"])' "$T/exp1.json")"
check_eq "one dead letter per poison record" "$want_dead" "$dead"
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics dead-letters-social --idle 2 \
  --out "$T/dlq1.jsonl" 2>/dev/null
codes="$($PY - "$T/dlq1.jsonl" <<'PY'
import json, sys
c = {}
for line in open(sys.argv[1]):
    e = json.loads(json.loads(line)["value"])
    c[e["error"]["code"]] = c.get(e["error"]["code"], 0) + 1
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
PY
)"
check "dead letters say why (invalid_id, schema): $codes" grep -Eq '^invalid_id=[0-9]+ schema=[0-9]+$' <<<"$codes"
stored="$($PSQL -c "SELECT sum(next_offset) FROM sink_offsets WHERE sink = 'weaviate-sink' AND topic = '$TOPIC'")"
check_eq "sink_offsets holds the end of every partition" 10000 "$stored"
check_eq "the text-search column is filled" 0 \
  "$($PSQL -c "SELECT count(*) FROM social_posts WHERE tsv = ''::tsvector")"

# --- 3. metrics ------------------------------------------------------------
port="$(<"$T/sink-a.port")"
metrics="$(curl -sf "http://127.0.0.1:$port/metrics")"
written="$(awk '/^weaviate_sink_objects_written_total / {print $2}' <<<"$metrics")"
deleted="$(awk '/^weaviate_sink_objects_deleted_total / {print $2}' <<<"$metrics")"
check "objects written counted ($written)" test "${written:-0}" -ge 8000
check "tombstones counted ($deleted)" test "${deleted:-0}" -ge 100
check "batch latency histogram" grep -q '^weaviate_sink_batch_seconds_count [1-9]' <<<"$metrics"
check "consumer lag exported by the stage" grep -q '^weaviate_sink_consumer_lag' <<<"$metrics"
_stop_names "$T" 25 sink-a

# --- 2. kill -9 mid-stream -------------------------------------------------
# 5,000 more records (post ids q*, so the expected end state is run 1's plus
# theirs), all on the broker first (they fit in its 5 MiB per partition), then
# a sink writing batches of 200 is killed after a few thousand, and restarted.
$PY "$TOOLS/gen_vectors.py" --count 5000 --seed 12 --prefix q --tsv "$T/in2.tsv" \
  --expect "$T/exp2.json"
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" --null-value '\N' <"$T/in2.tsv"
stored() { $PSQL -c "SELECT coalesce(sum(next_offset), 0) FROM sink_offsets WHERE sink = 'weaviate-sink'"; }
wait_stored() { # N TIMEOUT
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    (($(stored) >= $1)) && return 0
    sleep 0.1
  done
  echo "wait_stored: $(stored) of $1" >&2
  return 1
}
SINK_BATCH_RECORDS=200 start_svc sink-b weaviate-sink
pid="$(recorded_pid "$T" sink-b)"
wait_stored 12000 120 || true
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
rm -f "$T/pids/sink-b.pid"
n="$(stored)"
check "killed mid-stream ($n of 15000 in the table's offsets)" test "$n" -lt 15000
start_svc sink-c weaviate-sink
check "the restart catches up" wait_stored 15000 180
$PY - "$T/exp1.json" "$T/exp2.json" "$T/exp12.json" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a["objects"].update(b["objects"])  # disjoint post ids
json.dump(a, open(sys.argv[3], "w"))
PY
verdict="$($PY "$TOOLS/check_posts.py" --expect "$T/exp12.json" --psql "$DATABASE_URL" || true)"
echo "$verdict"
check "exactly the right rows after kill -9 and restart" grep -q 'missing=0 extra=0 wrong=0' <<<"$verdict"
check "the restart started at the table's offsets" grep -q '"event":"seek_to_store"' "$T/logs/sink-c.log"
_stop_names "$T" 25 sink-c

# --- 4. --stdio ------------------------------------------------------------
$PY "$TOOLS/gen_vectors.py" --count 300 --seed 13 --stdio "$T/in4.jsonl" --expect "$T/exp4.json"
$PSQL -qc "TRUNCATE social_posts"
rc=0
"$SENSORY_BIN/weaviate-sink" --stdio --topic $TOPIC --dlq-file "$T/dlq4.jsonl" \
  <"$T/in4.jsonl" >"$T/stdio.out" 2>"$T/logs/stdio.log" || rc=$?
check_eq "--stdio exits 0" 0 "$rc"
verdict="$($PY "$TOOLS/check_posts.py" --expect "$T/exp4.json" --psql "$DATABASE_URL" || true)"
check "--stdio: exactly the right rows ($verdict)" grep -q 'missing=0 extra=0 wrong=0' <<<"$verdict"
check_eq "--stdio: poison in the dead-letter file" \
  "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["dead_letters"])' "$T/exp4.json")" \
  "$(wc -l <"$T/dlq4.jsonl")"
finish
