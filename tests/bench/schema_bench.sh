#!/usr/bin/env bash
# Builds tests/bench/schema_bench.c (-O2, like the Release build) against a built
# libsensory_common.a and prints, for source and clean contracts of orders and
# posts, ns per validation and callgrind instructions per validation, of jansson
# values (schema_validate) and of jsonf documents (schema_validate_node). The clean
# records come from running privacy-shield --stdio on the generated ones. Not
# part of ctest.
#   tests/bench/schema_bench.sh [BUILD_DIR] [COUNT]   (defaults: build, 20000;
#                                                      callgrind uses 2000)
#   SCHEMA_BENCH_CHECK=DIR  also writes the error messages of many mutated
#                           records per contract to DIR (diff two builds)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
count=${2:-20000}
lib=${SCHEMA_BENCH_LIB:-$build/common/libsensory_common.a}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$root/common" -o "$work/schema_bench" \
  "$root/tests/bench/schema_bench.c" "$lib" $(pkg-config --libs jansson libpcre2-8) -lpthread -lm

head -c 32 /dev/urandom >"$work/hmac.key"
head -c 32 /dev/urandom >"$work/dlq.key"
for kind in market social; do
  /usr/bin/python3 "$root/tests/tools/gen_records.py" --kind "$kind" --count "$count" --seed 5 >"$work/$kind.jsonl"
  topic=source.market.shopify
  [ "$kind" = social ] && topic=source.social.tiktok
  SCHEMAS_DIR="$root/schemas" PRIVACY_HMAC_KEY_FILE="$work/hmac.key" DLQ_KEY_FILE="$work/dlq.key" \
    METRICS_ADDR= "$build/bin/privacy-shield" --stdio --topic "$topic" --dlq-file "$work/dlq.jsonl" \
    <"$work/$kind.jsonl" >"$work/clean_$kind.jsonl" 2>/dev/null
done

run() { # schema records label
  local schema=$root/schemas/$1 recs=$work/$2 label=$3
  "$work/schema_bench" "$schema" "$recs" 10 | sed "s|^[^ ]*|$label|"
  if command -v valgrind >/dev/null; then
    head -n 2000 "$recs" >"$work/small.jsonl"
    for mode in cg cgdoc; do
      fn=one_validate
      [ $mode = cgdoc ] && fn=one_validate_doc
      valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --toggle-collect=$fn \
        "$work/schema_bench" "$schema" "$work/small.jsonl" 1 $mode >/dev/null 2>&1
      ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$work/cg.out")
      printf '%-28s %7d instructions/message, %s (callgrind, 2000 records)\n' "$label" $((ir / 2000)) \
        "$([ $mode = cg ] && echo jansson || echo document)"
    done
  fi
  if [ -n "${SCHEMA_BENCH_CHECK:-}" ]; then
    mkdir -p "$SCHEMA_BENCH_CHECK"
    head -n 200 "$recs" >"$work/check.jsonl"
    "$work/schema_bench" "$schema" "$work/check.jsonl" 0 check >"$SCHEMA_BENCH_CHECK/$label.txt"
  fi
}
run market_order.json market.jsonl order-source
run clean_market_order.json clean_market.jsonl order-clean
run social_post.json social.jsonl post-source
run clean_social_post.json clean_social.jsonl post-clean
