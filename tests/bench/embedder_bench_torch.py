#!/usr/bin/python3
"""PyTorch peer of tests/bench/embedder_bench.sh: the same model directory and
the same token ids (written by the C side), eager mode, torch.inference_mode(),
the same thread count. Padding + attention mask for batches, as transformers
does. Tokenisation is NOT timed here (the ids are given), while the C side
includes it: the comparison favours PyTorch slightly.

usage: embedder_bench_torch.py MODEL_DIR IDS.json THREADS"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import embedder_torch_bert as tb  # noqa: E402

model_dir, ids_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
model, _ = tb.load_model(model_dir)
data = json.load(open(ids_path))
shorts, posts = data["short"], data["posts"]


def batch(seqs):
    n = max(len(s) for s in seqs)
    ids = torch.tensor([s + [0] * (n - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (n - len(s)) for s in seqs])
    return ids, mask


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

rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"impl": "PyTorch " + torch.__version__, "p50_ms": round(lat[150] * 1e3, 3),
                  "p95_ms": round(lat[285] * 1e3, 3), "batch32_per_s": round(n * 32 / elapsed, 1),
                  "peak_rss_mb": round(rss, 1), "threads": torch.get_num_threads()}))
