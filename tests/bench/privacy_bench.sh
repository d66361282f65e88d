#!/usr/bin/env bash
# tests/bench/privacy_bench.sh — privacy-shield performance, measured in one run
# on this machine (issue 2, "Performance"). A benchmark, not a test: it is not
# registered with ctest and exits 0 unless something broke; PASS/MISS against
# the targets is informational.
#
#   tests/bench/privacy_bench.sh            # ~3-6 minutes
#
# Measures:
#  1. privacy-shield --stdio on one core (taskset -c 0), input from a file,
#     output to /dev/null: market orders (--topic source.market.shopify), social
#     posts (--topic source.social.tiktok) and the combined figure (all records
#     / summed time); median of BENCH_REPS runs; peak RSS (/usr/bin/time %M).
#  2. privacy-shield over the dev broker end to end: BENCH_N records (a mix of
#     posts and orders over the 4 source topics) are produced FIRST, then the
#     service starts with a fresh consumer group; timed from its start until
#     BENCH_N records are on clean.social + sink.snowflake.orders (end offsets
#     polled every 20 ms). It also writes BENCH_N audit.privacy events.
#  3. The floor: kcat in the same consumer-group mode (-G, fresh group) reading
#     the same pre-loaded source topics and re-producing every message's key
#     and bytes unchanged to the same two output topics (one consumer|producer
#     pipeline for social, one for market), timed the same way.
#  4. The Python peer (tests/bench/privacy_peer.py, python3-confluent-kafka) doing
#     the same privacy work, once with python3-jsonschema validation and once
#     with a hand-written check.
#  5. Ratios and peak RSS of each, then a markdown table.
#  6. callgrind: instructions per message of privacy-shield --stdio over the
#     first BENCH_CG_N records of the same generated market and social inputs,
#     start-up included (the whole process), and the start-up alone (empty
#     input). Instruction counts do not depend on the load of the machine.
# "from start" includes the consumer-group join (~3 s on the dev broker for all
# three); "steady" is BENCH_N / (time of the N-th output - time of the first),
# the processing rate without the join.
#
# Environment:
#   BENCH_N=160000        records end to end. The dev broker (librdkafka's mock)
#                         keeps only ~5 MiB per partition and silently drops
#                         older data: 160,000 mixed records put ~4 MiB on each
#                         market partition; the script checks nothing was
#                         dropped before timing.
#   BENCH_STDIO_N=100000  records per --stdio input file (market and social)
#   BENCH_REPS=5          --stdio repetitions (median)
#   BENCH_E2E_REPS=3      end-to-end repetitions per contender (median)
#   BENCH_PARTS="stdio shield kcat python callgrind"   what to run
#   BENCH_CG_N=5000       records per callgrind run (market and social)
#   BENCH_PEER_VALIDATORS="jsonschema hand"
#   BENCH_SHIELD_X="-X k=v ..."  extra librdkafka settings for privacy-shield e2e
#   BENCH_KEEP=1          keep the work directory (inputs, logs, *.trace: seconds
#                         and outputs per 20 ms poll)
#   SENSORY_BIN=build/bin  where privacy-shield and dev-broker are (built with
#                         cmake Release if missing)
# Only 127.0.0.1 is used; only processes started here are stopped (by PID).
set -euo pipefail
bash "$(dirname "${BASH_SOURCE[0]}")/../../deploy/deps.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SENSORY_SOURCE_DIR="$ROOT"
export SENSORY_BIN="${SENSORY_BIN:-$ROOT/build/bin}"
# shellcheck source=deploy/lib.sh
source "$ROOT/deploy/lib.sh"

PY=/usr/bin/python3 # Debian's Python with confluent_kafka and jsonschema
TOOLS="$ROOT/tests/tools"
BENCH="$ROOT/tests/bench"
N="${BENCH_N:-160000}"
STDIO_N="${BENCH_STDIO_N:-100000}"
REPS="${BENCH_REPS:-5}"
E2E_REPS="${BENCH_E2E_REPS:-3}"
PARTS="${BENCH_PARTS:-stdio shield kcat python callgrind}"
CG_N="${BENCH_CG_N:-5000}"
VALIDATORS="${BENCH_PEER_VALIDATORS:-jsonschema hand}"
read -r -a SHIELD_X <<<"${BENCH_SHIELD_X:-}"
OUT_TOPICS=clean.social,sink.snowflake.orders
SRC_TOPICS=source.social.tiktok,source.social.facebook,source.market.shopify,source.market.daraz

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
want() { [[ " $PARTS " == *" $1 "* ]]; }

W="$(mktemp -d /tmp/privacy-bench.XXXXXX)"
STACK="" # the current dev-broker directory, if one is running
cleanup() {
  local rc=$?
  [[ -n "$STACK" ]] && stop_all "$STACK" 10 || true
  if ((rc != 0)); then
    say "failed (exit $rc); logs kept in $W"
  elif [[ -n "${BENCH_KEEP:-}" ]]; then
    say "work directory kept: $W"
  else
    rm -rf "$W"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want callgrind && ! command -v valgrind >/dev/null && die "valgrind is missing (apt-get install valgrind)"
for cmd in taskset /usr/bin/time kcat; do
  command -v "$cmd" >/dev/null || die "$cmd is missing (apt-get install util-linux time kcat)"
done
$PY -c 'import confluent_kafka, jsonschema' 2>/dev/null ||
  die "/usr/bin/python3 lacks confluent_kafka or jsonschema (apt-get install python3-confluent-kafka python3-jsonschema)"

if [[ ! -x "$SENSORY_BIN/privacy-shield" || ! -x "$SENSORY_BIN/dev-broker" ]]; then
  say "building (Release) into $ROOT/build"
  (cd "$ROOT" && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build build -j2 >/dev/null) || die "build failed"
  SENSORY_BIN="$ROOT/build/bin"
fi
# A private copy: the whole run measures one build even if build/ is rebuilt meanwhile.
BUILT="$(date -u -r "$SENSORY_BIN/privacy-shield" '+%Y-%m-%d %H:%M:%S')"
cp "$SENSORY_BIN/privacy-shield" "$W/privacy-shield"
SHIELD="$W/privacy-shield"

# Keys as a Kubernetes Secret would mount them.
head -c 32 /dev/urandom >"$W/dlq.key"
printf 'bench-hmac-key-0123456789abcdef\n' >"$W/hmac.key"
export SCHEMAS_DIR="$ROOT/schemas" PRIVACY_HMAC_KEY_FILE="$W/hmac.key" DLQ_KEY_FILE="$W/dlq.key"
export LOG_LEVEL=warn

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
now() { date +%s.%N; }
fmt() { awk -v x="$1" 'BEGIN {printf "%\047.0f", x}'; } # 123,456

declare -A R # results

# ---- 1. --stdio on one core -------------------------------------------------
stdio_one() { # NAME TOPIC FILE
  local name="$1" topic="$2" file="$3" i t0 t1 lines bytes
  local -a times=() rss=()
  lines="$(wc -l <"$file")"
  bytes="$(stat -c %s "$file")"
  for ((i = 0; i < REPS; i++)); do
    t0="$(now)"
    taskset -c 0 /usr/bin/time -f %M -o "$W/rss.$name" \
      "$SHIELD" --stdio --topic "$topic" --dlq-file "$W/dlq.$name.jsonl" \
      --metrics-addr "" <"$file" >/dev/null 2>>"$W/stdio.log" || die "privacy-shield --stdio failed (see $W/stdio.log)"
    t1="$(now)"
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    rss+=("$(tail -n 1 "$W/rss.$name")")
  done
  [[ ! -s "$W/dlq.$name.jsonl" ]] || die "$name: unexpected dead letters in $W/dlq.$name.jsonl"
  R[stdio_${name}_s]="$(printf '%s\n' "${times[@]}" | median)"
  R[stdio_${name}_n]="$lines"
  R[stdio_${name}_bytes]="$bytes"
  R[stdio_${name}_rss]="$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)"
  R[stdio_${name}_all]="${times[*]}"
  say "stdio $name: $lines msgs, runs (s): ${times[*]}; median ${R[stdio_${name}_s]} s"
}

if want stdio; then
  say "generating $STDIO_N market orders and $STDIO_N social posts"
  $PY "$TOOLS/gen_records.py" --kind market --count "$STDIO_N" --seed 21 >"$W/market.jsonl"
  $PY "$TOOLS/gen_records.py" --kind social --count "$STDIO_N" --seed 22 >"$W/social.jsonl"
  stdio_one market source.market.shopify "$W/market.jsonl"
  stdio_one social source.social.tiktok "$W/social.jsonl"
fi

# ---- 6. callgrind instruction counts ------------------------------------------
cg_one() { # NAME TOPIC FILE: total instructions of one --stdio run
  valgrind --tool=callgrind --callgrind-out-file="$W/cg.$1.out" \
    "$SHIELD" --stdio --topic "$2" --dlq-file "$W/dlq.cg.$1.jsonl" --metrics-addr "" \
    <"$3" >/dev/null 2>>"$W/cg.log" || die "privacy-shield under callgrind failed (see $W/cg.log)"
  awk '/^(summary|totals):/ {print $2; exit}' "$W/cg.$1.out"
}
if want callgrind; then
  say "callgrind: $CG_N market orders and $CG_N social posts"
  $PY "$TOOLS/gen_records.py" --kind market --count "$CG_N" --seed 21 >"$W/cg.market.jsonl"
  $PY "$TOOLS/gen_records.py" --kind social --count "$CG_N" --seed 22 >"$W/cg.social.jsonl"
  : >"$W/cg.empty.jsonl"
  R[cg_start]="$(cg_one empty source.market.shopify "$W/cg.empty.jsonl")"
  R[cg_market]="$(cg_one market source.market.shopify "$W/cg.market.jsonl")"
  R[cg_social]="$(cg_one social source.social.tiktok "$W/cg.social.jsonl")"
  for k in market social; do
    [[ ! -s "$W/dlq.cg.$k.jsonl" ]] || die "callgrind $k: unexpected dead letters"
  done
  say "callgrind: start-up ${R[cg_start]}, market ${R[cg_market]}, social ${R[cg_social]} instructions"
fi

# ---- 2-4. end to end over the dev broker --------------------------------------
if want shield || want kcat || want python; then
  say "generating $N mixed records for the source topics"
  $PY "$TOOLS/gen_records.py" --kind mix --count "$N" --seed 23 --format topic >"$W/e2e.tsv"
  R[e2e_bytes]="$(cut -f3 "$W/e2e.tsv" | wc -c)"
fi

# e2e NAME MODE CMD...: fresh dev broker, pre-load, run CMD under the timer.
# MODE max: CMD execs one process (SIGTERM to it; its peak RSS); MODE sum: CMD
# is a pipeline (SIGTERM to its process group; the sum of its peak RSSes).
# Leaves $W/NAME.json (see e2e_timer.py) and logs in $W/NAME/.
e2e() {
  local name="$1" gk="$2" rep
  shift 2
  local -a dones=() firsts=() rsss=() cpus=()
  for ((rep = 0; rep < E2E_REPS; rep++)); do
    STACK="$W/$name.$rep"
    start_dev_broker "$STACK" || die "dev broker did not start"
    $PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$W/e2e.tsv" 2>>"$STACK/logs/produce.log" ||
      die "pre-load failed (see $STACK/logs/produce.log)"
    $PY "$BENCH/e2e_timer.py" check -b "$KAFKA_BROKERS" --topics "$SRC_TOPICS" --expect "$N" ||
      die "the dev broker dropped pre-loaded data (per-partition cap): lower BENCH_N"
    BENCH_PORT="$(free_port)" # privacy-shield's /metrics, as deployed
    export BENCH_GROUP="bench-$name-$rep-$$" BENCH_STACK="$STACK" BENCH_PORT
    local -a gkf=()
    [[ "$gk" == sum ]] && gkf=(--group-kill)
    $PY "$BENCH/e2e_timer.py" run -b "$KAFKA_BROKERS" --topics "$OUT_TOPICS" --expect "$N" \
      --timeout 240 --out "$W/$name.$rep.json" --trace "$W/$name.$rep.trace" "${gkf[@]}" -- "$@" 2>>"$STACK/logs/timer.log" ||
      die "$name: $N outputs did not arrive (see $STACK/logs)"
    stop_all "$STACK" 10
    STACK=""
    dones+=("$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["done_s"])' "$W/$name.$rep.json")")
    firsts+=("$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["first_s"])' "$W/$name.$rep.json")")
    rsss+=("$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["rss_'"$gk"'_kb"])' "$W/$name.$rep.json")")
    cpus+=("$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["cpu_s"])' "$W/$name.$rep.json")")
    local ex
    ex="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["exit"])' "$W/$name.$rep.json")"
    [[ "$ex" == 0 ]] || say "note: $name exited with status $ex after SIGTERM"
  done
  R[${name}_done]="$(printf '%s\n' "${dones[@]}" | median)"
  R[${name}_first]="$(printf '%s\n' "${firsts[@]}" | median)"
  R[${name}_rss]="$(printf '%s\n' "${rsss[@]}" | sort -n | tail -n 1)"
  R[${name}_cpu]="$(printf '%s\n' "${cpus[@]}" | median)"
  say "$name: first output ${R[${name}_first]} s, $N outputs at ${R[${name}_done]} s (runs: ${dones[*]}), peak RSS ${R[${name}_rss]} KiB"
}

run_shield() {
  exec "$SHIELD" --kafka-brokers "$KAFKA_BROKERS" --kafka-group-id "$BENCH_GROUP" \
    --metrics-addr "127.0.0.1:$BENCH_PORT" -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
    "${SHIELD_X[@]}" >"$BENCH_STACK/logs/privacy-shield.out" 2>"$BENCH_STACK/logs/privacy-shield.log"
}
run_kcat() { # social and market pipelines: consumer group -> unchanged key and value -> producer
  local log="$BENCH_STACK/logs/kcat.log"
  kcat -C -q -b "$KAFKA_BROKERS" -G "$BENCH_GROUP-s" -X session.timeout.ms=6000 -o beginning -e \
    -f '%k\t%s\n' source.social.tiktok source.social.facebook 2>>"$log" |
    kcat -P -q -b "$KAFKA_BROKERS" -t clean.social -K $'\t' 2>>"$log" &
  kcat -C -q -b "$KAFKA_BROKERS" -G "$BENCH_GROUP-m" -X session.timeout.ms=6000 -o beginning -e \
    -f '%k\t%s\n' source.market.shopify source.market.daraz 2>>"$log" |
    kcat -P -q -b "$KAFKA_BROKERS" -t sink.snowflake.orders -K $'\t' 2>>"$log" &
  wait
}
run_python() { # VALIDATOR
  exec $PY "$BENCH/privacy_peer.py" -b "$KAFKA_BROKERS" --group "$BENCH_GROUP" \
    --hmac-key-file "$PRIVACY_HMAC_KEY_FILE" --schemas "$SCHEMAS_DIR" --validator "$1" \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 --idle 30 \
    >"$BENCH_STACK/logs/peer.out" 2>"$BENCH_STACK/logs/peer.log"
}
export -f run_shield run_kcat run_python
export SHIELD PY BENCH
export BENCH_SHIELD_X="${BENCH_SHIELD_X:-}"
# run_shield sees SHIELD_X through BENCH_SHIELD_X (arrays do not export).
run_shield_cmd='read -r -a SHIELD_X <<<"$BENCH_SHIELD_X"; run_shield'

want shield && e2e shield max bash -c "$run_shield_cmd"
want kcat && e2e kcat sum bash -c run_kcat
if want python; then
  for v in $VALIDATORS; do e2e "python_$v" max bash -c "run_python $v"; done
fi

# ---- 5. report ------------------------------------------------------------------
rate() { awk -v n="$1" -v s="$2" 'BEGIN {if (s > 0) printf "%.0f", n / s; else print 0}'; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN {if (s > 0) printf "%.1f", b / s / 1e6; else print 0}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {ok = (op == ">=") ? a >= b : a < b; print ok ? "PASS" : "MISS"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

echo
rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "### privacy-shield benchmark ($(date -u +%Y-%m-%d), commit $rev, binary built $BUILT UTC, $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo
if want stdio; then
  echo "**--stdio, one core (taskset -c 0), file in, /dev/null out; median of $REPS runs**"
  echo
  echo "| input | messages | median s | msg/s | MB/s | peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|"
  for k in market social; do
    echo "| $k (${k/market/source.market.shopify}) | $(fmt "${R[stdio_${k}_n]}") | ${R[stdio_${k}_s]} | $(fmt "$(rate "${R[stdio_${k}_n]}" "${R[stdio_${k}_s]}")") | $(mbs "${R[stdio_${k}_bytes]}" "${R[stdio_${k}_s]}") | $(mib "${R[stdio_${k}_rss]}") MiB |" |
      sed 's/(social)/(source.social.tiktok)/'
  done
  R[stdio_all_n]=$((R[stdio_market_n] + R[stdio_social_n]))
  R[stdio_all_s]="$(awk -v a="${R[stdio_market_s]}" -v b="${R[stdio_social_s]}" 'BEGIN {print a + b}')"
  R[stdio_all_rate]="$(rate "${R[stdio_all_n]}" "${R[stdio_all_s]}")"
  echo "| combined | $(fmt "${R[stdio_all_n]}") | ${R[stdio_all_s]} | $(fmt "${R[stdio_all_rate]}") | $(mbs $((R[stdio_market_bytes] + R[stdio_social_bytes])) "${R[stdio_all_s]}") | $(mib "$(printf '%s\n' "${R[stdio_market_rss]}" "${R[stdio_social_rss]}" | sort -n | tail -n 1)") MiB |"
  echo
fi
if want callgrind; then
  echo "**callgrind, --stdio, $(fmt "$CG_N") records per input, file in, /dev/null out (instruction counts; start-up included)**"
  echo
  echo "| input | instructions per message | same without start-up | start-up (empty input) |"
  echo "|---|---:|---:|---:|"
  for k in market social; do
    echo "| $k | $(fmt "$((R[cg_$k] / CG_N))") | $(fmt "$(((R[cg_$k] - R[cg_start]) / CG_N))") | $(fmt "${R[cg_start]}") |"
  done
  echo
fi
declare -A LABEL=([shield]="privacy-shield" [kcat]="kcat passthrough (2 consumer→producer pipelines)"
  [python_jsonschema]="Python peer, python3-jsonschema" [python_hand]="Python peer, hand-written validation")
rows=()
for k in shield kcat python_jsonschema python_hand; do [[ -n "${R[${k}_done]:-}" ]] && rows+=("$k"); done
if ((${#rows[@]})); then
  echo "**End to end over the dev broker: $(fmt "$N") pre-loaded records (mixed, 4 source topics), fresh consumer group; until $(fmt "$N") are on clean.social + sink.snowflake.orders**"
  echo
  echo "| contender | first output s | all out s | msg/s from start | MB/s from start | msg/s steady | CPU s | peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for k in "${rows[@]}"; do
    R[${k}_rate]="$(rate "$N" "${R[${k}_done]}")"
    R[${k}_steady]="$(rate "$N" "$(awk -v a="${R[${k}_done]}" -v b="${R[${k}_first]}" 'BEGIN {print a - b}')")"
    printf '| %s | %.2f | %.2f | %s | %s | %s | %.1f | %s MiB |\n' "${LABEL[$k]}" "${R[${k}_first]}" "${R[${k}_done]}" \
      "$(fmt "${R[${k}_rate]}")" "$(mbs "${R[e2e_bytes]}" "${R[${k}_done]}")" "$(fmt "${R[${k}_steady]}")" "${R[${k}_cpu]}" "$(mib "${R[${k}_rss]}")"
  done
  echo
  echo "CPU s: user+system seconds of the contender's processes until the last output (the dev broker and the timer not counted; 2 CPUs shared with the broker)."
  echo "privacy-shield also writes $(fmt "$N") audit.privacy events (2 outputs per input, idempotent producer); kcat writes 1 (kcat's RSS is the sum of its 4 processes)."
  echo
fi
echo "**Targets (issue 2)**"
echo
echo "| target | measured | verdict |"
echo "|---|---:|---|"
if want stdio; then
  echo "| --stdio ≥ 150,000 msg/s on one core (combined mix) | $(fmt "${R[stdio_all_rate]}") msg/s | $(verdict "${R[stdio_all_rate]}" ">=" 150000) |"
fi
if want callgrind; then
  declare -A UNIT=([market]=order [social]=post)
  for k in market social; do
    echo "| callgrind ≤ 20,000 instructions per ${UNIT[$k]} (issue 7; start-up included) | $(fmt "$((R[cg_$k] / CG_N))") | $(verdict "$((R[cg_$k] / CG_N))" "<" 20001) |"
  done
fi
if [[ -n "${R[shield_done]:-}" && -n "${R[kcat_done]:-}" ]]; then
  r1="$(ratio "${R[shield_rate]}" "${R[kcat_rate]}")"
  r2="$(ratio "${R[shield_steady]}" "${R[kcat_steady]}")"
  echo "| e2e ≥ 50 % of kcat passthrough (from start) | $(awk -v r="$r1" 'BEGIN {printf "%.0f %%", r * 100}') | $(verdict "$r1" ">=" 0.5) |"
  echo "| same, steady rate (without group join) | $(awk -v r="$r2" 'BEGIN {printf "%.0f %%", r * 100}') | $(verdict "$r2" ">=" 0.5) |"
fi
for v in jsonschema hand; do
  if [[ -n "${R[shield_done]:-}" && -n "${R[python_${v}_done]:-}" ]]; then
    r1="$(ratio "${R[shield_rate]}" "${R[python_${v}_rate]}")"
    r2="$(ratio "${R[shield_steady]}" "${R[python_${v}_steady]}")"
    echo "| e2e ≥ 5× Python peer ($v; from start / steady) | ${r1}× / ${r2}× | $(verdict "$r1" ">=" 5) / $(verdict "$r2" ">=" 5) |"
  fi
done
rssmax=0
for k in stdio_market stdio_social shield; do
  [[ -n "${R[${k}_rss]:-}" ]] && ((R[${k}_rss] > rssmax)) && rssmax="${R[${k}_rss]}"
done
((rssmax > 0)) && echo "| privacy-shield peak RSS < 30 MB | $(mib "$rssmax") MiB | $(verdict "$rssmax" "<" $((30 * 1000 * 1000 / 1024))) |"
for k in kcat python_jsonschema python_hand; do
  [[ -n "${R[${k}_rss]:-}" ]] && echo "| (peer) ${LABEL[$k]} peak RSS | $(mib "${R[${k}_rss]}") MiB | - |"
done
echo
exit 0
