#!/usr/bin/env bash
# enricher against a real Redis and the dev broker:
#  - load-products from CSV and JSONL (good rows loaded, bad rows counted,
#    exit 1; rows older than the stored version are stale);
#  - --stdio: hit (product context in enriched_text), miss (post passes, no
#    context), every output valid, throughput with a warm cache;
#  - Kafka: hit and miss (metric), Redis stopped mid-stream (nothing emitted
#    or committed while down, redis_up gauge 0), Redis back on the same port
#    → every post enriched exactly once; an order on sink.snowflake.orders
#    refreshes the product's price (newer wins, an older order does not);
#  - password from the URL and from a file; SIGTERM exits 0.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_redis "$T"
start_dev_broker "$T"
RPORT="${REDIS_URL##*:}"
rcli() { redis-cli -p "$RPORT" --no-auth-warning "$@"; }

# ---- load-products ---------------------------------------------------------
{
  printf 'id,name,price,currency,category\n'
  for i in $(seq 1 50); do printf 'P-%d,"Product %d, deluxe",%d,BDT,cat%d\n' "$i" "$i" $((i * 100)) $((i % 5)); done
  printf 'bad id,Broken,1,BDT,x\n'
} >"$T/products.csv"
rc=0
out="$("$SENSORY_BIN/enricher" load-products "$T/products.csv" 2>"$T/logs/load.log")" || rc=$?
check_eq "load-products counts" "rows 50 loaded 50 stale 0 bad 1" "$out"
check_eq "load-products exits 1 when a row is bad" 1 "$rc"
check_eq "product hash written" "Product 7, deluxe|700|BDT|cat2" \
  "$(rcli HMGET product:P-7 name price currency category | paste -sd'|')"
# JSONL with explicit updated_at: older than the CSV load (stamped "now") is
# stale, newer is applied; loading the same file twice changes nothing.
printf '%s\n' '{"id":"P-1","name":"Old name","price":1,"updated_at":"2020-01-01T00:00:00Z"}' \
  '{"id":"P-51","name":"Brand new","price":51,"currency":"USD","updated_at":1700000000000}' \
  >"$T/products.jsonl"
out="$("$SENSORY_BIN/enricher" load-products "$T/products.jsonl" 2>>"$T/logs/load.log")"
check_eq "load-products JSONL: older row stale, new product loaded" "rows 2 loaded 1 stale 1 bad 0" "$out"
out="$("$SENSORY_BIN/enricher" load-products "$T/products.jsonl" 2>>"$T/logs/load.log")"
check_eq "load-products again: same stamps are not rewritten" "rows 2 loaded 0 stale 2 bad 0" "$out"
check_eq "older row did not overwrite" "Product 1, deluxe" "$(rcli HGET product:P-1 name)"

# posts N SEED FIRST: N clean posts (ids post-FIRST...) as topic<TAB>key<TAB>value;
# every post mentions 1-3 products, one in five an unknown id.
posts() {
  $PY - "$1" "$2" "$3" <<'PY'
import json, random, sys
n, seed, first = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
for i in range(first, first + n):
    ids = ["P-%d" % r.randint(1, 50) for _ in range(r.randint(1, 3))]
    if i % 5 == 0:
        ids.append("NOPE-%d" % (i % 7))
    rec = {"platform": "facebook", "post_id": "post-%d" % i,
           "author_hash": "k1a2b3c4d:" + "%064x" % r.getrandbits(256),
           "content": "Is this still available? #%d" % i, "engagement_count": i % 97,
           "timestamp": "2026-06-01T09:30:00+06:00", "product_mentions": ids}
    print("clean.social\tpost-%d\t%s" % (i, json.dumps(rec, ensure_ascii=False)))
PY
}

# ---- --stdio ---------------------------------------------------------------
N_STDIO=20000
posts $N_STDIO 5 1 | cut -f3 >"$T/stdio.in"
t0=$(date +%s.%N)
"$SENSORY_BIN/enricher" --stdio --topic clean.social --dlq-file "$T/stdio.dlq" \
  <"$T/stdio.in" >"$T/stdio.out" 2>"$T/logs/stdio.log"
t1=$(date +%s.%N)
check_eq "stdio: one output per post" "$N_STDIO" "$(wc -l <"$T/stdio.out")"
check_eq "stdio: no dead letters" 0 "$(wc -l <"$T/stdio.dlq")"
verdict="$($PY - "$T/stdio.in" "$T/stdio.out" <<'PY'
import json, sys
ins = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
outs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
bad = 0
for i, o in zip(ins, outs):
    want = []
    for pid in i["product_mentions"]:
        if pid.startswith("P-") and pid not in want:
            want.append(pid)
    n = int
    text = "".join("[Product: Product %s, deluxe %d BDT] " % (p[2:], int(p[2:]) * 100) for p in want)
    if o["enriched_text"] != text + i["content"] or [p["id"] for p in o["products"]] != want:
        bad += 1
print("bad=%d" % bad)
PY
)"
check_eq "stdio: hits give context in mention order, misses pass without it" "bad=0" "$verdict"
missing_logs="$(grep -c '"event":"product_missing"' "$T/logs/stdio.log" || true)"
check_eq "stdio: a missing id is logged once, not per message" 7 "$missing_logs"
rate="$($PY -c "print(int($N_STDIO / ($t1 - $t0)))")"
echo "stdio throughput (50 products, warm cache): $rate posts/s"
printf '%s\n' "$rate" >"$T/stdio.rate"

# ---- Kafka -----------------------------------------------------------------
MPORT="$(free_port)"
printf '%s\n' "$MPORT" >"$T/enricher.port"
# A short TTL so a Redis outage is felt at once (not hidden by the cache), and
# a short max.poll.interval.ms so the outage below outlasts it: the stage must
# keep polling (partitions paused) and stay in the group.
ENRICHER_CACHE_TTL_MS=300 METRICS_ADDR="127.0.0.1:$MPORT" "$SENSORY_BIN/enricher" \
  -X consumer.session.timeout.ms=6000 -X consumer.heartbeat.interval.ms=500 \
  -X consumer.max.poll.interval.ms=7000 \
  >>"$T/logs/enricher.out" 2>>"$T/logs/enricher.log" &
record_pid "$T" enricher $!
metric() { curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

N1=300
posts $N1 7 100001 >"$T/k1.tsv"
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/k1.tsv" 2>/dev/null
check "kafka: first $N1 posts enriched" wait_count enriched.social $N1 60
check "kafka: first $N1 committed" wait_committed enricher clean.social $N1 30
missing="$(metric enricher_products_missing_total)"
check "kafka: missing products counted ($missing)" test "${missing:-0}" -gt 0
check_eq "kafka: redis_up gauge" 1 "$(metric enricher_redis_up)"

# Redis down: keep its data (SAVE), stop the recorded process, produce more.
rcli SAVE >/dev/null
rpid="$(recorded_pid "$T" redis)"
kill -TERM "$rpid"
wait "$rpid" 2>/dev/null || true
rm -f "$T/pids/redis.pid"
sleep 0.5
N2=300
posts $N2 8 200001 >"$T/k2.tsv"
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/k2.tsv" 2>/dev/null
sleep 10 # longer than max.poll.interval.ms
check_eq "redis down: nothing emitted" "$N1" "$(topic_count enriched.social)"
check_eq "redis down: nothing committed" "$N1" "$(committed enricher clean.social)"
check_eq "redis down: redis_up gauge 0" 0 "$(metric enricher_redis_up)"
check "redis down: logged" grep -q '"event":"redis_unavailable"' "$T/logs/enricher.log"

# Back on the same port with the saved data.
redis-server --bind 127.0.0.1 --port "$RPORT" --protected-mode yes --save "" --appendonly no \
  --dir "$T/redis" --daemonize no --logfile "$T/logs/redis.log" </dev/null >/dev/null 2>&1 &
record_pid "$T" redis $!
wait_for_port "$RPORT" 15
check "redis back: all $((N1 + N2)) posts enriched" wait_count enriched.social $((N1 + N2)) 60
check "redis back: all committed" wait_committed enricher clean.social $((N1 + N2)) 30
check "redis back: recovery logged" grep -q '"event":"redis_recovered"' "$T/logs/enricher.log"
sleep 1
check_eq "redis back: each post exactly once" $((N1 + N2)) "$(topic_count enriched.social)"
check "the outage cost no rebalance" bash -c "! grep -q '\"event\":\"revoked\"' '$T/logs/enricher.log'"

# Orders: a newer one refreshes P-3, an older one does not move it back.
now="$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
order() { # PRODUCT NAME PRICE TIMESTAMP
  printf 'sink.snowflake.orders\to-%s\t{"platform":"daraz","order_id":"o-%s","merchant_id":"m-1","product_id":"%s","product_name":"%s","quantity":1,"price":%s,"order_status":"confirmed","payment_method":"cod","shipping_city":"Dhaka","timestamp":"%s"}\n' \
    "$RANDOM" "$RANDOM" "$1" "$2" "$3" "$4"
}
{
  order P-3 "Product 3 v2" 333.5 "$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)"
  order P-3 "Product 3 old" 1 "2020-01-01T00:00:00Z"
} | $PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" 2>/dev/null
deadline=$((SECONDS + 30))
until [[ "$(rcli HGET product:P-3 price)" == "333.5" ]] || ((SECONDS > deadline)); do sleep 0.2; done
check_eq "order refreshed the product (newer wins)" "Product 3 v2|333.5|cat3" \
  "$(rcli HMGET product:P-3 name price category | paste -sd'|')"
check "order updates committed" wait_committed enricher sink.snowflake.orders 2 30
sleep 0.5
printf 'clean.social\tpost-999999\t{"platform":"tiktok","post_id":"post-999999","author_hash":"k1a2b3c4d:%064d","content":"still 300?","engagement_count":1,"timestamp":"%s","product_mentions":["P-3"]}\n' 0 "$now" |
  $PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" 2>/dev/null
check "post after the order enriched" wait_count enriched.social $((N1 + N2 + 1)) 30
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics enriched.social --idle 2 \
  --out "$T/enriched.jsonl" 2>/dev/null
verdict="$($PY - "$T/enriched.jsonl" $((N1 + N2 + 1)) <<'PY'
import json, sys
seen, text3, keys = {}, None, 0
for l in open(sys.argv[1], encoding="utf-8"):
    m = json.loads(l)
    v = json.loads(m["value"])
    seen[v["post_id"]] = seen.get(v["post_id"], 0) + 1
    keys += m["key"] == v["post_id"]
    if v["post_id"] == "post-999999":
        text3 = v["enriched_text"]
want = int(sys.argv[2])
print("posts=%d dups=%d keys_ok=%d text=%s" % (len(seen), sum(c - 1 for c in seen.values()),
      keys == sum(seen.values()), text3))
PY
)"
check_eq "kafka: every post once, keyed by post_id, new price used" \
  "posts=$((N1 + N2 + 1)) dups=0 keys_ok=1 text=[Product: Product 3 v2 333.5 BDT] still 300?" "$verdict"
check_eq "kafka: no dead letters" 0 "$(topic_count dead-letters-social,dead-letters-market)"
check_eq "product_updates applied" 1 "$(curl -sf "http://127.0.0.1:$MPORT/metrics" | awk '/^enricher_product_updates_total\{result="applied"\}/ {print $2}')"
check_eq "product_updates stale" 1 "$(curl -sf "http://127.0.0.1:$MPORT/metrics" | awk '/^enricher_product_updates_total\{result="stale"\}/ {print $2}')"

# Password support: URL userinfo and a Secret file.
rcli CONFIG SET requirepass 's3cr@t' >/dev/null
printf '{"id":"P-60","name":"Auth","price":6}\n' >"$T/auth.jsonl"
rc=0
"$SENSORY_BIN/enricher" load-products "$T/auth.jsonl" >/dev/null 2>"$T/logs/auth.log" || rc=$?
check_eq "redis with a password: refused without it" 1 "$rc"
check "redis with a password: the log does not say it" bash -c "! grep -q 's3cr' '$T/logs/auth.log'"
out="$(REDIS_URL="redis://:s3cr%40t@127.0.0.1:$RPORT/0" "$SENSORY_BIN/enricher" load-products "$T/auth.jsonl" 2>/dev/null)"
check_eq "redis password in the URL" "rows 1 loaded 1 stale 0 bad 0" "$out"
printf 's3cr@t\n' >"$T/redis.pass"
out="$(REDIS_PASSWORD_FILE="$T/redis.pass" "$SENSORY_BIN/enricher" load-products "$T/auth.jsonl" 2>/dev/null)"
check_eq "redis password from a file" "rows 1 loaded 1 stale 0 bad 0" "$out"

pid="$(recorded_pid "$T" enricher)"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
check_eq "SIGTERM exits 0" 0 "$rc"
finish
