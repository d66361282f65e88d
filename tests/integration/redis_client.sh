#!/usr/bin/env bash
# The shared Redis client (common/net/redis.c) against a real redis-server
# and a misbehaving fake one, driven line by line through build/tests/redis_probe:
#  - settings: ACL user with a password file (one trailing newline ignored),
#    the password in the URL (escaped and unescaped '@'), the file beats the
#    URL, SELECT of the URL's db, a wrong or missing password refused, bad
#    settings exit 2 naming the setting;
#  - pipelining: replies in order, a command refused while replies are unread;
#  - scripts: EVALSHA, SCRIPT LOAD only after NOSCRIPT (first use, SCRIPT
#    FLUSH), a fresh connection's pipeline sends the source once, a script that
#    does not compile is an error reply;
#  - outage: server stopped → I/O error, then "unavailable" with a back-off
#    doubling to its ceiling, server back → AUTH and SELECT again, back-off
#    reset after a reply;
#  - timeouts: a paused server (CLIENT PAUSE) and a server that never answers
#    fail after command_timeout_ms, a full accept queue after connect_timeout_ms;
#    a LOADING reply drops the connection;
#  - IPv6 [::1]; no password in any error text, even one a server echoes.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

PROBE="${SENSORY_BUILD:?}/tests/redis_probe"
ADMIN_PW='adm1n-pw'
PW='s3cr@t/pw:x' # an ACL user's password with '@', '/' and ':'
printf '%s\n' "$PW" >"$T/probe.pass"
chmod 600 "$T/probe.pass"

start_redis "$T"
RPORT="${REDIS_URL##*:}"
rcli() { redis-cli -p "$RPORT" -a "$ADMIN_PW" --no-auth-warning "$@"; }
redis-cli -p "$RPORT" ACL SETUSER probe on ">$PW" '~*' '&*' '+@all' >/dev/null
redis-cli -p "$RPORT" CONFIG SET requirepass "$ADMIN_PW" >/dev/null
USER_URL="redis://probe:@127.0.0.1:$RPORT/3"

# once [ENV=VAL...] -- LINES...: a fresh probe, one command per line; prints its answers.
once() {
  local envs=()
  while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  shift
  printf '%s\n' "$@" | env "${envs[@]}" "$PROBE" 2>>"$T/logs/probe.log" | tee -a "$T/answers"
}

# probe_start ARGS...: a probe kept running (flags as settings); p CMD talks to it.
probe_start() {
  rm -f "$T/probe.in" "$T/probe.out"
  mkfifo "$T/probe.in" "$T/probe.out"
  "$PROBE" "$@" <"$T/probe.in" >"$T/probe.out" 2>>"$T/logs/probe.log" &
  record_pid "$T" probe $!
  exec 3>"$T/probe.in" 4<"$T/probe.out"
}
# (Anything started while the probe runs must not inherit fds 3 and 4: the
# probe would never see the end of its input.)
probe_stop() {
  local pid rc=0
  exec 3>&-
  pid="$(recorded_pid "$T" probe)" && { wait "$pid" || rc=$?; }
  check_eq "probe exits cleanly (sanitizers: no leak)" 0 "$rc"
  exec 4<&-
  rm -f "$T/pids/probe.pid" "$T/probe.in" "$T/probe.out"
}
p() {
  local line
  printf '%s\n' "$*" >&3
  IFS= read -r -t 60 line <&4 || line="(no answer)"
  printf '%s\n' "$line" >>"$T/answers"
  printf '%s\n' "$line"
}
has() { [[ "$1" == *"$2"* ]]; } # has TEXT PART

# ---- settings -------------------------------------------------------------------
out="$(once REDIS_URL="$USER_URL" REDIS_PASSWORD_FILE="$T/probe.pass" -- \
  'cmd ACL WHOAMI' 'cmd SET k in-db-3' | paste -sd'|')"
check_eq "ACL user with a password file (trailing newline ignored)" '$probe|+OK' "$out"
check_eq "SELECT: the key is in db 3" "in-db-3" "$(rcli -n 3 GET k)"
check_eq "SELECT: not in db 0" "" "$(rcli -n 0 GET k)"
out="$(once REDIS_URL="redis://probe:s3cr%40t%2Fpw%3Ax@127.0.0.1:$RPORT/3" -- 'cmd GET k')"
check_eq "password in the URL, percent-escaped" '$in-db-3' "$out"
out="$(once REDIS_URL="redis://probe:$PW@127.0.0.1:$RPORT/3" -- 'cmd GET k')"
check_eq "password in the URL with unescaped '@' '/' ':'" '$in-db-3' "$out"
out="$(once REDIS_URL="redis://probe:wrong-pw-9@127.0.0.1:$RPORT/3" \
  REDIS_PASSWORD_FILE="$T/probe.pass" -- 'cmd GET k')"
check_eq "the password file beats the URL's password" '$in-db-3' "$out"
out="$(once REDIS_URL="redis://probe:not-it-9@127.0.0.1:$RPORT/3" -- connect)"
check "wrong password: AUTH refused ($out)" has "$out" "err AUTH refused by 127.0.0.1:$RPORT: WRONGPASS"
check "wrong password: not in the message" bash -c "! grep -q 'not-it-9' <<<'$out'"
out="$(once REDIS_URL="redis://127.0.0.1:$RPORT" -- 'cmd GET k')"
check "no password: the handshake's PING is refused ($out)" has "$out" "err PING refused by 127.0.0.1:$RPORT: NOAUTH"

rc=0
REDIS_URL="rediss://:$PW@127.0.0.1:$RPORT" "$PROBE" </dev/null 2>"$T/bad1.err" || rc=$?
check_eq "rediss:// refused at start-up: exit 2" 2 "$rc"
check "rediss:// refused with a clear message" grep -q 'redis.url (REDIS_URL): rediss:// (TLS) is not supported' "$T/bad1.err"
rc=0
REDIS_URL="$USER_URL" REDIS_PASSWORD_FILE="$T/nope.pass" "$PROBE" </dev/null 2>"$T/bad2.err" || rc=$?
check_eq "missing password file: exit 2" 2 "$rc"
check "missing password file: names the setting" grep -q 'redis.password_file (REDIS_PASSWORD_FILE):' "$T/bad2.err"
rc=0
"$PROBE" --redis-url "redis://:$PW@127.0.0.1:99999" </dev/null 2>"$T/bad3.err" || rc=$?
check_eq "bad port: exit 2" 2 "$rc"
check "bad port: message without the password" bash -c "grep -q 'port must be 1..65535' '$T/bad3.err' && ! grep -qF 's3cr' '$T/bad3.err'"

# ---- pipelining -----------------------------------------------------------------
probe_start --redis-url "$USER_URL" --redis-password-file "$T/probe.pass"
N=200
{
  for i in $(seq 1 $N); do printf 'append INCR ctr\nappend ECHO e%d\n' "$i"; done
  for i in $(seq 1 $((2 * N))); do printf 'reply\n'; done
} >"$T/pipe.in"
while IFS= read -r line; do p "$line"; done <"$T/pipe.in" | grep -v '^queued$' >"$T/pipe.out"
for i in $(seq 1 $N); do printf ':%d\n$e%d\n' "$i" "$i"; done >"$T/pipe.want"
check "pipelining: $((2 * N)) replies in the order sent" cmp -s "$T/pipe.want" "$T/pipe.out"
check_eq "pipelining: nothing queued by the test is left" "err no pipelined command waiting for its reply" "$(p reply)"
p append PING >/dev/null
out="$(p cmd PING)"
check "a command while a reply is unread is refused, not sent ($out)" has "$out" "1 pipelined replies unread"
check_eq "the unread reply is still there" "+PONG" "$(p reply)"

# ---- scripts --------------------------------------------------------------------
SHA="$(p sha incr)"
rcli SCRIPT FLUSH >/dev/null
rcli CONFIG RESETSTAT >/dev/null
cmdstat() { rcli INFO commandstats | tr -d '\r' | awk -F'[=,:]' -v c="cmdstat_$1" '$1 == c {print $3}'; }
check_eq "script: first use loads it (NOSCRIPT → SCRIPT LOAD)" ":5" "$(p eval incr 1 sk 5)"
check_eq "script: now on the server" 1 "$(rcli SCRIPT EXISTS "$SHA")"
check_eq "script: second use is EVALSHA only" ":10" "$(p eval incr 1 sk 5)"
check_eq "script: EVALSHA calls (NOSCRIPT, retry, second use)" 3 "$(cmdstat evalsha)"
check_eq "script: SCRIPT LOAD once" 1 "$(cmdstat 'script|load')"
check_eq "script: never EVAL with the source" "" "$(cmdstat eval)"
rcli SCRIPT FLUSH >/dev/null
check_eq "script: reloaded after SCRIPT FLUSH" ":11" "$(p eval incr 1 sk 1)"
check_eq "script: SCRIPT LOAD again after the flush" 2 "$(cmdstat 'script|load')"
out="$(p eval bad 0)"
check "script that does not compile: an error reply ($out)" has "$out" "-ERR Error compiling script"
check_eq "script: run once more (the client knows it is loaded)" ":12" "$(p eval incr 1 sk 1)"
rcli SCRIPT FLUSH >/dev/null
p append_eval incr 1 sk 1 >/dev/null
check "pipelined, flushed mid-connection: NOSCRIPT for the caller" has "$(p reply)" "-NOSCRIPT"
p append_eval incr 1 sk 1 >/dev/null
check_eq "pipelined: the next append sends the source" ":13" "$(p reply)"
probe_stop
rcli SCRIPT FLUSH >/dev/null
out="$(once REDIS_URL="$USER_URL" REDIS_PASSWORD_FILE="$T/probe.pass" -- \
  'append_eval incr 1 sk 1' 'append_eval incr 1 sk 1' 'append_eval incr 1 sk 1' \
  reply reply reply | paste -sd' ')"
check_eq "a fresh connection's pipeline runs against a server without the script" \
  "queued queued queued :14 :15 :16" "$out"

# ---- outage: restart, back-off, recovery ----------------------------------------
probe_start --redis-url "$USER_URL" --redis-password-file "$T/probe.pass" \
  --backoff-initial-ms 1000 --backoff-max-ms 2000
check_eq "before the outage" "+OK" "$(p cmd SET r kept)"
rcli SAVE >/dev/null
rpid="$(recorded_pid "$T" redis)"
kill -TERM "$rpid"
wait "$rpid" 2>/dev/null || true
rm -f "$T/pids/redis.pid"
out="$(p cmd GET r)"
check "server gone: the command fails ($out)" bash -c "[[ '$out' == err* && '$out' != *unavailable* ]]"
check_eq "server gone: disconnected" 0 "$(p connected)"
out="$(p cmd GET r)"
check "at once again: unavailable, back-off 1000 ms ($out)" has "$out" "unavailable (back-off 1000 ms"
sleep 1.1
out="$(p cmd GET r)"
check "after the back-off: a real connect attempt ($out)" has "$out" "err connect 127.0.0.1:$RPORT: Connection refused"
check "the back-off doubles" has "$(p cmd GET r)" "unavailable (back-off 2000 ms"
sleep 2.1
p cmd GET r >/dev/null
check "the back-off stops at its ceiling" has "$(p cmd GET r)" "unavailable (back-off 2000 ms"
redis-server --bind 127.0.0.1 --port "$RPORT" --protected-mode yes --save "" --appendonly no \
  --dir "$T/redis" --daemonize no --logfile "$T/logs/redis.log" --requirepass "$ADMIN_PW" \
  --user probe on ">$PW" '~*' '&*' '+@all' </dev/null >/dev/null 2>&1 3>&- 4<&- &
record_pid "$T" redis $!
wait_for_port "$RPORT" 15
recovered=""
for _ in $(seq 1 50); do
  out="$(p cmd GET r)"
  [[ "$out" == '$kept' ]] && { recovered=1; break; }
  sleep 0.2
done
check "server back: recovered, with SELECT 3 again (last: $out)" test -n "$recovered"
check_eq "server back: AUTH as the ACL user again" '$probe' "$(p cmd ACL WHOAMI)"
rcli CLIENT KILL USER probe >/dev/null
p cmd PING >/dev/null
check "a reply reset the back-off" has "$(p cmd PING)" "unavailable (back-off 1000 ms"
probe_stop

# ---- timeouts -------------------------------------------------------------------
probe_start --redis-url "$USER_URL" --redis-password-file "$T/probe.pass" \
  --redis-command-timeout-ms 300 --backoff-initial-ms 100
check_eq "before the pause" "+PONG" "$(p cmd PING)"
rcli CLIENT PAUSE 3000 ALL >/dev/null # every client's commands wait, the next CLIENT too
out="$(p cmd GET r)"
check "paused server: no reply within command_timeout_ms ($out)" has "$out" "err GET 127.0.0.1:$RPORT: no reply within 300 ms"
check_eq "paused server: disconnected" 0 "$(p connected)"
sleep 3
check_eq "pause over: back" '$kept' "$(p cmd GET r)"
probe_stop

fake() { # MODE [--host H]: a fake server recorded as fake-MODE; prints its port
  local port="" pid
  $PY "$TOOLS/fake_redis.py" "$@" >"$T/fake-$1.port" 2>>"$T/logs/fake.log" 3>&- 4<&- &
  pid=$!
  record_pid "$T" "fake-$1" "$pid"
  for _ in $(seq 1 100); do
    port="$(head -n 1 "$T/fake-$1.port")"
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  printf '%s\n' "$port"
}
SPORT="$(fake stall)"
out="$(once REDIS_URL="redis://127.0.0.1:$SPORT" REDIS_COMMAND_TIMEOUT_MS=300 -- connect connected)"
check "server that never answers: the handshake times out ($out)" has "$out" "err PING 127.0.0.1:$SPORT: no reply within 300 ms"
FPORT="$(fake full)"
out="$(once REDIS_URL="redis://127.0.0.1:$FPORT" REDIS_CONNECT_TIMEOUT_MS=300 -- connect)"
check "full accept queue: connect_timeout_ms ($out)" bash -c "[[ '$out' == 'err connect 127.0.0.1:$FPORT: '* ]]"
LPORT="$(fake loading)"
out="$(once REDIS_URL="redis://127.0.0.1:$LPORT" -- 'cmd GET x' connected 'cmd GET x' | paste -sd'|')"
check "LOADING: the reply comes back, the connection is dropped, back-off ($out)" \
  bash -c "[[ '$out' == '-LOADING Redis is loading the dataset in memory|0|err redis 127.0.0.1:$LPORT unavailable'* ]]"
EPORT="$(fake echo)"
out="$(once REDIS_URL="redis://:hunter2-pw@127.0.0.1:$EPORT" -- connect)"
check "a server echoing the password: masked in errstr ($out)" \
  bash -c "[[ '$out' == *'WRONGPASS you sent ***'* && '$out' != *hunter2* ]]"
if $PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
  V6PORT="$(fake pong --host ::1)"
  out="$(once REDIS_URL="redis://[::1]:$V6PORT" -- 'cmd PING' | paste -sd'|')"
  check_eq "IPv6 [::1]" "+PONG" "$out"
else
  echo "skip IPv6: ::1 not available"
fi

# ---- no password anywhere ---------------------------------------------------------
cat "$T"/bad*.err "$T/logs/probe.log" >>"$T/answers"
check "no password in any answer or error" \
  bash -c "! grep -aqE 's3cr|hunter2|not-it-9|wrong-pw-9' '$T/answers'"
finish
