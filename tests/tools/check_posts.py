#!/usr/bin/python3
"""Compares what a store holds with the final state gen_vectors.py expects:
every expected post exactly once (id = UUIDv5 of post_id, content,
engagement, the vector bit-exact as float32) and nothing else.

  check_posts.py --expect FILE (--psql DATABASE_URL | --weaviate BASE_URL [--class C])

Prints one line: "rows=N expected=M missing=A extra=B wrong=C" and exits 0
only when A, B and C are 0 and N == M.
"""
import argparse
import hashlib
import json
import struct
import subprocess
import sys
import urllib.request


def sha(vec):
    return hashlib.sha1(struct.pack("<%df" % len(vec), *vec)).hexdigest()


def from_psql(url):
    out = subprocess.run(
        ["/usr/lib/postgresql/15/bin/psql", "-X", "-At", "-F", "\t", url, "-c",
         "SELECT id, post_id, engagement, vector, encode(convert_to(content, 'UTF8'), 'hex'), "
         "encode(vector_f32, 'hex') FROM social_posts"],
        check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        oid, pid, eng, vec, content, raw = line.split("\t")
        v = [float(x) for x in vec.strip("{}").split(",")]
        bad_raw = sha(v) != hashlib.sha1(bytes.fromhex(raw)).hexdigest()
        rows.setdefault(oid, []).append({"post_id": pid, "engagement": int(eng),
                                         "content": bytes.fromhex(content).decode(),
                                         "vector_sha1": "vector_f32 differs" if bad_raw else sha(v)})
    return rows


def from_weaviate(base, cls):
    with urllib.request.urlopen(base + "/__control/objects") as r:
        objs = json.load(r).get(cls, {})
    return {oid: [{"post_id": o["properties"].get("post_id"),
                   "engagement": o["properties"].get("engagement"),
                   "content": o["properties"].get("content"),
                   "vector_sha1": sha(o["vector"] or [])}] for oid, o in objs.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", required=True)
    ap.add_argument("--psql")
    ap.add_argument("--weaviate")
    ap.add_argument("--class", dest="cls", default="SocialPost")
    a = ap.parse_args()
    exp = json.load(open(a.expect))["objects"]
    rows = from_psql(a.psql) if a.psql else from_weaviate(a.weaviate, a.cls)
    n = sum(len(v) for v in rows.values())
    missing = [k for k in exp if k not in rows]
    extra = [k for k in rows if k not in exp]
    wrong = [k for k in exp if k in rows and (len(rows[k]) != 1 or rows[k][0] != exp[k])]
    print("rows=%d expected=%d missing=%d extra=%d wrong=%d" % (n, len(exp), len(missing),
                                                                 len(extra), len(wrong)))
    for k in (missing + extra + wrong)[:3]:
        print("  e.g. %s: expected %s, have %s" % (k, exp.get(k), rows.get(k)), file=sys.stderr)
    return 0 if n == len(exp) and not (missing or extra or wrong) else 1


if __name__ == "__main__":
    sys.exit(main())
