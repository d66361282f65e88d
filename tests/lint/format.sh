#!/usr/bin/env bash
# Every C file of the repository is formatted as .clang-format says: a file
# that drifted fails the test with the command that fixes it. (Generated
# tables mark themselves "clang-format off".)
set -euo pipefail
cd "${SENSORY_SOURCE_DIR:?}"
command -v clang-format >/dev/null || { echo "clang-format missing: run deploy/deps.sh" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find common services tests deploy -name '*.[ch]')
bad=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  printf 'not formatted: %s\n' "${bad[@]}"
  printf 'fix: clang-format -i %s\n' "${bad[*]}"
  exit 1
fi
echo "${#files[@]} files formatted"
