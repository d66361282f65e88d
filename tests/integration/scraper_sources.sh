#!/usr/bin/env bash
# scraper-ingest: Daraz (signed requests, offset paging, items), weather
# (every city, extreme rule, unchanged observation not repeated), Facebook
# comments (after-cursor paging), TikTok (cursor + search_id) against the
# mock API; the file source to Kafka (bad lines dead-lettered, re-run resumes
# at the cursor) and --stdio. No secret ever in a log line.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"
source "$SENSORY_SOURCE_DIR/tests/tools/scraper_itest.sh"

start_dev_broker "$T"
start_redis "$T"
REDIS_CLI=(redis-cli -u "$REDIS_URL")

start_mock mock --orders 250
export DARAZ_BASE_URL="$MOCK_URL" WEATHER_BASE_URL="$MOCK_URL" FACEBOOK_BASE_URL="$MOCK_URL"
export TIKTOK_BASE_URL="$MOCK_URL" FACEBOOK_POST_IDS=post1 TIKTOK_KEYWORDS=saree
FAST=(--daraz-rate-per-sec 100 --weather-rate-per-sec 100 --facebook-rate-per-sec 100
  --tiktok-rate-per-sec 100 --metrics-file "$T/run.prom")

scr run1 --sources daraz,weather,facebook,tiktok --daraz-created-after 2023-12-31T00:00:00+00:00 \
  --tiktok-start-date 20240101 "${FAST[@]}"
check_eq "all sources: exit 0" 0 "$SCR_RC"
check_eq "no API rule broken (signatures, tokens, paging)" 0 "$(violations)"
# Daraz: 250 orders, 100 per page → 3 pages, one item each.
check_eq "daraz: 250 orders fetched" 250 "$(summary run1 daraz fetched)"
check_eq "daraz: 250 records" 250 "$(summary run1 daraz produced)"
check_eq "daraz: 3 pages of /orders/get" 3 "$(requests daraz)"
check_eq "daraz: 3 item requests" 3 "$(requests daraz_items)"
check_eq "daraz: cursor = window and offset" "orders=2023-12-31T00:00:00+00:00|250" \
  "$(summary run1 daraz cursor_after)"
check "daraz: offsets 0,100,200 asked" $PY - "$MOCK_LOG" <<'PY'
import json, sys
offs = [d["query"].get("offset") for d in map(json.loads, open(sys.argv[1])) if d.get("family") == "daraz"]
sys.exit(0 if offs == ["0", "100", "200"] else 1)
PY
# Weather: five default cities, Rajshahi at 41.5 °C is extreme.
check_eq "weather: 5 observations" 5 "$(summary run1 weather produced)"
check_eq "facebook: 250 comments" 250 "$(summary run1 facebook produced)"
check_eq "facebook: 3 pages" 3 "$(summary run1 facebook pages)"
check_eq "tiktok: 250 videos" 250 "$(summary run1 tiktok produced)"
check_eq "tiktok: 3 pages" 3 "$(summary run1 tiktok pages)"
consume source.market.daraz,context.weather,source.social.facebook,source.social.tiktok "$T/out.jsonl"
check_eq "topics hold exactly what was produced" 755 "$(wc -l <"$T/out.jsonl")"
check "weather: Rajshahi extreme, keyed by city" $PY - "$T/out.jsonl" <<'PY'
import json, sys
w = {}
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["topic"] == "context.weather":
        v = json.loads(m["value"])
        assert m["key"] == v["city"]
        w[v["city"]] = v["is_extreme_weather"]
sys.exit(0 if w == {"Dhaka": False, "Chittagong": False, "Sylhet": False, "Khulna": False, "Rajshahi": True} else 1)
PY
check "daraz: failed item → failed_delivery, COD mapped" $PY - "$T/out.jsonl" <<'PY'
import json, sys
st, pm = set(), set()
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["topic"] == "source.market.daraz":
        v = json.loads(m["value"])
        st.add(v["order_status"]); pm.add(v["payment_method"])
sys.exit(0 if st == {"delivered", "failed_delivery"} and pm == {"cod", "prepaid"} else 1)
PY
check "metrics per source" grep -q 'scraper_ingest_records_produced_total{source="tiktok"} 250' "$T/run.prom"

# Metrics pushed to a Pushgateway (the mock stands in for it).
scr push1 --sources weather "${FAST[@]}" --redis-prefix push --metrics-pushgateway "$MOCK_URL"
check_eq "pushgateway: one PUT per run" 1 "$(requests pushgateway)"
check "pushgateway: grouped by job and run" grep -q '"path": "/metrics/job/scraper-ingest/run/weather"' "$MOCK_LOG"
check "pushgateway: run metrics pushed" grep -q '"family": "pushgateway".*scraper_ingest_source_success' "$MOCK_LOG"

# Second run: nothing new anywhere (weather: same observation time).
scr run2 --sources daraz,weather,facebook,tiktok "${FAST[@]}"
check_eq "re-run: exit 0" 0 "$SCR_RC"
for s in daraz weather facebook; do
  check_eq "re-run: $s produces nothing" 0 "$(summary run2 $s produced)"
done
# TikTok windows are whole days (at most 30, ending yesterday): the first run
# covered 2024-01-01..30, the re-run starts the next window.
check_eq "tiktok: next window after a finished one" "saree=20240131" "$(summary run2 tiktok cursor_before)"
check "no secret in any log" no_secrets run1
check "no secret in the re-run log" no_secrets run2

# Per-source rate limit: 5 requests/s → the five cities' requests start 0.2 s
# apart, so they span at least 0.8 s. (Arrival times jitter on a loaded
# machine, so the span is checked, not each gap; unlimited, they take ~0.01 s.)
n0="$(requests weather)"
scr rl --sources weather --weather-rate-per-sec 5 --redis-prefix rl
check_eq "rate limit: exit 0" 0 "$SCR_RC"
check "rate limit: five weather requests span >= 0.75 s" $PY - "$MOCK_LOG" "$n0" <<'PY'
import json, sys
t = [d["t"] for d in map(json.loads, open(sys.argv[1]))
     if d.get("family") == "weather" and d["n"] > int(sys.argv[2])]
sys.exit(0 if len(t) == 5 and t[-1] - t[0] >= 0.75 else 1)
PY

# A stored TikTok window whose search_id expired: restarted once from its
# first page (at least once, never stuck).
"${REDIS_CLI[@]}" SET sensory:scraper:cursor:tiktok:saree "20240301|20240330|100|stale-search" >/dev/null
scr run2t --sources tiktok "${FAST[@]}"
check_eq "tiktok: expired search restarted, exit 0" 0 "$SCR_RC"
check_eq "tiktok: one restart" 1 "$(summary run2t tiktok restarts)"
check_eq "tiktok: whole window produced" 250 "$(summary run2t tiktok produced)"
check_eq "tiktok: window finished" "saree=20240331" "$(summary run2t tiktok cursor_after)"

# A missing secret is a partial failure of that source only.
TIKTOK_TOKEN_FILE= scr run3 --sources weather,tiktok "${FAST[@]}" --redis-prefix other
check_eq "missing token: exit 4" 4 "$SCR_RC"
check_eq "missing token: the other source still ran" ok "$(summary run3 weather status)"
check "missing token: names the setting" grep -q 'tiktok.token_file is not set' "$T/logs/run3.log"

# ---- file source -----------------------------------------------------------------
$PY "$TOOLS/gen_records.py" --kind market --count 2000 --seed 5 --format json >"$T/in.jsonl"
printf '\n   \nnot json at all\n{"platform":"shopify","order_id":"x-1"}\n' >>"$T/in.jsonl"
base="$(topic_count source.market.shopify)"
scr file1 --from "file:$T/in.jsonl" --topic source.market.shopify --file-batch 500
check_eq "file: exit 0" 0 "$SCR_RC"
check_eq "file: 2002 non-blank lines" 2002 "$(summary file1 file fetched)"
check_eq "file: 2000 produced" 2000 "$(summary file1 file produced)"
check_eq "file: 2 dead letters" 2 "$(summary file1 file dead_lettered)"
check_eq "file: topic count" $((base + 2000)) "$(topic_count source.market.shopify)"
printf '%s\n' "$(sed -n 1p "$T/in.jsonl")" >>"$T/in.jsonl" # one appended record
scr file2 --from "file:$T/in.jsonl" --topic source.market.shopify
check_eq "file re-run: only the appended line" "1 1" \
  "$(summary file2 file fetched) $(summary file2 file produced)"
scr stdio1 --stdio --from "file:$T/in.jsonl" --topic source.market.shopify --dlq-file "$T/dlq.jsonl"
check_eq "stdio: exit 0" 0 "$SCR_RC"
check_eq "stdio: records on stdout" 2001 "$(wc -l <"$T/logs/stdio1.out")"
check_eq "stdio: dead letters in the file" 2 "$(wc -l <"$T/dlq.jsonl")"
check "stdio: dead letters sealed" grep -q '"payload_enc"' "$T/dlq.jsonl"
check "stdio: schema path recorded" grep -q '"path":"/merchant_id"' "$T/dlq.jsonl"
cat "$T/in.jsonl" | scr stdio2 --stdio --from - --topic source.market.shopify --dlq-file "$T/dlq2.jsonl"
check_eq "stdin source" 2001 "$(wc -l <"$T/logs/stdio2.out")"
scr stdio3 --stdio --from "file:$T/in.jsonl" --topic clean.social --dlq-file "$T/dlq3.jsonl"
check_eq "not a source topic: exit 2" 2 "$SCR_RC"
finish
