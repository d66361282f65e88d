#!/usr/bin/env bash
# privacy-shield under process faults:
#  1. kill -9 mid-stream, restart: every record arrives at least once, and the
#     restart resumes from the committed offsets: duplicates are bounded by
#     what was output but not yet committed at the kill, not a replay from 0;
#  2. SIGTERM mid-stream: exit 0 after draining, with the committed offsets
#     matching exactly the outputs acknowledged; a restart then finishes the
#     stream with no new duplicate.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_dev_broker "$T"
SRC=source.market.shopify,source.market.daraz,source.social.tiktok,source.social.facebook
OUT=clean.social,sink.snowflake.orders
G=privacy-shield
N=20000
produce_slowly() { # FILE: in the background at 4000 records/s
  $PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" --rate 4000 <"$1" &
  producer=$!
}

# --- 1. kill -9 ----------------------------------------------------------------
$PY "$TOOLS/gen_records.py" --kind mix --count $N --seed 21 --format topic >"$T/in1.tsv"
start_shield shield-a
wait_ready shield-a
produce_slowly "$T/in1.tsv"
# Kill without warning once it has committed something and is mid-stream.
check "commits while running" wait_committed $G $SRC 3000 60
sleep 0.6 # between two commits, so some outputs are not yet committed
pid="$(recorded_pid "$T" shield-a)"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
rm -f "$T/pids/shield-a.pid"
outputs_at_kill="$(topic_count $OUT)"
committed_at_kill="$(committed $G $SRC)"
echo "at kill -9: $outputs_at_kill outputs, $committed_at_kill inputs committed"
check "killed mid-stream" test "$outputs_at_kill" -lt $N
wait "$producer"

start_shield shield-b
check "restart commits every input" wait_committed $G $SRC $N 180
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics $OUT --idle 3 --out "$T/out1.jsonl"
read -r distinct total < <($PY - "$T/out1.jsonl" <<'PY'
import json, sys
ids = []
for line in open(sys.argv[1], encoding="utf-8"):
    v = json.loads(json.loads(line)["value"])
    ids.append(v.get("post_id") or v.get("order_id"))
print(len(set(ids)), len(ids))
PY
)
check_eq "every record arrived at least once" $N "$distinct"
dups=$((total - N))
bound=$((outputs_at_kill - committed_at_kill))
echo "duplicates after restart: $dups (bound: $bound outputs not committed at the kill)"
check "offsets resumed: duplicates ($dups) <= uncommitted at kill ($bound)" test "$dups" -le "$bound"

# --- 2. SIGTERM drain ----------------------------------------------------------
$PY "$TOOLS/gen_records.py" --kind mix --count $N --seed 22 --start $N --format topic >"$T/in2.tsv"
produce_slowly "$T/in2.tsv"
deadline=$((SECONDS + 120))
while (($(topic_count $OUT) < total + 5000)) && ((SECONDS < deadline)); do sleep 0.2; done
pid="$(recorded_pid "$T" shield-b)"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
rm -f "$T/pids/shield-b.pid"
check_eq "SIGTERM mid-stream exits 0" 0 "$rc"
check "drain logged" grep -q '"event":"draining"' "$T/logs/shield-b.log"
after_term="$(topic_count $OUT)"
check "stopped mid-stream" test "$after_term" -lt $((2 * N + dups))
# One output per input: after a clean drain every acknowledged output has its
# input committed, so committed inputs == outputs - earlier duplicates.
check_eq "after drain, committed inputs == outputs acknowledged" $((after_term - dups)) "$(committed $G $SRC)"
wait "$producer"

start_shield shield-c
check "restart commits the rest" wait_committed $G $SRC $((2 * N)) 180
sleep 1
check_eq "no new duplicates after a clean drain" $((2 * N + dups)) "$(topic_count $OUT)"
finish
