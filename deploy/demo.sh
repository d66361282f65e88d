#!/usr/bin/env bash
# deploy/demo.sh — run the pipeline on the embedded local stack with the
# bundled sample data, then say what happened.
#
#   deploy/demo.sh [DIR]     state under DIR (default ./.stack); stopped at the end
#   KEEP=1 deploy/demo.sh    leave the stack and services running afterwards
#
# Installs missing Debian packages, builds (Release) into ./build, starts the
# dev Kafka broker, Redis and PostgreSQL on 127.0.0.1, runs every streaming
# service that is built over them, feeds deploy/sample/source-records.tsv
# (social posts and marketplace orders, a few of them deliberately broken) into
# the source topics, waits for the stream to settle and prints messages per
# topic, the dead letters with their reasons, and where the results are.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dir="${1:-$root/.stack}"
mkdir -p "$dir" && dir="$(cd "$dir" && pwd)"

say() { printf '\n== %s\n' "$*"; }

say "dependencies"
bash deploy/deps.sh
say "build (Release, ./build)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >"$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; exit 1; }
cmake --build build -j "$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
test "${PIPESTATUS[0]}" -eq 0

export SENSORY_SOURCE_DIR="$root" SENSORY_BIN="$root/build/bin"
# shellcheck source=deploy/lib.sh
source "$root/deploy/lib.sh"

say "local stack in $dir"
bash deploy/stack.sh down "$dir" >/dev/null 2>&1 || true
bash deploy/stack.sh up "$dir"
# shellcheck disable=SC1091
source "$dir/env"

# Keys as Kubernetes Secrets would mount them: made once per stack directory.
mkdir -p "$dir/keys"
[[ -s "$dir/keys/hmac.key" ]] || head -c 32 /dev/urandom | od -An -vtx1 | tr -d ' \n' >"$dir/keys/hmac.key"
[[ -s "$dir/keys/dlq.key" ]] || head -c 32 /dev/urandom | od -An -vtx1 | tr -d ' \n' >"$dir/keys/dlq.key"
chmod 600 "$dir/keys/"*.key
export PRIVACY_HMAC_KEY_FILE="$dir/keys/hmac.key" DLQ_KEY_FILE="$dir/keys/dlq.key"
export SCHEMAS_DIR="$root/schemas" REDIS_URL DATABASE_URL KAFKA_BROKERS
# The embedder needs all-MiniLM-L6-v2 (config.json, vocab.txt, model.safetensors).
# Without MODEL_DIR the demo uses the small generated test model, so the vectors
# are real computations of a random network, not meaningful embeddings.
if [[ -z "${MODEL_DIR:-}" ]]; then
  export MODEL_DIR="$root/tests/fixtures/embedding/tiny" MODEL_ID="sensory-tiny-test-model"
  model_note="small generated test model (set MODEL_DIR to an all-MiniLM-L6-v2 directory)"
else
  model_note="$MODEL_DIR"
fi

services=(privacy-shield enricher embedder weaviate-sink snowflake-sink risk-svc)
cleanup() {
  if [[ -z "${KEEP:-}" ]]; then
    say "stopping (KEEP=1 leaves everything running)"
    # Services first, so they drain and commit while the broker is up.
    local name pid
    for name in "${services[@]}"; do
      if pid="$(recorded_pid "$dir" "$name")"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
      fi
      rm -f "$dir/pids/$name.pid"
    done
    bash "$root/deploy/stack.sh" down "$dir" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# start_service NAME ARGS...: a streaming service in the background, recorded
# in the stack directory so "stack.sh down" stops it too.
declare -A metrics_port=()
start_service() {
  local name="$1" port
  shift
  [[ -x "$SENSORY_BIN/$name" ]] || return 0
  port="$(free_port)"
  metrics_port[$name]="$port"
  METRICS_ADDR="127.0.0.1:$port" "$SENSORY_BIN/$name" "$@" \
    >"$dir/logs/$name.out" 2>"$dir/logs/$name.log" &
  record_pid "$dir" "$name" $!
  printf '  %-16s pid %-7s metrics http://127.0.0.1:%s/metrics\n' "$name" "$!" "$port"
}

say "product catalogue into Redis (the enricher's context)"
"$SENSORY_BIN/enricher" load-products deploy/sample/products.csv 2>"$dir/logs/load-products.log" ||
  { tail -n 3 "$dir/logs/load-products.log"; exit 1; }

say "services (embedder model: $model_note)"
for name in "${services[@]}"; do start_service "$name"; done

say "sample data: deploy/sample/source-records.tsv"
n_in="$(grep -c . deploy/sample/source-records.tsv)"
/usr/bin/python3 tests/tools/kafka_tool.py produce -b "$KAFKA_BROKERS" <deploy/sample/source-records.tsv

# The stream has settled when every source record is accounted for: one clean
# record or one dead letter each.
count() { /usr/bin/python3 tests/tools/kafka_tool.py count -b "$KAFKA_BROKERS" --topics "$1"; }
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  done_n=$(($(count clean.social,sink.snowflake.orders) + $(count dead-letters-social,dead-letters-market)))
  ((done_n >= n_in)) && break
  sleep 1
done
sleep 2 # let later stages catch up with the last records

say "messages per topic"
for t in $(sed -n 's/.*name: \([a-z.-]*\),.*/\1/p' schemas/topics.yaml); do
  printf '  %-24s %6s\n' "$t" "$(count "$t")"
done

say "dead letters (payloads sealed; only dlq-replay with the DLQ key reads them)"
for t in dead-letters-social dead-letters-market; do
  "$SENSORY_BIN/dlq-replay" list --topic "$t" 2>/dev/null | sed 's/^/  /' || true
done

say "one record of each kind (identifiers are keyed pseudonyms, PII in text became tokens)"
for t in sink.snowflake.orders clean.social enriched.social; do
  printf '  %s:\n' "$t"
  kcat -b "$KAFKA_BROKERS" -C -t "$t" -o beginning -c 1 -e -q 2>/dev/null | sed 's/^/    /'
done
printf '  sink.weaviate.vectors:\n'
kcat -b "$KAFKA_BROKERS" -C -t sink.weaviate.vectors -o beginning -c 1 -e -q 2>/dev/null |
  cut -c1-300 | sed 's/^/    /; s/$/ …/'

say "where things are"
cat <<MSG
  stack env:        source $dir/env
  service logs:     $dir/logs/
  read a topic:     kcat -b \$KAFKA_BROKERS -C -t clean.social -o beginning -e
  dead letters:     build/bin/dlq-replay list --topic dead-letters-market
  replay them:      DLQ_KEY_FILE=$dir/keys/dlq.key build/bin/dlq-replay replay --topic dead-letters-market
  stop everything:  deploy/stack.sh down $dir
MSG
if [[ -x "$SENSORY_BIN/snowflake-sink" ]]; then
  echo "  warehouse:        psql \"\$DATABASE_URL\" -c 'select count(*) from orders'"
fi
