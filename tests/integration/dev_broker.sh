#!/usr/bin/env bash
# Integration test of the dev broker (deploy/dev-broker): topics from
# topics.yaml, produce/consume over the real Kafka protocol with kcat, the
# control channel and one fault with an observable effect, clean SIGTERM exit.
# Needs SENSORY_BIN (build/bin) and SENSORY_SOURCE_DIR (repo); builds nothing.
set -euo pipefail

: "${SENSORY_SOURCE_DIR:?set SENSORY_SOURCE_DIR to the repository}"
: "${SENSORY_BIN:?set SENSORY_BIN to build/bin}"
# shellcheck source=deploy/lib.sh
source "$SENSORY_SOURCE_DIR/deploy/lib.sh"

# shellcheck source=tests/tools/checks.sh
source "$SENSORY_SOURCE_DIR/tests/tools/checks.sh"

tmp="$(mktemp -d)"
cleanup() {
  stop_all "$tmp" 5 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ctl() { dev_broker_ctl "$tmp" "$@" >/dev/null; }

if ! start_dev_broker "$tmp"; then
  not_ok "dev broker starts"
  finish
  exit 1
fi
ok "dev broker starts and writes $KAFKA_BROKERS to the bootstrap file"
broker_pid="$(recorded_pid "$tmp" dev-broker)"

# --- ready line and topics -------------------------------------------------
check "ready line is JSON and counts 13 topics" \
  /usr/bin/python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline())
assert r["event"] == "ready" and r["topics"] == 13 and r["bootstrap"], r' "$tmp/logs/dev-broker.out"

/usr/bin/python3 -c 'import yaml,sys
for t in yaml.safe_load(open(sys.argv[1]))["topics"]: print(t["name"], t["partitions"])' \
  "$SENSORY_SOURCE_DIR/schemas/topics.yaml" >"$tmp/expected"
kcat -b "$KAFKA_BROKERS" -L -m 10 2>"$tmp/kcat.err" >"$tmp/metadata" || true
sed -n 's/^ *topic "\([^"]*\)" with \([0-9]*\) partitions:.*/\1 \2/p' "$tmp/metadata" >"$tmp/actual"
check "topics.yaml lists 13 topics" test "$(wc -l <"$tmp/expected")" -eq 13
while read -r name parts; do
  check "topic $name has $parts partitions" grep -qxF "$name $parts" "$tmp/actual"
done <"$tmp/expected"

# --- produce and consume 1000 messages --------------------------------------
topic=source.market.shopify
seq 1 1000 | sed 's/.*/order-&:{"n":&}/' >"$tmp/in"
check "kcat produces 1000 keyed messages" \
  kcat -b "$KAFKA_BROKERS" -P -t "$topic" -K : -l "$tmp/in"
kcat -b "$KAFKA_BROKERS" -C -t "$topic" -o beginning -e -q -f '%k:%s\n' >"$tmp/out" 2>"$tmp/kcat.err" || true
check "kcat consumes the same 1000 messages back" \
  cmp -s <(sort "$tmp/in") <(sort "$tmp/out")
parts_used="$(kcat -b "$KAFKA_BROKERS" -C -t "$topic" -o beginning -e -q -f '%p\n' 2>/dev/null | sort -u | wc -l)"
check "keys spread over all 4 partitions" test "$parts_used" -eq 4

# --- control channel and faults ---------------------------------------------
check "control: ping answers ok" ctl ping
check "control: an unknown command answers error" \
  bash -c '! reply="$(source "$1/deploy/lib.sh" && dev_broker_ctl "$2" frobnicate)" && [[ "$reply" == error* ]]' \
  _ "$SENSORY_SOURCE_DIR" "$tmp"

check "control: broker-down 1 answers ok" ctl broker-down 1
check "while broker 1 is down, metadata requests fail" \
  bash -c '! kcat -b "$1" -L -m 2 >/dev/null 2>&1' _ "$KAFKA_BROKERS"
check "control: broker-up 1 answers ok" ctl broker-up 1
check "after broker-up, metadata requests succeed again" \
  bash -c 'kcat -b "$1" -L -m 10 -t "$2" >/dev/null 2>&1' _ "$KAFKA_BROKERS" "$topic"

check "control: one injected Produce error answers ok" \
  ctl error Produce TOPIC_AUTHORIZATION_FAILED 1
check "the next produce fails with the injected error" \
  bash -c '! (echo x | kcat -b "$1" -P -t "$2" 2>"$3") && grep -qi "authorization" "$3"' \
  _ "$KAFKA_BROKERS" "$topic" "$tmp/fault.err"
check "the produce after that succeeds again" \
  bash -c 'echo y | kcat -b "$1" -P -t "$2" 2>/dev/null' _ "$KAFKA_BROKERS" "$topic"

# --- logs and shutdown -------------------------------------------------------
check "every stderr line is a JSON object" \
  /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$tmp/logs/dev-broker.log"

kill -TERM "$broker_pid"
rc=0
wait "$broker_pid" || rc=$?
check "SIGTERM: dev broker exits 0 (got $rc)" test "$rc" -eq 0
check "the bootstrap port is closed after exit" \
  bash -c '! (exec 3<>"/dev/tcp/${1%%,*}") 2>/dev/null' _ "${KAFKA_BROKERS/://}"

finish
