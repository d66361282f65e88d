#!/usr/bin/python3
"""The chaos test's waiting and counting (Debian's python3-confluent-kafka and
python3-cryptography; PostgreSQL through psql, Redis through redis-cli).

  chaos_check.py wait  --brokers B --db URL [--timeout S]
      until every consumer group has gone past the end of its input topics:
      Kafka's committed offsets, or for the sinks the larger of those and the
      store's own sink_offsets (a partition a sink had finished before a
      restart never gets a Kafka commit again). Prints the gap every 10 s.
  chaos_check.py check --truth truth.json --brokers B --db URL --redis-port P
                       --hmac-key F --dlq-key F --scan DIR... [--report F]
      everything the pipeline produced against truth.json (chaos_data.py):
      prints the counts and every difference, exits 1 on any.

Dead letters "exactly once": the stages make a dead letter durable before
they commit past its input, without Kafka transactions, so a crash between
the letter's acknowledgement and the commit reads that input again and
writes a second letter for it (at least once, by design), and so does a
scraper-ingest run that resends lines whose acknowledgements it never saw.
The test therefore counts letters by the identity of the source record they
carry (the poison id inside the payload, decrypted when sealed): every poison
record must have at least one letter, no other record may have one, and each
in the dead-letter topic and from the stage expected. The raw number of
letters is reported beside it, with the duplicates it holds.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time

from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import risk_tool  # noqa: E402  (the recount risk-svc's counters must equal)

PSQL = os.path.join(os.environ.get("SENSORY_PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")
GROUPS = {  # consumer group -> input topics (deploy/pipeline.sh)
    "privacy-shield": ["source.social.tiktok", "source.social.facebook", "source.market.shopify",
                       "source.market.daraz"],
    "enricher": ["clean.social", "sink.snowflake.orders"],
    "embedder": ["enriched.social"],
    "snowflake-sink": ["sink.snowflake.orders", "context.weather", "risk.decisions", "audit.privacy"],
    "weaviate-sink": ["sink.weaviate.vectors"],
    "risk-svc": ["sink.snowflake.orders"],
}
SINKS = ("snowflake-sink", "weaviate-sink")
POISON = re.compile(r"poison-\d{6}")


def sql(db, query):
    out = subprocess.run([PSQL, "-X", "-q", "-At", "-F", "\t", db, "-c", query], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def consumer(brokers, group="chaos-check"):
    return Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "enable.partition.eof": True})


def partitions(c, topics):
    md = c.list_topics(timeout=10)
    return [TopicPartition(t, p) for t in topics for p in sorted(md.topics[t].partitions)]


def ends(c, tps):
    return {(tp.topic, tp.partition): c.get_watermark_offsets(tp, timeout=10) for tp in tps}


def cmd_wait(a):
    c = consumer(a.brokers)
    deadline, last = time.time() + a.timeout, 0
    while True:
        gaps = {}
        stored = {}
        try:
            for sink, topic, part, off in sql(a.db, "SELECT sink, topic, partition, next_offset FROM sink_offsets"):
                stored[(sink, topic, int(part))] = int(off)
        except subprocess.CalledProcessError:
            pass  # PostgreSQL restarting: ask again
        for group, topics in GROUPS.items():
            g = consumer(a.brokers, group)
            tps = partitions(g, topics)
            try:
                done = {(tp.topic, tp.partition): tp.offset for tp in g.committed(tps, timeout=10)}
            except Exception:  # a coordinator moving: ask again
                done = {}
            g.close()
            gap = 0
            for (t, p), (_, hi) in ends(c, tps).items():
                have = max(done.get((t, p), -1), stored.get((group, t, p), -1) if group in SINKS else -1)
                gap += max(hi - max(have, 0), 0)
            if gap:
                gaps[group] = gap
        if not gaps:
            return 0
        if time.time() > deadline:
            print("not done after %ds: %s" % (a.timeout, gaps), file=sys.stderr)
            return 1
        if time.time() - last >= 10:
            print("  waiting: messages not yet past each group: %s" % gaps, flush=True)
            last = time.time()
        time.sleep(1)


def read_all(brokers, topics):
    """Every message of topics from offset 0: {topic: [(partition, offset, key, value)]}."""
    c = consumer(brokers)
    tps = partitions(c, topics)
    hi = {k: h for k, (_, h) in ends(c, tps).items()}
    want = {k for k, h in hi.items() if h > 0}
    out = {t: [] for t in topics}
    c.assign([TopicPartition(t, p, 0) for (t, p) in want])
    while want:
        m = c.poll(5)
        if m is None:
            raise SystemExit("reading topics: no message for 5 s while %d partitions were unfinished" % len(want))
        if m.error():
            continue
        k = (m.topic(), m.partition())
        out[m.topic()].append((m.partition(), m.offset(), m.key(), m.value()))
        if m.offset() + 1 >= hi[k]:
            want.discard(k)
    c.close()
    return out


def load_key(path, hexkey):
    b = open(path, "rb").read()
    if hexkey:
        return bytes.fromhex(b.strip().decode())
    return b[:-1] if b.endswith(b"\n") else b


def payload_of(env, dlq_key):
    """The source record a dead letter carries, as text (decrypted when sealed)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    if "payload" in env:
        return env["payload"]
    if "payload_b64" in env:
        return base64.b64decode(env["payload_b64"]).decode("utf-8", "replace")
    e = env["payload_enc"]
    plain = AESGCM(dlq_key).decrypt(base64.b64decode(e["iv"]),
                                    base64.b64decode(e["ciphertext"]) + base64.b64decode(e["tag"]),
                                    env["source"]["topic"].encode())
    return plain.decode("utf-8", "replace")


# ---- the leak scan -------------------------------------------------------------------
PHONE_LIKE = re.compile(r"(?<![0-9A-Za-z\u09e6-\u09ef])(?:\+|\()?[0-9\u09e6-\u09ef][0-9\u09e6-\u09ef ().+\-]{7,22}"
                        r"[0-9\u09e6-\u09ef](?![0-9A-Za-z\u09e6-\u09ef])")
BN_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")


def e164_of(candidate):
    """A Bangladeshi mobile written any way, as +880XXXXXXXXXX, else None."""
    d = re.sub(r"\D", "", candidate.translate(BN_DIGITS))
    for prefix in ("00880", "880", "0"):
        if d.startswith(prefix) and len(d) - len(prefix) in (10, 11):
            rest = d[len(prefix):]
            rest = rest[1:] if len(rest) == 11 and rest.startswith("0") else rest
            if len(rest) == 10 and rest.startswith("1"):
                return "+880" + rest
    return None


class Scanner:
    def __init__(self, phones, emails):
        self.phones = set(phones)
        self.emails = [e.lower() for e in emails]
        self.email_re = re.compile("|".join(re.escape(e) for e in self.emails), re.I) if emails else None
        self.hits = {}
        self.bytes = 0

    def texts(self, raw):
        """The text itself, and the strings inside it when it is JSON (which
        may hold Bengali digits as \\u escapes)."""
        yield raw
        if "\\u" in raw:
            try:
                yield json.dumps(json.loads(raw), ensure_ascii=False)
            except ValueError:
                pass

    def scan(self, where, raw):
        self.bytes += len(raw)
        for text in self.texts(raw):
            for m in PHONE_LIKE.finditer(text):
                if e164_of(m.group(0)) in self.phones:
                    self.hits.setdefault(where, []).append("a customer's phone")
            if self.email_re and "@" in text and self.email_re.search(text):
                self.hits.setdefault(where, []).append("a customer's email")


def cmd_check(a):
    truth = json.load(open(a.truth, encoding="utf-8"))
    fails = []
    report = []

    def count(name, want, got, note=""):
        ok = want == got
        report.append("%-4s %-58s %9s %9s  %s" % ("ok" if ok else "FAIL", name, want, got, note))
        if not ok:
            fails.append(name)

    def fact(name, value):
        report.append("     %-58s %9s" % (name, value))

    report.append("     %-58s %9s %9s" % ("", "expected", "found"))
    c = consumer(a.brokers)
    topics = sorted(c.list_topics(timeout=10).topics)
    topics = [t for t in topics if not t.startswith("__")]
    tps = partitions(c, topics)
    marks = ends(c, tps)
    dropped = sorted("%s/%d" % k for k, (lo, _) in marks.items() if lo > 0)
    count("partitions whose oldest messages the dev broker dropped", 0, len(dropped),
          " ".join(dropped[:6]) + (" (its 5 MiB per partition: the load is too big for the mock, "
                                   "the counts below are not the pipeline's)" if dropped else ""))
    msgs = read_all(a.brokers, topics)
    fact("messages on all topics", sum(len(v) for v in msgs.values()))
    fill = {}
    for t, ms in msgs.items():
        for p, _, k, v in ms:
            fill[(t, p)] = fill.get((t, p), 0) + len(k or b"") + len(v or b"") + 70
    top = {}
    for (t, p), b in fill.items():
        top[t] = max(top.get(t, (0, 0)), (b, p))
    top = sorted(((b, t, p) for t, (b, p) in top.items()), reverse=True)[:4]
    report.append("     fullest partitions, MiB of records as produced (before lz4; the mock keeps ~5): " +
                  ", ".join("%s/%d %.1f" % (t, p, b / 1048576) for b, t, p in top))

    # ---- orders ------------------------------------------------------------------------
    lines = truth["lines"]
    rows = sql(a.db, "SELECT platform, order_id, product_id, order_status FROM orders")
    got = {}
    for p, o, pid, st in rows:
        got.setdefault("%s|%s|%s" % (p, o, pid), []).append(st)
    count("order lines in orders (valid ones, each once)", len(lines), len(rows))
    count("order lines missing", 0, len(set(lines) - set(got)))
    count("rows that are no valid order line (poison, strangers)", 0, len(set(got) - set(lines)))
    count("order lines with more than one row", 0, sum(1 for v in got.values() if len(v) > 1))
    wrong = [k for k, st in lines.items() if k in got and got[k][0] != st]
    count("order lines whose status is not their final one", 0, len(wrong), ", ".join(wrong[:3]))

    # ---- posts and weather ------------------------------------------------------------------
    posts = set(truth["posts"])
    rows = [r[0] for r in sql(a.db, "SELECT post_id FROM social_posts")]
    count("posts in social_posts (valid ones, each once)", len(posts), len(rows))
    count("posts missing", 0, len(posts - set(rows)))
    count("rows that are no valid post", 0, len(set(rows) - posts))
    missing = posts - set(rows)
    if missing:  # where they stopped: the last topic that holds them tells the hop
        pid_re = re.compile(rb'"post_id"\s*:\s*"([^"]+)"')
        for t in ("source.social.facebook", "source.social.tiktok", "clean.social",
                  "enriched.social", "sink.weaviate.vectors"):
            at = {}
            for p, off, _, v in msgs.get(t, []):
                m = pid_re.search(v or b"")
                if m and m.group(1).decode() in missing:
                    at.setdefault(p, []).append(off)
            fact("  missing posts in %s (partition: offsets)" % t,
                 sum(len(o) for o in at.values()))
            for p in sorted(at):
                report.append("       %d: %d..%d" % (p, min(at[p]), max(at[p])))
        for r in sql(a.db, "SELECT sink, topic, partition, next_offset FROM sink_offsets "
                           "WHERE topic = 'sink.weaviate.vectors' ORDER BY partition"):
            report.append("       sink_offsets %s" % " ".join(r))
    weather = {(c_, int(t)) for c_, t in truth["weather"]}
    rows = {(c_, int(float(t))) for c_, t in
            sql(a.db, "SELECT city, extract(epoch FROM observed_at) FROM weather_observations")}
    count("weather observations in weather_observations", len(weather), len(rows))
    count("weather observations missing or extra", 0, len(weather ^ rows))

    # ---- dead letters --------------------------------------------------------------------------
    dlq_key = load_key(a.dlq_key, True)
    poison = truth["poison"]
    seen, strangers, misplaced = {}, [], []
    shield_dead = set()
    raw = 0
    for t in ("dead-letters-market", "dead-letters-social"):
        for _, _, _, v in msgs[t]:
            raw += 1
            env = json.loads(v)
            err, src = env["error"], env["source"]
            if err["stage"] == "privacy-shield":
                shield_dead.add((src["topic"], src["partition"], src["offset"]))
            ids = set(POISON.findall(payload_of(env, dlq_key)))
            if len(ids) != 1:
                strangers.append("%s/%s from %s" % (err["stage"], err["code"], src["topic"]))
                continue
            pid = ids.pop()
            seen[pid] = seen.get(pid, 0) + 1
            p = poison.get(pid)
            if p and (p["dead_letters"], p["stage"], p["code"]) != (t, err["stage"], err["code"]):
                misplaced.append("%s: %s/%s/%s" % (pid, t, err["stage"], err["code"]))
    count("poison records with a dead letter (by source identity)", len(poison),
          len(set(seen) & set(poison)))
    count("poison records without a dead letter", 0, len(set(poison) - set(seen)))
    count("dead letters of records that were not poison", 0, len(strangers), "; ".join(strangers[:3]))
    count("poison in the wrong topic / stage / code", 0, len(misplaced), "; ".join(misplaced[:3]))
    dups = raw - len(seen) - len(strangers)
    fact("dead letters, raw (a crash may repeat one: see the test)", raw)
    fact("  of which second letters of the same source record", dups)
    by_stage = {}
    for pid in set(seen) & set(poison):
        by_stage[poison[pid]["stage"]] = by_stage.get(poison[pid]["stage"], 0) + 1
    report.append("     poison caught by stage: " + ", ".join("%s %d" % kv for kv in sorted(by_stage.items())))

    # ---- the privacy audit: one row per source message the shield passed ----------------------
    sources = [t for t in GROUPS["privacy-shield"]]
    passed = sum(len(msgs[t]) for t in sources) - len(shield_dead)
    audit = int(sql(a.db, "SELECT count(*) FROM privacy_audit")[0][0])
    count("privacy_audit rows (a source message the shield passed, once)", passed, audit)

    # ---- risk-svc's counters ----------------------------------------------------------------------
    key = load_key(a.hmac_key, False)
    kid = "k" + hashlib.sha256(key).hexdigest()[:8]

    def pseudonym(e164):
        return "%s:%s" % (kid, hmac.new(key, b"phone:" + e164.encode(), hashlib.sha256).hexdigest())

    cache = {}
    history = ({"customer_phone_hash": cache.setdefault(e, pseudonym(e)) if e else None, "platform": p,
                "order_id": o, "order_status": s, "payment_method": pm} for p, o, s, pm, e in truth["events"])
    want = risk_tool.recount(history)
    consumed = (json.loads(v) for _, _, _, v in msgs["sink.snowflake.orders"])
    from_topic = risk_tool.recount(consumed)
    fields = ["orders", "cod_orders", "delivered", "returned", "failed_delivery", "cancelled", "cod_bad",
              "cod_outstanding"]
    keys = subprocess.run(["redis-cli", "-p", str(a.redis_port), "--scan", "--pattern", "risk:*:c"],
                          check=True, capture_output=True, text=True).stdout.split()
    cmds = "".join("HMGET %s %s\n" % (k, " ".join(fields)) for k in keys)
    vals = subprocess.run(["redis-cli", "-p", str(a.redis_port)], input=cmds, check=True,
                          capture_output=True, text=True).stdout.splitlines()
    have = {}
    for i, k in enumerate(keys):
        h = k[len("risk:{"):-len("}:c")]
        have[h] = {f: int(vals[i * len(fields) + j] or 0) for j, f in enumerate(fields)}
    count("customers with risk counters", len(want), len(have))
    diff = [h for h in set(want) | set(have) if want.get(h) != have.get(h)]
    count("customers whose counters differ from the recount of their statuses", 0, len(diff),
          "e.g. %s want %s have %s" % (diff[0][:20], want.get(diff[0]), have.get(diff[0])) if diff else "")
    count("recount of sink.snowflake.orders equal to the status history", 0,
          len([h for h in set(want) | set(from_topic) if want.get(h) != from_topic.get(h)]))
    fact("order statuses counted (sum of delivered..cancelled)",
         sum(v["delivered"] + v["returned"] + v["failed_delivery"] + v["cancelled"] for v in have.values()))

    # ---- no raw phone or email anywhere -------------------------------------------------------------
    sc = Scanner(truth["phones"], truth["emails"])
    raw_topics = [t for t in msgs if t.startswith("source.")]  # scraped records, before the shield
    for t, ms in msgs.items():
        if t in raw_topics:
            continue
        for p, o, k, v in ms:
            where = "topic %s" % t
            if k:
                sc.scan(where, k.decode("utf-8", "replace"))
            if v:
                sc.scan(where, v.decode("utf-8", "replace"))
    dump = subprocess.run([os.path.join(os.path.dirname(PSQL), "pg_dump"), "--data-only", a.db],
                          check=True, capture_output=True, text=True).stdout
    for line in dump.splitlines():
        sc.scan("table", line)
    keys = subprocess.run(["redis-cli", "-p", str(a.redis_port), "--scan"], check=True,
                          capture_output=True, text=True).stdout.split()
    types = subprocess.run(["redis-cli", "-p", str(a.redis_port)], input="".join("TYPE %s\n" % k for k in keys),
                           check=True, capture_output=True, text=True).stdout.split()
    getters = {"string": "GET %s", "hash": "HGETALL %s", "zset": "ZRANGE %s 0 -1 WITHSCORES",
               "set": "SMEMBERS %s", "list": "LRANGE %s 0 -1"}
    cmds = "".join((getters[ty] % k) + "\n" for k, ty in zip(keys, types) if ty in getters)
    redis_dump = subprocess.run(["redis-cli", "-p", str(a.redis_port)], input=cmds, check=True,
                                capture_output=True, text=True).stdout
    sc.scan("redis keys", "\n".join(keys))
    for line in redis_dump.splitlines():
        sc.scan("redis values", line)
    files = 0
    for d in a.scan:
        for root, _, names in os.walk(d):
            for n in names:
                path = os.path.join(root, n)
                files += 1
                with open(path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        sc.scan(os.path.relpath(path, os.path.dirname(d)), line)
    report.append("     scanned %.1f MB for %d customers' phones (any written form) and %d emails: %d topics, "
                  "every table, %d Redis keys, %d log and metrics files" % (
                      sc.bytes / 1e6, len(sc.phones), len(sc.emails), len(msgs) - len(raw_topics), len(keys), files))
    count("places holding a raw phone or email", 0, len(sc.hits),
          "; ".join("%s (%d)" % (w, len(h)) for w, h in list(sc.hits.items())[:4]))

    print("\n".join(report))
    if a.report:
        with open(a.report, "w") as f:
            f.write("\n".join(report) + "\n")
    if fails:
        print("FAIL: %d differences: %s" % (len(fails), "; ".join(fails)))
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wait")
    w.add_argument("--brokers", required=True)
    w.add_argument("--db", required=True)
    w.add_argument("--timeout", type=int, default=180)
    k = sub.add_parser("check")
    k.add_argument("--truth", required=True)
    k.add_argument("--brokers", required=True)
    k.add_argument("--db", required=True)
    k.add_argument("--redis-port", required=True)
    k.add_argument("--hmac-key", required=True)
    k.add_argument("--dlq-key", required=True)
    k.add_argument("--scan", action="append", default=[])
    k.add_argument("--report")
    a = ap.parse_args()
    return cmd_wait(a) if a.cmd == "wait" else cmd_check(a)


if __name__ == "__main__":
    sys.exit(main())
