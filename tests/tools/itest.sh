# tests/tools/itest.sh — sourced by integration tests: check counters, a
# throwaway stack directory with cleanup, and privacy-shield start/stop.
# Needs SENSORY_SOURCE_DIR and SENSORY_BIN (ctest sets both).
: "${SENSORY_SOURCE_DIR:?set SENSORY_SOURCE_DIR to the repository}"
: "${SENSORY_BIN:?set SENSORY_BIN to build/bin}"
# shellcheck source=deploy/lib.sh
source "$SENSORY_SOURCE_DIR/deploy/lib.sh"

PY=/usr/bin/python3 # Debian's Python, which has confluent_kafka
TOOLS="$SENSORY_SOURCE_DIR/tests/tools"
# shellcheck source=tests/tools/checks.sh
source "$SENSORY_SOURCE_DIR/tests/tools/checks.sh"

T="$(mktemp -d)"
itest_cleanup() {
  local rc=$? # the script's status: first, before any command changes it
  [[ -n "${KEEP_T:-}" ]] && { cp -r "$T" "$KEEP_T"; }
  stop_all "$T" 25 || true # programs first (they drain), then the stack
  if [[ $rc != 0 || $failed != 0 ]]; then
    for f in "$T"/logs/*.log; do
      [[ -f "$f" ]] && { echo "--- tail $f"; tail -n 20 "$f"; }
    done
  fi
  rm -rf "$T"
}
trap itest_cleanup EXIT
stack_dir "$T"

# Keys as a Kubernetes Secret would mount them.
head -c 32 /dev/urandom >"$T/dlq.key"
printf 'itest-hmac-key-0123456789abcdef\n' >"$T/hmac.key"

export SCHEMAS_DIR="$SENSORY_SOURCE_DIR/schemas"
export PRIVACY_HMAC_KEY_FILE="$T/hmac.key" DLQ_KEY_FILE="$T/dlq.key"

# stop_programs: TERM every program the test started besides the stack
# (dev broker, Redis, PostgreSQL) and wait: each drains and commits while the
# broker is still up, so the next part of a test starts from a known state.
stop_programs() {
  local f name pid
  for f in "$T"/pids/*.pid; do
    [[ -f "$f" ]] || continue
    name="$(basename "$f" .pid)"
    case "$name" in dev-broker | redis | postgres) continue ;; esac
    if pid="$(recorded_pid "$T" "$name")"; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

# svc_port NAME: the metrics port of service NAME, started by start_svc below
# ($T/NAME.port) or by deploy/pipeline.sh's pipeline_start ($T/ports/NAME).
svc_port() {
  if [[ -s "$T/ports/$1" ]]; then cat "$T/ports/$1"; else cat "$T/$1.port"; fi
}

# metric_sum METRIC NAME: the sum of METRIC's series (e.g.
# snowflake_sink_messages_in_total over its topics) from service NAME's /metrics.
metric_sum() {
  curl -s "http://127.0.0.1:$(svc_port "$2")/metrics" |
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'
}

# wait_sink_done NAME PREFIX WANT [TIMEOUT]: until sink NAME (metric prefix
# PREFIX, e.g. snowflake_sink) has written or dead-lettered WANT records.
wait_sink_done() {
  local deadline=$((SECONDS + ${4:-120})) have=0
  while ((SECONDS < deadline)); do
    have=$(($(metric_sum "$2_records_written_total" "$1") + $(metric_sum "$2_dead_letters_total" "$1")))
    ((have >= $3)) && return 0
    sleep 0.5
  done
  echo "wait_sink_done: $1 has done $have of $3 records" >&2
  return 1
}

# start_svc NAME PROGRAM [ARGS...]: a streaming service over the dev broker in
# the background, recorded as NAME; its metrics port goes to $T/NAME.port.
start_svc() {
  local name="$1" prog="$2" port
  shift 2
  port="$(free_port)"
  printf '%s\n' "$port" >"$T/$name.port"
  METRICS_ADDR="127.0.0.1:$port" "$SENSORY_BIN/$prog" \
    -X consumer.session.timeout.ms=6000 -X consumer.heartbeat.interval.ms=500 "$@" \
    >>"$T/logs/$name.out" 2>>"$T/logs/$name.log" &
  record_pid "$T" "$name" $!
}

# start_shield NAME: privacy-shield (see start_svc).
start_shield() { start_svc "${1:-privacy-shield}" privacy-shield; }

# wait_count TOPICS N TIMEOUT: wait until the end offsets of TOPICS sum to N.
wait_count() {
  local topics="$1" n="$2" timeout="${3:-120}" have=0 deadline=$((SECONDS + ${3:-120}))
  while ((SECONDS < deadline)); do
    have="$($PY "$TOOLS/kafka_tool.py" count -b "$KAFKA_BROKERS" --topics "$topics")"
    ((have >= n)) && return 0
    sleep 0.5
  done
  echo "wait_count: $topics has $have of $n after ${timeout}s" >&2
  return 1
}

# wait_ready NAME [TIMEOUT]: until NAME's /readyz answers 200 (partitions assigned).
wait_ready() {
  local port deadline=$((SECONDS + ${2:-60}))
  port="$(svc_port "$1")"
  while ((SECONDS < deadline)); do
    curl -sf "http://127.0.0.1:$port/readyz" -o /dev/null && return 0
    sleep 0.2
  done
  echo "wait_ready: $1 not ready after ${2:-60}s" >&2
  return 1
}

# committed GROUP TOPICS: sum of the group's committed offsets.
committed() { $PY "$TOOLS/kafka_tool.py" committed -b "$KAFKA_BROKERS" --group "$1" --topics "$2"; }

# wait_committed GROUP TOPICS N [TIMEOUT]
wait_committed() {
  local deadline=$((SECONDS + ${4:-120})) have=0
  while ((SECONDS < deadline)); do
    have="$(committed "$1" "$2")"
    ((have >= $3)) && return 0
    sleep 0.5
  done
  echo "wait_committed: $1 has $have of $3 committed" >&2
  return 1
}

topic_count() { $PY "$TOOLS/kafka_tool.py" count -b "$KAFKA_BROKERS" --topics "$1"; }
