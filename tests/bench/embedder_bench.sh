#!/usr/bin/env bash
# Embedder benchmark (not a ctest test): the C embedder against PyTorch
# (Debian python3-torch, eager, inference_mode) on a model with the exact
# all-MiniLM-L6-v2 shapes and random weights (generated into a temp dir,
# ~90 MB, never committed), same machine, one run:
#   - closed loop: single short post latency p50/p95, batch-32 throughput,
#     CPU burnt by idle threads after the batches, peak RSS;
#   - steady arrivals (what the pipeline sees): posts arriving at a fixed rate,
#     batched as the stage batches (linger 5 ms, up to 32), per-post latency
#     p50/p95/p99 from arrival to vector record (C: through the stage's message
#     handling; PyTorch: the same arrivals and batching, forward pass only).
# C runs per thread setting: "auto" (what the embedder decides: affinity and
# cgroup quota), explicit counts, and "Nspin" = N threads with the runtimes'
# own spinning defaults (GOMP_SPINCOUNT=300000, OPENBLAS_THREAD_TIMEOUT=28:
# how the embedder ran before it loaded them passive).
#
#   tests/bench/embedder_bench.sh [BUILD_DIR] [C_SETTINGS]
#
# BUILD_DIR (default build) must have built svc_embedder and sensory_common.
# Knobs: BENCH_THREADS ("auto 1 2 2spin"), BENCH_TORCH_THREADS ("1 2"),
# BENCH_RATES (posts/s, "30,60"), BENCH_POSTS (per rate, 600), BENCH_REPEAT (1).
set -euo pipefail
# PyTorch (the peer) is not part of the test dependencies.
SENSORY_DEPS_BENCH=1 bash "$(dirname "${BASH_SOURCE[0]}")/../../deploy/deps.sh"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:-$src/build}" && pwd)"
settings="${2:-${BENCH_THREADS:-auto 1 2 2spin}}"
torch_threads="${BENCH_TORCH_THREADS:-1 2}"
rates="${BENCH_RATES:-30,60}"
posts="${BENCH_POSTS:-600}"
repeat="${BENCH_REPEAT:-1}"
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
# Whatever the caller's shell has would decide for the runtimes: start clean.
unset OMP_WAIT_POLICY GOMP_SPINCOUNT OPENBLAS_THREAD_TIMEOUT OPENBLAS_NUM_THREADS OMP_NUM_THREADS
export SCHEMAS_DIR="$src/schemas"
: >"$tmp/results.jsonl"
for rep in $(seq "$repeat"); do
  for s in $settings; do
    n="${s%spin}" && n="${n/auto/0}"
    echo "C, threads $s (run $rep, load $(cut -d' ' -f1 /proc/loadavg)) ..." >&2
    if [[ "$s" == *spin ]]; then
      out="$(GOMP_SPINCOUNT=300000 OPENBLAS_THREAD_TIMEOUT=28 OPENBLAS_NUM_THREADS="$(nproc)" \
        "$tmp/embedder_bench" "$tmp/model" "$cases" "$n" "$tmp/ids.json" "$rates" "$posts")"
    else
      out="$("$tmp/embedder_bench" "$tmp/model" "$cases" "$n" "$tmp/ids.json" "$rates" "$posts")"
    fi
    printf '{"label":"C %s","run":%d,"load":%s,"r":%s}\n' "$s" "$rep" \
      "$(cut -d' ' -f1 /proc/loadavg)" "$out" >>"$tmp/results.jsonl"
  done
  for t in $torch_threads; do
    echo "PyTorch, $t thread(s) (run $rep, load $(cut -d' ' -f1 /proc/loadavg)) ..." >&2
    out="$("$py" "$src/tests/bench/embedder_bench_torch.py" "$tmp/model" "$tmp/ids.json" "$t" \
      "$rates" "$posts")"
    printf '{"label":"PyTorch %s","run":%d,"load":%s,"r":%s}\n' "$t" "$rep" \
      "$(cut -d' ' -f1 /proc/loadavg)" "$out" >>"$tmp/results.jsonl"
  done
done
[[ -n "${BENCH_KEEP:-}" ]] && cp "$tmp/results.jsonl" "$BENCH_KEEP"

"$py" - "$tmp/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
first = next(r["r"] for r in rows if r["label"].startswith("C"))
print(f"embedder benchmark: all-MiniLM-L6-v2 shapes, random weights; {first['cores']} CPUs "
      f"in the affinity mask, CPU quota {first['cpu_quota'] or 'none'}; "
      f"{first['short_posts']} short posts (20-40 tokens), {first['batch_posts']} posts "
      "(8-128 tokens) for batches and arrivals")
def label(r):
    x = r["r"]
    if r["label"].startswith("C"):
        wait = "spinning" if x["gomp_spincount"] else "passive"
        return f"{r['label'].replace('spin', '')} ({x['threads']} thr, {wait})"
    return f"{r['label']} ({x['threads']} thr)"
print()
print("| run | load | single post p50 / p95 (ms) | batch-32 (sentences/s) | idle CPU after batches (ms in 300 ms) | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    x = r["r"]
    print(f"| {label(r)} #{r['run']} | {r['load']:.1f} | {x['p50_ms']:.1f} / {x['p95_ms']:.1f} | "
          f"{x['batch32_per_s']:.0f} | {x['idle_cpu_ms']:.1f} | {x['peak_rss_mb']:.0f} |")
print()
print("steady arrivals, batching with linger 5 ms (latency from arrival to vector record):")
print()
print("| run | rate (posts/s) | p50 / p95 / p99 (ms) | mean / max batch | achieved (posts/s) |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    for s in r["r"]["steady"]:
        print(f"| {label(r)} #{r['run']} | {s['rate']:.0f} | {s['p50_ms']:.1f} / {s['p95_ms']:.1f} / "
              f"{s['p99_ms']:.1f} | {s['mean_batch']:.1f} / {s['max_batch']} | {s['achieved_per_s']:.0f} |")
PY
