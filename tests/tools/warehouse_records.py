#!/usr/bin/python3
"""Records for snowflake-sink's tests and benchmark: clean orders (the
contract of sink.snowflake.orders) with status updates of the same order
line out of order, duplicates and poison, plus a few weather observations,
risk decisions and privacy audit events. Deterministic for a --seed.

  warehouse_records.py --orders N [--updates] [--dup-every K] [--poison-every K]
                       [--seed S] [--format tsv|jsonl] [--expected DIR] [--only-orders]

tsv: topic<TAB>key<TAB>value lines for kafka_tool.py produce; jsonl: the
values only (orders), for --stdio. --expected DIR writes what the warehouse
must hold afterwards:
  DIR/orders.tsv     platform, order_id, product_id, final status, final event time
  DIR/counts         "orders N", "price_history N", "weather N", "risk N",
                     "audit N", "schema N", "store_rejected N", "int_overflow N"
                     (of those rejected, the quantities beyond PostgreSQL's INTEGER,
                     which Snowflake's 38-digit INTEGER takes), "records N"
Poison: every K-th order line gets one extra record, alternately one that
breaks the contract (dead letter "schema") and one the contract allows but
the table refuses (quantity beyond INTEGER, price beyond NUMERIC(14,2), year
0: dead letter "store_rejected"); poison lines have their own order ids, so
the valid orders are exactly N rows.
"""
import argparse
import datetime
import json
import os
import random
import sys

STATUSES = ["pending", "confirmed", "shipped", "delivered"]
ENDINGS = ["delivered", "cancelled", "returned", "failed_delivery"]
CITIES = ["Dhaka", "Chittagong", "Sylhet", "Khulna", "Rajshahi"]
HASH = "k1a2b3c4d:" + "ab" * 32
BASE = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


def ts(minutes):
    return (BASE + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_line(i, rng):
    platform = "shopify" if i % 3 else "daraz"
    product = "P-%d" % (i % 400)
    # Prices move now and then: price history gets a few rows per product.
    price = 500 + (i % 400) * 10 + (50 if (i // 400) % 4 == 3 else 0)
    rec = {
        "platform": platform,
        "order_id": "%s-%07d" % (platform[:2].upper(), i),
        "merchant_id": "M-%d" % (i % 37),
        "product_id": product,
        "product_name": "Product %d" % (i % 400),
        "quantity": 1 + i % 3,
        "price": price,
        "currency": "BDT",
        "order_status": "pending",
        "payment_method": "cod" if i % 4 else "prepaid",
        "shipping_city": CITIES[i % len(CITIES)],
        "timestamp": ts(i % 10000),
    }
    if i % 10 == 0:
        rec["customer_phone_hash"] = HASH
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, required=True)
    ap.add_argument("--updates", action="store_true", help="status updates, shuffled per order")
    ap.add_argument("--dup-every", type=int, default=0)
    ap.add_argument("--poison-every", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=["tsv", "jsonl"], default="tsv")
    ap.add_argument("--expected")
    ap.add_argument("--only-orders", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = sys.stdout
    topic = "sink.snowflake.orders"
    records = schema_bad = store_bad = int_overflow = 0
    finals = []
    prices = set()

    def emit(t, key, value):
        nonlocal records
        records += 1
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if a.format == "tsv":
            out.write("%s\t%s\t%s\n" % (t, key, text))
        else:
            out.write(text + "\n")

    for i in range(a.orders):
        base = order_line(i, rng)
        events = []
        if a.updates:
            # Two orders in five get status updates (up to four events).
            steps = STATUSES[: 1 + rng.randrange(4)] if rng.random() < 0.4 else STATUSES[:1]
            if len(steps) > 1 and (steps[-1] == "delivered" or rng.random() < 0.3):
                steps = steps[:-1] + [rng.choice(ENDINGS)]
            for k, st in enumerate(steps):
                ev = dict(base, order_status=st, timestamp=ts(i % 10000 + 60 * k))
                events.append(ev)
            rng.shuffle(events)  # updates arrive out of order
        else:
            events.append(base)
        last = max(events, key=lambda e: e["timestamp"])
        finals.append((base["platform"], base["order_id"], base["product_id"],
                       last["order_status"], last["timestamp"]))
        prices.add((base["platform"], base["product_id"], base["price"]))
        for ev in events:
            emit(topic, base["order_id"], ev)
            if a.dup_every and rng.randrange(a.dup_every) == 0:
                emit(topic, base["order_id"], ev)  # a duplicate delivery
        if a.poison_every and i % a.poison_every == a.poison_every - 1:
            bad = dict(base, order_id=base["order_id"] + "-X")
            kind = (i // a.poison_every) % 5
            if kind == 0:
                bad["quantity"] = 0  # contract: exclusiveMinimum 0
                schema_bad += 1
            elif kind == 1:
                del bad["shipping_city"]  # contract: required
                schema_bad += 1
            elif kind == 2:
                bad["quantity"] = 3000000000  # table: INTEGER (Snowflake's is 38 digits)
                store_bad += 1
                int_overflow += 1
            elif kind == 3:
                bad["price"] = 1e15  # table: NUMERIC(14,2)
                store_bad += 1
            else:
                bad["timestamp"] = "0000-01-01T00:00:00Z"  # table: year 0
                store_bad += 1
            emit(topic, bad["order_id"], bad)

    weather = risk = audit = 0
    if not a.only_orders and a.format == "tsv":
        for c, city in enumerate(CITIES):
            for h in range(4):
                emit("context.weather", city, {
                    "city": city, "temperature": 30.5 + h, "condition": "Rain",
                    "humidity": 80 + h, "wind_speed": 4.5, "timestamp": ts(60 * h),
                    "is_extreme_weather": h == 3 and c % 2 == 0})
                weather += 1
        for i in range(0, min(a.orders, 200)):
            oid = finals[i][1]
            emit("risk.decisions", oid, {
                "order_id": oid, "score": 90 if i % 10 == 0 else 20,
                "decision": "advance_payment_required" if i % 10 == 0 else "accept",
                "reasons": ["phone on blacklist"] if i % 10 == 0 else [],
                "rules_version": "rules-1", "timestamp": ts(i)})
            risk += 1
        for i in range(0, min(a.orders, 300)):
            emit("audit.privacy", "", {
                "topic": "source.market.daraz", "partition": i % 4, "offset": i,
                "counts": {"phone": 1, "email": 0, "identifiers_hashed": 2},
                "detector_version": "pii-1", "key_id": "k1a2b3c4d", "timestamp": ts(i)})
            audit += 1

    if a.expected:
        os.makedirs(a.expected, exist_ok=True)
        with open(os.path.join(a.expected, "orders.tsv"), "w") as f:
            for row in finals:
                f.write("\t".join(row) + "\n")
        with open(os.path.join(a.expected, "counts"), "w") as f:
            f.write("orders %d\nprice_history %d\nweather %d\nrisk %d\naudit %d\n"
                    "schema %d\nstore_rejected %d\nint_overflow %d\nrecords %d\n"
                    % (len(finals), len(prices), weather, risk, audit, schema_bad, store_bad,
                       int_overflow, records))


if __name__ == "__main__":
    main()
