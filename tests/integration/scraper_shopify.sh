#!/usr/bin/env bash
# scraper-ingest, Shopify source, against the recorded-response mock, the dev
# broker and Redis: full paginated sync (Link rel=next followed as given, one
# record per line item, bad line items → sealed dead letters), a re-run adds
# nothing, resume after kill -9 mid-run (no duplicates, no gaps), 429 with
# Retry-After / 500 / timeout retried, malformed page → partial failure at
# the last good cursor, lock contention, a lock lost mid-run (cursor fenced),
# Kafka / API unreachable, config error.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"
source "$SENSORY_SOURCE_DIR/tests/tools/scraper_itest.sh"

start_dev_broker "$T"
start_redis "$T"
REDIS_CLI=(redis-cli -u "$REDIS_URL")

# Distinct order ids per scenario (--id-base), so one topic holds them all.
# verdict BASE N FILE: records of orders BASE..BASE+N-1 in FILE: lost
# (order/line pairs missing) and duplicated.
verdict() {
  $PY - "$1" "$2" "$3" <<'PY'
import json, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
seen = {}
for line in open(sys.argv[3], encoding="utf-8"):
    m = json.loads(line)
    if m["topic"] != "source.market.shopify":
        continue
    v = json.loads(m["value"])
    oid = int(v["order_id"])
    if base <= oid < base + n:
        if m["key"] != v["order_id"]:
            print("key mismatch")
        k = (oid, v["product_name"])
        seen[k] = seen.get(k, 0) + 1
want = {(base + i, "IPod Nano - 8gb - " + c) for i in range(n) for c in ("green", "red", "black")}
print("lost=%d dups=%d" % (len(want - set(seen)), sum(c - 1 for c in seen.values())))
PY
}

# ---- 1. full paginated sync -------------------------------------------------
start_mock mock1 --orders 600 --bad 50 --id-base 100000 --fault junk:2
export SHOPIFY_BASE_URL="$MOCK_URL"
scr run1 --sources shopify --shopify-limit 100 --redis-prefix t1 --metrics-file "$T/run1.prom"
check_eq "full sync exits 0" 0 "$SCR_RC"
check_eq "6 pages fetched" 6 "$(summary run1 shopify pages)"
check_eq "600 orders + 1 junk item fetched" 601 "$(summary run1 shopify fetched)"
check_eq "1788 line items produced" 1788 "$(summary run1 shopify produced)"
check_eq "12 bad line items + 1 junk item dead-lettered" 13 "$(summary run1 shopify dead_lettered)"
check_eq "cursor after = highest order id" orders=100599 "$(summary run1 shopify cursor_after)"
check_eq "mock saw 6 requests" 6 "$(requests shopify)"
check_eq "no API rule broken (token, page_info alone, limit)" 0 "$(violations)"
check "first request: status=any&since_id=0" grep -q '"n": 1,.*"since_id": "0"' "$MOCK_LOG"
check "later requests follow Link page_info" grep -q '"n": 6,.*"page_info"' "$MOCK_LOG"
consume source.market.shopify,dead-letters-market "$T/all1.jsonl"
check_eq "no loss beyond the bad lines, no duplicates" "lost=12 dups=0" \
  "$(verdict 100000 600 "$T/all1.jsonl")"
dl="$(grep -c '"topic": "dead-letters-market"' "$T/all1.jsonl" || true)"
check_eq "dead letters on dead-letters-market" 13 "$dl"
check "dead letters are sealed, with path /quantity" \
  bash -c "grep '\"topic\": \"dead-letters-market\"' '$T/all1.jsonl' | head -1 | grep -q 'payload_enc.*\\\\\"path\\\\\":\\\\\"/quantity\\\\\"'"
check "the junk item is dead-lettered as unmappable" grep -q 'unmappable' "$T/all1.jsonl"
check "no raw phone in the dead letters" bash -c "! grep 'dead-letters' '$T/all1.jsonl' | grep -q '555-625-1199'"
check "metrics file has produced count" grep -q 'scraper_ingest_records_produced_total{source="shopify"} 1788' "$T/run1.prom"
check "metrics file has success gauge" grep -q 'scraper_ingest_source_success{source="shopify"} 1' "$T/run1.prom"
check_eq "cursor stored in Redis" 100599 "$("${REDIS_CLI[@]}" GET t1:cursor:shopify:orders)"
check_eq "lock released" 0 "$("${REDIS_CLI[@]}" EXISTS t1:lock:shopify)"

scr run1b --sources shopify --shopify-limit 100 --redis-prefix t1
check_eq "re-run exits 0" 0 "$SCR_RC"
check_eq "re-run produces nothing" 0 "$(summary run1b shopify produced)"
check "re-run asks since_id=100599" grep -q '"n": 7,.*"since_id": "100599"' "$MOCK_LOG"
check "no secret in the logs" no_secrets run1

# ---- 2. resume after a crash mid-run -----------------------------------------
# Page 4 is slow once: the run is killed while waiting for it, after pages
# 1-3 were acknowledged and checkpointed.
start_mock mock2 --orders 600 --id-base 200000 --slow-page 4:30
export SHOPIFY_BASE_URL="$MOCK_URL"
"$SENSORY_BIN/scraper-ingest" --sources shopify --shopify-limit 100 --redis-prefix t2 \
  --lock-ttl-ms 2000 >>"$T/logs/run2.out" 2>>"$T/logs/run2.log" &
pid=$!
for ((i = 0; i < 100; i++)); do
  [[ "$(requests shopify)" -ge 4 ]] && break
  sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
check_eq "cursor at the end of page 3 after the crash" 200299 "$("${REDIS_CLI[@]}" GET t2:cursor:shopify:orders)"
sleep 2.2 # the dead run's lock expires (lock.ttl_ms)
scr run2b --sources shopify --shopify-limit 100 --redis-prefix t2
check_eq "resumed run exits 0" 0 "$SCR_RC"
check_eq "resumed at the cursor" "orders=200299" "$(summary run2b shopify cursor_before)"
check_eq "resumed run fetched the other 300 orders" 300 "$(summary run2b shopify fetched)"
consume source.market.shopify "$T/all2.jsonl"
check_eq "crash + resume: no gaps, no duplicates" "lost=0 dups=0" \
  "$(verdict 200000 600 "$T/all2.jsonl")"

# SIGTERM mid-run: the page in hand is finished and checkpointed, the lock
# released, exit 4; the next run continues from there.
start_mock mock2t --orders 600 --id-base 250000 --slow-page 3:1
export SHOPIFY_BASE_URL="$MOCK_URL"
"$SENSORY_BIN/scraper-ingest" --sources shopify --shopify-limit 100 --redis-prefix t2t \
  >>"$T/logs/run2t.out" 2>>"$T/logs/run2t.log" &
pid=$!
for ((i = 0; i < 100; i++)); do
  [[ "$(requests shopify)" -ge 3 ]] && break
  sleep 0.05
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
check_eq "SIGTERM: exit 4 after the page in hand" 4 "$rc"
check_eq "SIGTERM: page 3 checkpointed" 250299 "$("${REDIS_CLI[@]}" GET t2t:cursor:shopify:orders)"
check_eq "SIGTERM: lock released" 0 "$("${REDIS_CLI[@]}" EXISTS t2t:lock:shopify)"
scr run2u --sources shopify --shopify-limit 100 --redis-prefix t2t
consume source.market.shopify "$T/all2t.jsonl"
check_eq "SIGTERM + re-run: no gaps, no duplicates" "lost=0 dups=0" \
  "$(verdict 250000 600 "$T/all2t.jsonl")"

# ---- 3. 429 with Retry-After, 500, timeout -----------------------------------
start_mock mock3 --orders 400 --id-base 300000 --fault 429:2 --fault 500:3 --fault timeout:4
export SHOPIFY_BASE_URL="$MOCK_URL"
t0=$SECONDS
scr run3 --sources shopify --shopify-limit 100 --redis-prefix t3
check_eq "faults retried: exit 0" 0 "$SCR_RC"
check_eq "faults: all 400 orders" 400 "$(summary run3 shopify fetched)"
check_eq "faults: 3 retries" 3 "$(summary run3 shopify http_retries)"
check "Retry-After honoured (>= 1 s between request 2 and 3)" $PY - "$MOCK_LOG" <<'PY'
import json, sys
t = {d["n"]: d["t"] for d in map(json.loads, open(sys.argv[1])) if d.get("family") == "shopify"}
sys.exit(0 if t[3] - t[2] >= 0.95 else 1)
PY
consume source.market.shopify "$T/all3.jsonl"
check_eq "faults: no gaps, no duplicates" "lost=0 dups=0" "$(verdict 300000 400 "$T/all3.jsonl")"

# ---- 4. malformed page ---------------------------------------------------------
start_mock mock4 --orders 500 --id-base 400000 --fault malformed:3
export SHOPIFY_BASE_URL="$MOCK_URL"
scr run4 --sources shopify --shopify-limit 100 --redis-prefix t4
check_eq "malformed page: partial failure (exit 4)" 4 "$SCR_RC"
check_eq "malformed page: stopped at the last good cursor" 400199 "$("${REDIS_CLI[@]}" GET t4:cursor:shopify:orders)"
check_eq "malformed page: 2 good pages produced" 600 "$(summary run4 shopify produced)"
check "malformed page: reason logged" grep -q 'malformed page' "$T/logs/run4.log"

# ---- 5. lock contention ---------------------------------------------------------
"${REDIS_CLI[@]}" SET t5:lock:shopify other-run-token PX 60000 >/dev/null
n0="$(requests shopify)"
scr run5 --sources shopify --redis-prefix t5
check_eq "locked source skipped, exit 0" 0 "$SCR_RC"
check_eq "locked: status" locked "$(summary run5 shopify status)"
check_eq "locked: no API request" "$n0" "$(requests shopify)"
check_eq "the other run's lock is left alone" other-run-token "$("${REDIS_CLI[@]}" GET t5:lock:shopify)"
# scr_bg_until LOGNAME N ARGS...: a run in the background (its PID in $pid),
# returning once the mock has seen N Shopify requests.
scr_bg_until() {
  local name="$1" n="$2" i
  shift 2
  "$SENSORY_BIN/scraper-ingest" "$@" >>"$T/logs/$name.out" 2>>"$T/logs/$name.log" &
  pid=$!
  for ((i = 0; i < 100; i++)); do
    [[ "$(requests shopify)" -ge "$n" ]] && break
    sleep 0.1
  done
}
# Two real runs at once: the slow page keeps the first one inside its lock.
start_mock mock5 --orders 300 --id-base 500000 --slow-page 2:3
export SHOPIFY_BASE_URL="$MOCK_URL"
scr_bg_until run6a 2 --sources shopify --shopify-limit 100 --redis-prefix t6
scr run6b --sources shopify --shopify-limit 100 --redis-prefix t6
rc_a=0
wait "$pid" || rc_a=$?
check_eq "concurrent run: second is skipped" locked "$(summary run6b shopify status)"
check_eq "concurrent run: first completes" "0 300" "$rc_a $(summary run6a shopify fetched)"
# A lock lost mid-run (taken by another token while page 2 is slow): the
# checkpoint's script finds a foreign token, so the cursor stays where the
# run's own lock last wrote it, and the other holder's lock is left alone.
start_mock mock6c --orders 300 --id-base 600000 --slow-page 2:3
export SHOPIFY_BASE_URL="$MOCK_URL"
scr_bg_until run6c 2 --sources shopify --shopify-limit 100 --redis-prefix t6c
"${REDIS_CLI[@]}" SET t6c:lock:shopify other-run-token PX 60000 >/dev/null
rc_a=0
wait "$pid" || rc_a=$?
check_eq "lock lost mid-run: exit 6, status state_error" "6 state_error" \
  "$rc_a $(summary run6c shopify status)"
check_eq "lock lost: cursor still at page 1" 600099 "$("${REDIS_CLI[@]}" GET t6c:cursor:shopify:orders)"
check_eq "lock lost: the other holder's lock is left alone" other-run-token \
  "$("${REDIS_CLI[@]}" GET t6c:lock:shopify)"
check "lock lost: logged as such" grep -q 'lock lost' "$T/logs/run6c.log"

# ---- 6. unreachable Kafka, unreachable API, bad config --------------------------
before="$("${REDIS_CLI[@]}" GET t1:cursor:shopify:orders)"
KAFKA_BROKERS="127.0.0.1:$(free_port)" SCRAPER_KAFKA_TIMEOUT_MS=1500 \
  scr run7 --sources shopify --redis-prefix t1
check_eq "Kafka unreachable: exit 5" 5 "$SCR_RC"
check_eq "Kafka unreachable: cursor unchanged" "$before" "$("${REDIS_CLI[@]}" GET t1:cursor:shopify:orders)"
SHOPIFY_BASE_URL="http://127.0.0.1:$(free_port)" HTTP_RETRIES=1 \
  scr run8 --sources shopify --redis-prefix t8
check_eq "API unreachable: exit 3" 3 "$SCR_RC"
DLQ_KEY_FILE="$T/missing.key" scr run9 --sources shopify --redis-prefix t9
check_eq "missing DLQ key: exit 2" 2 "$SCR_RC"
scr run10 --sources shopify,nosuch --redis-prefix t9
check_eq "unknown source: exit 2" 2 "$SCR_RC"
finish
