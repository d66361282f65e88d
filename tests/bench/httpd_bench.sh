#!/usr/bin/env bash
# Requests/s and latency of common/net/httpd on trivial JSON routes
# (tests/bench/httpd_bench.c): the server pinned to one core (taskset -c 0),
# wrk on the other (taskset -c 1) with 16 keep-alive connections. GET /ping
# answers {"ok":true}; POST /score parses a 90-byte JSON body first. Median of
# BENCH_REPS runs of BENCH_SECONDS each, and the server's CPU time per request
# (user + system), which a busy shared machine disturbs less than req/s. Not part of ctest; installs wrk
# (Debian package) when missing.
#   tests/bench/httpd_bench.sh            (BENCH_REPS=3 BENCH_SECONDS=10 BENCH_CONNS=16)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
reps=${BENCH_REPS:-3}
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNS:-16}
command -v wrk >/dev/null || SENSORY_EXTRA_PACKAGES=wrk "$root/deploy/deps.sh"
work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# -O2 like the Release build; only what the server needs.
read -ra libs <<<"$(pkg-config --cflags --libs libmicrohttpd jansson)"
gcc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$root/common" -o "$work/httpd_bench" \
  "$root/tests/bench/httpd_bench.c" "$root/common/net/httpd.c" "$root/common/json/jsonf.c" \
  "${libs[@]}" -lpthread -lm

cat >"$work/score.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"order_id":"ord-1001","merchant_id":"m-7","amount":1250.5,"payment_method":"cod","currency":"BDT"}'
LUA

taskset -c 0 "$work/httpd_bench" 127.0.0.1:0 1 >"$work/port" &
server_pid=$!
for _ in $(seq 50); do
  [[ -s "$work/port" ]] && break
  sleep 0.1
done
port=$(cat "$work/port")

# wrk's --latency output: "Requests/sec:", and the 50%/99% lines in ms or us.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}'; }
# CPU time (user + system, clock ticks) the server has used so far: on a shared
# machine, CPU per request is steadier than requests per second.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
run() { # route, extra wrk args...
  local route=$1
  shift
  local rps=() p50=() p99=() cpu=()
  for _ in $(seq "$reps"); do
    local t0
    t0=$(cpu_ticks)
    taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" "http://127.0.0.1:$port$route" >"$work/out"
    local n
    n=$(awk '/requests in/ {print $1}' "$work/out")
    cpu+=("$(awk -v t="$(($(cpu_ticks) - t0))" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')")
    rps+=("$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$work/out")")
    p50+=("$(awk '$1 == "50%" {print $2}' "$work/out" | to_ms)")
    p99+=("$(awk '$1 == "99%" {print $2}' "$work/out" | to_ms)")
    [[ -n "${BENCH_VERBOSE:-}" ]] && cat "$work/out" >&2
    grep -q "Non-2xx" "$work/out" && { echo "non-2xx answers:" >&2; cat "$work/out" >&2; exit 1; }
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  printf '| %-12s | %9s | %8s | %8s | %11s | runs: %s |\n' "$route" "$(median "${rps[@]}")" \
    "$(median "${p50[@]}")" "$(median "${p99[@]}")" "$(median "${cpu[@]}")" "${rps[*]}"
}
echo "httpd on one core (taskset -c 0), wrk -t1 -c$conns on core 1, ${secs}s x $reps, $(nproc) CPUs"
echo "| route        | req/s     | p50 ms   | p99 ms   | server CPU µs/req |"
echo "|--------------|-----------|----------|----------|-------------|"
run /ping
run /score -s "$work/score.lua"
