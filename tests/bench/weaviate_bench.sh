#!/usr/bin/env bash
# weaviate-sink and post-search benchmark (not a ctest test; prints figures):
#  (a) 100,000 vector records (384 floats) into the Weaviate contract server:
#      weaviate-sink (POST /v1/batch/objects, 100 per request) against the
#      seed's way, one POST /v1/objects per object with Python requests
#      (tests/bench/weaviate_peer.py), same server, same run. The peer is
#      timed on its first PEER_COUNT records (default 3,000: at its pace
#      100,000 would take minutes); both figures are objects per second.
#  (b) 100,000 records into PostgreSQL end to end over the dev broker, in
#      rounds of 5,000 (what the dev broker holds): the sink drains each
#      round from its partition assignment to the last row committed
#      (sink_offsets); records over the sum of drain times.
#  (c) post-search over those 100,000 posts with a model of all-MiniLM-L6-v2's
#      shapes (random weights, tests/tools/make_test_bert.py): wall time of
#      the whole command and its split (model load, embed, search), median of
#      5 runs.
# Targets (issue 10): (a) >= 20x the peer; (b) >= 5,000 objects/s; (c) < 300 ms.
#
#   tests/bench/weaviate_bench.sh [BUILD_DIR]
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SENSORY_EXTRA_PACKAGES=python3-requests bash "$src/deploy/deps.sh" >&2
export SENSORY_SOURCE_DIR="$src"
export SENSORY_BIN="$(cd "${1:-$src/build}" && pwd)/bin"
export SENSORY_FIXTURES="$src/tests/fixtures"
source "$src/tests/tools/itest.sh"
N=${BENCH_RECORDS:-100000}
PEER_COUNT=${PEER_COUNT:-3000}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)" >&2

echo "generating $N records ..." >&2
$PY "$TOOLS/gen_vectors.py" --count "$N" --seed 42 --updates 0 --tombstones 0 --poison 0 \
  --tsv "$T/in.tsv" --stdio "$T/in.jsonl"

# --- (a) contract server ---------------------------------------------------------
printf 'bench-key\n' >"$T/api.key"
$PY "$TOOLS/weaviate_contract.py" --spec "$SENSORY_FIXTURES/api/weaviate-openapi.json" \
  --port-file "$T/wv.port" --api-key-file "$T/api.key" >"$T/logs/wv.log" 2>&1 &
record_pid "$T" weaviate $!
for _ in $(seq 1 100); do [[ -s "$T/wv.port" ]] && break; sleep 0.1; done
WV="http://127.0.0.1:$(<"$T/wv.port")"
export WEAVIATE_API_KEY_FILE="$T/api.key"
t0=$(date +%s.%N)
SINK_BACKEND=weaviate WEAVIATE_URL="$WV" "$SENSORY_BIN/weaviate-sink" --stdio \
  --topic sink.weaviate.vectors --dlq-file "$T/a.dlq" <"$T/in.jsonl" 2>"$T/logs/a.log"
t1=$(date +%s.%N)
c_rate=$($PY -c "print(int($N / ($t1 - $t0)))")
stored=$(curl -sf "$WV/__control/state" | $PY -c 'import json,sys; print(json.load(sys.stdin)["objects"])')
curl -sf -X POST "$WV/__control/reset" -d '{}' >/dev/null
# The class for the peer (which does not create it): a sink with no input.
SINK_BACKEND=weaviate WEAVIATE_URL="$WV" "$SENSORY_BIN/weaviate-sink" --stdio \
  --topic sink.weaviate.vectors --dlq-file "$T/x.dlq" </dev/null 2>/dev/null
peer="$($PY "$src/tests/bench/weaviate_peer.py" "$WV" "$T/api.key" "$T/in.jsonl" "$PEER_COUNT")"
p_rate=$($PY -c "import json; print(int(json.loads('$peer')['per_s']))")
violations=$(curl -sf "$WV/__control/state" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["violations"]))')

# --- (b) PostgreSQL over the dev broker ----------------------------------------------
# The dev broker keeps ~5 MiB per partition, so 100,000 records (500 MB) cannot
# wait on it at once: rounds of 5,000 are produced while the sink is stopped,
# then the sink (same group) drains them; the figure is records over the sum
# of drain times, each from the sink's partition assignment (its "assigned"
# log line) to the round's last row committed in PostgreSQL.
start_dev_broker "$T"
start_postgres "$T"
PSQL="$SENSORY_PG_BIN/psql -X -At $DATABASE_URL"
# Rows the sink committed (0 until it has made its tables).
stored() { local n; n=$($PSQL -c "SELECT coalesce(sum(next_offset),0) FROM sink_offsets" 2>/dev/null) || n=0; echo "${n:-0}"; }
split -l 5000 -d -a 3 "$T/in.tsv" "$T/round."
drain=0
done_n=0
r=0
for f in "$T"/round.*; do
  $PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$f" 2>/dev/null
  done_n=$((done_n + $(wc -l <"$f")))
  r=$((r + 1))
  start_svc "sink$r" weaviate-sink
  # Polled every 0.1 s (each poll is a psql process: faster polling would
  # take CPU from what is measured); the drain time is therefore up to 0.1 s
  # long per round.
  while (($(stored) < done_n)); do
    sleep 0.1
  done
  end_ms=$($PY -c 'import time; print(int(time.time() * 1000))')
  start_ms=$($PY "$src/tests/bench/log_time.py" assigned "$T/logs/sink$r.log")
  drain=$((drain + end_ms - start_ms))
  _stop_names "$T" 25 "sink$r"
done
pg_rate=$($PY -c "print(int($N / ($drain / 1000.0)))")
rows=$($PSQL -c "SELECT count(*) FROM social_posts")

# --- (c) post-search over 100,000 posts -------------------------------------------------
echo "making a model with all-MiniLM-L6-v2 shapes (random weights) ..." >&2
$PY "$TOOLS/make_test_bert.py" "$T/minilm" --vocab "$SENSORY_FIXTURES/embedding/vocab.txt" \
  --hidden 384 --layers 6 --heads 12 --intermediate 1536
export MODEL_DIR="$T/minilm"
"$SENSORY_BIN/post-search" "warm the page cache" --limit 1 >/dev/null 2>&1
for i in 1 2 3 4 5; do
  s=$(date +%s.%N)
  "$SENSORY_BIN/post-search" "price too high for raincoat" --limit 10 --timing \
    >/dev/null 2>>"$T/timing.jsonl"
  e=$(date +%s.%N)
  $PY -c "print(round(($e - $s) * 1000, 1))" >>"$T/wall.txt"
done
$PY - "$T/timing.jsonl" "$T/wall.txt" "$N" "$c_rate" "$p_rate" "$PEER_COUNT" "$stored" \
  "$pg_rate" "$rows" "$violations" <<'PY'
import json, statistics, sys
t = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
wall = [float(x) for x in open(sys.argv[2])]
n, c, p, pc, stored, pg, rows, viol = sys.argv[3:11]
med = lambda k: statistics.median(x[k] for x in t)
print("weaviate-sink / post-search benchmark, %s records of 384 floats" % n)
print("| measure | figure | peer | target |")
print("|---|---:|---:|---|")
print("| (a) into the Weaviate contract server, objects/s | %s (%s stored, %s contract violations) "
      "| %s (one POST /v1/objects each, Python requests, first %s) | >= 20x: %.1fx |"
      % (c, stored, viol, p, pc, int(c) / int(p)))
print("| (b) into PostgreSQL end to end over the dev broker, objects/s | %s (%s rows) | | >= 5,000 |"
      % (pg, rows))
print("| (c) post-search over %s posts, whole command (median of %d) | %.0f ms | | < 300 ms |"
      % (rows, len(wall), statistics.median(wall)))
print("|     model load / embed / search (median) | %.0f / %.1f / %.0f ms | | |"
      % (med("model_load_ms"), med("embed_ms"), med("search_ms")))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
