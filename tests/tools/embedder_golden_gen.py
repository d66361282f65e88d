#!/usr/bin/python3
"""Regenerates the embedder's golden test model and vectors:

  /usr/bin/python3 tests/tools/embedder_golden_gen.py tests/fixtures/embedding/tiny

Writes DIR/config.json, DIR/model.safetensors (a small random BERT with the
all-MiniLM-L6-v2 architecture and the real vocabulary size) and
DIR/goldens.jsonl ({text, ids, vector}) for sentences of the tokenizer parity
set (their ids are the Hugging Face tokenizer's, truncated to 256). vocab.txt
is ../vocab.txt (the real one). Needs python3-torch (Debian); the tests only
read the committed output.

With --shape minilm it writes the exact all-MiniLM-L6-v2 shapes instead (the
benchmark's model, ~90 MB: never commit it)."""
import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import embedder_torch_bert as tb  # noqa: E402

SHAPES = {
    # Small enough to commit (~2 MB, dominated by the 30522-row vocabulary).
    "tiny": dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=48, max_position_embeddings=300),
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                   intermediate_size=1536, max_position_embeddings=512),
}

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--shape", choices=SHAPES, default="tiny")
ap.add_argument("--seed", type=int, default=20261121)
ap.add_argument("--cases", default=os.path.join(os.path.dirname(__file__), "..", "fixtures",
                                                 "embedding", "tokenizer_cases.jsonl"))
ap.add_argument("--goldens", type=int, default=48, help="number of golden sentences (0: none)")
ap.add_argument("--vocab", help="copy this vocab.txt into the directory")
a = ap.parse_args()

cfg = dict(architectures=["BertModel"], model_type="bert", hidden_act="gelu",
           layer_norm_eps=1e-12, vocab_size=30522, type_vocab_size=2, pad_token_id=0,
           position_embedding_type="absolute", torch_dtype="float32", **SHAPES[a.shape])
os.makedirs(a.out, exist_ok=True)
model = tb.random_model(cfg, a.seed)
with open(os.path.join(a.out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
    f.write("\n")
tb.save_safetensors(os.path.join(a.out, "model.safetensors"), model.hf_tensors())
if a.vocab:
    shutil.copyfile(a.vocab, os.path.join(a.out, "vocab.txt"))

if a.goldens:
    cases = [json.loads(line) for line in open(a.cases, encoding="utf-8")]
    cases = [c for c in cases if len(c["ids"]) > 2]
    # Spread over the file: corpus lines, then the hand-written cases at the end
    # (Bengali, emoji, URLs, PII tokens, very long texts) all included.
    pick = cases[: -60 : max(1, (len(cases) - 60) // (a.goldens - 40))][: a.goldens - 40] + cases[-60:]
    pick = [c for c in pick if len(c["ids"]) > 2][: max(a.goldens, 0) + 20]
    with torch.inference_mode(), open(os.path.join(a.out, "goldens.jsonl"), "w") as f:
        for c in pick:
            ids = c.get("ids256", c["ids"])
            t = torch.tensor([ids])
            vec = model(t, torch.ones_like(t))[0]
            f.write(json.dumps({"text": c["text"], "ids": ids,
                                "vector": [round(float(x), 9) for x in vec]},
                               ensure_ascii=False) + "\n")
    print(f"{len(pick)} goldens", file=sys.stderr)
