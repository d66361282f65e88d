#!/usr/bin/env bash
# privacy-shield refuses bad configuration with one clear message and exit
# code 2, before connecting anywhere: a listener stands in for the broker and
# must see no connection at all.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

port="$(free_port)"
$PY - "$port" "$T/connections" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); s.settimeout(0.2)
n = 0
open(sys.argv[2], "w").write("0\n")
while True:
    try:
        c, _ = s.accept(); c.close(); n += 1
        open(sys.argv[2], "w").write("%d\n" % n)
    except socket.timeout:
        pass
PY
record_pid "$T" listener $!
export KAFKA_BROKERS="127.0.0.1:$port" METRICS_ADDR=127.0.0.1:0
printf 'short-key-15byt' >"$T/short.key"
printf 'kafka: [unclosed\n' >"$T/bad.yaml"
printf 'privacy:\n  hmac_key_fil: /x\n' >"$T/typo.yaml"
head -c 31 /dev/urandom >"$T/dlq31.key"

# expect NAME EXIT-CODE FRAGMENT [ENV=VALUE...] -- ARGS...
expect() {
  local name="$1" want="$2" fragment="$3" rc=0
  shift 3
  local -a envs=()
  while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$SENSORY_BIN/privacy-shield" "$@" >"$T/out" 2>"$T/err" || rc=$?
  if [[ "$rc" == "$want" ]] && { [[ -z "$fragment" ]] || grep -qF -- "$fragment" "$T/err"; }; then
    ok "$name (exit $rc)"
  else
    not_ok "$name: exit $rc, stderr: $(tail -c 300 "$T/err")"
  fi
}
expect "missing HMAC key" 2 "missing required setting privacy.hmac_key_file" PRIVACY_HMAC_KEY_FILE= --
expect "HMAC key file absent" 2 "cannot open key file $T/nope.key" PRIVACY_HMAC_KEY_FILE="$T/nope.key" --
expect "HMAC key too short" 2 "is too short: 15 bytes, need at least 16" PRIVACY_HMAC_KEY_FILE="$T/short.key" --
expect "DLQ key of 31 bytes" 2 "dlq.key_file (DLQ_KEY_FILE)" DLQ_KEY_FILE="$T/dlq31.key" --
expect "bad YAML" 2 "config file $T/bad.yaml: line" -- --config "$T/bad.yaml"
expect "unknown YAML key" 2 "unknown setting 'privacy.hmac_key_fil'" -- --config "$T/typo.yaml"
expect "unknown flag" 2 "unknown option --brokerz" -- --brokerz x
expect "bad integer" 2 "message.max_bytes (env MESSAGE_MAX_BYTES): 'lots' is not an integer" MESSAGE_MAX_BYTES=lots --
expect "bad log level" 2 "log.level: 'chatty'" LOG_LEVEL=chatty --
expect "bad kafka property" 2 "kafka property no.such.property" -- -X no.such.property=1
expect "bad kafka value" 2 "kafka property linger.ms: Invalid value" -- -X producer.linger.ms=forever
expect "schemas missing" 2 "schemas.dir (SCHEMAS_DIR)" SCHEMAS_DIR="$T/none" --
expect "stdio without --dlq-file" 2 "--stdio needs --topic NAME and --dlq-file FILE" -- --stdio --topic source.market.shopify
expect "input topic not routed by topics.yaml" 2 "input.topics: no.such.topic is not in" \
  INPUT_TOPICS=no.such.topic --
expect "--stdio topic not routed by topics.yaml" 2 "--topic no.such.topic is not in" \
  -- --stdio --topic no.such.topic --dlq-file "$T/dlq.jsonl"
# Run from the build tree, a program finds the source tree's contracts by itself.
printf '%s\n' '{"platform":"daraz","order_id":"o1","merchant_id":"m1","product_id":"p1","product_name":"Fan","quantity":1,"price":900,"order_status":"pending","payment_method":"cod","shipping_city":"Dhaka","customer_phone":"01711-234567","timestamp":"2026-11-21T10:00:00Z"}' >"$T/one.jsonl"
rc=0
env -u SCHEMAS_DIR "$SENSORY_BIN/privacy-shield" --stdio --topic source.market.daraz \
  --dlq-file "$T/dlq.jsonl" <"$T/one.jsonl" >"$T/one.out" 2>"$T/one.err" || rc=$?
check_eq "build tree: no SCHEMAS_DIR needed" 0 "$rc"
check "build tree: the order was cleaned" grep -q '"customer_phone_hash"' "$T/one.out"
expect "--help lists settings" 0 "" -- --help
check "--help names every env variable" grep -q "env: PRIVACY_HMAC_KEY_FILE" "$T/out"
expect "--version" 0 "" -- --version
check "--version prints the version" grep -q "^privacy-shield [0-9]" "$T/out"
check "no key material in any error" bash -c "! grep -r 'itest-hmac-key\|short-key-15byt' '$T'/err"
sleep 0.5
check_eq "nothing connected to the broker address" 0 "$(cat "$T/connections")"
finish
