#!/usr/bin/env bash
# weaviate-sink (backend weaviate) over the dev broker against the Weaviate
# contract server (tests/tools/weaviate_contract.py: every request checked
# against Weaviate's OpenAPI document, API key required):
#  1. start-up creates the class SocialPost (vectorizer none);
#  2. 3,000 vector records (new versions, tombstones, poison) while the server
#     answers some objects with per-object errors (one permanent, one
#     transient), some requests with 500, drops two connections and answers
#     one request too slowly: the server ends with exactly the right objects,
#     the permanent error is one dead letter carrying Weaviate's message, and
#     no request broke the spec;
#  3. metrics: objects written, per-object errors by class, store retries;
#  4. a class that conflicts (engagement as text) stops the start with exit 2
#     and a message naming the property; a wrong API key stops it too;
#  5. --stdio into Weaviate exits 0 with the right objects.
set -euo pipefail
[[ -x "$SENSORY_BIN/weaviate-sink" ]] || { echo "SKIP: weaviate-sink not built"; exit 77; }
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_dev_broker "$T"
TOPIC=sink.weaviate.vectors
printf 'contract-api-key-42\n' >"$T/api.key"

# start_contract NAME: the contract server in the background; its base URL in $WV.
start_contract() {
  rm -f "$T/$1.port"
  $PY "$TOOLS/weaviate_contract.py" --spec "$SENSORY_FIXTURES/api/weaviate-openapi.json" \
    --port-file "$T/$1.port" --api-key-file "$T/api.key" "${@:2}" \
    >>"$T/logs/$1.log" 2>&1 &
  record_pid "$T" "$1" $!
  for _ in $(seq 1 100); do [[ -s "$T/$1.port" ]] && break; sleep 0.1; done
  WV="http://127.0.0.1:$(<"$T/$1.port")"
}
ctl() { curl -sf -X "$1" "$WV/__control/$2" ${3:+-H 'Content-Type: application/json' -d "$3"}; }
violations() { ctl GET state | $PY -c 'import json,sys; v=json.load(sys.stdin)["violations"]; print(len(v)); [print(x, file=sys.stderr) for x in v[:5]]'; }

start_contract weaviate
export SINK_BACKEND=weaviate WEAVIATE_URL="$WV" WEAVIATE_API_KEY_FILE="$T/api.key"
export WEAVIATE_TIMEOUT_MS=1500 WEAVIATE_BATCH_OBJECTS=50 WEAVIATE_CONSISTENCY_LEVEL=ALL

# --- 1 + 2 -----------------------------------------------------------------
$PY "$TOOLS/gen_vectors.py" --count 3000 --seed 21 --tsv "$T/in.tsv" --expect "$T/exp.json"
permanent="$($PY - "$T/exp.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))["objects"]
ids = sorted(o["post_id"] for o in objs.values())
print(ids[5], ids[9])  # one refused for good, one refused twice then taken
PY
)"
read -r bad flaky <<<"$permanent"
ctl POST faults "{\"faults\":[
  {\"kind\":\"object_error\",\"post_id\":\"$bad\",\"times\":-1,\"message\":\"invalid text property 'content' on class 'SocialPost': not a string, but float64\"},
  {\"kind\":\"object_error\",\"post_id\":\"$flaky\",\"times\":2,\"message\":\"context deadline exceeded\"},
  {\"kind\":\"status\",\"status\":500,\"times\":4},
  {\"kind\":\"drop\",\"when\":\"before\",\"times\":1},
  {\"kind\":\"drop\",\"when\":\"after\",\"times\":1},
  {\"kind\":\"slow\",\"seconds\":2.5,\"times\":1}]}" >/dev/null
start_svc sink weaviate-sink
check "weaviate-sink ready (class created)" wait_ready sink 60
check "class SocialPost created with vectorizer none" \
  test "$(curl -sf -H 'Authorization: Bearer contract-api-key-42' "$WV/v1/schema/SocialPost" |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["vectorizer"])')" = none
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" --null-value '\N' --rate 2500 <"$T/in.tsv"
check "all 3,000 records committed" wait_committed weaviate-sink $TOPIC 3000 180
# The expected state without the object Weaviate refused for good.
$PY - "$T/exp.json" "$T/exp-ok.json" "$bad" <<'PY'
import json, sys, uuid
e = json.load(open(sys.argv[1]))
e["objects"].pop(str(uuid.uuid5(uuid.UUID("51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7"), sys.argv[3])))
json.dump(e, open(sys.argv[2], "w"))
PY
verdict="$($PY "$TOOLS/check_posts.py" --expect "$T/exp-ok.json" --weaviate "$WV" || true)"
echo "$verdict"
check "exactly the right objects in Weaviate after the faults" grep -q 'missing=0 extra=0 wrong=0' <<<"$verdict"
check_eq "every fault was used" "[]" "$(ctl GET state | $PY -c 'import json,sys; print(json.dumps([f for f in json.load(sys.stdin)["faults_left"] if f.get("times") != -1]))')"
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics dead-letters-social --idle 2 \
  --out "$T/dlq.jsonl" 2>/dev/null
check "the refused object is a dead letter with Weaviate's message" $PY - "$T/dlq.jsonl" "$bad" <<'PY'
import json, sys
hits = [json.loads(json.loads(l)["value"]) for l in open(sys.argv[1])
        if json.loads(l)["key"] == sys.argv[2]]
e = hits[-1]["error"] if hits else {}
sys.exit(0 if len(hits) >= 1 and e.get("code") == "store_rejected" and
         "invalid text property 'content'" in e.get("message", "") else 1)
PY
check_eq "no request broke Weaviate's OpenAPI contract" 0 "$(violations)"

# --- 3. metrics --------------------------------------------------------------
metrics="$(curl -sf "http://127.0.0.1:$(<"$T/sink.port")/metrics")"
check "objects written counted" grep -Eq '^weaviate_sink_objects_written_total [1-9][0-9]{3}' <<<"$metrics"
check "permanent errors counted by class" grep -q '^weaviate_sink_object_errors_total{class="property_type"} [1-9]' <<<"$metrics"
check "transient errors counted by class" grep -q '^weaviate_sink_object_errors_total{class="timeout"} [1-9]' <<<"$metrics"
check "store retries counted" grep -q '^weaviate_sink_store_retries_total [1-9]' <<<"$metrics"
_stop_names "$T" 25 sink # the sink only: the contract server goes on

# --- 4. refusals at start ------------------------------------------------------
ctl POST reset '{}' >/dev/null
curl -sf -H 'Authorization: Bearer contract-api-key-42' -H 'Content-Type: application/json' \
  "$WV/v1/schema" -d '{"class":"SocialPost","vectorizer":"none","properties":[{"name":"engagement","dataType":["text"]}]}' >/dev/null
rc=0
"$SENSORY_BIN/weaviate-sink" --stdio --topic $TOPIC --dlq-file "$T/x.jsonl" </dev/null \
  2>"$T/conflict.log" || rc=$?
check_eq "a conflicting class: exit 2" 2 "$rc"
check "the message names the property and both types" \
  grep -q "property 'engagement' has dataType text, the sink writes int" "$T/conflict.log"
printf 'wrong-key\n' >"$T/wrong.key"
rc=0
WEAVIATE_API_KEY_FILE="$T/wrong.key" "$SENSORY_BIN/weaviate-sink" --stdio --topic $TOPIC \
  --dlq-file "$T/x.jsonl" </dev/null 2>"$T/key.log" || rc=$?
check_eq "a wrong API key: exit 2" 2 "$rc"
check "the message says HTTP 401 and names the key setting" grep -q 'HTTP 401.*weaviate.api_key_file' "$T/key.log"

# --- 5. --stdio ------------------------------------------------------------------
ctl POST reset '{}' >/dev/null
$PY "$TOOLS/gen_vectors.py" --count 400 --seed 22 --stdio "$T/in5.jsonl" --expect "$T/exp5.json"
rc=0
"$SENSORY_BIN/weaviate-sink" --stdio --topic $TOPIC --dlq-file "$T/dlq5.jsonl" \
  <"$T/in5.jsonl" >/dev/null 2>"$T/logs/stdio.log" || rc=$?
check_eq "--stdio exits 0" 0 "$rc"
verdict="$($PY "$TOOLS/check_posts.py" --expect "$T/exp5.json" --weaviate "$WV" || true)"
check "--stdio: exactly the right objects ($verdict)" grep -q 'missing=0 extra=0 wrong=0' <<<"$verdict"
# Only the refused start with the wrong key may have broken the contract.
check_eq "no other request broke the contract" 0 "$(violations)"
finish
