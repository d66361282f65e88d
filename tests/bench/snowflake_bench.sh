#!/usr/bin/env bash
# tests/bench/snowflake_bench.sh — snowflake-sink into the local PostgreSQL,
# measured in one run on this machine against its ceiling and its peer
# (issue 8, "Performance"). A benchmark, not a test: not registered with
# ctest, exits 0 unless something broke; PASS/MISS is informational.
#
#   tests/bench/snowflake_bench.sh          # ~3-5 minutes (the Python peer is most of it)
#
# The same BENCH_N (200,000) distinct clean orders, three ways:
#  1. the ceiling: `psql \copy` of the rows the sink would write (text COPY,
#     18 columns) into a plain table (LIKE orders: no keys, no indexes), and
#     for reference into a table with the orders table's keys and indexes;
#  2. snowflake-sink: `--stdio` (a file, no broker), and end to end over the
#     dev broker: the records are produced first, then the sink starts with a
#     fresh group; timed until the offsets it keeps in PostgreSQL cover every
#     record (polled every 50 ms), with the k8s ConfigMap's librdkafka bounds
#     (BENCH_SINK_X). The dev broker keeps only ~5 MiB per partition, so the
#     records are spread over 4 topics (16 partitions, ~3.5 MiB each; rows are
#     counted after each run, so a drop would fail it), all routed to the
#     orders table with SINK_TABLES: the sink's work is the same;
#  3. the Python peer (snowflake_peer.py): one INSERT and one commit per
#     message, psycopg2, over the same topics.
#  4. 2 and 3 again with durable commits (fsync and synchronous_commit on, as
#     a warehouse runs; the local stack turns both off), the peer on
#     BENCH_DURABLE_PEER_N (20,000) messages.
# Peak RSS from /usr/bin/time, or VmHWM for the sink over the broker.
# Machine: nproc, CPU model and load averages before and after are printed
# with the figures.
#
# Environment: BENCH_N (200000), BENCH_REPS (3, median of the ceiling and
# --stdio runs), BENCH_PARTS ("copy stdio e2e python durable"), BENCH_KEEP=1 keeps the
# work directory, SENSORY_BIN (build/bin; built Release if missing).
# Only 127.0.0.1; only processes started here are stopped (by PID).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SENSORY_EXTRA_PACKAGES="python3-psycopg2 time" bash "$ROOT/deploy/deps.sh"
export SENSORY_SOURCE_DIR="$ROOT"
export SENSORY_BIN="${SENSORY_BIN:-$ROOT/build/bin}"
# shellcheck source=deploy/lib.sh
source "$ROOT/deploy/lib.sh"

PY=/usr/bin/python3
TOOLS="$ROOT/tests/tools"
N="${BENCH_N:-200000}"
REPS="${BENCH_REPS:-3}"
PARTS="${BENCH_PARTS:-copy stdio e2e python durable}"
PSQL="$SENSORY_PG_BIN/psql"
# librdkafka settings of the sink over the broker: the k8s ConfigMap's bounds.
read -r -a SINK_X <<<"${BENCH_SINK_X:--X consumer.queued.max.messages.kbytes=8192 -X consumer.fetch.max.bytes=1048576 -X producer.queue.buffering.max.kbytes=4096}"
TOPICS="${BENCH_TOPICS:-sink.snowflake.orders,source.market.shopify,source.market.daraz,risk.decisions}"
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
want() { [[ " $PARTS " == *" $1 "* ]]; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n / s}'; }

W="$(mktemp -d /tmp/snowflake-bench.XXXXXX)"
chmod 0711 "$W" # the PostgreSQL user must reach W/stack/pg
cleanup() {
  local rc=$?
  stop_all "$W/stack" 10 || true
  if ((rc != 0)); then say "failed (exit $rc); logs kept in $W"
  elif [[ -n "${BENCH_KEEP:-}" ]]; then say "work directory kept: $W"
  else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -x "$SENSORY_BIN/snowflake-sink" || ! -x "$SENSORY_BIN/dev-broker" ]]; then
  say "building (Release) into $ROOT/build"
  (cd "$ROOT" && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build build -j2 --target snowflake-sink dev-broker >/dev/null) || die "build failed"
  SENSORY_BIN="$ROOT/build/bin"
fi
cp "$SENSORY_BIN/snowflake-sink" "$W/snowflake-sink" # one build for the whole run
SINK="$W/snowflake-sink"
export SCHEMAS_DIR="$ROOT/schemas" LOG_LEVEL=warn
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

stack_dir "$W/stack"
start_postgres "$W/stack" || die "PostgreSQL did not start"
"$SINK" --init-schema --metrics-addr "" 2>>"$W/init.log" || die "--init-schema failed"
q() { "$PSQL" -X -qtA -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
reset() { q "TRUNCATE orders, price_history; DELETE FROM sink_offsets"; }

say "generating $N orders"
$PY "$TOOLS/warehouse_records.py" --orders "$N" --format jsonl --only-orders --seed 9 >"$W/orders.jsonl"
# The rows the sink writes, as COPY text (what psql \copy gets).
$PY - "$W/orders.jsonl" >"$W/orders.copy" <<'PY'
import json, sys
cols = ["order_id", "platform", "merchant_id", "product_id", "product_name", "quantity",
        "price", "currency", "order_status", "payment_method", "shipping_city",
        "customer_phone_hash", "customer_email_hash", "customer_name_hash", "timestamp"]
out = sys.stdout
for n, line in enumerate(open(sys.argv[1])):
    o = json.loads(line)
    vals = ["\\N" if o.get(c) is None else str(o[c]) for c in cols]
    out.write("\t".join(vals + ["sink.snowflake.orders", "-1", str(n + 1)]) + "\n")
PY
COPY_COLS="order_id, platform, merchant_id, product_id, product_name, quantity, price, currency, order_status, payment_method, shipping_city, customer_phone_hash, customer_email_hash, customer_name_hash, event_time, kafka_topic, kafka_partition, kafka_offset"
declare -A R

# ---- 1. the ceiling ---------------------------------------------------------
copy_into() { # TABLE LIKE-CLAUSE
  local t0 t1 i
  local -a times=()
  for ((i = 0; i < REPS; i++)); do
    q "DROP TABLE IF EXISTS $1; CREATE TABLE $1 (LIKE orders $2)"
    t0="$(now)"
    "$PSQL" -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "\\copy $1 ($COPY_COLS) FROM '$W/orders.copy'"
    t1="$(now)"
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  done
  [[ "$(q "SELECT count(*) FROM $1")" == "$N" ]] || die "\\copy into $1 lost rows"
  q "DROP TABLE $1"
  printf '%s\n' "${times[@]}" | median
}
if want copy; then
  R[copy_plain]="$(copy_into bench_plain "INCLUDING DEFAULTS")"
  R[copy_keys]="$(copy_into bench_keys "INCLUDING ALL")"
  say "psql \\copy: plain ${R[copy_plain]} s, with the orders keys and indexes ${R[copy_keys]} s"
fi

# ---- 2a. --stdio ------------------------------------------------------------
if want stdio; then
  times=() rss=() cpu=()
  for ((i = 0; i < REPS; i++)); do
    reset
    t0="$(now)"
    /usr/bin/time -f "%M %U %S" -o "$W/rss.stdio" "$SINK" --stdio --topic sink.snowflake.orders \
      --dlq-file "$W/dlq.jsonl" --metrics-addr "" <"$W/orders.jsonl" 2>>"$W/stdio.log" ||
      die "--stdio failed (see $W/stdio.log)"
    t1="$(now)"
    [[ "$(q "SELECT count(*) FROM orders")" == "$N" ]] || die "--stdio: rows missing"
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    rss+=("$(tail -n 1 "$W/rss.stdio" | cut -d' ' -f1)")
    cpu+=("$(tail -n 1 "$W/rss.stdio" | awk '{print $2 + $3}')")
  done
  R[stdio]="$(printf '%s\n' "${times[@]}" | median)"
  R[stdio_rss]="$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)"
  R[stdio_cpu]="$(printf '%s\n' "${cpu[@]}" | median)"
  say "--stdio: ${times[*]} s; peak RSS ${R[stdio_rss]} KB"
fi

# ---- 2b/3. over the dev broker ----------------------------------------------
if want e2e || want python; then
  start_dev_broker "$W/stack" || die "dev broker did not start"
  say "producing $N records over $(tr , '\n' <<<"$TOPICS" | wc -l) topics"
  $PY - "$W/orders.jsonl" "$TOPICS" >"$W/orders.tsv" <<'PY'
import json, sys
topics = sys.argv[2].split(",")
for n, line in enumerate(open(sys.argv[1])):
    key = json.loads(line)["order_id"]
    sys.stdout.write("%s\t%s\t%s" % (topics[n % len(topics)], key, line))
PY
  $PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$W/orders.tsv" 2>>"$W/produce.log"
  have="$($PY "$TOOLS/kafka_tool.py" count -b "$KAFKA_BROKERS" --topics "$TOPICS")"
  [[ "$have" == "$N" ]] || die "the dev broker holds $have of $N records"
fi
# e2e_run GROUP LABEL: the sink over the pre-loaded topics with a fresh group.
e2e_run() {
  local G="$1" label="$2" t0 t1 first="" first_kept=0 kept pid hwm
  reset
  t0="$(now)"
  INPUT_TOPICS="$TOPICS" SINK_TABLES="$ROUTES" KAFKA_GROUP_ID=$G METRICS_ADDR="" \
    "$SINK" "${SINK_X[@]}" 2>>"$W/e2e.log" &
  pid=$!
  while :; do
    kept="$(q "SELECT coalesce(sum(next_offset), 0) FROM sink_offsets WHERE sink = '$G'")"
    [[ -z "$first" && "$kept" -gt 0 ]] && { first="$(now)"; first_kept="$kept"; }
    ((kept >= N)) && break
    kill -0 "$pid" 2>/dev/null || die "the sink exited (see $W/e2e.log)"
    sleep 0.05
  done
  t1="$(now)"
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")" # peak RSS, KB
  # CPU seconds the sink used (user + system), which other load on a shared
  # machine disturbs far less than wall time.
  R[e2e${label}_cpu]="$(awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); split($0, f, " "); print (f[12] + f[13]) / hz}' "/proc/$pid/stat")"
  kill -TERM "$pid"
  wait "$pid" || true
  [[ "$(q "SELECT count(*) FROM orders")" == "$N" ]] || die "e2e: rows missing"
  R[e2e$label]="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
  R[e2e${label}_steady]="$(awk -v a="$first" -v b="$t1" -v n="$N" -v k="$first_kept" 'BEGIN {print (b - a) * n / (n - k)}')"
  R[e2e${label}_rss]="$hwm"
  say "end to end$label: ${R[e2e$label]} s from start, ${R[e2e${label}_steady]} s steady; CPU ${R[e2e${label}_cpu]} s; peak RSS $hwm KB"
}
# peer_run GROUP LABEL COUNT
peer_run() {
  reset
  /usr/bin/time -f %M -o "$W/rss.py" $PY "$ROOT/tests/bench/snowflake_peer.py" -b "$KAFKA_BROKERS" \
    --group "$1" --topics "$TOPICS" --dsn "$DATABASE_URL" --count "$3" >"$W/peer.json" \
    2>>"$W/peer.log" || die "the Python peer failed (see $W/peer.log)"
  [[ "$(q "SELECT count(*) FROM orders")" == "$3" ]] || die "peer: rows missing"
  R[py$2]="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$W/peer.json")"
  R[py$2_steady]="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["steady_seconds"])' "$W/peer.json")"
  R[py$2_n]="$3"
  R[py$2_rss]="$(tail -n 1 "$W/rss.py")"
  say "Python peer$2: $3 messages, ${R[py$2]} s from start, ${R[py$2_steady]} s steady"
}
ROUTES="$(tr ',' '\n' <<<"$TOPICS" | sed 's/$/=orders/' | paste -sd,)"
if want e2e; then
  e2e_run bench-sink ""
fi
if want python; then
  peer_run bench-peer "" "$N"
fi

# ---- 4. the same two with durable commits -----------------------------------
# The local stack runs PostgreSQL with fsync=off and synchronous_commit=off
# (throwaway data). A warehouse runs with both on, which costs a WAL flush per
# commit: the sink pays it once per batch, the peer once per message. The peer
# then runs on BENCH_DURABLE_PEER_N messages (its rate does not depend on N).
if want durable; then
  PEER_N="${BENCH_DURABLE_PEER_N:-20000}"
  pg_user="$(_pg_user)"
  pg_port="${DATABASE_URL##*:}"
  pg_port="${pg_port%%/*}"
  _as_pg "$pg_user" "$SENSORY_PG_BIN/pg_ctl" -D "$W/stack/pg/data" -w -m fast stop >/dev/null
  rm -f "$W/stack/pids/postgres.pid"
  _as_pg "$pg_user" "$SENSORY_PG_BIN/pg_ctl" -D "$W/stack/pg/data" -l "$W/stack/logs/postgres.log" \
    -w -t 30 -o "-c listen_addresses=127.0.0.1 -p $pg_port -k '$W/stack/pg/sock'" start >/dev/null
  record_pid "$W/stack" postgres "$(head -n 1 "$W/stack/pg/data/postmaster.pid")"
  [[ "$(q "SHOW fsync") $(q "SHOW synchronous_commit")" == "on on" ]] || die "durable settings not in effect"
  want e2e && e2e_run bench-sink-durable _durable
  want python && peer_run bench-peer-durable _durable "$PEER_N"
fi

# ---- the table --------------------------------------------------------------
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f %%", 100 * b / a}'; }
xfold() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f×", b / a}'; }
verdict() { awk -v x="$1" -v t="$2" 'BEGIN {print (x >= t) ? "met" : "missed"}'; }
echo
echo "snowflake-sink, $N orders into PostgreSQL 15 ($(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average before $LOAD_BEFORE, after $LOAD_AFTER)"
echo
echo "| way | seconds | rows/s | peak RSS | sink CPU |"
echo "|---|---:|---:|---:|---:|"
[[ -n "${R[copy_plain]:-}" ]] && echo "| psql \\copy, plain table (the ceiling) | ${R[copy_plain]} | $(rate "$N" "${R[copy_plain]}") | | |"
[[ -n "${R[copy_keys]:-}" ]] && echo "| psql \\copy, a table with the orders keys and indexes | ${R[copy_keys]} | $(rate "$N" "${R[copy_keys]}") | | |"
[[ -n "${R[stdio]:-}" ]] && echo "| snowflake-sink --stdio | ${R[stdio]} | $(rate "$N" "${R[stdio]}") | $((R[stdio_rss] / 1024)) MiB | ${R[stdio_cpu]} s |"
[[ -n "${R[e2e]:-}" ]] && echo "| snowflake-sink over the dev broker (from start / steady) | ${R[e2e]} / ${R[e2e_steady]} | $(rate "$N" "${R[e2e]}") / $(rate "$N" "${R[e2e_steady]}") | $((R[e2e_rss] / 1024)) MiB | ${R[e2e_cpu]} s |"
[[ -n "${R[py]:-}" ]] && echo "| Python peer (from start / steady) | ${R[py]} / ${R[py_steady]} | $(rate "${R[py_n]}" "${R[py]}") / $(rate "${R[py_n]}" "${R[py_steady]}") | $((R[py_rss] / 1024)) MiB | |"
[[ -n "${R[e2e_durable]:-}" ]] && echo "| snowflake-sink, durable commits (from start / steady) | ${R[e2e_durable]} / ${R[e2e_durable_steady]} | $(rate "$N" "${R[e2e_durable]}") / $(rate "$N" "${R[e2e_durable_steady]}") | $((R[e2e_durable_rss] / 1024)) MiB | ${R[e2e_durable_cpu]} s |"
[[ -n "${R[py_durable]:-}" ]] && echo "| Python peer, durable commits, ${R[py_durable_n]} messages (from start / steady) | ${R[py_durable]} / ${R[py_durable_steady]} | $(rate "${R[py_durable_n]}" "${R[py_durable]}") / $(rate "${R[py_durable_n]}" "${R[py_durable_steady]}") | $((R[py_durable_rss] / 1024)) MiB | |"
if [[ -n "${R[e2e]:-}" && -n "${R[copy_plain]:-}" ]]; then
  echo
  echo "- end to end (steady) vs psql \\copy into a plain table: $(ratio "${R[e2e_steady]}" "${R[copy_plain]}") (target ≥ 50 %: $(verdict "$(awk -v a="${R[e2e_steady]}" -v b="${R[copy_plain]}" 'BEGIN {print b / a}')" 0.5)); vs \\copy into the keyed table: $(ratio "${R[e2e_steady]}" "${R[copy_keys]}")"
fi
# peer_ratio LABEL: the sink's rows/s over the peer's (steady), each at its own N.
peer_ratio() {
  awk -v n="$N" -v s="${R[e2e$1_steady]}" -v pn="${R[py$1_n]}" -v ps="${R[py$1_steady]}" \
    'BEGIN {printf "%.1f", (n / s) / (pn / ps)}'
}
if [[ -n "${R[e2e]:-}" && -n "${R[py]:-}" ]]; then
  x="$(peer_ratio "")"
  echo "- end to end vs the Python peer (local stack settings): ${x}× steady (target ≥ 30×: $(verdict "$x" 30))"
fi
if [[ -n "${R[e2e_durable]:-}" && -n "${R[py_durable]:-}" ]]; then
  x="$(peer_ratio _durable)"
  echo "- end to end vs the Python peer (durable commits): ${x}× steady (target ≥ 30×: $(verdict "$x" 30))"
fi
[[ -n "${R[e2e_rss]:-}" ]] && echo "- peak RSS end to end: $((R[e2e_rss] / 1024)) MiB (target < 64 MiB: $(verdict $((65536 - R[e2e_rss])) 0))"
exit 0
