#!/usr/bin/env bash
# risk-svc end to end on the dev broker, a real Redis and privacy-shield:
#  - ~1,000 orders (2,400 status messages) of known customers, raw phones in
#    every written form, through privacy-shield into sink.snowflake.orders;
#    risk-svc learns them, and each customer is then scored as its history
#    says (returns → advance payment, deliveries → accept, a burst → velocity,
#    cancellations); a new customer is a cold start; one phone in eight
#    written forms is one pseudonym and one answer;
#  - the counters in Redis equal a recount of the topic; redelivering every
#    order changes no counter;
#  - auth and scopes (401/403, Bearer), the per-key rate limit (429 +
#    Retry-After), malformed and oversized bodies (400/413/404/405) with the
#    service still serving and nothing of a body in its log;
#  - the blacklist: PUT/DELETE and `blacklist load` (phones hashed on load);
#  - Redis stopped and restarted while requests flow: no crash, degraded
#    answers, /readyz 503, recovery; Redis hanging: a degraded answer after
#    the command timeout; Kafka down: answers go on, decisions are published
#    once it is back; one decision per answer on risk.decisions;
#  - `backtest` from a file and from the topic;
#  - no raw phone in any response, log line, metric, Redis key or value, or
#    risk.decisions message.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_redis "$T"
start_dev_broker "$T"
RPORT="${REDIS_URL##*:}"
rcli() { redis-cli -p "$RPORT" --no-auth-warning "$@"; }
RT="$TOOLS/risk_tool.py"

# ---- keys, data --------------------------------------------------------------
rnd() { head -c 16 /dev/urandom | od -An -vtx1 | tr -d ' \n'; }
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
GW="gw-$(rnd)" ADM="adm-$(rnd)" SLOW="slow-$(rnd)"
{
  echo "# risk-svc keys for the test"
  echo "gateway score $(sha "$GW")"
  echo "ops admin $(sha "$ADM")"
  echo "slow score $(sha "$SLOW")"
} >"$T/api-keys.txt"
export RISK_API_KEYS_FILE="$T/api-keys.txt"

$PY "$RT" gen --out "$T/raw.tsv" --plan "$T/plan.json"
N_MSG="$(wc -l <"$T/raw.tsv")"
start_shield
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/raw.tsv" 2>/dev/null
check "privacy-shield: all $N_MSG orders on sink.snowflake.orders" \
  wait_count sink.snowflake.orders "$N_MSG" 120

# ---- risk-svc ----------------------------------------------------------------
API="$(free_port)"
URL="http://127.0.0.1:$API"
export RISK_HTTP_ADDR="127.0.0.1:$API" REDIS_CONNECT_TIMEOUT_MS=200 REDIS_COMMAND_TIMEOUT_MS=200
start_svc risk-svc risk-svc
MPORT="$(<"$T/risk-svc.port")"
metric() { curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
check "risk-svc API listens" wait_for_port "$API" 30
check "history: every order status consumed and committed" \
  wait_committed risk-svc sink.snowflake.orders "$N_MSG" 120
check "readyz: Redis and Kafka up" wait_ready risk-svc 30

# ---- scoring -----------------------------------------------------------------
if $PY "$RT" score --url "$URL" --key "$GW" --plan "$T/plan.json" --out "$T/answers.jsonl" \
  >"$T/score.txt" 2>"$T/score.err"; then ok "every customer scored as its history says"; else
  not_ok "scoring (see below)"; fi
cat "$T/score.txt" "$T/score.err"
N_SCORED="$(wc -l <"$T/answers.jsonl")"

# ---- recount and redelivery --------------------------------------------------
dump_counters() {
  local k
  rcli --scan --pattern 'risk:*:c' | sort | while read -r k; do
    printf '%s ' "${k#risk:\{}" | sed 's/}:c $/ /'
    rcli HMGET "$k" orders cod_orders delivered returned failed_delivery cancelled cod_bad \
      cod_outstanding | sed 's/^$/0/' | tr '\n' ' ' | sed 's/ $//'
    echo
  done
}
recount() { # FILE: the topic's messages → the same line format as dump_counters
  $PY "$RT" recount --in "$1" | $PY -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    f = ["orders","cod_orders","delivered","returned","failed_delivery","cancelled","cod_bad","cod_outstanding"]
    print(d["customer_phone_hash"], " ".join(str(d[k]) for k in f))'
}
norm() { sed 's/ \+/ /g; s/ $//' | LC_ALL=C sort; }
same() { cmp -s "$1" "$2" || { diff "$1" "$2" | head -5; return 1; }; }
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics sink.snowflake.orders \
  --expect "$N_MSG" --out "$T/orders.jsonl" 2>/dev/null
dump_counters | norm >"$T/counters.1"
recount "$T/orders.jsonl" | norm >"$T/recount.1"
check_eq "customers with a history in Redis" "$(wc -l <"$T/recount.1")" "$(wc -l <"$T/counters.1")"
check "Redis counters equal a recount of sink.snowflake.orders" same "$T/counters.1" "$T/recount.1"

# Redeliver every order message (as a rebalance or a replay would).
$PY -c '
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(l)
    print("%s\t%s\t%s" % (r["topic"], r["key"] or "", r["value"]))' "$T/orders.jsonl" >"$T/again.tsv"
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/again.tsv" 2>/dev/null
check "redelivered orders consumed" wait_committed risk-svc sink.snowflake.orders $((2 * N_MSG)) 120
dump_counters | norm >"$T/counters.2"
check "redelivered orders change no counter" same "$T/counters.1" "$T/counters.2"
check "duplicates counted as such ($(metric 'risk_svc_history_updates_total{result="duplicate"}'))" \
  test "$(metric 'risk_svc_history_updates_total{result="duplicate"}')" -ge "$N_MSG"

# ---- auth, scopes, bad input ---------------------------------------------------
ONE="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["forms"][1])' "$T/plan.json")"
body() { printf '{"order_id":"%s","merchant_id":"m-1","amount":%s,"payment_method":"cod","customer_phone":"%s"}' "$1" "$2" "$3"; }
req() { # METHOD PATH KEY BODY → "status" (headers to $T/h, body to $T/b)
  local -a h=()
  [[ -n "$3" ]] && h=(-H "X-API-Key: $3")
  curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' -X "$1" "${h[@]}" \
    -H 'Content-Type: application/json' --data-binary "$4" "$URL$2"
}
code() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$T/b"; }
MARK="MARKER$(rnd)"
check_eq "no key: 401" 401 "$(req POST /api/v1/risk-score "" "$(body a1 100 "$ONE")")"
check "401 carries WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$T/h"
check_eq "wrong key: 401" 401 "$(req POST /api/v1/risk-score "x$GW" "$(body a2 100 "$ONE")")"
check_eq "admin-only key on score: 403" 403 "$(req POST /api/v1/risk-score "$ADM" "$(body a3 100 "$ONE")")"
check_eq "score key on the blacklist: 403" 403 \
  "$(req PUT /api/v1/blacklist "$GW" "{\"customer_phone\":\"$ONE\",\"reason\":\"x\"}")"
check_eq "Authorization: Bearer works" 200 "$(curl -s -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $GW" --data-binary "$(body a4 100 "$ONE")" "$URL/api/v1/risk-score")"
check_eq "invalid JSON: 400" 400 "$(req POST /api/v1/risk-score "$GW" "{\"order_id\":\"$MARK\",")"
check_eq "invalid JSON: code invalid_json" invalid_json "$(code)"
check_eq "contract violation: 400" 400 "$(req POST /api/v1/risk-score "$GW" "$(body "$MARK" -5 "$ONE")")"
check_eq "contract violation names the field" /amount \
  "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["path"])' "$T/b")"
check_eq "not a phone: 400 invalid_phone" 400 "$(req POST /api/v1/risk-score "$GW" "$(body "$MARK" 5 "$MARK")")"
head -c 70000 /dev/zero | tr '\0' 'x' >"$T/big"
check_eq "70 KB body: 413" 413 "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $GW" \
  --data-binary "@$T/big" "$URL/api/v1/risk-score")"
check_eq "GET on the scoring route: 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/risk-score")"
check_eq "unknown path: 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/v2/nope")"
check_eq "still serving after all that" 200 "$(req POST /api/v1/risk-score "$GW" "$(body ok1 100 "$ONE")")"
check "nothing of a refused body in the log" bash -c "! grep -q '$MARK' '$T/logs/risk-svc.log'"

# ---- rate limit (a second instance with a low limit) ---------------------------
API2="$(free_port)"
RISK_HTTP_ADDR="127.0.0.1:$API2" RISK_RATE_LIMIT=20 RISK_RATE_BURST=20 RISK_DECISIONS_TOPIC= \
  KAFKA_GROUP_ID=risk-svc-ratelimit start_svc risk-svc-rl risk-svc
wait_for_port "$API2" 30
$PY "$RT" burst --url "http://127.0.0.1:$API2" --key "$SLOW" --n 60 --out "$T/burst.jsonl"
n200="$(grep -c '"status": 200' "$T/burst.jsonl" || true)"
n429="$(grep -c '"status": 429' "$T/burst.jsonl" || true)"
check "rate limit: 60 requests at once, about 20 admitted ($n200), the rest 429 ($n429)" \
  test "$n200" -ge 20 -a "$n200" -le 30 -a $((n200 + n429)) -eq 60
check "429 carries Retry-After and code rate_limited" \
  grep -q '"status": 429, "retry_after": "[1-9][0-9]*", "code": "rate_limited"' "$T/burst.jsonl"
kill -TERM "$(recorded_pid "$T" risk-svc-rl)"; wait "$(recorded_pid "$T" risk-svc-rl)" 2>/dev/null || true
rm -f "$T/pids/risk-svc-rl.pid"

# ---- blacklist -----------------------------------------------------------------
read -r G1 G2 G3 G4 < <($PY -c '
import json, sys
g = [p for p in json.load(open(sys.argv[1])) if p["kind"] == "good"]
print(g[0]["forms"][3], g[1]["forms"][5], g[2]["forms"][0], g[3]["forms"][2].replace(" ", "_"))' "$T/plan.json")
G4="${G4//_/ }"
decision_of() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["decision"], d["score"], d["reasons"][0]["code"] if d["reasons"] else "-")' "$T/b"; }
check_eq "PUT /api/v1/blacklist" 200 \
  "$(req PUT /api/v1/blacklist "$ADM" "{\"customer_phone\":\"$G1\",\"reason\":\"refused parcels, called from $G1\",\"ttl_days\":30}")"
H1="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["customer_phone_hash"])' "$T/b")"
req POST /api/v1/risk-score "$GW" "$(body bl1 100 "$G1")" >/dev/null
check_eq "blacklisted customer scores 100" "advance_payment_required 100 blacklist" "$(decision_of)"
check "the blacklist note holds no phone" bash -c "! rcli GET 'risk:{$H1}:bl' | grep -q '[0-9]\{8\}'"
check "the blacklist entry expires (ttl_days)" test "$(rcli TTL "risk:{$H1}:bl")" -gt 86400
check_eq "DELETE /api/v1/blacklist" 200 "$(req DELETE /api/v1/blacklist "$ADM" "{\"customer_phone_hash\":\"$H1\"}")"
req POST /api/v1/risk-score "$GW" "$(body bl2 100 "$G1")" >/dev/null
check_eq "removed from the blacklist: accepted again" accept "$(decision_of | cut -d' ' -f1)"
HASH3="$(req POST /api/v1/risk-score "$GW" "$(body bl3 100 "$G3")" >/dev/null;
  $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["customer_phone_hash"])' "$T/b")"
printf 'customer_phone,reason,ttl_days\n%s,"chargeback, twice",\n"%s",fraud ring,90\n%s,by hash,\nnot-a-phone,x,\n' \
  "$G2" "$G4" "$HASH3" >"$T/blacklist.csv"
rc=0
out="$("$SENSORY_BIN/risk-svc" blacklist load "$T/blacklist.csv" 2>"$T/logs/blacklist.log")" || rc=$?
check_eq "blacklist load counts" "rows 4 loaded 3 bad 1" "$out"
check_eq "blacklist load exits 1 for a bad row" 1 "$rc"
for p in "$G2" "$G3" "$G4"; do
  req POST /api/v1/risk-score "$GW" "$(body bl4 100 "$p")" >/dev/null
  check_eq "loaded customer is blacklisted" "advance_payment_required 100 blacklist" "$(decision_of)"
done
check "blacklist load logs the bad line, not its value" \
  bash -c "grep -q 'line 5' '$T/logs/blacklist.log' && ! grep -q 'not-a-phone' '$T/logs/blacklist.log'"

# ---- Redis stopped and restarted while requests flow ---------------------------
$PY "$RT" load --url "$URL" --key "$GW" --plan "$T/plan.json" --seconds 16 --rate 40 \
  --out "$T/load.jsonl" &
LOADPID=$!
sleep 3
rcli SAVE >/dev/null
rpid="$(recorded_pid "$T" redis)"
kill -TERM "$rpid"; wait "$rpid" 2>/dev/null || true
rm -f "$T/pids/redis.pid"
sleep 2
ready_down="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/readyz")"
sleep 2
redis-server --bind 127.0.0.1 --port "$RPORT" --protected-mode yes --save "" --appendonly no \
  --dir "$T/redis" --daemonize no --logfile "$T/logs/redis.log" </dev/null >/dev/null 2>&1 &
record_pid "$T" redis $!
wait_for_port "$RPORT" 15
wait "$LOADPID" || true
check "risk-svc survived the outage" kill -0 "$(recorded_pid "$T" risk-svc)"
check_eq "readyz while Redis is down" 503 "$ready_down"
check "readyz after Redis is back" wait_ready risk-svc 20
total="$(wc -l <"$T/load.jsonl")"
n200="$(grep -c '"status": 200' "$T/load.jsonl" || true)"
ndeg="$(grep -c '"degraded": true' "$T/load.jsonl" || true)"
check_eq "every request during the outage answered 200 ($total requests)" "$total" "$n200"
check "degraded answers while Redis was down ($ndeg), accepted (fail-open)" \
  bash -c "test $ndeg -gt 10 && ! grep '\"degraded\": true' '$T/load.jsonl' | grep -q advance_payment"
check "answers have the history again at the end" \
  bash -c "tail -n 20 '$T/load.jsonl' | grep -q '\"degraded\": false' && ! tail -n 5 '$T/load.jsonl' | grep -q '\"degraded\": true'"
check "degraded answers counted ($(metric risk_svc_degraded_total))" test "$(metric risk_svc_degraded_total)" -ge "$ndeg"
check "outage and recovery logged" bash -c "grep -q redis_unavailable '$T/logs/risk-svc.log' && grep -q redis_recovered '$T/logs/risk-svc.log'"

# ---- Redis hanging (SIGSTOP): the answer waits only the command timeout ----------
rpid="$(recorded_pid "$T" redis)"
kill -STOP "$rpid"
hung="$(curl -s --max-time 10 -H "X-API-Key: $GW" --data-binary "$(body hang1 100 "$ONE")" \
  "$URL/api/v1/risk-score" || true)"
kill -CONT "$rpid"
check "Redis hanging: answered anyway, degraded" grep -q '"degraded":true' <<<"$hung"
check "Redis back from hanging: readyz" wait_ready risk-svc 20

# ---- Kafka down: answers go on, decisions follow -------------------------------
dev_broker_ctl "$T" broker-down 1 >/dev/null
for i in 1 2 3 4 5; do
  check_eq "Kafka down: answer $i" 200 "$(req POST /api/v1/risk-score "$GW" "$(body kd$i 100 "$ONE")")"
done
dev_broker_ctl "$T" broker-up 1 >/dev/null
ANSWERED="$(grep -c '"decision_id"' "$T/answers.jsonl")"
# scored customers + the load + Bearer, ok1, bl1-bl3, three loaded, hang1, five while Kafka was down
N_200=$((ANSWERED + n200 + 14))
dec="$(($(metric 'risk_svc_decisions_total{decision="accept"}') + $(metric 'risk_svc_decisions_total{decision="advance_payment_required"}')))"
check_eq "decisions counted by outcome" "$N_200" "$dec"
check "decisions queued while Kafka was down reach risk.decisions" wait_count risk.decisions "$N_200" 60
sleep 1
check_eq "one decision on risk.decisions per answer" "$N_200" "$(topic_count risk.decisions)"
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics risk.decisions --idle 3 \
  --out "$T/decisions.jsonl" 2>/dev/null
check "every decision valid against schemas/risk_decision.json" $PY -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
for l in open(sys.argv[2], encoding="utf-8"):
    jsonschema.validate(json.loads(json.loads(l)["value"]), s)' \
  "$SENSORY_SOURCE_DIR/schemas/risk_decision.json" "$T/decisions.jsonl"

# ---- backtest ------------------------------------------------------------------
cat >"$T/strict.yaml" <<'YAML'
threshold: 60
rules:
  return_rate: {weight: 85, min_cod_orders: 2, min_rate: 0.5}
  velocity_1h: {weight: 70, min_orders: 5}
YAML
bt="$("$SENSORY_BIN/risk-svc" backtest --rules "$T/strict.yaml" --from "file:$T/orders.jsonl" --json 2>>"$T/logs/backtest.log")"
printf '%s\n' "$bt"
bt_orders="$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["orders"])' "$bt")"
want_orders="$($PY -c '
import json, sys
print(len({(json.loads(json.loads(l)["value"])["platform"], json.loads(json.loads(l)["value"])["order_id"])
           for l in open(sys.argv[1], encoding="utf-8")}))' "$T/orders.jsonl")"
check_eq "backtest re-scores every order" "$want_orders" "$bt_orders"
check "backtest: the stricter rules catch more returns and change decisions" $PY -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["caught_candidate"] > r["caught_current"] > 0, r
assert r["changed"] == r["to_advance"] + r["to_accept"] and r["changed"] > 0, r
assert r["bad_cod"] > 0 and r["delivered_cod"] > 0, r' "$bt"
bt2="$("$SENSORY_BIN/risk-svc" backtest --rules "$T/strict.yaml" --from topic:sink.snowflake.orders --json 2>>"$T/logs/backtest.log")"
check_eq "backtest from the topic sees the same orders (redelivered ones once)" "$bt_orders" \
  "$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["orders"])' "$bt2")"
human="$("$SENSORY_BIN/risk-svc" backtest --rules "$T/strict.yaml" --from "file:$T/orders.jsonl" 2>/dev/null)"
check "backtest prints changed decisions, returns caught, deliveries asked to prepay" \
  bash -c "grep -q 'decisions changed' <<<'$human' && grep -q 'caught' <<<'$human' && grep -q 'asked to prepay' <<<'$human'"

# ---- no raw phone anywhere ------------------------------------------------------
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.txt"
rcli --scan --pattern '*' >"$T/redis-keys.txt"
for k in $(rcli --scan --pattern 'risk:*:bl'); do rcli GET "$k"; done >"$T/redis-notes.txt"
$PY -c '
import json, sys
plan = json.load(open(sys.argv[1], encoding="utf-8"))
needles = set()
for p in plan:
    needles.add(p["nsn"])                       # any form contains the 10 digits ...
    needles.add(p["forms"][5][1:])              # ... or their Bengali digits
    needles.add(p["nsn"][:4] + "-" + p["nsn"][4:])
    needles.add(p["nsn"][:4] + " " + p["nsn"][4:])
leaks = 0
for f in sys.argv[2:]:
    text = open(f, encoding="utf-8", errors="replace").read()
    hit = [n for n in needles if n in text]
    if hit:
        leaks += 1
        print("raw phone in %s (%d numbers)" % (f, len(hit)))
print("scanned %d files for %d raw phone strings: %d with a leak" % (len(sys.argv) - 2, len(needles), leaks))
sys.exit(1 if leaks else 0)' "$T/plan.json" "$T/answers.jsonl" "$T/load.jsonl" "$T/decisions.jsonl" \
  "$T/logs/risk-svc.log" "$T/logs/risk-svc.out" "$T/logs/blacklist.log" "$T/logs/backtest.log" \
  "$T/metrics.txt" "$T/redis-keys.txt" "$T/redis-notes.txt" >"$T/scan.txt" && rc=0 || rc=$?
cat "$T/scan.txt"
check_eq "no raw phone in responses, logs, metrics, Redis or risk.decisions" 0 "$rc"

pid="$(recorded_pid "$T" risk-svc)"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
rm -f "$T/pids/risk-svc.pid"
check_eq "SIGTERM: risk-svc exits 0" 0 "$rc"
finish
