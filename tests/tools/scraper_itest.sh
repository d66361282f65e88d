# tests/tools/scraper_itest.sh — sourced by the scraper-ingest integration
# tests after itest.sh: the mock API server, secrets as files, and helpers to
# run scraper-ingest and read its summary lines.

# Secrets as a Kubernetes Secret would mount them (values the mock expects).
printf 'shpat_test_token\n' >"$T/shopify.token"
printf 'helloworld\n' >"$T/daraz.secret"
printf 'daraz_test_token\n' >"$T/daraz.token"
printf 'owm_test_key\n' >"$T/owm.key"
printf 'fb_test_token\n' >"$T/fb.token"
printf 'tt_test_token\n' >"$T/tt.token"
export SHOPIFY_TOKEN_FILE="$T/shopify.token" DARAZ_APP_SECRET_FILE="$T/daraz.secret"
export DARAZ_ACCESS_TOKEN_FILE="$T/daraz.token" DARAZ_APP_KEY=123456
export WEATHER_API_KEY_FILE="$T/owm.key" FACEBOOK_TOKEN_FILE="$T/fb.token"
export TIKTOK_TOKEN_FILE="$T/tt.token"
# Fast failure paths: a test must not wait for production time-outs.
export HTTP_TIMEOUT_MS=1500 HTTP_CONNECT_TIMEOUT_MS=1000 HTTP_BACKOFF_MS=50 HTTP_RETRIES=3
export SCRAPER_KAFKA_TIMEOUT_MS=10000

# start_mock NAME ARGS...: deploy/local-api/server.py in the background; sets
# MOCK_URL and MOCK_LOG.
start_mock() {
  local name="$1" i
  shift
  rm -f "$T/$name.port"
  $PY "$SENSORY_SOURCE_DIR/deploy/local-api/server.py" --fixtures "$SENSORY_SOURCE_DIR/tests/fixtures/api" \
    --port-file "$T/$name.port" --log "$T/$name.requests" "$@" \
    >>"$T/logs/$name.log" 2>&1 &
  record_pid "$T" "$name" $!
  for ((i = 0; i < 100; i++)); do
    [[ -s "$T/$name.port" ]] && break
    sleep 0.1
  done
  MOCK_URL="http://127.0.0.1:$(<"$T/$name.port")"
  MOCK_LOG="$T/$name.requests"
}

# scr LOGNAME ARGS...: one scraper-ingest run; its stderr goes to
# $T/logs/LOGNAME.log; prints nothing, returns its exit code in $SCR_RC.
scr() {
  local name="$1"
  shift
  SCR_RC=0
  "$SENSORY_BIN/scraper-ingest" "$@" >>"$T/logs/$name.out" 2>>"$T/logs/$name.log" || SCR_RC=$?
}

# summary LOGNAME SOURCE FIELD: FIELD of the last summary line of SOURCE.
summary() {
  $PY - "$T/logs/$1.log" "$2" "$3" <<'PY'
import json, sys
val = ""
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("event") == "source_summary" and d.get("source") == sys.argv[2]:
        val = d.get(sys.argv[3], "")
print(val)
PY
}

# requests FAMILY: how many requests of FAMILY the mock saw; violations: how
# many broke the API's rules.
requests() { grep -c "\"family\": \"$1\"" "$MOCK_LOG" || true; }
violations() { grep -c '"violation"' "$MOCK_LOG" || true; }

# consume TOPICS FILE: every message of TOPICS as JSON lines.
consume() {
  $PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" --topics "$1" --idle 2 --out "$2"
}

# no_secrets LOGNAME: none of the test secrets appear in the log.
no_secrets() {
  ! grep -q -e shpat_test_token -e helloworld -e daraz_test_token -e owm_test_key \
    -e fb_test_token -e tt_test_token "$T/logs/$1.log" "$T/logs/$1.out" 2>/dev/null
}
