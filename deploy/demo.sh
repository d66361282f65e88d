#!/usr/bin/env bash
# deploy/demo.sh — the whole job on one machine, from the shop APIs to the
# stores, then what each kind of user looks at.
#
#   deploy/demo.sh [DIR]     state under DIR (default ./.stack); stopped at the end
#   KEEP=1 deploy/demo.sh    leave everything running afterwards (deploy/stack.sh down DIR)
#   DEMO_BUILD=0             use the programs in $SENSORY_BIN (default build/bin) as they
#                            are: no package check, no build (the integration test)
#
# Installs missing Debian packages, builds (Release) into ./build, starts the
# dev Kafka broker, Redis and PostgreSQL on 127.0.0.1, the six streaming
# programs (deploy/pipeline.sh) and the local API server (deploy/local-api:
# recorded Shopify, Daraz, OpenWeatherMap, Facebook and TikTok responses of a
# demo shop), runs scraper-ingest once as its CronJob would, waits until every
# record is in the warehouse, the post store or a dead-letter topic, and shows
# the warehouse, a post search, two risk-svc answers and the dead letters.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dir="${1:-$root/.stack}"
mkdir -p "$dir" && dir="$(cd "$dir" && pwd)"
t0=$SECONDS

say() { printf '\n== %s\n' "$*"; }
indent() { sed 's/^/  /'; }

if [[ "${DEMO_BUILD:-1}" != 0 ]]; then
  say "dependencies"
  bash deploy/deps.sh
  say "build (Release, ./build)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >"$dir/cmake.log" 2>&1 || { cat "$dir/cmake.log"; exit 1; }
  cmake --build build -j "$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
  test "${PIPESTATUS[0]}" -eq 0
  export SENSORY_BIN="$root/build/bin"
fi
t_built=$SECONDS
export SENSORY_SOURCE_DIR="$root" SENSORY_BIN="${SENSORY_BIN:-$root/build/bin}"
# shellcheck source=deploy/lib.sh
source "$root/deploy/lib.sh"
# shellcheck source=deploy/pipeline.sh
source "$root/deploy/pipeline.sh"
bin="$SENSORY_BIN"

say "local stack in $dir: dev Kafka broker, Redis, PostgreSQL on 127.0.0.1"
bash deploy/stack.sh down "$dir" >/dev/null 2>&1 || true
# A fresh start every time (the broker forgets its topics, so the stores must
# too); keys and the generated model are kept.
rm -rf "${dir:?}"/{pg,redis,kafka,logs,pids,ports,local-api,env,pipeline.env,scraper-ingest.yaml}
cleanup() {
  if [[ -z "${KEEP:-}" ]]; then
    say "stopping (KEEP=1 leaves everything running)"
    stop_all "$dir" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
bash deploy/stack.sh up "$dir" | sed -n '2,4p'
# shellcheck disable=SC1091
source "$dir/env"

model_note="a random 384-dimensional BERT made in $dir/model (set MODEL_DIR to all-MiniLM-L6-v2 for meaningful vectors)"
[[ -n "${MODEL_DIR:-}" ]] && model_note="$MODEL_DIR"
say "the pipeline: six programs (deploy/pipeline.sh)"
pipeline_env "$dir"
pipeline_prepare "$dir"
pipeline_start "$dir"
for name in "${PIPELINE_PROGRAMS[@]}"; do
  printf '  %-15s pid %-7s metrics http://127.0.0.1:%s/metrics\n' "$name" \
    "$(recorded_pid "$dir" "$name")" "$(<"$dir/ports/$name")"
done
printf '  embedder model: %s\n' "$model_note"
local_api_start "$dir"
scraper_config "$dir"
printf '  local API server (recorded Shopify, Daraz, OpenWeatherMap, Facebook, TikTok answers): %s\n' "$LOCAL_API_URL"
pipeline_wait_ready "$dir" 90

say "scraper-ingest: one run of the CronJob, all five sources ($dir/scraper-ingest.yaml)"
rc=0
scraper_run "$dir" || rc=$?
/usr/bin/python3 - "$dir/logs/scraper-ingest.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("event") == "source_summary":
        print("  %-9s %-4s fetched %3d, produced %3d records, %d dead-lettered, %d requests" % (
            d["source"], d["status"], d["fetched"], d["produced"], d["dead_lettered"],
            d["http_requests"]))
PY
printf '  exit code %s (0: every source ran to completion)\n' "$rc"
((rc == 0)) || exit 1

printf '\n  waiting until every record is in a store or a dead-letter topic ...'
s0=$SECONDS
pipeline_settled "$dir" 90
printf ' %d s\n' $((SECONDS - s0))

say "messages per topic"
mapfile -t topics < <(sed -n 's/.*name: \([a-z.-]*\),.*/\1/p' schemas/topics.yaml)
topic_end_offsets "${topics[@]}" | sort | awk '{printf "  %-24s %5d\n", $1, $2}'

PSQL=("$SENSORY_PG_BIN/psql" -X -q -P footer=off "$DATABASE_URL")
say "for analysts: the warehouse (PostgreSQL here, Snowflake in production; same tables)"
"${PSQL[@]}" -At -F ' ' -c "
  SELECT 'orders', count(*) FROM orders UNION ALL
  SELECT 'price_history', count(*) FROM price_history UNION ALL
  SELECT 'weather_observations', count(*) FROM weather_observations UNION ALL
  SELECT 'privacy_audit', count(*) FROM privacy_audit UNION ALL
  SELECT 'risk_decisions', count(*) FROM risk_decisions UNION ALL
  SELECT 'social_posts (post store)', count(*) FROM social_posts" |
  awk '{n = $NF; $NF = ""; printf "  %-27s %5d rows\n", $0, n}'
query="SELECT shipping_city,
       count(DISTINCT order_id) AS orders,
       round(avg(CASE WHEN payment_method = 'cod' THEN 1.0 ELSE 0 END), 2) AS cod_share,
       round(avg(CASE WHEN order_status IN ('returned', 'failed_delivery') THEN 1.0 ELSE 0 END), 2) AS return_rate
FROM orders GROUP BY shipping_city ORDER BY cod_share DESC;"
printf '\n  COD share and return rate per city:\n  $ psql "$DATABASE_URL" -c "%s"\n' "$(tr -s ' \n' ' ' <<<"$query")"
"${PSQL[@]}" -c "$query" | indent

search="raincoat price too high"
say "for analysts: post-search \"$search\" (keyword + vector over social_posts)"
printf '  $ MODEL_DIR=%s build/bin/post-search "%s" --limit 5\n' "$MODEL_DIR" "$search"
"$bin/post-search" "$search" --limit 5 2>"$dir/logs/post-search.log" | indent

say "for the merchant's checkout: risk-svc (POST /api/v1/risk-score)"
key_file="$dir/keys/risk-api.key"
url="http://$RISK_HTTP_ADDR/api/v1/risk-score"
score() { # LABEL BODY
  printf '  %s\n  $ curl -s %s -H "X-API-Key: $(cat %s)" \\\n      -d '"'"'%s'"'"'\n' "$1" "$url" "$key_file" "$2"
  curl -s "$url" -H "X-API-Key: $(<"$key_file")" -d "$2" | sed 's/^/  → /'
  printf '\n'
}
score "a known customer: five COD orders on Daraz, four returned or not delivered (her phone as she writes it today):" \
  '{"order_id":"CHK-1001","merchant_id":"dhaka-demo-shop","amount":2400,"payment_method":"cod","customer_phone":"০১৮১২৪০৭৭৩৩"}'
score "a customer the shop has never seen:" \
  '{"order_id":"CHK-1002","merchant_id":"dhaka-demo-shop","amount":2400,"payment_method":"cod","customer_phone":"+880 1999-000111"}'

say "for operators: dead letters (reasons in plain text; payloads from before privacy-shield sealed)"
for t in dead-letters-market dead-letters-social; do
  "$bin/dlq-replay" list --topic "$t" 2>/dev/null | indent || true
done
cat <<MSG
  read one (decrypts: personal data):  DLQ_KEY_FILE=$DLQ_KEY_FILE build/bin/dlq-replay show --topic dead-letters-market --partition 0 --offset 0
  after a fix, send them back:         DLQ_KEY_FILE=$DLQ_KEY_FILE build/bin/dlq-replay replay --topic dead-letters-market
MSG

say "where things are"
cat <<MSG
  environment:      source $dir/env; source $dir/pipeline.env
  logs (JSON):      $dir/logs/<program>.log   (scraper-ingest.log, local-api.requests, postgres.log, ...)
  metrics:          curl http://127.0.0.1:\$(cat $dir/ports/<program>)/metrics   (also /healthz, /readyz)
                    scraper-ingest's last run: $dir/logs/scraper-ingest.prom
  warehouse:        $SENSORY_PG_BIN/psql "\$DATABASE_URL"
  read a topic:     kcat -b \$KAFKA_BROKERS -C -t clean.social -o beginning -e
  scrape again:     deploy/pipeline.sh scrape $dir     (cursors in Redis: only what is new)
  stop everything:  deploy/stack.sh down $dir
MSG
printf '\ndemo done in %d s (%d s after the build)\n' $((SECONDS - t0)) $((SECONDS - t_built))
