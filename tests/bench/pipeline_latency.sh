#!/usr/bin/env bash
# End-to-end latency of the whole pipeline on the local stack: a record's
# entry into a source topic → its row committed in the store, at a steady rate.
#
#   tests/bench/pipeline_latency.sh            # ~2 minutes; prints a markdown table
#   BENCH_RATE=200 BENCH_SECONDS=60 tests/bench/pipeline_latency.sh
#
# Starts the dev broker, Redis, PostgreSQL and the six streaming programs the
# way the demo does (deploy/pipeline.sh: the dev broker's clients ask for a
# 10 ms fetch wait, see deploy/lib.sh), then, for each sink setting below,
# produces BENCH_RATE records/s for BENCH_SECONDS s — half posts (shield →
# enricher → embedder → weaviate-sink → social_posts), half order updates
# (shield → snowflake-sink → orders) — each stamped with the moment it is sent.
# Two measures of the same thing:
#  - from the stores: ingested_at (the writing transaction's now(); it commits
#    right after) minus event_time (= the send time) per row, exact quantiles;
#  - from the sinks' own <svc>_end_to_end_seconds histograms (Kafka timestamp →
#    commit, what the alert rules read), quantiles interpolated in the buckets.
# Passes: the programs' defaults (a sink writes a batch at 500/2,000 records or
# when its oldest record waited 1 s), then the sinks' batch age at
# BENCH_SINK_AGE_MS (default 100 ms). Not a test: prints figures only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SENSORY_SOURCE_DIR="$root" SENSORY_BIN="${SENSORY_BIN:-$root/build/bin}"
# shellcheck source=deploy/lib.sh
source "$root/deploy/lib.sh"
# shellcheck source=deploy/pipeline.sh
source "$root/deploy/pipeline.sh"
PY=/usr/bin/python3
RATE="${BENCH_RATE:-100}" SECS="${BENCH_SECONDS:-30}" AGE="${BENCH_SINK_AGE_MS:-100}"
[[ -x "$SENSORY_BIN/weaviate-sink" ]] || { echo "build first: cmake --build build" >&2; exit 1; }

T="$(mktemp -d)"
trap 'stop_all "$T" >/dev/null 2>&1; rm -rf "$T"' EXIT
start_dev_broker "$T"
start_redis "$T"
start_postgres "$T"
pipeline_env "$T"
pipeline_prepare "$T"
pipeline_start "$T"
pipeline_wait_ready "$T" 120
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"

warm() { # RUN: 3 s of the same load, not measured: the first records of a
  # fresh pipeline wait for producer metadata, connections and first fetches
  # (measured: up to 2.6 s, once).
  local n
  n="$($PY "$root/tests/bench/pipeline_latency.py" produce -b "$KAFKA_BROKERS" --run "$1" --rate "$RATE" \
    --seconds 3 | $PY -c 'import json,sys; print(json.load(sys.stdin)["records"])')"
  $PY "$root/tests/bench/pipeline_latency.py" report --db "$DATABASE_URL" --run "$1" --expect "$n" >/dev/null
}
pass() { # RUN LABEL
  local n
  local -a metrics=(
    --metrics "snowflake-sink=sink.snowflake.orders@http://127.0.0.1:$(<"$T/ports/snowflake-sink")/metrics"
    --metrics "weaviate-sink=sink.weaviate.vectors@http://127.0.0.1:$(<"$T/ports/weaviate-sink")/metrics")
  warm "warm-$1"
  $PY "$root/tests/bench/pipeline_latency.py" snapshot "${metrics[@]}" >"$T/$1.before"
  n="$($PY "$root/tests/bench/pipeline_latency.py" produce -b "$KAFKA_BROKERS" --run "$1" --rate "$RATE" \
    --seconds "$SECS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["records"])')"
  $PY "$root/tests/bench/pipeline_latency.py" report --db "$DATABASE_URL" --run "$1" --expect "$n" \
    --since "$T/$1.before" "${metrics[@]}" |
    $PY -c '
import json, sys
r, label = json.load(sys.stdin), sys.argv[1]
for store, sink in (("orders", "snowflake-sink"), ("social_posts", "weaviate-sink")):
    s, h = r[store], r[sink + "_histogram"]
    print("| %s | %s | %d | %.0f / %.0f / %.0f / %.0f ms | %.0f / %.0f / %.0f ms, %.1f %% within 1 s |" % (
        label, store, s["rows"], s["p50"] * 1e3, s["p95"] * 1e3, s["p99"] * 1e3, s["max"] * 1e3,
        h["p50"] * 1e3, h["p95"] * 1e3, h["p99"] * 1e3, h["within_1s"] * 100))' "$2"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}

echo
echo "| sinks | store | rows | store rows: p50 / p95 / p99 / max | sink histogram: p50 / p95 / p99 |"
echo "|---|---|---:|---|---|"
pass "lat1" "defaults (batch age 1 s)"
# The same pipeline, the two sinks restarted with a shorter batch age.
_stop_names "$T" 25 snowflake-sink weaviate-sink
SINK_BATCH_AGE_MS="$AGE" pipeline_start "$T" snowflake-sink weaviate-sink
pipeline_wait_ready "$T" 60 snowflake-sink weaviate-sink
pass "lat2" "batch age $AGE ms"
echo
echo "$RATE records/s for $SECS s per pass (half posts, half order updates), dev broker fetch wait ${KAFKA_CONSUMER_FETCH_WAIT_MAX_MS} ms, model $MODEL_ID"
