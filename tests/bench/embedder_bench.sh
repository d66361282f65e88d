#!/usr/bin/env bash
# Embedder benchmark (not a ctest test): the C embedder against PyTorch
# (Debian python3-torch, eager, inference_mode) on a model with the exact
# all-MiniLM-L6-v2 shapes and random weights (generated into a temp dir,
# ~90 MB, never committed), same machine, same thread count, one run:
#   single short post latency p50/p95, batch-32 throughput, peak RSS, ratios.
#
#   tests/bench/embedder_bench.sh [BUILD_DIR] [THREADS]
#
# BUILD_DIR (default build) must have built svc_embedder and sensory_common.
set -euo pipefail
# PyTorch (the peer) is not part of the test dependencies.
SENSORY_DEPS_BENCH=1 bash "$(dirname "${BASH_SOURCE[0]}")/../../deploy/deps.sh"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:-$src/build}" && pwd)"
threads="${2:-$(nproc)}"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "generating a random model with all-MiniLM-L6-v2 shapes in $tmp ..." >&2
"$py" "$src/tests/tools/embedder_golden_gen.py" "$tmp/model" --shape minilm --goldens 0 \
  --vocab "$src/tests/fixtures/embedding/vocab.txt"
du -sh "$tmp/model/model.safetensors" >&2

# shellcheck disable=SC2046
cc -O2 -D_GNU_SOURCE -I"$src/services/embedder" -I"$src/common" \
  $(pkg-config --cflags openblas) "$src/tests/bench/embedder_bench.c" \
  "$build/services/embedder/libsvc_embedder.a" "$build/common/libsensory_common.a" \
  $(pkg-config --libs openblas jansson libcrypto yaml-0.1 rdkafka libmicrohttpd libpcre2-8 libcurl) \
  -fopenmp -lpthread -lm -o "$tmp/embedder_bench"

# Texts: the tokenizer parity corpus (UCI reviews, Banglish, Bengali, emoji...).
cases="$src/tests/fixtures/embedding/tokenizer_cases.jsonl"
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
echo "C ..." >&2
c_json="$("$tmp/embedder_bench" "$tmp/model" "$cases" "$threads" "$tmp/ids.json")"
echo "PyTorch ..." >&2
t_json="$("$py" "$src/tests/bench/embedder_bench_torch.py" "$tmp/model" "$tmp/ids.json" "$threads")"

"$py" - "$c_json" "$t_json" "$threads" <<'PY'
import json, sys
c, t, threads = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"embedder benchmark: all-MiniLM-L6-v2 shapes, random weights, {threads} thread(s); "
      f"{c['short_posts']} short posts (20-40 tokens), {c['batch_posts']} batch posts (8-128 tokens)")
print(f"| metric | C embedder | {t['impl']} | C speed-up (RSS: C / PyTorch) |")
print("|---|---|---|---|")
print(f"| single post p50 (ms) | {c['p50_ms']:.2f} | {t['p50_ms']:.2f} | {t['p50_ms']/c['p50_ms']:.2f}x |")
print(f"| single post p95 (ms) | {c['p95_ms']:.2f} | {t['p95_ms']:.2f} | {t['p95_ms']/c['p95_ms']:.2f}x |")
print(f"| batch-32 throughput (sentences/s) | {c['batch32_per_s']:.0f} | {t['batch32_per_s']:.0f} | {c['batch32_per_s']/t['batch32_per_s']:.2f}x |")
print(f"| peak RSS (MB) | {c['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} | {c['peak_rss_mb']/t['peak_rss_mb']:.2f}x |")
PY
