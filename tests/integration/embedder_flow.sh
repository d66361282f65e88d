#!/usr/bin/env bash
# embedder over the dev broker with the committed tiny model: 600 enriched
# posts in (some blank, some duplicated, some over 256 tokens) → one vector
# record per good post on sink.weaviate.vectors (key post_id, id = UUIDv5 as
# python's uuid.uuid5 computes it, unit-length vector, model id), blank posts
# in dead-letters-social with code empty_text, nothing lost or duplicated,
# metrics for truncation and the cache; then the same vectors as --stdio.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

MODEL="$SENSORY_SOURCE_DIR/tests/fixtures/embedding/tiny"
start_dev_broker "$T"
N=600
$PY - "$N" >"$T/in.tsv" <<'PY'
import json, sys
n = int(sys.argv[1])
texts = ["[Product: Raincoat 5000 BDT] Price too high", "valo product vai, dam koto? 😍",
         "ডেলিভারি অনেক দেরি হয়েছে", "call PHONE_3f9a0c1d2e4b5a69 for COD", "Crust is not good."]
for i in range(n):
    if i % 50 == 7:
        text = "  \t "                       # blank: dead letter
    elif i % 100 == 3:
        text = f"long review {i} " * 100      # truncated at 256 tokens
    elif i % 10 == 0:
        text = texts[0]                      # duplicates: cache hits
    else:
        text = f"{texts[i % 5]} #{i}"
    rec = {"platform": "facebook" if i % 2 else "tiktok", "post_id": f"post_{i}",
           "author_hash": "k1:" + "ab" * 32, "content": "some content", "engagement_count": i,
           "timestamp": "2026-11-21T10:00:00Z", "products": [], "enriched_text": text}
    print("enriched.social\tpost_%d\t%s" % (i, json.dumps(rec, ensure_ascii=False)))
PY
good=$((N - 12))

port="$(free_port)"
printf '%s\n' "$port" >"$T/embedder.port"
MODEL_DIR="$MODEL" METRICS_ADDR="127.0.0.1:$port" "$SENSORY_BIN/embedder" \
  -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
  >>"$T/logs/embedder.out" 2>>"$T/logs/embedder.log" &
record_pid "$T" embedder $!
check "embedder ready" wait_ready embedder 60
start=$SECONDS
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in.tsv"
check "$good vectors out" wait_count sink.weaviate.vectors $good 120
check "12 blank posts dead-lettered" wait_count dead-letters-social 12 60
echo "end to end: $N posts in $((SECONDS - start)) s (tiny model; see tests/bench for real shapes)"
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" \
  --topics sink.weaviate.vectors,dead-letters-social --idle 3 --out "$T/out.jsonl"

verdict="$($PY - "$T/out.jsonl" "$N" <<'PY'
import json, math, sys, uuid
ns = uuid.UUID("51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7")
seen, bad, dead = {}, [], 0
for line in open(sys.argv[1], encoding="utf-8"):
    m = json.loads(line)
    v = json.loads(m["value"])
    if m["topic"] == "dead-letters-social":
        dead += v["error"]["code"] == "empty_text"
        continue
    seen[v["post_id"]] = seen.get(v["post_id"], 0) + 1
    norm = math.sqrt(sum(x * x for x in v["vector"]))
    if (v["id"] != str(uuid.uuid5(ns, v["post_id"])) or m["key"] != v["post_id"]
            or abs(norm - 1) > 1e-5 or v["model"] != "all-MiniLM-L6-v2"
            or v["engagement"] != int(v["post_id"][5:])):
        bad.append(v["post_id"])
n = int(sys.argv[2])
lost = sum(1 for i in range(n) if i % 50 != 7 and f"post_{i}" not in seen)
dups = sum(c - 1 for c in seen.values())
print("lost=%d dups=%d bad=%d dead=%d" % (lost, dups, len(bad), dead))
PY
)"
check_eq "no loss, no duplicates, ids/keys/norms right, blanks dead-lettered" \
  "lost=0 dups=0 bad=0 dead=12" "$verdict"

metrics="$(curl -sf "http://127.0.0.1:$port/metrics")"
trunc="$(awk '/^embedder_truncated_total/ {print $2}' <<<"$metrics")"
check_eq "6 long posts counted as truncated" 6 "$trunc"
hits="$(awk '/^embedder_cache_hits_total/ {print $2}' <<<"$metrics")"
check "duplicate texts served from the cache ($hits hits)" test "${hits:-0}" -ge 50

# --stdio gives the same record as the broker path for the same post.
grep -P '\tpost_11\t' "$T/in.tsv" | cut -f3 >"$T/one.jsonl"
MODEL_DIR="$MODEL" "$SENSORY_BIN/embedder" --stdio --topic enriched.social \
  --dlq-file "$T/stdio-dlq.jsonl" <"$T/one.jsonl" >"$T/one.out" 2>>"$T/logs/stdio.log"
same="$($PY - "$T/one.out" "$T/out.jsonl" <<'PY'
import json, sys
a = json.loads(open(sys.argv[1]).read())
for line in open(sys.argv[2]):
    m = json.loads(line)
    if m["topic"] == "sink.weaviate.vectors" and m["key"] == "post_11":
        b = json.loads(m["value"])
        # Batch vs single differ only by float rounding (batch invariance).
        diff = max(abs(x - y) for x, y in zip(a.pop("vector"), b.pop("vector")))
        print("same" if a == b and diff < 1e-6 else "different (max diff %g)" % diff)
PY
)"
check_eq "--stdio record equals the broker record (vector within 1e-6)" same "$same"

# Regression: --batch-max-messages 1024 over a backlog of 6,000 posts. The
# consume buffer was a fixed 1,000 messages that a 1,024 batch overran
# (stack-buffer-overflow under ASan); buffers now follow the setting.
pid="$(recorded_pid "$T" embedder)"
kill -TERM "$pid"
wait "$pid" || true
rm -f "$T/pids/embedder.pid"
M=6000
$PY - "$M" >"$T/backlog.tsv" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    rec = {"platform": "tiktok", "post_id": f"bulk_{i}", "author_hash": "k1:" + "cd" * 32,
           "content": "some content", "engagement_count": i, "timestamp": "2026-11-21T10:00:00Z",
           "products": [], "enriched_text": f"bulk post {i % 97}"}
    print("enriched.social\tbulk_%d\t%s" % (i, json.dumps(rec)))
PY
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/backlog.tsv"
MODEL_DIR="$MODEL" METRICS_ADDR="127.0.0.1:$port" "$SENSORY_BIN/embedder" \
  --batch-max-messages 1024 --batch-linger-ms 50 \
  -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
  >>"$T/logs/embedder-1024.out" 2>>"$T/logs/embedder-1024.log" &
record_pid "$T" embedder-1024 $!
check "batches of 1024: every post of the backlog embedded" \
  wait_count sink.weaviate.vectors $((good + M)) 300
pid="$(recorded_pid "$T" embedder-1024)"
rc=0
kill -TERM "$pid"
wait "$pid" || rc=$?
rm -f "$T/pids/embedder-1024.pid"
check_eq "batches of 1024: clean exit" 0 "$rc"
check "batches of 1024: no memory error" \
  bash -c "! grep -q 'AddressSanitizer' '$T/logs/embedder-1024.log'"

# No model → exit 2 with a message naming the file.
rc=0
MODEL_DIR="$T/no-model" "$SENSORY_BIN/embedder" --stdio --topic enriched.social \
  --dlq-file "$T/x" </dev/null 2>"$T/nomodel.log" || rc=$?
check_eq "missing model: exit 2" 2 "$rc"
check "missing model: message names the file" grep -q "no-model/vocab.txt" "$T/nomodel.log"
finish
