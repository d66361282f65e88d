# tests/tools/checks.sh — the check counters every shell test uses; sourced.
# Each script ends with `finish`, which prints the closing line ctest's
# output is read by ("N passed, M failed") and fails when anything failed.
passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
not_ok() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; }
# check NAME CMD...: passes when CMD succeeds.
check() {
  local name="$1"
  shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# check_eq NAME EXPECTED ACTUAL
check_eq() {
  if [[ "$2" == "$3" ]]; then ok "$1 ($3)"; else not_ok "$1: expected $2, got $3"; fi
}
finish() {
  printf '%d passed, %d failed\n' "$passed" "$failed"
  [[ "$failed" == 0 ]]
}
