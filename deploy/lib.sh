# deploy/lib.sh — bash helpers for the local stack; source it, don't run it:
#   source deploy/lib.sh
#   stack_dir "$dir"; start_dev_broker "$dir"; start_redis "$dir"; start_postgres "$dir"
#   ...; stop_all "$dir"
#
# Everything listens on 127.0.0.1 only, on ports found free at start time.
# Every process we start is recorded as DIR/pids/NAME.pid ("PID STARTTIME",
# STARTTIME from /proc/PID/stat) and stop_all signals only those, and only if
# the start time still matches, so a recycled PID is never hit.
#
# The caller's shell options are left alone; the functions return non-zero
# on failure and say why on stderr.

SENSORY_SOURCE_DIR="${SENSORY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SENSORY_BIN="${SENSORY_BIN:-$SENSORY_SOURCE_DIR/build/bin}"
# Debian's PostgreSQL 15, named explicitly: /usr/local/bin holds stray
# initdb/pg_ctl/postgres binaries of another version.
SENSORY_PG_BIN="${SENSORY_PG_BIN:-/usr/lib/postgresql/15/bin}"

sensory_log() { printf 'stack: %s\n' "$*" >&2; }

# sensory_deps: install missing Debian packages (see deps.sh).
sensory_deps() { bash "$SENSORY_SOURCE_DIR/deploy/deps.sh" "$@"; }

# stack_dir DIR: create DIR and its subfolders. DIR gets mode 0711 so the
# unprivileged PostgreSQL user can reach DIR/pg without reading anything else.
stack_dir() {
  local dir="${1:?stack_dir DIR}"
  mkdir -p "$dir/pids" "$dir/logs" || return 1
  chmod 0711 "$dir" || return 1
}

# free_port: print a TCP port that is free on 127.0.0.1 right now (the kernel
# picks it; another process could still take it before we bind, rarely).
free_port() {
  if [[ -x /usr/bin/python3 ]]; then
    /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local port i
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  sensory_log "free_port: no free port found"
  return 1
}

# wait_for_port PORT [TIMEOUT_S [PID]]: wait until 127.0.0.1:PORT accepts a
# connection; give up early if PID (when given) dies.
wait_for_port() {
  local port="${1:?wait_for_port PORT}" timeout="${2:-15}" pid="${3:-}"
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      sensory_log "wait_for_port $port: process $pid exited"
      return 1
    fi
    sleep 0.1
  done
  sensory_log "wait_for_port $port: timed out after ${timeout}s"
  return 1
}

# _proc_start PID: the process start time (clock ticks since boot), which
# together with the PID identifies one process for its whole life. Fails for
# a zombie: a process killed by another shell than its parent's stays in
# /proc until that parent reaps it, but it is not running.
_proc_start() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # the command name may contain spaces; skip past it
  # shellcheck disable=SC2086
  set -- $stat
  [[ "$1" != Z ]] || return 1
  printf '%s\n' "${20}"
}

# record_pid DIR NAME PID
record_pid() {
  local dir="$1" name="$2" pid="$3" start
  start="$(_proc_start "$pid")" || { sensory_log "$name (pid $pid) is not running"; return 1; }
  printf '%s %s\n' "$pid" "$start" >"$dir/pids/$name.pid"
}

# recorded_pid DIR NAME: print the PID if it is recorded and still the same
# process; fail otherwise.
recorded_pid() {
  local file="$1/pids/$2.pid" pid start now
  [[ -f "$file" ]] || return 1
  read -r pid start <"$file" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  now="$(_proc_start "$pid")" || return 1
  [[ "$now" == "$start" ]] || return 1
  printf '%s\n' "$pid"
}

# start_dev_broker DIR: start build/bin/dev-broker in the background; exports
# KAFKA_BROKERS, DEV_BROKER_CONTROL_PORT and the clients' short fetch wait. DEV_BROKER_BROKERS (default 1)
# and DEV_BROKER_PORT (first fixed port; default random) are honoured.
start_dev_broker() {
  local dir="${1:?start_dev_broker DIR}" bin="$SENSORY_BIN/dev-broker" cport pid i
  local -a extra=()
  [[ -x "$bin" ]] || { sensory_log "no $bin (build it: cmake --build build --target dev-broker)"; return 1; }
  stack_dir "$dir" || return 1
  mkdir -p "$dir/kafka" || return 1
  rm -f "$dir/kafka/bootstrap"
  cport="$(free_port)" || return 1
  if [[ -n "${DEV_BROKER_PORT:-}" ]]; then extra=(--port "$DEV_BROKER_PORT"); fi
  "$bin" --topics "$SENSORY_SOURCE_DIR/schemas/topics.yaml" \
    --brokers "${DEV_BROKER_BROKERS:-1}" \
    --bootstrap-file "$dir/kafka/bootstrap" \
    --control-port "$cport" "${extra[@]}" \
    </dev/null >"$dir/logs/dev-broker.out" 2>"$dir/logs/dev-broker.log" &
  pid=$!
  # Up to 30 s: the mock applies each topic creation on its own thread and was
  # measured taking 0.04-5 s for the 13 topics (see deploy/README.md).
  for ((i = 0; i < 300; i++)); do
    [[ -s "$dir/kafka/bootstrap" ]] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      sensory_log "dev-broker exited; see $dir/logs/dev-broker.log"
      tail -n 5 "$dir/logs/dev-broker.log" >&2
      return 1
    fi
    sleep 0.1
  done
  [[ -s "$dir/kafka/bootstrap" ]] || { sensory_log "dev-broker: no bootstrap file after 30s"; return 1; }
  record_pid "$dir" dev-broker "$pid" || return 1
  printf '%s\n' "$cport" >"$dir/kafka/control-port"
  KAFKA_BROKERS="$(<"$dir/kafka/bootstrap")"
  DEV_BROKER_CONTROL_PORT="$cport"
  # A limitation of librdkafka's mock, not a production setting: it answers a
  # waiting fetch only when fetch.wait.max.ms runs out (500 ms by default),
  # never when data arrives, so every hop of the pipeline would wait that long.
  # Clients of the dev broker (the programs read KAFKA_<PROPERTY>) ask for 10 ms.
  KAFKA_CONSUMER_FETCH_WAIT_MAX_MS=10
  export KAFKA_BROKERS DEV_BROKER_CONTROL_PORT KAFKA_CONSUMER_FETCH_WAIT_MAX_MS
}

# dev_broker_ctl DIR COMMAND...: send one control command (e.g. "broker-down 1")
# to the dev broker of DIR; prints the reply; succeeds only on "ok...".
dev_broker_ctl() {
  local dir="${1:?dev_broker_ctl DIR COMMAND}" port reply fd
  shift
  port="$(<"$dir/kafka/control-port")" || return 1
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s\n' "$*" >&"$fd"
  IFS= read -r -t 10 reply <&"$fd" || reply="error no reply"
  exec {fd}>&-
  printf '%s\n' "$reply"
  [[ "$reply" == ok* ]]
}

# start_redis DIR [PORT]: redis-server on 127.0.0.1:PORT (default: a free
# one); exports REDIS_URL. No persistence, unless REDIS_APPENDONLY=yes: then
# every write is in DIR/redis's append-only file before it is acknowledged
# (appendfsync always), so a restart (restart_redis) keeps everything.
start_redis() {
  local dir="${1:?start_redis DIR}" port="${2:-}" pid aof="${REDIS_APPENDONLY:-no}"
  stack_dir "$dir" || return 1
  mkdir -p "$dir/redis" || return 1
  [[ -n "$port" ]] || port="$(free_port)" || return 1
  printf '%s\n' "$port" >"$dir/redis/port"
  printf '%s\n' "$aof" >"$dir/redis/appendonly"
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --save "" --appendonly "$aof" --appendfsync always --dir "$dir/redis" --daemonize no \
    --pidfile "$dir/redis/redis.pid" --logfile "$dir/logs/redis.log" \
    </dev/null >/dev/null 2>&1 &
  pid=$!
  wait_for_port "$port" 15 "$pid" || { tail -n 5 "$dir/logs/redis.log" >&2; return 1; }
  record_pid "$dir" redis "$pid" || return 1
  REDIS_URL="redis://127.0.0.1:$port"
  export REDIS_URL
}

# restart_redis DIR [DOWN_S]: stop DIR's Redis (TERM: it finishes what it
# is doing and exits), stay down DOWN_S seconds (default 0), start it again on
# the same port with the same persistence. Clients see a refused connection
# meanwhile.
restart_redis() {
  local dir="${1:?restart_redis DIR}" port aof
  port="$(<"$dir/redis/port")" || return 1
  aof="$(<"$dir/redis/appendonly")" || return 1
  _stop_names "$dir" 15 redis
  sleep "${2:-0}"
  REDIS_APPENDONLY="$aof" start_redis "$dir" "$port"
}

# _pg_user: the OS and database superuser PostgreSQL runs as. initdb refuses
# to run as root, so root hands the cluster to "postgres" (created by the
# Debian package), or to a dedicated system user if that does not exist.
_pg_user() {
  if ((EUID != 0)); then
    id -un
  elif id postgres >/dev/null 2>&1; then
    printf 'postgres\n'
  else
    id sensory-pg >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin sensory-pg || return 1
    printf 'sensory-pg\n'
  fi
}

# _as_pg USER CMD...: run CMD as USER (directly when that is us already).
_as_pg() {
  local user="$1"
  shift
  if [[ "$(id -un)" == "$user" ]]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

# start_postgres DIR: a throwaway PostgreSQL 15 cluster in DIR/pg on
# 127.0.0.1:<free port> (socket in DIR/pg/sock), database "sensory" with
# deploy/sql/postgres.sql applied; exports DATABASE_URL.
# Trust auth and fsync=off: loopback-only, disposable data, fast tests.
start_postgres() {
  local dir="${1:?start_postgres DIR}" user port pid data psql
  stack_dir "$dir" || return 1
  user="$(_pg_user)" || { sensory_log "cannot find or create a PostgreSQL user"; return 1; }
  [[ -x "$SENSORY_PG_BIN/initdb" ]] || { sensory_log "no $SENSORY_PG_BIN/initdb (run deploy/deps.sh)"; return 1; }
  data="$dir/pg/data"
  psql="$SENSORY_PG_BIN/psql"
  mkdir -p "$dir/pg/sock" || return 1
  touch "$dir/logs/postgres.log"
  if ((EUID == 0)); then chown -R "$user" "$dir/pg" "$dir/logs/postgres.log" || return 1; fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    _as_pg "$user" "$SENSORY_PG_BIN/initdb" -D "$data" -U "$user" -A trust -E UTF8 \
      --no-locale >"$dir/logs/initdb.log" 2>&1 ||
      { sensory_log "initdb failed; see $dir/logs/initdb.log"; tail -n 5 "$dir/logs/initdb.log" >&2; return 1; }
  fi
  port="$(free_port)" || return 1
  printf '%s\n' "$port" >"$dir/pg/port"
  _pg_ctl_start "$dir" "$user" "$port" || return 1
  if ! "$psql" -X -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'sensory'" | grep -q 1; then
    "$psql" -X -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -c 'CREATE DATABASE sensory' ||
      return 1
  fi
  DATABASE_URL="postgresql://$user@127.0.0.1:$port/sensory"
  export DATABASE_URL
  "$psql" -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$SENSORY_SOURCE_DIR/deploy/sql/postgres.sql" \
    >"$dir/logs/schema.log" 2>&1 ||
    { sensory_log "schema failed; see $dir/logs/schema.log"; tail -n 5 "$dir/logs/schema.log" >&2; return 1; }
}

# _pg_ctl_start DIR USER PORT: start DIR's cluster and record it.
_pg_ctl_start() {
  local dir="$1" user="$2" port="$3" pid
  _as_pg "$user" "$SENSORY_PG_BIN/pg_ctl" -D "$dir/pg/data" -l "$dir/logs/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k '$dir/pg/sock' -c fsync=off -c synchronous_commit=${PG_SYNCHRONOUS_COMMIT:-off} -c full_page_writes=off" \
    start >/dev/null ||
    { sensory_log "postgres did not start; see $dir/logs/postgres.log"; tail -n 5 "$dir/logs/postgres.log" >&2; return 1; }
  pid="$(head -n 1 "$dir/pg/data/postmaster.pid")" || return 1
  record_pid "$dir" postgres "$pid"
}

# restart_postgres DIR [DOWN_S [MODE]]: stop DIR's PostgreSQL (pg_ctl stop -m
# MODE, default immediate: every connection dropped at once, as in a crash),
# stay down DOWN_S seconds, start it again on the same port. A crash keeps
# every commit the server acknowledged only when the stack was started with
# PG_SYNCHRONOUS_COMMIT=on: the stack's default (off, for speed) lets
# PostgreSQL acknowledge a commit before its WAL is written, and a crash then
# loses up to 3 x wal_writer_delay of acknowledged commits, by design. (fsync=off
# is harmless here: the machine does not go down, only the server.)
restart_postgres() {
  local dir="${1:?restart_postgres DIR}" user port
  user="$(_pg_user)" || return 1
  port="$(<"$dir/pg/port")" || return 1
  _as_pg "$user" "$SENSORY_PG_BIN/pg_ctl" -D "$dir/pg/data" -m "${3:-immediate}" -w -t 30 stop \
    >/dev/null || return 1
  rm -f "$dir/pids/postgres.pid"
  sleep "${2:-0}"
  _pg_ctl_start "$dir" "$user" "$port"
}

# _stop_names DIR TIMEOUT NAME...: TERM the recorded processes NAME..., wait
# up to TIMEOUT seconds, then KILL what is left (and say so).
_stop_names() {
  local dir="$1" timeout="$2" name pid deadline
  shift 2
  local -a pids=() files=()
  for name in "$@"; do
    [[ -f "$dir/pids/$name.pid" ]] || continue
    if pid="$(recorded_pid "$dir" "$name")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    files+=("$dir/pids/$name.pid")
  done
  deadline=$((SECONDS + timeout))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      sensory_log "pid $pid ignored TERM for ${timeout}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    # Reap our own children so they do not linger as zombies (no-op otherwise).
    wait "$pid" 2>/dev/null || true
  done
  if ((${#files[@]})); then rm -f "${files[@]}"; fi
}

# stop_all DIR [TIMEOUT_S]: stop every process recorded in DIR/pids, in
# reverse dependency order: the pipeline's programs first (they drain and
# commit while the broker and their stores are still up), then the dev
# broker, Redis and PostgreSQL. Never touches a process it did not record.
stop_all() {
  local dir="${1:?stop_all DIR}" timeout="${2:-15}" file name
  local -a services=()
  [[ -d "$dir/pids" ]] || return 0
  for file in "$dir"/pids/*.pid; do
    [[ -f "$file" ]] || continue
    name="$(basename "$file" .pid)"
    case "$name" in dev-broker | redis | postgres) ;; *) services+=("$name") ;; esac
  done
  if ((${#services[@]})); then _stop_names "$dir" "$timeout" "${services[@]}"; fi
  _stop_names "$dir" "$timeout" dev-broker redis postgres
}

# stack_status DIR: one line per recorded process: NAME PID running|stopped.
stack_status() {
  local dir="${1:?stack_status DIR}" file name pid
  for file in "$dir"/pids/*.pid; do
    [[ -f "$file" ]] || continue
    name="$(basename "$file" .pid)"
    if pid="$(recorded_pid "$dir" "$name")"; then
      printf '%-12s pid %-8s running\n' "$name" "$pid"
    else
      printf '%-12s %-12s stopped\n' "$name" "-"
    fi
  done
}
