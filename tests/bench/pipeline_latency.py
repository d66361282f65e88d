#!/usr/bin/python3
"""pipeline_latency.py — helpers for tests/bench/pipeline_latency.sh (Debian's
python3-confluent-kafka; PostgreSQL through psql). Not a test.

  pipeline_latency.py produce -b B --run ID --rate R --seconds S
      R records a second for S seconds, half posts (source.social.tiktok /
      facebook), half order updates (source.market.shopify / daraz), ids
      prefixed with ID; each record's "timestamp" is the moment it is sent,
      which is also its Kafka timestamp (the producer's clock), so a store row's
      ingested_at - event_time is source topic → store write.
  pipeline_latency.py snapshot --metrics NAME=TOPIC@URL ... > F
  pipeline_latency.py report --db URL --run ID [--expect N] [--since F] [--metrics NAME=TOPIC@URL ...]
      per store: rows, p50/p95/p99/max of ingested_at - event_time
      (ingested_at is now() of the writing transaction, which commits right
      after); per sink: the same quantiles interpolated from its
      <svc>_end_to_end_seconds histogram (Kafka timestamp → commit, buckets
      0.1/0.25/0.5/1/2.5 s; minus the snapshot --since, so only this run's
      records count) and the share of records within 1 s. One JSON line.
"""
import argparse
import datetime
import json
import os
import subprocess
import time
import urllib.request

from confluent_kafka import Producer

PSQL = os.path.join(os.environ.get("SENSORY_PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")
PRODUCTS = [("P-RAIN-01", "Raincoat", 5000), ("P-SARI-07", "Jamdani saree", 8500),
            ("P-TEA-03", "Sylhet tea 500g", 380)]


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def record(n, run):
    """The n-th record of a run: even n a post, odd n an order update."""
    i = n // 2
    pid, pname, price = PRODUCTS[i % len(PRODUCTS)]
    if n % 2 == 0:
        platform = "tiktok" if i % 2 else "facebook"
        rec = {"platform": platform, "post_id": "%s-%s-%06d" % (run, platform[:2], i),
               "author_username": "user_%d" % (i % 97),
               "content": "Is the %s still available? Price too high for me" % pname,
               "engagement_count": i % 50, "timestamp": now_iso(), "hashtags": ["sale"],
               "product_mentions": [pid]}
        return "source.social." + platform, rec["post_id"], rec
    platform = "shopify" if i % 2 else "daraz"
    rec = {"platform": platform, "order_id": "%s-%s-%06d" % (run, platform[:2], i),
           "merchant_id": "m-1", "product_id": pid, "product_name": pname, "quantity": 1,
           "price": float(price), "currency": "BDT", "order_status": "pending",
           "payment_method": "cod", "shipping_city": "Dhaka",
           "customer_phone": "+88017%08d" % (i % 1000), "timestamp": now_iso()}
    return "source.market." + platform, rec["order_id"], rec


def cmd_produce(a):
    p = Producer({"bootstrap.servers": a.brokers, "linger.ms": 0, "enable.idempotence": True})
    # A new producer's first records wait for its id and the topics' metadata
    # (~1 s on the dev broker): that is this tool starting, not the pipeline.
    for n in range(4):
        topic, key, rec = record(n, "warmup-" + a.run)
        p.produce(topic, key=key, value=json.dumps(rec))
    p.flush(30)
    n, t0 = 0, time.time()
    while time.time() - t0 < a.seconds:
        topic, key, rec = record(n, a.run)
        p.produce(topic, key=key, value=json.dumps(rec))
        p.poll(0)
        n += 1
        ahead = n / a.rate - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
    p.flush(30)
    print(json.dumps({"run": a.run, "records": n, "seconds": round(time.time() - t0, 2)}))
    return 0


def quantiles_sql(db, table, key, run):
    q = ("SELECT count(*), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY s), max(s) FROM "
         "(SELECT extract(epoch FROM ingested_at - event_time) AS s FROM %s WHERE %s LIKE '%s-%%') x"
         % (table, key, run))
    out = subprocess.run([PSQL, "-X", "-At", "-F", "\t", db, "-c", q], check=True, capture_output=True,
                         text=True).stdout.strip().split("\t")
    qs = [float(x) for x in out[1].strip("{}").split(",")] if out[1] else [0, 0, 0]
    return {"rows": int(out[0]), "p50": qs[0], "p95": qs[1], "p99": qs[2], "max": float(out[2] or 0)}


def histogram(text, metric, topic):
    """{upper bound: cumulative count} of a Prometheus histogram's series of one topic."""
    buckets = {}
    for line in text.splitlines():
        if line.startswith(metric + "_bucket{") and 'topic="%s"' % topic in line:
            le = line.split('le="')[1].split('"')[0]
            b = float("inf") if le == "+Inf" else float(le)
            buckets[b] = buckets.get(b, 0) + float(line.split()[-1])
    return buckets


def quantiles_histogram(buckets):
    """Quantiles of cumulative buckets, linear inside a bucket as
    histogram_quantile() does."""
    bounds = sorted(buckets)
    total = buckets.get(float("inf"), 0)
    if not total:
        return {"records": 0}
    out = {"records": int(total), "within_1s": round(buckets.get(1.0, 0) / total, 4)}
    for q in (0.5, 0.95, 0.99):
        rank, lo, prev = q * total, 0.0, 0.0
        for b in bounds:
            if buckets[b] >= rank:
                if b == float("inf"):
                    out["p%d" % round(q * 100)] = lo
                else:
                    out["p%d" % round(q * 100)] = lo + (b - lo) * (rank - prev) / max(buckets[b] - prev, 1e-9)
                break
            lo, prev = b, buckets[b]
    return out


def cmd_report(a):
    deadline = time.time() + 120
    while a.expect and time.time() < deadline:
        q = ("SELECT (SELECT count(*) FROM orders WHERE order_id LIKE '{0}-%') + "
             "(SELECT count(*) FROM social_posts WHERE post_id LIKE '{0}-%')".format(a.run))
        have = int(subprocess.run([PSQL, "-X", "-At", a.db, "-c", q], check=True, capture_output=True,
                                  text=True).stdout)
        if have >= a.expect:
            break
        time.sleep(0.5)
    time.sleep(1.5)  # the sinks' metrics of the last batch
    res = {"run": a.run,
           "orders": quantiles_sql(a.db, "orders", "order_id", a.run),
           "social_posts": quantiles_sql(a.db, "social_posts", "post_id", a.run)}
    base = json.load(open(a.since)) if a.since else {}
    for m in a.metrics or []:
        name, rest = m.split("=", 1)
        topic, url = rest.split("@", 1)
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        h = histogram(text, name.replace("-", "_") + "_end_to_end_seconds", topic)
        before = {float(k): v for k, v in base.get(name, {}).items()}
        res[name + "_histogram"] = quantiles_histogram({b: c - before.get(b, 0) for b, c in h.items()})
    print(json.dumps(res))
    return 0


def cmd_snapshot(a):
    """The sinks' histogram buckets now, for a later report --since."""
    out = {}
    for m in a.metrics or []:
        name, rest = m.split("=", 1)
        topic, url = rest.split("@", 1)
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        out[name] = histogram(text, name.replace("-", "_") + "_end_to_end_seconds", topic)
    print(json.dumps(out))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce")
    p.add_argument("-b", "--brokers", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--rate", type=float, default=100)
    p.add_argument("--seconds", type=float, default=30)
    r = sub.add_parser("report")
    r.add_argument("--db", required=True)
    r.add_argument("--run", required=True)
    r.add_argument("--metrics", action="append")
    r.add_argument("--expect", type=int, default=0, help="wait until the stores hold this many rows")
    r.add_argument("--since", help="histogram buckets of an earlier snapshot, subtracted")
    sn = sub.add_parser("snapshot")
    sn.add_argument("--metrics", action="append")
    a = ap.parse_args()
    return {"produce": cmd_produce, "report": cmd_report, "snapshot": cmd_snapshot}[a.cmd](a)


if __name__ == "__main__":
    raise SystemExit(main())
