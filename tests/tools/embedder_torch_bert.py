"""A BERT encoder + mean pooling + L2 normalisation built from PyTorch's own
layers (nn.Embedding, nn.Linear, nn.LayerNorm, F.gelu, softmax): the reference
the C embedder is checked against (goldens) and benchmarked against. Same
computation as transformers' BertModel + sentence-transformers Pooling(mean) +
Normalize, with Hugging Face tensor names for save/load as safetensors.

Run with Debian's /usr/bin/python3 (python3-torch)."""
import json
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.q, self.k, self.v, self.ao = (nn.Linear(h, h) for _ in range(4))
        self.aln = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.i = nn.Linear(h, i)
        self.o = nn.Linear(i, h)
        self.oln = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.heads = c["num_attention_heads"]

    def forward(self, x, add_mask):
        b, n, h = x.shape
        hd = h // self.heads

        def split(t):
            return t.view(b, n, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + add_mask
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)
        x = self.aln(self.ao(ctx) + x)
        return self.oln(self.o(F.gelu(self.i(x))) + x)  # F.gelu: exact (erf)


class SentenceBert(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], h)
        self.pos = nn.Embedding(c["max_position_embeddings"], h)
        self.tok_type = nn.Embedding(c["type_vocab_size"], h)
        self.ln = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, ids, mask):
        """ids, mask: [batch, len] (mask 1 for tokens, 0 for padding)."""
        n = ids.shape[1]
        pos = torch.arange(n).unsqueeze(0)
        x = self.ln(self.word(ids) + self.pos(pos) + self.tok_type(torch.zeros_like(ids)))
        add_mask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, add_mask)
        m = mask.unsqueeze(-1).float()
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)

    def hf_tensors(self):
        """Hugging Face BertModel names → tensors."""
        t = {
            "embeddings.word_embeddings.weight": self.word.weight,
            "embeddings.position_embeddings.weight": self.pos.weight,
            "embeddings.token_type_embeddings.weight": self.tok_type.weight,
            "embeddings.LayerNorm.weight": self.ln.weight,
            "embeddings.LayerNorm.bias": self.ln.bias,
        }
        names = {"q": "attention.self.query", "k": "attention.self.key",
                 "v": "attention.self.value", "ao": "attention.output.dense",
                 "aln": "attention.output.LayerNorm", "i": "intermediate.dense",
                 "o": "output.dense", "oln": "output.LayerNorm"}
        for n, layer in enumerate(self.layers):
            for attr, hf in names.items():
                mod = getattr(layer, attr)
                t[f"encoder.layer.{n}.{hf}.weight"] = mod.weight
                t[f"encoder.layer.{n}.{hf}.bias"] = mod.bias
        return t


def save_safetensors(path, tensors):
    """Writes F32 tensors in the safetensors format (no extra dependency)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # keeps the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        arr = np.frombuffer(raw, dtype=np.float32, count=(end - b) // 4, offset=8 + n + b)
        out[name.removeprefix("bert.")] = torch.from_numpy(arr.copy()).view(e["shape"])
    return out


def load_model(model_dir):
    with open(f"{model_dir}/config.json") as f:
        c = json.load(f)
    m = SentenceBert(c)
    want = m.hf_tensors()
    got = load_safetensors(f"{model_dir}/model.safetensors")
    with torch.no_grad():
        for name, p in want.items():
            p.copy_(got[name])
    return m.eval(), c


def random_model(c, seed, std=0.2):
    """Random weights large enough that attention is far from uniform and
    LayerNorm scales matter (0.02, BERT's init, would hide bugs)."""
    torch.manual_seed(seed)
    m = SentenceBert(c)
    with torch.no_grad():
        for name, p in m.hf_tensors().items():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + std * torch.randn_like(p))
            else:
                p.copy_(std * torch.randn_like(p))
    return m.eval()
