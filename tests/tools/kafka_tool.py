#!/usr/bin/python3
"""Kafka helper for integration tests and benchmarks (Debian's python3-confluent-kafka).

  kafka_tool.py produce  -b BROKERS < lines      lines: topic<TAB>key<TAB>value
                         [--rate N] [--null-value S]  (value S: a tombstone)
  kafka_tool.py consume  -b BROKERS --topics a,b [--expect N] [--idle S] [--timeout S]
                         [--out FILE]            writes {"topic","key","value"} lines
  kafka_tool.py count    -b BROKERS --topics a,b  end offsets summed (no consuming)
  kafka_tool.py committed -b BROKERS --group G --topics a,b   committed offsets summed

consume reads from the beginning without a group (assign, no commits), so it
never disturbs the services' groups, and stops at --expect messages, after
--idle seconds without a message, or at --timeout.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def producer(brokers, extra=None):
    conf = {"bootstrap.servers": brokers, "linger.ms": 5, "enable.idempotence": True,
            "message.max.bytes": 32 * 1024 * 1024, "queue.buffering.max.messages": 500000}
    conf.update(extra or {})
    return Producer(conf)


def cmd_produce(a):
    p = producer(a.brokers)
    failed = []

    def dr(err, msg):
        if err:
            failed.append(err)

    n = 0
    t0 = time.time()
    data = sys.stdin.buffer.read().split(b"\n")
    for line in data:
        if not line:
            continue
        topic, key, value = line.split(b"\t", 2)
        while True:
            try:
                tomb = a.null_value is not None and value == a.null_value.encode()
                p.produce(topic.decode(), value=None if tomb else value, key=key or None,
                          on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
        n += 1
        if n % 100 == 0:
            p.poll(0)
            if a.rate:  # spread the load so a test can act mid-stream
                ahead = n / a.rate - (time.time() - t0)
                if ahead > 0:
                    time.sleep(ahead)
    left = p.flush(60)
    if left or failed:
        print("produce: %d undelivered, %d failed: %s" % (left, len(failed), failed[:3]),
              file=sys.stderr)
        return 1
    print("produced %d" % n, file=sys.stderr)
    return 0


def partitions(c, topics):
    md = c.list_topics(timeout=10)
    out = []
    for t in topics:
        if t not in md.topics or md.topics[t].error is not None:
            raise SystemExit("topic %s not found" % t)
        out += [TopicPartition(t, p) for p in md.topics[t].partitions]
    return out


def consumer(brokers):
    return Consumer({"bootstrap.servers": brokers, "group.id": "kafka-tool-reader",
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "fetch.message.max.bytes": 32 * 1024 * 1024})


def cmd_consume(a):
    c = consumer(a.brokers)
    tps = partitions(c, a.topics.split(","))
    for tp in tps:
        tp.offset = -2  # OFFSET_BEGINNING
    c.assign(tps)
    out = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
    n, start, last = 0, time.time(), time.time()
    while (a.expect is None or n < a.expect) and time.time() - start < a.timeout:
        msgs = c.consume(1000, 0.2)
        if not msgs:
            if time.time() - last > a.idle:
                break
            continue
        last = time.time()
        for m in msgs:
            if m.error():
                continue
            rec = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                   "key": m.key().decode("utf-8", "replace") if m.key() else None,
                   "value": m.value().decode("utf-8", "replace"),
                   "headers": {k: v.decode("utf-8", "replace") for k, v in (m.headers() or [])}}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    if a.out:
        out.close()
    c.close()
    print("consumed %d in %.2fs" % (n, time.time() - start), file=sys.stderr)
    return 0


def cmd_count(a):
    c = consumer(a.brokers)
    total = 0
    for tp in partitions(c, a.topics.split(",")):
        lo, hi = c.get_watermark_offsets(tp, timeout=10)
        total += hi - lo
    c.close()
    print(total)
    return 0


def cmd_committed(a):
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": a.group,
                  "enable.auto.commit": False})
    tps = c.committed(partitions(c, a.topics.split(",")), timeout=15)
    c.close()
    print(sum(tp.offset for tp in tps if tp.offset >= 0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["produce", "consume", "count", "committed"])
    ap.add_argument("-b", "--brokers", required=True)
    ap.add_argument("--topics", default="")
    ap.add_argument("--group", default="")
    ap.add_argument("--expect", type=int)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--out")
    ap.add_argument("--rate", type=float, help="produce: messages per second at most")
    ap.add_argument("--null-value", help="produce: a value equal to this is sent as a "
                    "tombstone (null value)")
    a = ap.parse_args()
    return {"produce": cmd_produce, "consume": cmd_consume, "count": cmd_count,
            "committed": cmd_committed}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
