#!/usr/bin/env bash
# deploy/pipeline.sh — the whole pipeline on the local stack, started one way
# for the demo, the tests and the benchmarks.
#
#   deploy/pipeline.sh up [DIR]       the stack (if not up) + keys, warehouse schema,
#                                     product catalogue and the six streaming programs
#   deploy/pipeline.sh down [DIR]     programs first (they drain), then the stack
#   deploy/pipeline.sh status [DIR]
#   deploy/pipeline.sh scrape [DIR]   one scraper-ingest run (the CronJob's) against
#                                     the local API server (started if not running)
#
# Sourced after deploy/lib.sh it gives the functions behind those commands:
#   pipeline_env DIR                keys, model, settings: exported and written to DIR/pipeline.env
#   pipeline_prepare DIR            warehouse migrations, product catalogue (once the stack is up)
#   pipeline_start DIR [NAME...]    start programs (default: all six, upstream first)
#   pipeline_wait_ready DIR [TIMEOUT_S] [NAME...]
#   pipeline_metrics DIR NAME       print NAME's /metrics
#   local_api_start DIR [ARGS...]   the recorded-response API server (deploy/local-api)
#   scraper_run DIR [ARGS...]       one scraper-ingest run; its exit code is returned
#
# Each program keeps its metrics port across restarts (DIR/ports/NAME), appends
# its log to DIR/logs/NAME.log and is recorded in DIR/pids (stop_all stops it).

PIPELINE_PROGRAMS=(privacy-shield enricher embedder snowflake-sink weaviate-sink risk-svc)

# _pipeline_port DIR NAME: NAME's port, chosen free once and then kept.
_pipeline_port() {
  local dir="$1" name="$2" port
  mkdir -p "$dir/ports" || return 1
  if [[ ! -s "$dir/ports/$name" ]]; then
    port="$(free_port)" || return 1
    printf '%s\n' "$port" >"$dir/ports/$name"
  fi
  printf '%s\n' "$(<"$dir/ports/$name")"
}

# _pipeline_key FILE: 32 random bytes as 64 hex characters, made once.
_pipeline_key() {
  [[ -s "$1" ]] || head -c 32 /dev/urandom | od -An -vtx1 | tr -d ' \n' >"$1"
  chmod 600 "$1"
}

# pipeline_env DIR: everything the programs read besides the stack's own
# variables (KAFKA_BROKERS, REDIS_URL, DATABASE_URL come from DIR/env):
#  - keys as Kubernetes Secrets would mount them, made once per DIR: the
#    pseudonym key, the dead-letter key, risk-svc's API key (plain in
#    DIR/keys/risk-api.key for curl, its SHA-256 in the keys file);
#  - the embedder's model: MODEL_DIR if set (all-MiniLM-L6-v2), else a random
#    384-dimensional BERT made once in DIR/model by tests/tools/make_test_bert.py
#    (the real tokenizer and forward pass with random weights: vectors of the
#    right shape, no meaning beyond shared words);
#  - consumer settings for the dev broker: the mock rejoins a group only after
#    session.timeout.ms, so a restarted program waits 6 s instead of 45 s.
pipeline_env() {
  local dir="${1:?pipeline_env DIR}" keys api
  keys="$dir/keys"
  mkdir -p "$keys" || return 1
  _pipeline_key "$keys/hmac.key"
  _pipeline_key "$keys/dlq.key"
  _pipeline_key "$keys/risk-api.key"
  printf '# NAME SCOPES SHA-256 (deploy/pipeline.sh)\nlocal score,admin %s\n' \
    "$(tr -d '\n' <"$keys/risk-api.key" | sha256sum | cut -d' ' -f1)" >"$keys/risk-api-keys.txt"
  if [[ -z "${MODEL_DIR:-}" ]]; then
    if [[ ! -s "$dir/model/model.safetensors" ]]; then
      /usr/bin/python3 "$SENSORY_SOURCE_DIR/tests/tools/make_test_bert.py" "$dir/model.tmp" \
        --vocab "$SENSORY_SOURCE_DIR/tests/fixtures/embedding/vocab.txt" --hidden 384 \
        --layers 1 --heads 12 >/dev/null || return 1
      rm -rf "$dir/model" && mv "$dir/model.tmp" "$dir/model" || return 1
    fi
    MODEL_DIR="$dir/model" MODEL_ID="${MODEL_ID:-sensory-random-384}"
  fi
  api="$(_pipeline_port "$dir" risk-api)" || return 1
  SCHEMAS_DIR="$SENSORY_SOURCE_DIR/schemas"
  PRIVACY_HMAC_KEY_FILE="$keys/hmac.key" DLQ_KEY_FILE="$keys/dlq.key"
  RISK_API_KEYS_FILE="$keys/risk-api-keys.txt" RISK_HTTP_ADDR="127.0.0.1:$api"
  KAFKA_CONSUMER_SESSION_TIMEOUT_MS="${KAFKA_CONSUMER_SESSION_TIMEOUT_MS:-6000}"
  KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS="${KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS:-500}"
  export SCHEMAS_DIR PRIVACY_HMAC_KEY_FILE DLQ_KEY_FILE RISK_API_KEYS_FILE RISK_HTTP_ADDR \
    MODEL_DIR MODEL_ID KAFKA_CONSUMER_SESSION_TIMEOUT_MS KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS
  {
    local v
    for v in SCHEMAS_DIR PRIVACY_HMAC_KEY_FILE DLQ_KEY_FILE RISK_API_KEYS_FILE RISK_HTTP_ADDR \
      MODEL_DIR MODEL_ID KAFKA_CONSUMER_SESSION_TIMEOUT_MS KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS; do
      printf 'export %s=%q\n' "$v" "${!v}"
    done
  } >"$dir/pipeline.env"
}

# pipeline_prepare DIR: what Kubernetes does before the programs start: the
# warehouse migrations (snowflake-sink's init container) and the product
# catalogue the enricher reads (deploy/sample/products.csv into Redis).
pipeline_prepare() {
  local dir="${1:?pipeline_prepare DIR}"
  # (--init-schema serves /metrics while it runs: on the sink's own port, not 9102.)
  METRICS_ADDR="127.0.0.1:$(_pipeline_port "$dir" snowflake-sink)" \
    "$SENSORY_BIN/snowflake-sink" --init-schema >>"$dir/logs/init-schema.log" 2>&1 ||
    { sensory_log "snowflake-sink --init-schema failed; see $dir/logs/init-schema.log"; return 1; }
  "$SENSORY_BIN/enricher" load-products "$SENSORY_SOURCE_DIR/deploy/sample/products.csv" \
    >>"$dir/logs/load-products.log" 2>&1 ||
    { sensory_log "enricher load-products failed; see $dir/logs/load-products.log"; return 1; }
}

# pipeline_start DIR [NAME...]: start the named programs (default: all six)
# in the background, upstream first; a program already running is left alone.
pipeline_start() {
  local dir="${1:?pipeline_start DIR}" name port
  shift
  local -a names=("$@")
  ((${#names[@]})) || names=("${PIPELINE_PROGRAMS[@]}")
  for name in "${names[@]}"; do
    [[ -x "$SENSORY_BIN/$name" ]] || { sensory_log "no $SENSORY_BIN/$name (build it)"; return 1; }
    recorded_pid "$dir" "$name" >/dev/null && continue
    port="$(_pipeline_port "$dir" "$name")" || return 1
    METRICS_ADDR="127.0.0.1:$port" "$SENSORY_BIN/$name" \
      >>"$dir/logs/$name.out" 2>>"$dir/logs/$name.log" </dev/null &
    record_pid "$dir" "$name" $! || return 1
  done
}

# pipeline_wait_ready DIR [TIMEOUT_S] [NAME...]: until each program's /readyz
# answers 200 (partitions assigned, stores reachable); names the laggards.
pipeline_wait_ready() {
  local dir="${1:?pipeline_wait_ready DIR}" timeout="${2:-60}" name left
  local -a names=("${@:3}")
  ((${#names[@]})) || names=("${PIPELINE_PROGRAMS[@]}")
  local deadline=$((SECONDS + timeout))
  while :; do
    left=""
    for name in "${names[@]}"; do
      curl -sf -o /dev/null "http://127.0.0.1:$(<"$dir/ports/$name")/readyz" || left+=" $name"
    done
    [[ -z "$left" ]] && return 0
    ((SECONDS < deadline)) || break
    sleep 0.2
  done
  sensory_log "not ready after ${timeout}s:$left"
  return 1
}

# pipeline_metrics DIR NAME: NAME's Prometheus text.
pipeline_metrics() { curl -sf "http://127.0.0.1:$(<"$1/ports/$2")/metrics"; }

# The topics each program consumes (their defaults, as --help shows them).
declare -gA PIPELINE_INPUTS=(
  [privacy-shield]="source.social.tiktok source.social.facebook source.market.shopify source.market.daraz"
  [enricher]="clean.social sink.snowflake.orders"
  [embedder]="enriched.social"
  [snowflake-sink]="sink.snowflake.orders context.weather risk.decisions audit.privacy"
  [weaviate-sink]="sink.weaviate.vectors"
  [risk-svc]="sink.snowflake.orders"
)

# topic_end_offsets TOPIC...: one line "TOPIC END" per topic, END the sum of
# its partitions' end offsets (partition counts from schemas/topics.yaml).
topic_end_offsets() {
  local t n p
  local -a q=()
  for t in "$@"; do
    n="$(sed -n "s/.*name: $t, *partitions: *\([0-9]*\).*/\1/p" "$SENSORY_SOURCE_DIR/schemas/topics.yaml")"
    for ((p = 0; p < ${n:-0}; p++)); do q+=(-t "$t:$p:-1"); done
  done
  kcat -b "$KAFKA_BROKERS" -Q "${q[@]}" 2>/dev/null |
    awk '$3 == "offset" {s[$1] += $4} END {for (t in s) print t, s[t]}'
}

# pipeline_settled DIR [TIMEOUT_S]: until every program has consumed every
# message of its input topics (its messages_in_total against the topics' end
# offsets, read before and after with nothing new in between) and the sinks
# have written, skipped or dead-lettered everything they consumed. Counts a
# program's own lifetime: for a run without restarts (the demo, benchmarks).
pipeline_settled() {
  local dir="${1:?pipeline_settled DIR}" timeout="${2:-60}" name ends ends2 m short
  local deadline=$((SECONDS + timeout))
  local -a inputs
  mapfile -t inputs < <(printf '%s\n' "${PIPELINE_INPUTS[@]}" | tr ' ' '\n' | sort -u)
  while :; do
    ends="$(topic_end_offsets "${inputs[@]}" | sort)"
    short=""
    for name in "${PIPELINE_PROGRAMS[@]}"; do
      m="$(pipeline_metrics "$dir" "$name")" || { short+=" $name"; continue; }
      awk -v p="${name//-/_}" -v inputs="${PIPELINE_INPUTS[$name]}" -v ends="$ends" '
        BEGIN { n = split(ends, e, "\n"); for (i = 1; i <= n; i++) { split(e[i], f, " "); end[f[1]] = f[2] } }
        { split($1, k, "{"); t = $1; sub(/.*topic="/, "", t); sub(/".*/, "", t) }
        k[1] == p "_messages_in_total" { got[t] = $2; all += $2 }
        k[1] == p "_records_written_total" || k[1] == p "_records_skipped_total" || k[1] == p "_dead_letters_total" { done += $2 }
        END {
          m = split(inputs, in_, " ")
          for (i = 1; i <= m; i++) if (got[in_[i]] + 0 < end[in_[i]] + 0) exit 1
          if (p ~ /_sink$/ && done < all) exit 1
        }' <<<"$m" || short+=" $name"
    done
    ends2="$(topic_end_offsets "${inputs[@]}" | sort)"
    [[ -z "$short" && "$ends" == "$ends2" ]] && return 0
    ((SECONDS < deadline)) || break
    sleep 0.3
  done
  sensory_log "pipeline not settled after ${timeout}s:${short:- (topics still growing)}"
  return 1
}

# local_api_start DIR [ARGS...]: deploy/local-api/server.py (default: the
# demo shop) on a free loopback port, recorded as "local-api"; exports
# LOCAL_API_URL. ARGS replace the default "--dataset demo".
local_api_start() {
  local dir="${1:?local_api_start DIR}" i pid
  shift
  local -a args=("$@")
  ((${#args[@]})) || args=(--dataset demo)
  mkdir -p "$dir/local-api" || return 1
  rm -f "$dir/local-api/port"
  /usr/bin/python3 "$SENSORY_SOURCE_DIR/deploy/local-api/server.py" "${args[@]}" \
    --port-file "$dir/local-api/port" --log "$dir/logs/local-api.requests" \
    </dev/null >>"$dir/logs/local-api.log" 2>&1 &
  pid=$!
  for ((i = 0; i < 100; i++)); do
    [[ -s "$dir/local-api/port" ]] && break
    kill -0 "$pid" 2>/dev/null || { sensory_log "local API server exited; see $dir/logs/local-api.log"; return 1; }
    sleep 0.1
  done
  [[ -s "$dir/local-api/port" ]] || { sensory_log "local API server: no port after 10s"; return 1; }
  record_pid "$dir" local-api "$pid" || return 1
  LOCAL_API_URL="http://127.0.0.1:$(<"$dir/local-api/port")"
  export LOCAL_API_URL
}

# scraper_config DIR: DIR/scraper-ingest.yaml, the CronJob's configuration
# pointed at the local API server, with its credentials as Secret files.
scraper_config() {
  local dir="${1:?scraper_config DIR}" k="$1/keys"
  mkdir -p "$k" || return 1
  # The local server's own credentials (deploy/local-api/server.py), not secrets.
  printf 'shpat_test_token\n' >"$k/shopify.token"
  printf 'helloworld\n' >"$k/daraz.secret"
  printf 'daraz_test_token\n' >"$k/daraz.token"
  printf 'owm_test_key\n' >"$k/owm.key"
  printf 'fb_test_token\n' >"$k/facebook.token"
  printf 'tt_test_token\n' >"$k/tiktok.token"
  chmod 600 "$k"/*.token "$k"/*.secret "$k"/*.key
  cat >"$dir/scraper-ingest.yaml" <<YAML
# scraper-ingest against the local API server (written by deploy/pipeline.sh)
sources: shopify,daraz,weather,facebook,tiktok
metrics:
  file: $dir/logs/scraper-ingest.prom
shopify:
  base_url: $LOCAL_API_URL
  merchant_id: dhaka-demo-shop
  token_file: $k/shopify.token
  rate_per_sec: 50
daraz:
  base_url: $LOCAL_API_URL
  merchant_id: daraz-demo-shop
  app_key: "123456"
  app_secret_file: $k/daraz.secret
  access_token_file: $k/daraz.token
  rate_per_sec: 50
weather:
  base_url: $LOCAL_API_URL
  api_key_file: $k/owm.key
  rate_per_sec: 50
facebook:
  base_url: $LOCAL_API_URL
  post_ids: 1029384756_5550001,1029384756_5550002
  token_file: $k/facebook.token
  rate_per_sec: 50
tiktok:
  base_url: $LOCAL_API_URL
  keywords: saree
  token_file: $k/tiktok.token
  rate_per_sec: 50
YAML
}

# scraper_run DIR [ARGS...]: one scraper-ingest run with DIR/scraper-ingest.yaml;
# log appended to DIR/logs/scraper-ingest.log; returns its exit code.
scraper_run() {
  local dir="${1:?scraper_run DIR}"
  shift
  "$SENSORY_BIN/scraper-ingest" --config "$dir/scraper-ingest.yaml" "$@" \
    >>"$dir/logs/scraper-ingest.out" 2>>"$dir/logs/scraper-ingest.log" </dev/null
}

# ---- as a command ----------------------------------------------------------------
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  # shellcheck source=deploy/lib.sh
  source "$here/lib.sh"
  cmd="${1:-}"
  dir="${2:-./.stack}"
  mkdir -p "$dir" && dir="$(cd "$dir" && pwd)"
  case "$cmd" in
  up)
    if [[ ! -f "$dir/env" ]] || ! recorded_pid "$dir" dev-broker >/dev/null; then
      bash "$here/stack.sh" up "$dir" >/dev/null
    fi
    # shellcheck disable=SC1091
    source "$dir/env"
    pipeline_env "$dir"
    pipeline_prepare "$dir"
    pipeline_start "$dir"
    pipeline_wait_ready "$dir" 90
    printf 'pipeline up in %s\n  use it:  source %s/env; source %s/pipeline.env\n' "$dir" "$dir" "$dir"
    for name in "${PIPELINE_PROGRAMS[@]}"; do
      printf '  %-15s metrics http://127.0.0.1:%s/metrics   log %s/logs/%s.log\n' \
        "$name" "$(<"$dir/ports/$name")" "$dir" "$name"
    done
    printf '  risk-svc API     http://%s/api/v1/risk-score (X-API-Key: %s/keys/risk-api.key)\n' \
      "$RISK_HTTP_ADDR" "$dir"
    ;;
  down) bash "$here/stack.sh" down "$dir" ;;
  status) bash "$here/stack.sh" status "$dir" ;;
  scrape)
    # shellcheck disable=SC1091
    source "$dir/env"
    # shellcheck disable=SC1091
    source "$dir/pipeline.env"
    recorded_pid "$dir" local-api >/dev/null || local_api_start "$dir"
    LOCAL_API_URL="http://127.0.0.1:$(<"$dir/local-api/port")"
    scraper_config "$dir"
    rc=0
    scraper_run "$dir" || rc=$?
    grep '"event":"source_summary"' "$dir/logs/scraper-ingest.log" | tail -n 5
    exit "$rc"
    ;;
  *)
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
  esac
fi
