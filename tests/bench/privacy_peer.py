#!/usr/bin/python3
"""privacy_peer.py — the Python privacy-shield a team would otherwise write,
used only as the benchmark peer (tests/bench/privacy_bench.sh). Not a service.

  privacy_peer.py -b BROKERS --group G --hmac-key-file F --schemas DIR
                  [--validator jsonschema|hand] [--idle S] [-X key=value ...]

Same job as services/privacy-shield over Kafka, on Debian's
python3-confluent-kafka (librdkafka 2.0.2 underneath, like ours):
  - consumer group on source.social.{tiktok,facebook} and
    source.market.{shopify,daraz}, enable.auto.offset.store=false; an input
    offset is stored only when both of its outputs (and every earlier input of
    that partition) are acknowledged by delivery reports; auto-commit of
    stored offsets; idempotent producer, linger.ms=5 (our defaults);
  - json parse; validation of the source record against schemas/*.json and of
    the cleaned record against schemas/clean_*.json (--validator jsonschema:
    python3-jsonschema Draft 2020-12 with format checking, the default; hand:
    a hand-written check of the same required fields, types, enums, lengths,
    patterns and additionalProperties);
  - the x-pii policy read from the schema: hash-and-drop fields become
    "<key_id>:<hmac hex>" (phones normalised to E.164 incl. every BD format
    and Bengali digits, emails lower-cased, usernames lower-cased, names with
    collapsed white space; same MAC input "kind:value" and key id as ours, so
    the pseudonyms match), scan fields get phones/emails replaced by
    PHONE_<16 hex> / EMAIL_<16 hex> via regular expressions;
  - one clean record (same key) and one audit.privacy event per input.
What differs (it does less than ours, so the ratio flatters it a little):
  invalid records are counted and skipped, not dead-lettered (the benchmark
  input has none); no AES-GCM sealing, no metrics/health endpoints, no
  rebalance handling beyond librdkafka's defaults; the phone/email regexes are
  simpler than common/pii_*.c (no precision rules for glued digits, no
  mixed-script edge cases, no BD numbering-plan table beyond 01[3-9]).
It exits on SIGTERM or after --idle seconds without input (after flushing
and committing), printing one JSON
line of counts on stderr.
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import time
from collections import deque

from confluent_kafka import Consumer, KafkaError, Producer

SOURCES = ["source.social.tiktok", "source.social.facebook", "source.market.shopify",
           "source.market.daraz"]
ROUTES = {"source.social.": ("social_post.json", "clean_social_post.json", "clean.social",
                             "post_id"),
          "source.market.": ("market_order.json", "clean_market_order.json",
                             "sink.snowflake.orders", "order_id")}
DETECTOR_VERSION = "pii-1"
BENGALI = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")
BD_MOBILE = re.compile(r"^1[3-9]\d{8}$")
# Phones in text: a run of 10-15 digits (Bengali too) with single space/dash/dot
# separators after an optional "+" or "(+880)"; normalize_phone() decides.
D = r"[0-9০-৯]"
PHONE_RE = re.compile(r"(?<![\w#@])(?:\(\+880\)\s?|\+)?" + D + r"(?:[\s.-]?" + D + r"){9,14}(?!\w)")
EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9!#$%&'*+=?^_`{|}~.-]+@[A-Za-z0-9-]+"
                      r"(?:\.[A-Za-z0-9-]+)*\.(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]+)(?![\w-])")


def normalize_phone(s):
    digits = re.sub(r"\D", "", s.translate(BENGALI))
    plus = s.lstrip().startswith("+") or s.lstrip().startswith("(+")
    if digits.startswith("00"):
        digits, plus = digits[2:], True
    if digits.startswith("880"):
        nsn = digits[3:]
    elif not plus and digits.startswith("0"):
        nsn = digits[1:]
    elif not plus and len(digits) == 10:
        nsn = digits
    elif plus and 8 <= len(digits) <= 15:
        return "+" + digits
    else:
        return None
    return "+880" + nsn if BD_MOBILE.match(nsn) else None


def normalize_email(s):
    s = s.strip()
    m = EMAIL_RE.fullmatch(s)
    return s.lower() if m else None


class Hasher:
    def __init__(self, key):
        self.key = key
        self.key_id = "k" + hashlib.sha256(key).hexdigest()[:8]
        self.base = hmac.new(key, digestmod=hashlib.sha256)

    def mac(self, kind, value):
        h = self.base.copy()
        h.update(("%s:%s" % (kind, value)).encode("utf-8"))
        return h.hexdigest()

    def identifier(self, kind, value):
        v = value.strip()
        if kind == "phone":
            v = normalize_phone(v)
        elif kind == "email":
            v = normalize_email(v)
        elif kind == "username":
            v = v.lower()
        elif kind == "name":
            v = " ".join(v.split())
        if v is None:
            return None
        return "%s:%s" % (self.key_id, self.mac(kind, v))

    def scrub(self, text, counts):
        def phone(m):
            e164 = normalize_phone(m.group(0))
            if e164 is None:
                return m.group(0)
            counts[0] += 1
            return "PHONE_" + self.mac("phone", e164)[:16]

        def email(m):
            counts[1] += 1
            return "EMAIL_" + self.mac("email", m.group(0).lower())[:16]

        if "@" in text:
            text = EMAIL_RE.sub(email, text)
        return PHONE_RE.sub(phone, text)


class HandValidator:
    """The checks schemas/*.json make, written out by hand (no $ref, no
    generic keyword walk): required, additionalProperties, types, enums,
    min/max, lengths in code points, patterns, date-time."""
    DT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

    def __init__(self, schema):
        self.required = schema.get("required", [])
        self.props = {}
        defs = schema.get("$defs", {})
        for name, p in schema.get("properties", {}).items():
            if "$ref" in p:
                p = defs[p["$ref"].rsplit("/", 1)[1]]
            if p.get("type") == "array" and "$ref" in p.get("items", {}):
                p = dict(p, items=defs[p["items"]["$ref"].rsplit("/", 1)[1]])
            self.props[name] = p
        self.closed = schema.get("additionalProperties") is False

    def check_value(self, p, v):
        t = p.get("type")
        if "const" in p and v != p["const"]:
            return False
        if "enum" in p and v not in p["enum"]:
            return False
        if t == "string":
            if not isinstance(v, str):
                return False
            if len(v) < p.get("minLength", 0) or len(v) > p.get("maxLength", 1 << 60):
                return False
            if "pattern" in p and not re.search(p["pattern"], v):
                return False
            if p.get("format") == "date-time" and not self.DT.match(v):
                return False
        elif t == "integer" or t == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float) if t == "number" else int):
                return False
            if "minimum" in p and v < p["minimum"]:
                return False
            if "exclusiveMinimum" in p and v <= p["exclusiveMinimum"]:
                return False
        elif t == "array":
            if not isinstance(v, list) or len(v) > p.get("maxItems", 1 << 60):
                return False
            return all(self.check_value(p["items"], x) for x in v)
        elif t == "object" and not isinstance(v, dict):
            return False
        return True

    def is_valid(self, doc):
        if not isinstance(doc, dict):
            return False
        for r in self.required:
            if r not in doc:
                return False
        for k, v in doc.items():
            p = self.props.get(k)
            if p is None:
                if self.closed:
                    return False
                continue
            if not self.check_value(p, v):
                return False
        return True


def make_validator(kind, schema):
    if kind == "hand":
        return HandValidator(schema)
    import jsonschema
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


class Route:
    def __init__(self, schemas, src, clean, topic, id_field, validator):
        s = json.load(open(os.path.join(schemas, src), encoding="utf-8"))
        c = json.load(open(os.path.join(schemas, clean), encoding="utf-8"))
        self.src = make_validator(validator, s)
        self.clean = make_validator(validator, c)
        self.topic, self.id_field = topic, id_field
        # The privacy policy is data: x-pii annotations of the source schema.
        self.pii = [(name, p["x-pii"]) for name, p in s["properties"].items() if "x-pii" in p]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-b", "--brokers", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--hmac-key-file", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--validator", choices=["jsonschema", "hand"], default="jsonschema")
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("-X", action="append", default=[], help="librdkafka key=value (both clients)")
    a = ap.parse_args()

    key = open(a.hmac_key_file, "rb").read()
    if key.endswith(b"\n"):
        key = key[:-1]
    hasher = Hasher(key)
    routes = {prefix: Route(a.schemas, *r, a.validator) for prefix, r in ROUTES.items()}
    extra = dict(x.split("=", 1) for x in a.X)

    consumer = Consumer(dict({"bootstrap.servers": a.brokers, "group.id": a.group,
                              "enable.auto.offset.store": False, "enable.auto.commit": True,
                              "auto.commit.interval.ms": 1000,
                              "auto.offset.reset": "earliest"}, **extra))
    producer = Producer(dict({"bootstrap.servers": a.brokers, "enable.idempotence": True,
                              "linger.ms": 5}, **extra))

    # Per input partition: deque of [offset, outputs pending]; the offset after
    # the acknowledged prefix is stored (same rule as common/stage/stage_kafka.c).
    queues = {}
    stats = {"in": 0, "out": 0, "invalid": 0, "failed": 0}

    def advance(tp):
        q = queues[tp]
        last = None
        while q and q[0][1] == 0:
            last = q.popleft()[0]
        if last is not None:
            from confluent_kafka import TopicPartition
            consumer.store_offsets(offsets=[TopicPartition(tp[0], tp[1], last + 1)])

    def delivered(entry, tp):
        def cb(err, msg):
            if err:
                stats["failed"] += 1  # ours would retry/stop; none expected here
                return
            stats["out"] += 1
            entry[1] -= 1
            if entry[1] == 0:
                advance(tp)
        return cb

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))  # drain like ours
    consumer.subscribe(SOURCES)
    last_msg = time.time()
    while not stop:
        msgs = consumer.consume(1000, 0.1)
        if not msgs:
            producer.poll(0)
            if time.time() - last_msg > a.idle:
                break
            continue
        last_msg = time.time()
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    print("consume error: %s" % m.error(), file=sys.stderr)
                continue
            stats["in"] += 1
            topic = m.topic()
            route = routes[topic[:topic.index(".", 7) + 1]]
            tp = (topic, m.partition())
            entry = [m.offset(), 2]
            queues.setdefault(tp, deque()).append(entry)
            try:
                doc = json.loads(m.value())
            except ValueError:
                doc = None
            if not isinstance(doc, dict) or not route.src.is_valid(doc):
                stats["invalid"] += 1
                entry[1] = 0
                advance(tp)
                continue
            counts, hashed, ok = [0, 0], 0, True
            for name, pol in route.pii:
                v = doc.get(name)
                if v is None:
                    doc.pop(name, None)
                    continue
                if pol["action"] == "scan":
                    if isinstance(v, str):
                        doc[name] = hasher.scrub(v, counts)
                    elif isinstance(v, list):
                        doc[name] = [hasher.scrub(x, counts) if isinstance(x, str) else x
                                     for x in v]
                    continue
                h = hasher.identifier(pol["kind"], v) if isinstance(v, str) else None
                if h is None:
                    ok = False
                    break
                doc[pol["target"]] = h
                del doc[name]
                hashed += 1
            if not ok or not route.clean.is_valid(doc):
                stats["invalid"] += 1
                entry[1] = 0
                advance(tp)
                continue
            value = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            audit = json.dumps({
                "topic": topic, "partition": m.partition(), "offset": m.offset(),
                "counts": {"phone": counts[0], "email": counts[1],
                           "identifiers_hashed": hashed},
                "detector_version": DETECTOR_VERSION, "key_id": hasher.key_id,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            }, separators=(",", ":"))
            key = m.key() or doc.get(route.id_field, "").encode("utf-8")
            for t, k, v in ((route.topic, key, value), ("audit.privacy", None, audit)):
                while True:  # back-pressure on a full queue, never drop
                    try:
                        producer.produce(t, value=v, key=k, on_delivery=delivered(entry, tp))
                        break
                    except BufferError:
                        producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    try:
        consumer.commit(asynchronous=False)
    except Exception as e:  # nothing stored since the last auto-commit
        if "NO_OFFSET" not in str(e):
            print("commit: %s" % e, file=sys.stderr)
    consumer.close()
    print(json.dumps(stats), file=sys.stderr)
    return 0 if stats["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
