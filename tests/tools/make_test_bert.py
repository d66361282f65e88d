#!/usr/bin/python3
"""A random BERT model directory the embedder loads (config.json, vocab.txt,
model.safetensors), made with the standard library only (no PyTorch): for
tests and benchmarks that need the embedder's real code path with a given
vector size, never for quality.

  make_test_bert.py OUT_DIR --vocab VOCAB.txt [--vocab-size N] [--hidden 384]
                    [--layers 1] [--heads 12] [--intermediate 128] [--seed S]

--vocab-size keeps the first N lines of the vocabulary (words past it become
[UNK]; a smaller word-embedding table is faster to make). The weights are
uniform in [-0.1, 0.1) from a seeded generator, so the same arguments always
give the same model.
"""
import argparse
import array
import json
import os
import random
import struct


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--vocab-size", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--intermediate", type=int, default=128)
    ap.add_argument("--positions", type=int, default=512)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    words = open(a.vocab, encoding="utf-8").read().split("\n")
    if words and words[-1] == "":
        words.pop()
    if a.vocab_size:
        words = words[:a.vocab_size]
    with open(os.path.join(a.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(words) + "\n")
    H, I, V = a.hidden, a.intermediate, len(words)
    cfg = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
           "layer_norm_eps": 1e-12, "vocab_size": V, "type_vocab_size": 2, "pad_token_id": 0,
           "position_embedding_type": "absolute", "torch_dtype": "float32", "hidden_size": H,
           "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
           "intermediate_size": I, "max_position_embeddings": a.positions}
    json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"), indent=2)
    shapes = [("embeddings.word_embeddings.weight", [V, H]),
              ("embeddings.position_embeddings.weight", [a.positions, H]),
              ("embeddings.token_type_embeddings.weight", [2, H]),
              ("embeddings.LayerNorm.weight", [H]), ("embeddings.LayerNorm.bias", [H])]
    for li in range(a.layers):
        p = "encoder.layer.%d." % li
        for n in ("query", "key", "value"):
            shapes += [(p + "attention.self.%s.weight" % n, [H, H]),
                       (p + "attention.self.%s.bias" % n, [H])]
        shapes += [(p + "attention.output.dense.weight", [H, H]),
                   (p + "attention.output.dense.bias", [H]),
                   (p + "attention.output.LayerNorm.weight", [H]),
                   (p + "attention.output.LayerNorm.bias", [H]),
                   (p + "intermediate.dense.weight", [I, H]), (p + "intermediate.dense.bias", [I]),
                   (p + "output.dense.weight", [H, I]), (p + "output.dense.bias", [H]),
                   (p + "output.LayerNorm.weight", [H]), (p + "output.LayerNorm.bias", [H])]
    rng = random.Random(a.seed)
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, shape in shapes:
        n = 1
        for d in shape:
            n *= d
        if name.endswith("LayerNorm.weight"):
            data = array.array("f", [1.0]) * n
        elif name.endswith("LayerNorm.bias"):
            data = array.array("f", [0.0]) * n
        else:
            # One random row reused with a per-row random shift and scale is
            # cheap and keeps every row (every token) different.
            base = array.array("f", (rng.random() * 0.2 - 0.1 for _ in range(min(n, 4096))))
            data = array.array("f")
            rows = (n + len(base) - 1) // len(base)
            for r in range(rows):
                k, s = rng.randrange(len(base)), rng.random() + 0.5
                data.extend(x * s for x in base[k:] + base[:k])
            del data[n:]
        b = data.tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
