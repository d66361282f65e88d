#!/usr/bin/env bash
# Builds tests/bench/jsonf_bench.c (-O2, like the Release build) and prints ns per
# message and callgrind instructions per message for jansson, jsonf to and from
# jansson, and jsonf documents, parse and dump, on generated market (order) and
# social records. Not part of ctest.
#   tests/bench/jsonf_bench.sh [COUNT]      (default 20000; callgrind uses 2000)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
count=${1:-20000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$root/common" -o "$work/jsonf_bench" \
  "$root/tests/bench/jsonf_bench.c" "$root"/common/json/jsonf*.c -ljansson -lm -lpthread

for kind in market social; do
  /usr/bin/python3 "$root/tests/tools/gen_records.py" --kind "$kind" --count "$count" --seed 1 >"$work/$kind.jsonl"
  head -n 2000 "$work/$kind.jsonl" >"$work/$kind.small.jsonl"
  echo "== $kind"
  "$work/jsonf_bench" "$work/$kind.jsonl" 10
  if command -v valgrind >/dev/null; then
    for op in jansson-parse jsonf-parse jansson-dump jsonf-dump doc-parse doc-dump; do
      fn=one_${op//-/_}
      valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --toggle-collect="$fn" \
        "$work/jsonf_bench" "$work/$kind.small.jsonl" 1 "$op" >/dev/null 2>&1
      ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$work/cg.out")
      n=$(wc -l <"$work/$kind.small.jsonl")
      printf '%-14s %8d instructions/message (callgrind, %d records)\n' "$op" $((ir / n)) "$n"
    done
  fi
done
