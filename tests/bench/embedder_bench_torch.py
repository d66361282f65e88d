#!/usr/bin/python3
"""PyTorch peer of tests/bench/embedder_bench.sh: the same model directory and
the same token ids (written by the C side), eager mode, torch.inference_mode(),
the same thread count. Padding + attention mask for batches, as transformers
does. Tokenisation is NOT timed here (the ids are given), nor JSON parsing,
validation or building the vector records, while the C side includes them:
the comparison favours PyTorch.

Steady arrivals as the C side: post i (ids of the 8-128-token set, in order)
arrives at t0 + i / rate (an arrival thread counts them in); the loop takes
what has arrived, else waits for one, then waits up to linger_ms for the
batch to fill to batch_max; latency = end of the post's batch - its arrival.

usage: embedder_bench_torch.py MODEL_DIR IDS.json THREADS [RATES [POSTS]]
env: BENCH_LINGER_MS (5), BENCH_BATCH_MAX (32)"""
import json
import os
import resource
import sys
import threading
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import embedder_torch_bert as tb  # noqa: E402

model_dir, ids_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
rates = [float(r) for r in (sys.argv[4] if len(sys.argv) > 4 else "").split(",") if r]
total = max(100, int(sys.argv[5]) if len(sys.argv) > 5 else 600)
linger = int(os.environ.get("BENCH_LINGER_MS", "5")) / 1000.0
batch_max = int(os.environ.get("BENCH_BATCH_MAX", "32"))
torch.set_num_threads(threads)
model, _ = tb.load_model(model_dir)
data = json.load(open(ids_path))
shorts, posts = data["short"], data["posts"]


def batch(seqs):
    n = max(len(s) for s in seqs)
    ids = torch.tensor([s + [0] * (n - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (n - len(s)) for s in seqs])
    return ids, mask


def pct(sorted_vals, p):
    return sorted_vals[min(len(sorted_vals) - 1, int(p * (len(sorted_vals) - 1) + 0.5))]


def steady(rate):
    cv = threading.Condition()
    state = {"arrived": 0}
    t0 = time.monotonic() + 0.05

    def arrive():
        for i in range(total):
            left = t0 + i / rate - time.monotonic()
            if left > 0:
                time.sleep(left)
            with cv:
                state["arrived"] = i + 1
                cv.notify()

    th = threading.Thread(target=arrive)
    th.start()
    lat, taken, batches, max_b = [0.0] * total, 0, 0, 0
    while taken < total:
        with cv:
            if state["arrived"] == taken:
                cv.wait_for(lambda: state["arrived"] > taken, timeout=0.1)
            n = state["arrived"] - taken
            if 0 < n < batch_max:
                deadline = time.monotonic() + linger
                while state["arrived"] - taken < batch_max:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    have = state["arrived"]
                    cv.wait_for(lambda: state["arrived"] > have, timeout=left)
                n = min(state["arrived"] - taken, batch_max)
        for start in range(taken, taken + n, batch_max):
            b = min(batch_max, taken + n - start)
            model(*batch([posts[i % len(posts)] for i in range(start, start + b)]))
            done = time.monotonic()
            for i in range(start, start + b):
                lat[i] = done - (t0 + i / rate)
            batches += 1
            max_b = max(max_b, b)
        taken += n
    th.join()
    elapsed = time.monotonic() - t0
    s = sorted(lat[20:])
    return {"rate": rate, "posts": total, "p50_ms": pct(s, 0.5) * 1e3,
            "p95_ms": pct(s, 0.95) * 1e3, "p99_ms": pct(s, 0.99) * 1e3,
            "mean_batch": total / batches, "max_batch": max_b, "achieved_per_s": total / elapsed}


with torch.inference_mode():
    lat = []
    for i in range(20 + 300):
        s = shorts[i % len(shorts)]
        t0 = time.perf_counter()
        model(*batch([s]))
        if i >= 20:
            lat.append(time.perf_counter() - t0)
    lat.sort()
    n, at, t0 = 0, 0, time.perf_counter()
    while n < 10 or time.perf_counter() - t0 < 5.0:
        b = [posts[(at + k) % len(posts)] for k in range(32)]
        at += 32
        model(*batch(b))
        n += 1
    elapsed = time.perf_counter() - t0
    c0 = time.process_time()
    time.sleep(0.3)
    idle_cpu_ms = (time.process_time() - c0) * 1e3
    runs = [steady(r) for r in rates]

rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"impl": "PyTorch " + torch.__version__, "p50_ms": round(pct(lat, 0.5) * 1e3, 3),
                  "p95_ms": round(pct(lat, 0.95) * 1e3, 3),
                  "batch32_per_s": round(n * 32 / elapsed, 1), "idle_cpu_ms": round(idle_cpu_ms, 2),
                  "peak_rss_mb": round(rss, 1), "threads": torch.get_num_threads(),
                  "steady": runs}))
