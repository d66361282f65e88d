#!/usr/bin/env bash
# Embedder end to end over the dev broker (not a ctest test): a random model
# with the exact all-MiniLM-L6-v2 shapes (temp dir, never committed), N posts
# of the corpus produced to enriched.social, time until N vector records are
# on sink.weaviate.vectors (cache off, so every post runs the model).
#
# Also prints the CPU time per kind of thread (librdkafka's, the main thread,
# the compute workers): what the thread-count decision has to leave room for.
#
#   SENSORY_SOURCE_DIR=. SENSORY_BIN=build/bin [EMBEDDER_THREADS=1] \
#     tests/bench/embedder_e2e.sh [N]
set -euo pipefail
bash "$(dirname "${BASH_SOURCE[0]}")/../../deploy/deps.sh"
export SENSORY_SOURCE_DIR="${SENSORY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
export SENSORY_BIN="${SENSORY_BIN:-$SENSORY_SOURCE_DIR/build/bin}"
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"
N="${1:-2000}"

$PY "$SENSORY_SOURCE_DIR/tests/tools/embedder_golden_gen.py" "$T/model" --shape minilm \
  --goldens 0 --vocab "$SENSORY_SOURCE_DIR/tests/fixtures/embedding/vocab.txt"
start_dev_broker "$T"
$PY - "$N" "$SENSORY_SOURCE_DIR/tests/fixtures/embedding/tokenizer_cases.jsonl" >"$T/in.tsv" <<'PY'
import json, sys
n = int(sys.argv[1])
texts = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
texts = [t for t in texts if 5 <= len(t) <= 400]
for i in range(n):
    rec = {"platform": "facebook", "post_id": f"post_{i}", "author_hash": "k1:" + "ab" * 32,
           "content": "some content", "engagement_count": i, "timestamp": "2026-11-21T10:00:00Z",
           "products": [], "enriched_text": f"{texts[i % len(texts)]} ({i})"}
    print("enriched.social\tpost_%d\t%s" % (i, json.dumps(rec, ensure_ascii=False)))
PY
# Input first, then the embedder: measures processing, not the producer.
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in.tsv"
port="$(free_port)"
printf '%s\n' "$port" >"$T/embedder.port"
t0=$(date +%s.%N)
MODEL_DIR="$T/model" METRICS_ADDR="127.0.0.1:$port" EMBEDDER_CACHE_ENTRIES=0 \
  EMBEDDER_THREADS="${EMBEDDER_THREADS:-0}" \
  "$SENSORY_BIN/embedder" -X auto.offset.reset=earliest \
  >>"$T/logs/embedder.out" 2>>"$T/logs/embedder.log" &
record_pid "$T" embedder $!
check "$N vectors out" wait_count sink.weaviate.vectors "$N" 600
t1=$(date +%s.%N)
metrics="$(curl -sf "http://127.0.0.1:$port/metrics" || true)"
passes="$(awk '/^embedder_forward_seconds_count/ {print $2}' <<<"$metrics")"
tokens="$(awk '/^embedder_tokens_total/ {print $2}' <<<"$metrics")"
passes="${passes:-1}" tokens="${tokens:-0}"
echo "forward passes: $passes, tokens: $tokens (mean $((N / passes)) posts, $((tokens / passes)) tokens per pass)"
pid="$(recorded_pid "$T" embedder)"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
# CPU per thread kind: librdkafka names its threads rdk:*; the main thread
# (stage loop, JSON, compute thread 0), the other compute threads (OpenBLAS,
# OpenMP) and libmicrohttpd's keep the program's name.
$PY - "$pid" <<'PY'
import glob, os, sys
pid = sys.argv[1]
tick = os.sysconf("SC_CLK_TCK")
kinds = {}
for st in glob.glob(f"/proc/{pid}/task/*/stat"):
    tid = st.split("/")[4]
    text = open(st).read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    try:  # nanoseconds on CPU; stat's utime/stime are in 10 ms ticks
        cpu = int(open(st.replace("/stat", "/schedstat")).read().split()[0]) / 1e9
    except OSError:
        f = text[text.rindex(")") + 2:].split()
        cpu = (int(f[11]) + int(f[12])) / tick
    kind = "main thread" if tid == pid else "librdkafka (rdk:*)" if comm.startswith("rdk:") \
        else "other threads (OpenBLAS/OpenMP workers, HTTP)"
    n, c = kinds.get(kind, (0, 0.0))
    kinds[kind] = (n + 1, c + cpu)
total = sum(c for _, c in kinds.values()) or 1
print("CPU by thread kind: " + "; ".join(
    f"{k}: {n} thread(s), {c:.2f} s ({100 * c / total:.1f} %)" for k, (n, c) in sorted(kinds.items())))
PY
$PY -c "import sys; n,a,b,r=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),int(sys.argv[4]); print(f'embedder e2e over the dev broker: {n} posts in {b-a:.1f} s = {n/(b-a):.0f} posts/s (incl. start-up and model load), peak RSS {r/1024:.0f} MB')" "$N" "$t0" "$t1" "$rss"
finish
