#!/usr/bin/env bash
# dlq-replay against the dev broker: privacy-shield seals real dead letters on
# dead-letters-market, then list (no payload bytes), a wrong key (refused,
# nothing sent, nothing committed), --dry-run, replay (original bytes, key and
# headers back on the source topic), replay again (nothing new), a truncated
# letter (refused until --skip-refused), a letter at max attempts (refused
# until --force), and the offline --file round trip.
# Needs SENSORY_BIN (build/bin) and SENSORY_SOURCE_DIR (repo); builds nothing.
set -uo pipefail

: "${SENSORY_SOURCE_DIR:?set SENSORY_SOURCE_DIR to the repository}"
: "${SENSORY_BIN:?set SENSORY_BIN to build/bin}"
# shellcheck source=deploy/lib.sh
source "$SENSORY_SOURCE_DIR/deploy/lib.sh"

# shellcheck source=tests/tools/checks.sh
source "$SENSORY_SOURCE_DIR/tests/tools/checks.sh"

T="$(mktemp -d)"
cleanup() {
  local rc=$?
  stop_all "$T" 5 || true # only the processes recorded under $T
  if [[ $rc != 0 || $failed != 0 ]]; then
    for f in "$T"/logs/*.log "$T"/*.err; do
      [[ -f "$f" ]] && { echo "--- tail $f"; tail -n 15 "$f"; }
    done
  fi
  rm -rf "$T"
}
trap cleanup EXIT

DLQ=dead-letters-market
SRC=source.market.shopify
BIN="$SENSORY_BIN/dlq-replay"

if ! start_dev_broker "$T"; then
  not_ok "dev broker starts"
  finish
  exit 1
fi
ok "dev broker on $KAFKA_BROKERS"

head -c 32 /dev/urandom >"$T/dlq.key"
head -c 32 /dev/urandom >"$T/wrong.key"
printf 'itest-hmac-key-0123456789abcdef\n' >"$T/hmac.key"
export DLQ_KEY_FILE="$T/dlq.key" LOG_LEVEL=info

# count TOPIC: messages on TOPIC from the beginning to its end now.
count() {
  kcat -b "$KAFKA_BROKERS" -C -t "$1" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l
}
wait_count() { # TOPIC N TIMEOUT
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    (($(count "$1") >= $2)) && return 0
    sleep 0.5
  done
  echo "wait_count: $1 has $(count "$1") of $2" >&2
  return 1
}

# --- sealed dead letters from privacy-shield ---------------------------------
SCHEMAS_DIR="$SENSORY_SOURCE_DIR/schemas" PRIVACY_HMAC_KEY_FILE="$T/hmac.key" \
  METRICS_ADDR=127.0.0.1:0 "$SENSORY_BIN/privacy-shield" -X session.timeout.ms=6000 \
  >"$T/logs/privacy-shield.out" 2>"$T/logs/privacy-shield.log" &
record_pid "$T" privacy-shield $!

good='{"platform":"shopify","order_id":"ok-1","merchant_id":"m-1","product_id":"P-1","product_name":"Raincoat","quantity":1,"price":5000,"currency":"BDT","order_status":"pending","payment_method":"cod","shipping_city":"Dhaka","customer_phone":"01711-234567","timestamp":"2026-11-20T10:00:00Z"}'
bad_qty="${good/\"ok-1\"/\"bad-qty\"}"
bad_qty="${bad_qty/\"quantity\":1/\"quantity\":-3}"
bad_missing="${good/\"ok-1\"/\"bad-missing\"}"
bad_missing="${bad_missing/\"platform\":\"shopify\",/}"
bad_json='not json at all, call 01711-234567'
{
  printf 'ok-1|%s\n' "$good"
  printf 'bad-qty|%s\n' "$bad_qty"
  printf 'bad-missing|%s\n' "$bad_missing"
  printf 'bad-json|%s\n' "$bad_json"
} >"$T/in.txt"
check "kcat produces 4 orders (3 invalid)" \
  kcat -b "$KAFKA_BROKERS" -t "$SRC" -P -K '|' -l "$T/in.txt"
check "3 dead letters arrive on $DLQ" wait_count "$DLQ" 3 90
check "the valid order flows to sink.snowflake.orders" wait_count sink.snowflake.orders 1 30

# Stop the shield: otherwise it would consume the replays and dead-letter
# them again (the real-life reason to fix the cause before replaying).
pid="$(recorded_pid "$T" privacy-shield)" && { kill -TERM "$pid"; wait "$pid" 2>/dev/null; }
rm -f "$T/pids/privacy-shield.pid"
check_eq "source topic holds the 4 originals" 4 "$(count "$SRC")"

# --- list ----------------------------------------------------------------------
"$BIN" list --topic "$DLQ" >"$T/list.out" 2>"$T/list.err"
check_eq "list exits 0" 0 $?
check_eq "list prints one line per dead letter" 3 "$(wc -l <"$T/list.out")"
check "list shows coordinates, code and path" \
  grep -q "^$DLQ/[01]@[0-9]*  source=$SRC/[0-3]@[0-9]*  code=schema  .*path=/quantity" "$T/list.out"
check "list never prints payload bytes or keys" \
  bash -c "! grep -q -e 01711 -e Raincoat -e bad-qty -e 'not json' -e Dhaka '$T/list.out' '$T/list.err'"
check_eq "list --code schema filters" 2 "$("$BIN" list --topic "$DLQ" --code schema 2>/dev/null | wc -l)"
check_eq "list --limit 1" 1 "$("$BIN" list --topic "$DLQ" --limit 1 2>/dev/null | wc -l)"

# --- show ------------------------------------------------------------------------
coord="$(grep 'code=invalid_json' "$T/list.out" | head -n 1 | cut -d' ' -f1)"
part="${coord#*/}"
part="${part%@*}"
off="${coord#*@}"
"$BIN" show --topic "$DLQ" --partition "$part" --offset "$off" >"$T/show.out" 2>"$T/show.err"
check_eq "show exits 0" 0 $?
check_eq "show prints the decrypted payload on stdout" "$bad_json" "$(cat "$T/show.out")"
check "show warns about personal data on stderr" grep -q "personal data" "$T/show.err"
check "show prints the envelope on stderr" grep -q '"code": "invalid_json"' "$T/show.err"

# --- wrong key: refused, nothing sent, nothing committed ---------------------------
DLQ_KEY_FILE="$T/wrong.key" "$BIN" replay --topic "$DLQ" >"$T/wrong.out" 2>"$T/wrong.err"
check_eq "replay with the wrong key exits 1" 1 $?
check "the refusal names the key the letter was sealed with" grep -q "sealed with key k" "$T/wrong.err"
check "the summary counts wrong-key refusals" grep -q '"refused_wrong_key":[1-9]' "$T/wrong.err"
check_eq "nothing was produced" 4 "$(count "$SRC")"

# --- dry run --------------------------------------------------------------------------
"$BIN" replay --topic "$DLQ" --dry-run >"$T/dry.out" 2>"$T/dry.err"
check_eq "dry run exits 0" 0 $?
check_eq "dry run would replay all 3 (the wrong-key run committed nothing)" 3 \
  "$(grep -c '^would replay' "$T/dry.out")"
check_eq "dry run produced nothing" 4 "$(count "$SRC")"

# --- replay -------------------------------------------------------------------------------
"$BIN" replay --topic "$DLQ" >"$T/replay.out" 2>"$T/replay.err"
check_eq "replay exits 0" 0 $?
check "summary line says 3 replayed" grep -q '"event":"summary".*"replayed":3' "$T/replay.err"
check "a human summary line on stderr" grep -q '^dlq-replay: replayed 3 of 3 selected' "$T/replay.err"
check "replay writes nothing to stdout" test ! -s "$T/replay.out"
check "3 replays arrive on the source topic" wait_count "$SRC" 7 30
kcat -b "$KAFKA_BROKERS" -C -t "$SRC" -o beginning -e -q -f '%k|%h|%s\n' >"$T/src.txt" 2>/dev/null
for k in bad-qty bad-missing bad-json; do
  check_eq "$k: original and replay, same key and bytes" 2 \
    "$(grep -cxF "$(grep "^$k|" "$T/in.txt")" <(sed 's/^\([^|]*\)|[^|]*|/\1|/' "$T/src.txt"))"
  check "$k: replay carries sensory-dlq-attempts=1 and first-failed-at" \
    grep -q "^$k|.*sensory-dlq-attempts=1.*sensory-dlq-first-failed-at=20[0-9-]*T" "$T/src.txt"
done
check_eq "the valid order was not replayed" 1 "$(grep -c '^ok-1|' "$T/src.txt")"

# --- replay again: nothing new -----------------------------------------------------------------
"$BIN" replay --topic "$DLQ" >/dev/null 2>"$T/again.err"
check_eq "second replay exits 0" 0 $?
check "second replay replays nothing" grep -q '"selected":0,"replayed":0' "$T/again.err"
check_eq "source topic unchanged" 7 "$(count "$SRC")"

# --- truncated letter: refused, halts, --skip-refused moves past -----------------------------------
/usr/bin/python3 -c 'import sys; sys.stdout.write("big-1|{\"pad\":\"" + "x" * 1500000 + "\"}\n")' >"$T/big.txt"
SCHEMAS_DIR="$SENSORY_SOURCE_DIR/schemas" PRIVACY_HMAC_KEY_FILE="$T/hmac.key" \
  METRICS_ADDR=127.0.0.1:0 "$SENSORY_BIN/privacy-shield" -X session.timeout.ms=6000 \
  >>"$T/logs/privacy-shield.out" 2>>"$T/logs/privacy-shield.log" &
record_pid "$T" privacy-shield $!
check "kcat produces a 1.5 MB order" \
  kcat -b "$KAFKA_BROKERS" -t "$SRC" -P -K '|' -X message.max.bytes=4000000 -l "$T/big.txt"
check "it is dead-lettered (too_large)" wait_count "$DLQ" 4 90
# The 3 replays are still invalid, so they fail again: their new dead letters
# continue the history carried by the replay headers.
check "replays that fail again are dead-lettered again" wait_count "$DLQ" 7 90
kcat -b "$KAFKA_BROKERS" -C -t "$DLQ" -o beginning -e -q -f '%k\t%s\n' >"$T/dlq-history.txt" 2>/dev/null
check "second failure: attempts 2, first_failed_at of the first" /usr/bin/python3 - "$T/dlq-history.txt" <<'PY'
import collections, json, sys
by_key = collections.defaultdict(list)
for line in open(sys.argv[1], encoding="utf-8"):
    key, value = line.rstrip("\n").split("\t", 1)
    by_key[key].append(json.loads(value))
twice = [v for v in by_key.values() if len(v) == 2]
assert len(twice) == 3, len(twice)
for first, second in twice:
    assert first["attempts"] == 1 and second["attempts"] == 2, (first["attempts"], second["attempts"])
    assert second["first_failed_at"] == first["first_failed_at"]
    assert second["last_failed_at"] > first["last_failed_at"]
PY
pid="$(recorded_pid "$T" privacy-shield)" && { kill -TERM "$pid"; wait "$pid" 2>/dev/null; }
rm -f "$T/pids/privacy-shield.pid"
check "list marks it TRUNCATED" bash -c "'$BIN' list --topic $DLQ 2>/dev/null | grep -q 'code=too_large.*TRUNCATED'"
"$BIN" replay --topic "$DLQ" >/dev/null 2>"$T/trunc.err"
check_eq "replay of a truncated letter exits 1" 1 $?
check "it is refused as truncated" grep -q '"refused_truncated":1' "$T/trunc.err"
check "its partition is halted with advice" grep -q 'skip-refused' "$T/trunc.err"
"$BIN" replay --topic "$DLQ" >/dev/null 2>"$T/trunc2.err"
check "a rerun refuses it again (not committed past)" grep -q '"refused_truncated":1' "$T/trunc2.err"
"$BIN" replay --topic "$DLQ" --skip-refused >/dev/null 2>"$T/trunc3.err"
check "--skip-refused refuses it once more but moves past" grep -q '"refused_truncated":1' "$T/trunc3.err"
"$BIN" replay --topic "$DLQ" >/dev/null 2>"$T/trunc4.err"
check_eq "after --skip-refused the replay is clean" 0 $?
# The restarted shield consumed the 3 replays and dead-lettered them again
# (nothing was fixed): that is why the runs above replayed some letters; the
# truncated one must never reach the source topic.
kcat -b "$KAFKA_BROKERS" -C -t "$SRC" -o beginning -e -q -f '%k\n' >"$T/keys.txt" 2>/dev/null
check_eq "no truncated bytes reached the source topic" 1 "$(grep -cx big-1 "$T/keys.txt")"

# --- filters need their own group ------------------------------------------------------------------
"$BIN" replay --topic "$DLQ" --code schema >/dev/null 2>"$T/filter.err"
check_eq "a filter with the default group is a config error (exit 2)" 2 $?
n_schema="$("$BIN" list --topic "$DLQ" --code schema 2>/dev/null | wc -l)"
"$BIN" replay --topic "$DLQ" --code schema --group dlqr-itest-schema --dry-run >"$T/filter.out" 2>/dev/null
check_eq "a filter with its own group selects every schema letter" "$n_schema" \
  "$(grep -c '^would replay' "$T/filter.out")"
check "and only schema letters" bash -c "! grep -v ' code=schema ' '$T/filter.out'"

# --- the loop guard: a letter at max attempts (default 5) --------------------------------------------
# An order that dlq-replay already sent back 4 times (the replay headers say
# so) fails a 5th time: the shield dead-letters it with attempts=5. The shield
# also picks up the 3 replays of the runs above, still invalid: they come back
# with attempts=3, under the cap.
n_dlq="$(count "$DLQ")"
SCHEMAS_DIR="$SENSORY_SOURCE_DIR/schemas" PRIVACY_HMAC_KEY_FILE="$T/hmac.key" \
  METRICS_ADDR=127.0.0.1:0 "$SENSORY_BIN/privacy-shield" -X session.timeout.ms=6000 \
  >>"$T/logs/privacy-shield.out" 2>>"$T/logs/privacy-shield.log" &
record_pid "$T" privacy-shield $!
capped="${bad_qty/\"bad-qty\"/\"capped-1\"}"
printf 'capped-1|%s\n' "$capped" >"$T/capped.txt"
check "kcat produces an invalid order replayed 4 times already" \
  kcat -b "$KAFKA_BROKERS" -t "$SRC" -P -K '|' -H sensory-dlq-attempts=4 \
  -H sensory-dlq-first-failed-at=2026-11-01T00:00:00.000Z -l "$T/capped.txt"
check "it and the 3 replays are dead-lettered again" wait_count "$DLQ" $((n_dlq + 4)) 90
pid="$(recorded_pid "$T" privacy-shield)" && { kill -TERM "$pid"; wait "$pid" 2>/dev/null; }
rm -f "$T/pids/privacy-shield.pid"
n_src="$(count "$SRC")"

"$BIN" list --topic "$DLQ" >"$T/cap-list.out" 2>"$T/cap-list.err"
check "list shows attempts=5 and marks the letter MAX_ATTEMPTS" \
  grep -q "code=schema .*attempts=5 .*MAX_ATTEMPTS" "$T/cap-list.out"
check_eq "list marks only the letter at the cap" 1 "$(grep -c MAX_ATTEMPTS "$T/cap-list.out")"
check "the list summary counts it" grep -q '(1 at max attempts 5)' "$T/cap-list.err"
"$BIN" list --topic "$DLQ" --json 2>/dev/null | grep '"max_attempts_reached":true' >"$T/cap-list.json"
check "list --json flags it and keeps the first failure time from the headers" \
  grep -q '"attempts":5.*"first_failed_at":"2026-11-01T00:00:00.000Z"' "$T/cap-list.json"
coord="$(grep MAX_ATTEMPTS "$T/cap-list.out" | cut -d' ' -f1)"
part="${coord#*/}"
part="${part%@*}"
off="${coord#*@}"
"$BIN" show --topic "$DLQ" --partition "$part" --offset "$off" >"$T/cap-show.out" 2>"$T/cap-show.err"
check "show still shows it" diff -q <(printf '%s\n' "$capped") "$T/cap-show.out"
check "show says replay refuses it without --force" \
  grep -q 'attempts 5 reached max attempts 5: replay refuses this letter unless --force' "$T/cap-show.err"

"$BIN" replay --topic "$DLQ" --dry-run >"$T/cap-dry.out" 2>"$T/cap-dry.err"
check_eq "a dry run with a letter at the cap exits 1" 1 $?
check "the dry run counts it as refused for attempts" grep -q '"refused_attempts":1,' "$T/cap-dry.err"
check "and says so in its human summary" grep -q '1 letter(s) would be refused: attempts reached max attempts 5' "$T/cap-dry.err"
check_eq "the dry run would replay the letters under the cap" 3 "$(grep -c '^would replay' "$T/cap-dry.out")"
REPLAY_MAX_ATTEMPTS=6 "$BIN" replay --topic "$DLQ" --dry-run >/dev/null 2>"$T/cap-dry6.err"
check_eq "REPLAY_MAX_ATTEMPTS=6 raises the cap (dry run exits 0)" 0 $?

"$BIN" replay --topic "$DLQ" >/dev/null 2>"$T/cap.err"
check_eq "replay without --force exits 1" 1 $?
check "the letter is refused for its attempts" grep -q '"reason":"attempts"' "$T/cap.err"
check "its partition is halted" grep -q '"event":"partition_halted"' "$T/cap.err"
kcat -b "$KAFKA_BROKERS" -C -t "$SRC" -o beginning -e -q -f '%k\n' >"$T/keys.txt" 2>/dev/null
check_eq "it did not reach the source topic" 1 "$(grep -cx capped-1 "$T/keys.txt")"
"$BIN" replay --topic "$DLQ" >/dev/null 2>"$T/cap2.err"
check "a rerun refuses it again (the group stayed before it)" grep -q '"refused_attempts":1,' "$T/cap2.err"

"$BIN" replay --topic "$DLQ" --force >/dev/null 2>"$T/cap-force.err"
check_eq "replay --force exits 0" 0 $?
check "--force replays it" grep -q '"refused":0,.*"force":true' "$T/cap-force.err"
kcat -b "$KAFKA_BROKERS" -C -t "$SRC" -o beginning -e -q -f '%k|%h|%s\n' >"$T/src.txt" 2>/dev/null
check "the replay is on the source topic with its bytes and sensory-dlq-attempts=5" \
  grep -qF "capped-1|sensory-dlq-attempts=5,sensory-dlq-first-failed-at=2026-11-01T00:00:00.000Z|$capped" "$T/src.txt"
check_eq "every letter of this section reached the source topic once" $((n_src + 4)) "$(count "$SRC")"
"$BIN" replay --topic "$DLQ" >/dev/null 2>"$T/cap-again.err"
check_eq "after --force the replay is clean" 0 $?

# --- offline: --file round trip through privacy-shield --stdio ------------------------------------------
printf '%s\n' "$bad_qty" "$bad_json" "$good" >"$T/stdio.in"
SCHEMAS_DIR="$SENSORY_SOURCE_DIR/schemas" PRIVACY_HMAC_KEY_FILE="$T/hmac.key" \
  "$SENSORY_BIN/privacy-shield" --stdio --topic "$SRC" --dlq-file "$T/stdio.dlq.jsonl" \
  <"$T/stdio.in" >/dev/null 2>"$T/stdio.err"
check_eq "--stdio writes 2 dead letters" 2 "$(wc -l <"$T/stdio.dlq.jsonl")"
"$BIN" replay --file "$T/stdio.dlq.jsonl" >"$T/file.out" 2>"$T/file.err"
check_eq "replay --file exits 0" 0 $?
check "replay --file writes the original payloads to stdout" \
  diff <(printf '%s\n' "$bad_qty" "$bad_json") "$T/file.out"
DLQ_KEY_FILE="$T/wrong.key" "$BIN" replay --file "$T/stdio.dlq.jsonl" >"$T/file2.out" 2>/dev/null
check_eq "replay --file with the wrong key exits 1" 1 $?
check "and writes nothing" test ! -s "$T/file2.out"

finish
