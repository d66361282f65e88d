#!/usr/bin/env bash
# embedder thread count and idle runtimes, on the real binary (no broker): the
# automatic count follows the affinity mask (taskset), an explicit count over
# it is clamped with a warning, the start-up line says what was decided, and
# the OpenMP runtime that runs the model was loaded with GOMP_SPINCOUNT 0
# (libgomp's own OMP_DISPLAY_ENV report of the image that ran the model: the
# program re-executes itself once so the runtimes see OMP_WAIT_POLICY=passive
# and OPENBLAS_THREAD_TIMEOUT before they load), unless the operator set a
# spin count. The cgroup quota side is covered by unit.test_embedder_threads.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

MODEL="$SENSORY_SOURCE_DIR/tests/fixtures/embedding/tiny"
unset OMP_WAIT_POLICY GOMP_SPINCOUNT OPENBLAS_THREAD_TIMEOUT OPENBLAS_NUM_THREADS OMP_NUM_THREADS
unset EMBEDDER_THREADS

# run NAME [ENV=V...] -- [taskset ARGS...]: --model-check, stderr in $T/NAME.log.
run() {
  local name="$1"
  shift
  local envs=()
  while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" MODEL_DIR="$MODEL" OMP_DISPLAY_ENV=verbose "$@" "$SENSORY_BIN/embedder" \
    --model-check --metrics-addr "" >"$T/$name.out" 2>"$T/$name.log"
}
field() { grep '"event":"threads"' "$T/$1.log" | grep '"level":"info"' | grep -o "\"$2\":[^,}]*" | cut -d: -f2; }
last_spin() { grep "GOMP_SPINCOUNT = " "$T/$1.log" | tail -n 1 | grep -o "'[0-9]*'"; }

check "one CPU (taskset -c 0), automatic: model check passes" run one X=1 -- taskset -c 0
check_eq "one CPU: cores seen" 1 "$(field one cores)"
check_eq "one CPU: automatic thread count" 1 "$(field one threads)"
check_eq "the model ran under libgomp loaded with spin count 0 (passive)" "'0'" "$(last_spin one)"
check_eq "OpenBLAS loaded with the shortest idle timeout" '"4"' "$(field one openblas_thread_timeout)"

check "one CPU, threads 4 asked: still runs" run clamp EMBEDDER_THREADS=4 -- taskset -c 0
check_eq "explicit count over the allowed CPUs is clamped" 1 "$(field clamp threads)"
check "the clamp is a warning naming the setting" \
  grep -q '"level":"warn".*threads 4 is more than the 1 CPUs' "$T/clamp.log"

check "explicit 1 on every CPU" run one_set EMBEDDER_THREADS=1 --
check_eq "explicit count within the allowed CPUs is kept" 1 "$(field one_set threads)"
check_eq "setting logged" 1 "$(field one_set setting)"

check "operator's GOMP_SPINCOUNT" run spin GOMP_SPINCOUNT=1000 -- taskset -c 0
check_eq "an operator's spin count is not overridden" "'1000'" "$(last_spin spin)"

# Nothing but the one compute thread when the process may use one CPU: no
# OpenBLAS or OpenMP pool waiting beside it (OpenBLAS sizes its pool at load
# from OPENBLAS_NUM_THREADS, which the re-execution sets to the automatic
# count; OpenBLAS alone would follow the affinity mask but not a CFS quota).
mkfifo "$T/in.fifo"
taskset -c 0 env MODEL_DIR="$MODEL" "$SENSORY_BIN/embedder" --stdio --topic enriched.social \
  --dlq-file "$T/dlq.jsonl" <"$T/in.fifo" >"$T/stdio.out" 2>"$T/logs/stdio.log" &
pid=$!
exec 3>"$T/in.fifo"
for _ in $(seq 100); do grep -q '"event":"ready"' "$T/logs/stdio.log" && break; sleep 0.1; done
tasks="$(ls "/proc/$pid/task" | wc -l)"
exec 3>&-
wait "$pid" || true
check_eq "one CPU: one thread in the process (no idle BLAS/OpenMP pool)" 1 "$tasks"
finish
