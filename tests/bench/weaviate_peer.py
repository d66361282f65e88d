#!/usr/bin/python3
"""The benchmark's peer for weaviate-sink: vector records written to Weaviate
the way the seed did it — one create request per object (POST /v1/objects)
with Python requests (a new connection per call), against the same contract
server. Prints {"objects": N, "seconds": S, "per_s": R}.

  weaviate_peer.py URL API_KEY_FILE VECTORS.jsonl COUNT
"""
import json
import sys
import time

import requests


def main():
    url, keyf, path, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    key = open(keyf).read().strip()
    headers = {"Authorization": "Bearer " + key}
    n = 0
    t0 = time.time()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if n >= count:
                break
            rec = json.loads(line)
            obj = {"class": "SocialPost", "id": rec["id"], "vector": rec["vector"],
                   "properties": {"post_id": rec["post_id"], "platform": rec["platform"],
                                  "content": rec.get("content", rec["enriched_text"]),
                                  "timestamp": rec["timestamp"],
                                  "engagement": rec["engagement"],
                                  "hashtags": rec.get("hashtags", []),
                                  "product_ids": rec.get("product_ids", []),
                                  "model": rec["model"]}}
            r = requests.post(url + "/v1/objects", json=obj, headers=headers, timeout=30)
            r.raise_for_status()
            n += 1
    s = time.time() - t0
    print(json.dumps({"objects": n, "seconds": s, "per_s": n / s}))


if __name__ == "__main__":
    main()
