#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages), builds, and
# runs every test with ctest — first the release build, then the whole suite
# again under AddressSanitizer + UndefinedBehaviorSanitizer.
#
# The first pass also builds the libFuzzer targets with clang (SENSORY_FUZZ,
# under build/fuzz) and runs each for a few seconds (label "fuzz",
# tests/fuzz/README.md); the second pass does not repeat them, since they
# carry ASan and UBSan themselves. Both passes replay the fuzz regressions.
#
#   tests/run.sh              # everything
#   tests/run.sh -L unit      # extra arguments go to both ctest runs
#   SENSORY_SKIP_ASAN=1 tests/run.sh   # release build only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/deps.sh

jobs="$(nproc)"
run_suite() { # BUILD_DIR CMAKE_ARGS...
  local dir="$1"
  shift
  cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  # (the build's own status: with pipefail, "| grep || true" would hide it)
  local rc=0
  cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || rc=$?
  grep -Ev '^\[ *[0-9]+%\]' "$dir.build.log" || true
  ((rc == 0)) || { echo "build failed in $dir (exit $rc); log: $dir.build.log"; return 1; }
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "${ctest_args[@]}")
}
ctest_args=("$@")

echo "== release build"
run_suite build -DCMAKE_BUILD_TYPE=Release -DSENSORY_FUZZ=ON
if [[ -z "${SENSORY_SKIP_ASAN:-}" ]]; then
  echo "== sanitizer build (ASan + UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSENSORY_SANITIZE=ON
fi
