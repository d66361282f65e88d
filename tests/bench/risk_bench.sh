#!/usr/bin/env bash
# risk-svc against its Python peer (tests/bench/risk_peer.py: FastAPI +
# uvicorn + redis-py), same run, same machine, one core each (taskset -c 0);
# wrk with keep-alive, Redis and the dev broker share the other core.
# Prints a markdown table; targets (issue 9) are informational, exit 0 unless
# something broke. Knobs: BENCH_SECONDS (10), BENCH_CONNS ("16 64"),
# BENCH_THREADS (risk-svc http.threads, 8), BENCH_DECISIONS (1: publish
# risk.decisions to the dev broker, as in production; 0: off), BENCH_RISK_ARGS
# (extra risk-svc arguments, e.g. "-X producer.linger.ms=50"), BENCH_KEEP=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SENSORY_SOURCE_DIR="$ROOT"
PY=/usr/bin/python3
SECONDS_RUN="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNS:-16 64}"
THREADS="${BENCH_THREADS:-8}"
# Only what this benchmark needs (SENSORY_DEPS_BENCH=1 would add PyTorch).
SENSORY_EXTRA_PACKAGES="wrk python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-redis" \
  bash "$ROOT/deploy/deps.sh"
BIN="${SENSORY_BIN:-$ROOT/build/bin}"
if [[ ! -x "$BIN/risk-svc" || ! -x "$BIN/privacy-shield" || ! -x "$BIN/dev-broker" ]]; then
  cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build" -j2 --target risk-svc privacy-shield dev-broker >/dev/null
fi
export SENSORY_BIN="$BIN"
# shellcheck source=deploy/lib.sh
source "$ROOT/deploy/lib.sh"
T="$(mktemp -d)"
cleanup() {
  stop_all "$T" 5 || true
  if [[ -n "${BENCH_KEEP:-}" ]]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
stack_dir "$T"
pin_other() { taskset -a -p -c 1 "$1" >/dev/null; } # every thread of PID onto core 1

start_redis "$T"
pin_other "$(recorded_pid "$T" redis)"
if [[ "${BENCH_DECISIONS:-1}" == 1 ]]; then
  start_dev_broker "$T"
  pin_other "$(recorded_pid "$T" dev-broker)"
  DECISIONS=risk.decisions
else
  export KAFKA_BROKERS=127.0.0.1:1
  DECISIONS=
fi

# Keys and a history: generated orders through privacy-shield and risk-svc's
# --stdio history import, so the peer reads exactly what the service reads.
printf 'bench-hmac-key-0123456789abcdef\n' >"$T/hmac.key"
head -c 32 /dev/urandom >"$T/dlq.key"
KEY="bench-$(head -c 16 /dev/urandom | od -An -vtx1 | tr -d ' \n')"
printf 'bench score %s\n' "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)" >"$T/keys.txt"
export PRIVACY_HMAC_KEY_FILE="$T/hmac.key" DLQ_KEY_FILE="$T/dlq.key" SCHEMAS_DIR="$ROOT/schemas"
export RISK_API_KEYS_FILE="$T/keys.txt" METRICS_ADDR=""
$PY "$ROOT/tests/tools/risk_tool.py" gen --out "$T/raw.tsv" --plan "$T/plan.json" 2>/dev/null
for topic in source.market.shopify source.market.daraz; do
  awk -F'\t' -v t="$topic" '$1 == t {print $3}' "$T/raw.tsv" |
    "$BIN/privacy-shield" --stdio --topic "$topic" --dlq-file "$T/dlq.jsonl" 2>/dev/null
done >"$T/clean.jsonl"
"$BIN/risk-svc" --stdio --topic sink.snowflake.orders --dlq-file "$T/dlq2.jsonl" \
  <"$T/clean.jsonl" >/dev/null 2>"$T/logs/import.log"
echo "history: $(wc -l <"$T/clean.jsonl") order statuses of $(redis-cli -p "${REDIS_URL##*:}" --scan --pattern 'risk:*:c' | wc -l) customers in Redis"

# wrk: cycle through every customer of the plan, each in one of its forms.
$PY - "$T/plan.json" "$KEY" >"$T/post.lua" <<'PY'
import json, sys
plan, key = json.load(open(sys.argv[1], encoding="utf-8")), sys.argv[2]
bodies = []
for i, p in enumerate(plan):
    b = {"order_id": "bench-%d" % i, "merchant_id": "m-%d" % (i % 7), "amount": 1200 + i,
         "payment_method": "cod", "customer_phone": p["forms"][i % len(p["forms"])]}
    bodies.append(json.dumps(b, ensure_ascii=False))
print("local bodies = {%s}" % ",".join("[==[%s]==]" % b for b in bodies))
print('local i = 0')
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["X-API-Key"] = "%s"' % key)
print('request = function() i = i % #bodies + 1; return wrk.format(nil, "/api/v1/risk-score", nil, bodies[i]) end')
PY

# run_wrk NAME URL CONNS → "rps p50_ms p99_ms non2xx"
run_wrk() {
  local out
  out="$(taskset -c 1 wrk -t1 -c"$3" -d"${SECONDS_RUN}s" --latency -s "$T/post.lua" "$2" 2>&1)"
  printf '%s\n' "$out" >"$T/logs/wrk-$1-$3.txt"
  $PY - "$out" <<'PY'
import re, sys
t = sys.argv[1]
def ms(v, u):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", t)
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", t)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
err = re.search(r"Socket errors:.*", t)
print("%.0f %.3f %.3f %d" % (rps, ms(*p50.groups()), ms(*p99.groups()), int(bad.group(1)) if bad else 0))
PY
}

declare -A RES
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of the process
run_contender() { # NAME PORT START_CMD...
  local name="$1" port="$2" pid
  shift 2
  taskset -c 0 "$@" >"$T/logs/$name.out" 2>"$T/logs/$name.log" &
  pid=$!
  record_pid "$T" "$name" "$pid"
  wait_for_port "$port" 30 "$pid"
  # One request by hand first: a benchmark of error answers measures nothing.
  local first
  first="$(curl -s -w ' %{http_code}' -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
    --data-binary "$(sed -n 's/^local bodies = {\[==\[\(.*\)\]==\],.*/\1/p' "$T/post.lua" | sed 's/\]==\],\[==\[.*//')" \
    "http://127.0.0.1:$port/api/v1/risk-score")"
  [[ "$first" == *" 200" ]] || { echo "$name does not answer 200: $first" >&2; return 1; }
  # Warm-up (connections, Redis, librdkafka), then one measured run per
  # connection count.
  taskset -c 1 wrk -t1 -c16 -d2s -s "$T/post.lua" "http://127.0.0.1:$port" >/dev/null 2>&1
  for c in $CONNS; do
    local t0 t1 n
    t0="$(cpu_ticks "$pid")"
    RES[$name-$c]="$(run_wrk "$name" "http://127.0.0.1:$port" "$c")"
    t1="$(cpu_ticks "$pid")"
    n="$(awk '/requests in/ {print $1}' "$T/logs/wrk-$name-$c.txt")"
    # CPU per request (user + system of every thread): what other load on a
    # shared machine disturbs least.
    RES[$name-$c-cpu]="$($PY -c "print(round(($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / max($n, 1), 1))")"
    echo "$name c=$c: $(awk '{printf "%s req/s, p50 %s ms, p99 %s ms, non-2xx %s", $1, $2, $3, $4}' <<<"${RES[$name-$c]}"), ${RES[$name-$c-cpu]} us CPU/request"
  done
  RES[$name-rss]="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$T/pids/$name.pid"
}

P1="$(free_port)"
# A generous Redis timeout: on a loaded machine the 50 ms default would turn
# slow replies into degraded answers, which skip Redis and flatter the figure.
RISK_HTTP_ADDR="127.0.0.1:$P1" RISK_HTTP_THREADS="$THREADS" RISK_RATE_LIMIT=0 REDIS_COMMAND_TIMEOUT_MS=2000 \
  RISK_DECISIONS_TOPIC="$DECISIONS" run_contender risk-svc "$P1" "$BIN/risk-svc" ${BENCH_RISK_ARGS:-}
if [[ -n "$DECISIONS" ]]; then
  published="$($PY "$ROOT/tests/tools/kafka_tool.py" count -b "$KAFKA_BROKERS" --topics risk.decisions)"
  echo "risk.decisions: $published decisions published"
fi
P2="$(free_port)"
run_contender peer "$P2" /usr/bin/python3 -m uvicorn --app-dir "$ROOT/tests/bench" risk_peer:app \
  --host 127.0.0.1 --port "$P2" --loop uvloop --http httptools --workers 1 --log-level warning

echo
echo "| connections | risk-svc req/s | p50 / p99 ms | CPU µs/req | FastAPI peer req/s | p50 / p99 ms | CPU µs/req | ratio req/s (CPU) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNS; do
  read -r r1 a1 b1 n1 <<<"${RES[risk-svc-$c]}"
  read -r r2 a2 b2 n2 <<<"${RES[peer-$c]}"
  u1="${RES[risk-svc-$c-cpu]}" u2="${RES[peer-$c-cpu]}"
  printf '| %s | %s | %s / %s | %s | %s | %s / %s | %s | %.1fx (%.1fx) |\n' "$c" "$r1" "$a1" "$b1" "$u1" \
    "$r2" "$a2" "$b2" "$u2" "$($PY -c "print($r1 / max($r2, 1))")" "$($PY -c "print($u2 / max($u1, 0.1))")"
  if [[ "$n1" != 0 || "$n2" != 0 ]]; then echo "WARNING: non-2xx answers: risk-svc $n1, peer $n2"; fi
done
read -r r1 _ b1 _ <<<"${RES[risk-svc-16]:-0 0 0 0}"
read -r r2 _ _ _ <<<"${RES[peer-16]:-1 0 0 0}"
echo
echo "targets at 16 connections, one core: >= 20,000 req/s: $([[ ${r1%.*} -ge 20000 ]] && echo PASS || echo MISS) ($r1);" \
  "p99 < 5 ms: $($PY -c "print('PASS' if $b1 < 5 else 'MISS')") ($b1 ms);" \
  ">= 10x the peer: $($PY -c "print('PASS' if $r1 >= 10 * $r2 else 'MISS')") ($($PY -c "print(round($r1 / max($r2, 1), 1))")x)"
echo "peak RSS: risk-svc ${RES[risk-svc-rss]} KiB, peer ${RES[peer-rss]} KiB"
