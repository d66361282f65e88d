#!/usr/bin/env bash
# Every metric the alert rules (k8s/monitoring/prometheusrule.yaml) and the
# Grafana dashboard use is exported by a running program: all seven programs
# on the local stack (dev broker, Redis, PostgreSQL) with traffic through the
# whole chain — scraper-ingest → privacy-shield → enricher → embedder →
# weaviate-sink, orders → snowflake-sink and risk-svc, one scoring request, a
# few poison records — then each /metrics is scraped and
# tests/tools/metrics_check.py checks every name (and every matcher's label)
# against the scrapes. Two counters exist only after a store error (their
# label is the error's class); they are passed as --lazy, which checks that
# their program still registers them. Also: every topic a running program reports consuming
# or producing is granted by its KafkaUser (k8s/base/kafka-users.yaml).
#
# The programs start as the demo starts them (deploy/pipeline.sh), with the
# demo's 384-dimensional model, so posts reach the post store.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"
source "$SENSORY_SOURCE_DIR/deploy/pipeline.sh"
for p in "${PIPELINE_PROGRAMS[@]}" scraper-ingest; do
  [[ -x "$SENSORY_BIN/$p" ]] || { echo "SKIP: $p not built"; exit 77; }
done
SRC="$SENSORY_SOURCE_DIR"

start_dev_broker "$T"
start_redis "$T"
start_postgres "$T"
# Short sink batches: the test waits for what the sinks wrote.
export SINK_BATCH_AGE_MS=200
pipeline_env "$T"
check "warehouse schema and product catalogue" pipeline_prepare "$T"
pipeline_start "$T"
check "all six programs ready" pipeline_wait_ready "$T" 90
KEY="$(<"$T/keys/risk-api.key")" # a scoring request makes risk-svc's request histogram exist

# Source records through scraper-ingest (its produce stamps the records'
# entry time, which the sinks' end-to-end histograms measure), 2 % poison.
$PY "$TOOLS/gen_records.py" --kind mix --count 300 --seed 7 --poison --format topic >"$T/in.tsv"
mkdir -p "$T/in" "$T/scrapes"
awk -F'\t' -v d="$T/in" '{ print $3 > (d "/" $1 ".jsonl") }' "$T/in.tsv"
for f in "$T"/in/*.jsonl; do
  topic="$(basename "$f" .jsonl)"
  # exit 0 or 4 (partial: poison dead-lettered) are both a finished run
  rc=0
  "$SENSORY_BIN/scraper-ingest" --from "file:$f" --topic "$topic" \
    --metrics-file "$T/scrapes/scraper-ingest-$topic.prom" \
    >>"$T/logs/scraper.out" 2>>"$T/logs/scraper.log" || rc=$?
  check "scraper-ingest run of $topic finished (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 4
done
ORDERS="$(grep -c '^source\.market\.' "$T/in.tsv" || true)"
POSTS="$(grep -c '^source\.social\.' "$T/in.tsv" || true)"
# Sinks: every record written or dead-lettered (poison stops at the shield,
# so a few less reach them; wait for most, then for quiet).
check "snowflake-sink wrote the orders" wait_sink_done snowflake-sink snowflake_sink $((ORDERS * 9 / 10)) 120
check "weaviate-sink wrote the posts" wait_sink_done weaviate-sink weaviate_sink $((POSTS * 9 / 10)) 120

code="$(curl -s -o "$T/score.json" -w '%{http_code}' -H "X-API-Key: $KEY" \
  -H 'Content-Type: application/json' --data-binary \
  '{"order_id":"live-1","merchant_id":"m-001","customer_phone":"01711-234567","amount":1200,"payment_method":"cod"}' \
  "http://$RISK_HTTP_ADDR/api/v1/risk-score")"
check_eq "risk-svc scores one order" 200 "$code"

# Consumer lag comes from librdkafka's statistics, every 5 s once partitions
# are assigned: wait for each program's first report.
has_lag() { pipeline_metrics "$T" "$1" | grep -q "^${1//-/_}_consumer_lag{"; }
wait_lag() {
  local deadline=$((SECONDS + 30))
  until has_lag "$1"; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
for p in "${PIPELINE_PROGRAMS[@]}"; do
  check "$p reports consumer lag" wait_lag "$p"
  pipeline_metrics "$T" "$p" >"$T/scrapes/$p.prom"
done
scrapes=()
for f in "$T"/scrapes/*.prom; do scrapes+=(--scrape "$f"); done
if $PY "$TOOLS/metrics_check.py" --names-only \
  --rules "$SRC/k8s/monitoring/prometheusrule.yaml" \
  --dashboard "$SRC/k8s/monitoring/dashboards/sensory.json" "${scrapes[@]}" \
  --lazy snowflake_sink_store_errors_total="$SRC/services/snowflake-sink/sink.c" \
  --lazy weaviate_sink_object_errors_total="$SRC/services/weaviate-sink/post_store.c" \
  >"$T/check.txt"; then
  ok "every metric of the alert rules and the dashboard is exported by a running program"
else
  not_ok "metrics used but not exported (below)"
fi
cat "$T/check.txt"

# Topics the running programs report (messages_in/out_total{topic} > 0) are
# within their KafkaUser's ACLs.
$PY "$TOOLS/k8s_access.py" acl-topics "$SRC/k8s/base/kafka-users.yaml" >"$T/acl.json"
acl_verdict="$($PY - "$T" <<'PY'
import json, re, sys
T = sys.argv[1]
acl = json.load(open(f"{T}/acl.json"))
bad, seen = [], 0
for prog in ("privacy-shield", "enricher", "embedder", "snowflake-sink", "weaviate-sink", "risk-svc"):
    text = open(f"{T}/scrapes/{prog}.prom").read()
    pre = prog.replace("-", "_")
    for kind, what in (("messages_in_total", "read"), ("messages_out_total", "write")):
        # a stage registers in/out/dead series for every topic it touches:
        # only those with messages count
        for t, v in re.findall(rf'^{pre}_{kind}{{topic="([^"]+)"}} (\S+)', text, re.M):
            if float(v) == 0:
                continue
            seen += 1
            if t not in acl[prog][what]:
                bad.append(f"{prog} {what}s {t}")
print(f"topics={seen} outside_acl={bad}")
PY
)"
check "the programs reported their topics" bash -c "[[ '$acl_verdict' != topics=0* ]]"
check_eq "every topic a program used is in its KafkaUser's ACLs" "outside_acl=[]" "${acl_verdict#* }"
echo "$acl_verdict"
# Keep the scrapes as fixtures for the tool's own test when asked.
if [[ -n "${SENSORY_SAVE_SCRAPES:-}" ]]; then
  mkdir -p "$SENSORY_SAVE_SCRAPES" && cp "$T"/scrapes/*.prom "$SENSORY_SAVE_SCRAPES/"
fi
finish
