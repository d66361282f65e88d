#!/usr/bin/python3
"""Vector records (schemas/vector_record.json) for weaviate-sink tests and the
benchmark: new posts, updates of earlier posts (a new version: new content and
vector), tombstones of earlier posts (null value, key post_id), re-creations
after a tombstone, and poison (an id that is not the UUIDv5 of post_id, a
vector of 383 floats), with the final state a correct sink must leave.

  gen_vectors.py --count N [--seed S] [--updates F] [--tombstones F] [--poison F]
                 [--topic T] --tsv FILE [--expect FILE] [--stdio FILE]

--tsv: topic<TAB>key<TAB>value lines for kafka_tool.py produce (a tombstone's
value is "\\N": produce with --null-value '\\N'); --stdio: the same records as
JSON lines for --stdio (a tombstone as {"post_id": ..., "deleted": true});
--expect: {"objects": {id: {post_id, content, engagement, vector_sha1}},
"dead_letters": K, "records": N} where vector_sha1 is the SHA-1 of the
vector's float32 little-endian bytes.
"""
import argparse
import hashlib
import json
import random
import struct
import uuid

NS = uuid.UUID("51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7")
WORDS = ["price", "too", "high", "raincoat", "delivery", "late", "quality", "good", "saree",
         "panjabi", "eid", "collection", "cod", "order", "refund", "size", "colour", "fabric",
         "valo", "dam", "koto", "vai", "fast", "slow", "umbrella", "monsoon", "discount"]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def vector(rng, dim=384):
    v = [rng.gauss(0, 1) for _ in range(dim)]
    n = sum(x * x for x in v) ** 0.5
    return [f32(x / n) for x in v]


def dumps(rec):
    """JSON as the embedder writes it: 9 significant digits per float."""
    v = rec.get("vector")
    if v is None:
        return json.dumps(rec)
    body = json.dumps({k: x for k, x in rec.items() if k != "vector"})
    return body[:-1] + ', "vector": [' + ",".join("%.9g" % x for x in v) + "]}"


def sha(vec):
    return hashlib.sha1(struct.pack("<%df" % len(vec), *vec)).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--updates", type=float, default=0.1)
    ap.add_argument("--tombstones", type=float, default=0.05)
    ap.add_argument("--poison", type=float, default=0.01)
    ap.add_argument("--topic", default="sink.weaviate.vectors")
    ap.add_argument("--prefix", default="post_", help="post ids are PREFIX<n>")
    ap.add_argument("--tsv")
    ap.add_argument("--stdio")
    ap.add_argument("--expect")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tsv = open(a.tsv, "w", encoding="utf-8") if a.tsv else None
    std = open(a.stdio, "w", encoding="utf-8") if a.stdio else None
    state, seen, dead = {}, [], 0
    next_post = 0
    for n in range(a.count):
        r = rng.random()
        if r < a.poison:
            pid = "%spoison_%d" % (a.prefix, n)
            rec = {"id": str(uuid.uuid5(NS, pid)), "post_id": pid, "model": "all-MiniLM-L6-v2",
                   "vector": vector(rng), "enriched_text": "x", "platform": "tiktok",
                   "timestamp": "2026-11-21T10:00:00Z", "engagement": 1}
            if n % 2:
                rec["id"] = str(uuid.uuid5(NS, pid + "-other"))  # not its UUIDv5
            else:
                rec["vector"] = rec["vector"][:383]
            dead += 1
            value, key = dumps(rec), pid
        elif r < a.poison + a.tombstones and seen:
            pid = rng.choice(seen)
            state.pop(str(uuid.uuid5(NS, pid)), None)
            value, key = None, pid
        else:
            if r < a.poison + a.tombstones + a.updates and seen:
                pid = rng.choice(seen)  # a new version (or a re-creation)
            else:
                pid = "%s%d" % (a.prefix, next_post)
                next_post += 1
                seen.append(pid)
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
            content = "%s #%d" % (words, n)
            vec = vector(rng)
            rec = {"id": str(uuid.uuid5(NS, pid)), "post_id": pid, "model": "all-MiniLM-L6-v2",
                   "vector": vec, "enriched_text": content,
                   "platform": "tiktok" if rng.random() < 0.5 else "facebook",
                   "timestamp": "2026-11-%02dT%02d:00:00Z" % (rng.randint(1, 28),
                                                               rng.randint(0, 23)),
                   "engagement": n, "content": content,
                   "hashtags": [rng.choice(WORDS)] if rng.random() < 0.3 else [],
                   "product_ids": ["sku-%d" % rng.randint(1, 50)] if rng.random() < 0.3 else []}
            state[rec["id"]] = {"post_id": pid, "content": content, "engagement": n,
                                "vector_sha1": sha(vec)}
            value, key = dumps(rec), pid
        if tsv:
            tsv.write("%s\t%s\t%s\n" % (a.topic, key, value if value is not None else "\\N"))
        if std:
            std.write((value if value is not None else
                       json.dumps({"post_id": key, "deleted": True})) + "\n")
    if a.expect:
        json.dump({"objects": state, "dead_letters": dead, "records": a.count},
                  open(a.expect, "w"))


if __name__ == "__main__":
    main()
