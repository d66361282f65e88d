#!/usr/bin/env bash
# privacy-shield over the dev broker: 10,000 mixed posts and orders in →
# 10,000 clean records out, none lost, none duplicated, one audit event each,
# no raw phone number, email or username anywhere in the outputs, and the
# metrics/health endpoints tell the truth.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_dev_broker "$T"
N=10000
$PY "$TOOLS/gen_records.py" --kind mix --count $N --seed 11 --format topic >"$T/in.tsv"
start_shield
port="$(<"$T/privacy-shield.port")"
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in.tsv"

check "all $N records cleaned" wait_count clean.social,sink.snowflake.orders $N 180
check "one audit event per record" wait_count audit.privacy $N 60
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" \
  --topics clean.social,sink.snowflake.orders,audit.privacy --idle 3 --out "$T/out.jsonl"

$PY - "$T/in.tsv" "$T/out.jsonl" >"$T/verdict" <<'PY' || true
import json, sys
ins = {}
raw = set()
for line in open(sys.argv[1], encoding="utf-8"):
    topic, key, value = line.rstrip("\n").split("\t", 2)
    rec = json.loads(value)
    ins[key] = rec
    for f in ("customer_phone", "customer_email", "author_username", "customer_name"):
        if f in rec:
            raw.add(rec[f])
clean, audit, leaks = {}, 0, 0
for line in open(sys.argv[2], encoding="utf-8"):
    m = json.loads(line)
    if m["topic"] == "audit.privacy":
        audit += 1
        continue
    v = json.loads(m["value"])
    rid = v.get("post_id") or v.get("order_id")
    clean[rid] = clean.get(rid, 0) + 1
    if m["key"] != rid:
        print("key mismatch", rid)
    leaks += sum(1 for r in raw if r in m["value"])
    for f in ("customer_phone", "customer_email", "author_username", "customer_name"):
        if f in v:
            leaks += 1
dups = sum(c - 1 for c in clean.values())
lost = len(set(ins) - set(clean))
print("lost=%d dups=%d audit=%d leaks=%d" % (lost, dups, audit, leaks))
PY
verdict="$(tail -n 1 "$T/verdict")"
check_eq "no loss, no duplicates, no raw identifiers" "lost=0 dups=0 audit=$N leaks=0" "$verdict"

# Phones inside free text became tokens.
check "phones in text replaced by PHONE_ tokens" grep -q 'PHONE_[0-9a-f]\{16\}' "$T/out.jsonl"
check "emails in text replaced by EMAIL_ tokens" grep -q 'EMAIL_[0-9a-f]\{16\}' "$T/out.jsonl"

metrics="$(curl -sf "http://127.0.0.1:$port/metrics")"
check "metrics count messages in" grep -q "privacy_shield_messages_in_total{topic=\"source.market.shopify\"}" <<<"$metrics"
in_total="$(awk '/^privacy_shield_messages_in_total/ {s += $2} END {print s}' <<<"$metrics")"
check_eq "metrics: messages in" "$N" "$in_total"
check "metrics have a latency histogram" grep -q 'privacy_shield_processing_seconds_bucket' <<<"$metrics"
check "healthz answers" curl -sf "http://127.0.0.1:$port/healthz" -o /dev/null
check "readyz answers ready once assigned" curl -sf "http://127.0.0.1:$port/readyz" -o /dev/null
check "no raw identifiers in the service log" bash -c "! grep -F -f <($PY -c '
import json,sys
for l in open(sys.argv[1], encoding=\"utf-8\"):
    r = json.loads(l.split(\"\t\", 2)[2])
    for f in (\"customer_phone\", \"customer_email\"):
        if f in r: print(r[f])' '$T/in.tsv') '$T/logs/privacy-shield.log'"

pid="$(recorded_pid "$T" privacy-shield)"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
check_eq "SIGTERM exits 0" 0 "$rc"
finish
