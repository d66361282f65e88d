#!/usr/bin/python3
"""The Python peer of snowflake-sink's benchmark, written the way the seed's
snowflake_sink.py does it: consume with python3-confluent-kafka, and for each
message json.loads, one INSERT (the same upsert: a newer event time wins) and
one commit, with python3-psycopg2 from Debian.

  snowflake_peer.py -b BROKERS --group G --topics a,b --dsn DSN --count N

Exits after N messages and prints one JSON line: {"count", "seconds" (from
start, the group join included), "steady_seconds" (first message to the last
commit)}.
"""
import argparse
import json
import sys
import time

import psycopg2
from confluent_kafka import Consumer

COLS = ["order_id", "platform", "merchant_id", "product_id", "product_name", "quantity",
        "price", "currency", "order_status", "payment_method", "shipping_city",
        "customer_phone_hash", "customer_email_hash", "customer_name_hash", "event_time",
        "kafka_topic", "kafka_partition", "kafka_offset"]
UPSERT = (
    "INSERT INTO orders (%s) VALUES (%s) ON CONFLICT (platform, order_id, product_id) DO UPDATE "
    "SET %s WHERE orders.event_time < excluded.event_time OR (orders.event_time = "
    "excluded.event_time AND orders.kafka_offset <= excluded.kafka_offset)" % (
        ", ".join(COLS), ", ".join(["%s"] * len(COLS)),
        ", ".join("%s = excluded.%s" % (c, c) for c in COLS
                  if c not in ("platform", "order_id", "product_id"))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-b", "--brokers", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--count", type=int, required=True)
    a = ap.parse_args()
    t0 = time.time()
    db = psycopg2.connect(a.dsn)
    cur = db.cursor()
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": a.group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": True,
                  "queued.max.messages.kbytes": 16384})
    c.subscribe(a.topics.split(","))
    n, first = 0, None
    while n < a.count:
        m = c.poll(1.0)
        if m is None or m.error():
            continue
        if first is None:
            first = time.time()
        o = json.loads(m.value())
        cur.execute(UPSERT, (
            o["order_id"], o["platform"], o["merchant_id"], o["product_id"], o["product_name"],
            o["quantity"], o["price"], o.get("currency", "BDT"), o["order_status"],
            o["payment_method"], o.get("shipping_city"), o.get("customer_phone_hash"),
            o.get("customer_email_hash"), o.get("customer_name_hash"), o["timestamp"],
            m.topic(), m.partition(), m.offset()))
        db.commit()
        n += 1
    t1 = time.time()
    c.close()
    db.close()
    print(json.dumps({"count": n, "seconds": t1 - t0, "steady_seconds": t1 - (first or t1)}))


if __name__ == "__main__":
    sys.exit(main())
