#!/usr/bin/env bash
# fuzz.sh NAME BINARY MAX_LEN DICT|- SEED... — one bounded libFuzzer run of
# a target (the ctest label "fuzz"; README.md here has the nightly run).
#
# The seeds (files or directories, read-only) are copied into a scratch seed
# directory; what the run adds is kept in $SENSORY_FUZZ_WORK/NAME/corpus
# (reused by the next run); a crash lands in $SENSORY_FUZZ_WORK/NAME/crashes/.
#   SENSORY_FUZZ_SECONDS  how long (default 8)
#   SENSORY_FUZZ_WORK     where corpora and crashes go (default: BUILD/fuzz-work)
#   SENSORY_FUZZ_SEED     libFuzzer's -seed (default 1: the test run explores the
#                         same inputs every time, so a commit's CI verdict does
#                         not depend on luck; 0 = a new random seed each run,
#                         for the nightly run that is meant to find new things)
#   SENSORY_FUZZ_RUNS     at most this many inputs (default: the target's own
#                         count from CMakeLists.txt, about 4 s here, so that with
#                         the fixed seed the run is the same on any machine up to
#                         twice slower; -1 = no limit but the time, for nightly)
# Exit: 0 no failure, 1 a crash / failed invariant / leak / timeout (the
# input is named), 77 the binary was not built (clang missing: skipped).
set -euo pipefail
name="$1" bin="$2" max_len="$3" dict="$4"
shift 4
if [[ ! -x "$bin" ]]; then
  echo "SKIP fuzz.$name: no libFuzzer build: ${SENSORY_FUZZ_MISSING:-$bin not built}"
  exit 77
fi
seconds="${SENSORY_FUZZ_SECONDS:-8}"
work="${SENSORY_FUZZ_WORK:-${SENSORY_FUZZ_DEFAULT_WORK:-$PWD/fuzz-work}}/$name"
mkdir -p "$work/corpus" "$work/crashes"
seeds="$work/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"
# Content-named copies: two fixtures of the same name never overwrite each other.
while IFS= read -r -d '' f; do
  sum="$(sha1sum <"$f")"
  cp "$f" "$seeds/${sum%% *}"
done < <(find "$@" -type f -print0)

runs="${SENSORY_FUZZ_RUNS:-${SENSORY_FUZZ_DEFAULT_RUNS:--1}}"
args=(-max_total_time="$seconds" -runs="$runs" -seed="${SENSORY_FUZZ_SEED:-1}" -max_len="$max_len" -timeout=20 -rss_limit_mb=2048
  -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1
  -artifact_prefix="$work/crashes/")
[[ "$dict" == "-" ]] || args+=(-dict="$dict")
log="$work/last.log"
echo "fuzz.$name: $seconds s from $(find "$seeds" -type f | wc -l) seeds + $(find "$work/corpus" -type f | wc -l) kept inputs"
rc=0
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
  "$bin" "${args[@]}" "$work/corpus" "$seeds" >"$log" 2>&1 || rc=$?
if ((rc != 0)); then
  grep -v '^#[0-9]' "$log" | tail -n 60
  crash="$(ls -t "$work/crashes" 2>/dev/null | head -n 1)"
  echo "fuzz.$name FAILED (exit $rc); input: $work/crashes/$crash"
  echo "reproduce: $bin $work/crashes/$crash"
  echo "keep it: cp $work/crashes/$crash tests/fuzz/regressions/$name/ (replayed by fuzz_replay.$name)"
  exit 1
fi
grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" | tr '\n' ' '
echo
echo "fuzz.$name: no failure in $seconds s"
