#!/usr/bin/python3
"""The chaos test's source records and what must come out of them.

  chaos_data.py --out DIR [--records 50000] [--ticks 20] [--seed S]
                [--posts 3000] [--weather 22000] [--poison-pct 2]

Writes DIR/chunks/NN/<topic>.jsonl, the lines scraper-ingest's file source
reads at tick NN (a CronJob run finds the lines appended since its last run),
and DIR/truth.json, what the test checks against:

- orders: market_order records, each a status update of an order line
  (pending → confirmed → shipped → delivered / returned / failed_delivery,
  or cancelled); an order's updates come in order, spread over later ticks,
  one or two lines per order, about 2,000 customers whose phones are written
  in every form of tests/fixtures/pii/labelled.tsv (ASCII, Bengali and mixed
  digits, 0088/+880/0 prefixes, spaces, dashes, dots, brackets); some with an
  email and a name, some with a note that holds another phone;
- posts: social_post records (TikTok, Facebook) mentioning catalogue
  products, some with a phone or an email in the text;
- weather: hourly weather observations of 14 cities (a backfill);
- poison (--poison-pct of all records), each carrying the id "poison-NNNNNN"
  and each caught by a known stage: lines that are not JSON and records that
  break their contract (scraper-ingest), orders whose phone is no phone
  (privacy-shield), orders priced beyond the warehouse column (snowflake-sink).

truth.json: "lines" (order line key → final status), "events" (every valid
status update in source order: platform, order_id, status, payment method,
E.164 phone or null — the history risk-svc counts), "posts", "weather"
([city, epoch seconds]), "poison" (id → dead-letter topic, stage, code),
"phones" (E.164 → every written form used), "emails", "counts".
"""
import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_records import CITIES as SHIP_CITIES, NAMES, PRODUCTS, TEMPLATES  # noqa: E402

BN = "০১২৩৪৫৬৭৮৯"
# Weather of 14 cities: a shipping city list and six more.
CITIES = SHIP_CITIES + ["Mymensingh", "Gazipur", "Narayanganj", "Bogura", "Cox's Bazar", "Jessore"]
PATHS = [  # weights, statuses an order line goes through
    (30, ["pending", "confirmed", "shipped", "delivered"]),
    (8, ["pending", "shipped", "delivered"]),
    (8, ["pending", "confirmed", "shipped", "returned"]),
    (5, ["pending", "shipped", "failed_delivery"]),
    (6, ["pending", "cancelled"]),
    (4, ["pending", "confirmed"]),
    (4, ["delivered"]),
]


def phone_forms():
    """Templates of every pure phone form of labelled.tsv for +8801711234567:
    each digit of the number becomes a slot, kept in its script."""
    forms = []
    for line in open(os.path.join(HERE, "..", "fixtures", "pii", "labelled.tsv"), encoding="utf-8"):
        if line.startswith("#") or "\t" not in line:
            continue
        text, want = line.rstrip("\n").split("\t")
        if want != "+8801711234567":
            continue
        if all(c.isdigit() or c in " +-().\u09e6\u09e7\u09e8\u09e9\u09ea\u09eb\u09ec\u09ed\u09ee\u09ef"
               for c in text):
            forms.append(text)
    return forms


def write_phone(form, nsn):
    """The form with its last ten digits replaced by nsn's (same scripts)."""
    out, pos = list(form), [i for i, c in enumerate(form) if c.isdigit()]
    for k, i in enumerate(pos[-10:]):
        d = int(nsn[k])
        out[i] = BN[d] if form[i] in BN else str(d)
    return "".join(out)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=50000)
    ap.add_argument("--ticks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--posts", type=int, default=3000)
    ap.add_argument("--weather", type=int, default=22000)
    ap.add_argument("--poison-pct", type=float, default=2.0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    forms = phone_forms()
    assert len(forms) >= 20, "labelled.tsv lost its phone forms"
    n_poison = int(a.records * a.poison_pct / 100)
    n_orders_recs = a.records - n_poison - a.posts - a.weather
    T = a.ticks
    t0 = 1767225600  # 2026-01-01T00:00:00Z
    chunks = {}  # (tick, topic) -> [line]

    def emit(tick, topic, line):
        chunks.setdefault((min(tick, T - 1), topic), []).append(line)

    phones, emails = {}, set()
    customers = []
    for c in range(max(50, n_orders_recs // 16)):
        nsn = "1" + rng.choice("3456789") + "%08d" % rng.randrange(10 ** 8)
        name = rng.choice(NAMES) + " " + rng.choice(["Ahmed", "Khan", "Islam", "Begum"])
        customers.append({"nsn": nsn, "e164": "+880" + nsn, "name": name,
                          "email": "%s.%d@%s" % (name.split()[0].lower(), c,
                                                 rng.choice(["gmail.com", "Yahoo.com", "shop.com.bd"]))})

    def written(c):
        f = write_phone(rng.choice(forms), c["nsn"])
        phones.setdefault(c["e164"], set()).add(f)
        return f

    # ---- orders: status updates of order lines -------------------------------
    lines, events, oid = {}, [], 0
    weights = [w for w, _ in PATHS]
    made = 0
    while made < n_orders_recs:
        oid += 1
        platform = rng.choice(["shopify", "daraz"])
        order_id = "%s-%07d" % ("sh" if platform == "shopify" else "dz", oid)
        path = rng.choices([p for _, p in PATHS], weights)[0]
        cust = rng.choice(customers) if rng.random() < 0.95 else None
        pm = "cod" if rng.random() < 0.7 else "prepaid"
        products = rng.sample(PRODUCTS, 2 if rng.random() < 0.2 else 1)
        if made + len(path) * len(products) > n_orders_recs:
            path, products = path[:1], products[:1]
            path = path[: n_orders_recs - made] if n_orders_recs - made < len(path) else path
        tick = rng.randrange(T)
        t = t0 + oid * 60
        extra = {}
        if cust and rng.random() < 0.4:
            extra = {"customer_email": cust["email"], "customer_name": cust["name"]}
            emails.add(cust["email"])
        phone = written(cust) if cust else None
        if cust and rng.random() < 0.2:
            extra["note"] = "Call %s before delivery" % written(rng.choice(customers))
        city = rng.choice(SHIP_CITIES)
        for k, status in enumerate(path):
            for pid, pname, price in products:
                rec = {"platform": platform, "order_id": order_id, "merchant_id": "m-%03d" % (oid % 40),
                       "product_id": pid, "product_name": pname, "quantity": 1 + oid % 3,
                       "price": float(price), "currency": "BDT", "order_status": status,
                       "payment_method": pm, "shipping_city": city,
                       "timestamp": iso(t + k * 3600)}
                if phone:
                    rec["customer_phone"] = phone
                rec.update(extra)
                emit(tick, "source.market." + platform, json.dumps(rec, ensure_ascii=False))
                lines["%s|%s|%s" % (platform, order_id, pid)] = status
                events.append([platform, order_id, status, pm, cust["e164"] if cust else None])
                made += 1
            tick += rng.randint(1, 3)

    # ---- posts -----------------------------------------------------------------
    posts = []
    for i in range(a.posts):
        platform = rng.choice(["tiktok", "facebook"])
        pid, pname, price = rng.choice(PRODUCTS)
        c = rng.choice(customers)
        text = rng.choice(TEMPLATES)
        if "{email}" in text:
            emails.add(c["email"])
        text = text.format(p="{p}", phone=written(c) if "{phone}" in text else "", email=c["email"],
                           order=rng.randint(1000, 99999), price="{:,}".format(price),
                           city=rng.choice(SHIP_CITIES), track=rng.randint(10 ** 9, 10 ** 10 - 1))
        rec = {"platform": platform, "post_id": "%s-%07d" % (platform[:2], i),
               "author_username": "%s_%d" % (c["name"].split()[0].lower(), i % 997),
               "content": text.replace("{p}", pname), "engagement_count": rng.randrange(5000),
               "timestamp": iso(t0 + i * 97), "hashtags": rng.sample(["sale", "eid", "deal"], rng.randint(0, 2)),
               "product_mentions": [pid]}
        posts.append(rec["post_id"])
        emit(rng.randrange(T), "source.social." + platform, json.dumps(rec, ensure_ascii=False))

    # ---- weather: an hourly backfill ---------------------------------------------
    weather = []
    per_city = (a.weather + len(CITIES) - 1) // len(CITIES)
    n = 0
    for h in range(per_city):
        for city in CITIES:
            if n == a.weather:
                break
            t = t0 + h * 3600
            temp = round(24 + 14 * rng.random(), 1)
            rec = {"city": city, "temperature": temp, "condition": rng.choice(["Rain", "Clear", "Clouds"]),
                   "humidity": rng.randrange(30, 100), "wind_speed": round(rng.random() * 12, 1),
                   "timestamp": iso(t), "is_extreme_weather": temp >= 38}
            weather.append([city, t])
            emit(h * T // per_city, "context.weather", json.dumps(rec, ensure_ascii=False))
            n += 1

    # ---- poison ------------------------------------------------------------------
    poison = {}
    kinds = [  # share, topic, dead-letter topic, stage, code
        (20, "source.market.shopify", "dead-letters-market", "scraper-ingest", "invalid_json"),
        (15, "source.market.daraz", "dead-letters-market", "scraper-ingest", "schema"),
        (15, "source.market.daraz", "dead-letters-market", "privacy-shield", "invalid_identifier"),
        (10, "source.market.shopify", "dead-letters-market", "snowflake-sink", "store_rejected"),
        (10, "source.social.tiktok", "dead-letters-social", "scraper-ingest", "invalid_json"),
        (15, "source.social.facebook", "dead-letters-social", "scraper-ingest", "schema"),
        (15, "context.weather", "dead-letters-market", "scraper-ingest", "schema"),
    ]
    for i in range(n_poison):
        share, topic, dlt, stage, code = rng.choices(kinds, [k[0] for k in kinds])[0]
        pid = "poison-%06d" % i
        if topic.startswith("source.market."):
            rec = {"platform": topic.split(".")[-1], "order_id": pid, "merchant_id": "m-999",
                   "product_id": "P-POISON", "product_name": "Broken", "quantity": 1, "price": 100.0,
                   "currency": "BDT", "order_status": "pending", "payment_method": "cod",
                   "shipping_city": "Dhaka", "timestamp": iso(t0 + i)}
            if code == "schema":
                rec["quantity"] = rng.choice([0, "many", -3])
            elif code == "invalid_identifier":
                rec["customer_phone"] = rng.choice(["N/A", "ask at the door", "000", "+1"])
            elif code == "store_rejected":
                rec["price"] = 1e14  # beyond NUMERIC(14,2); no phone, so risk-svc ignores it
            else:
                rec["customer_phone"] = written(rng.choice(customers))
        elif topic.startswith("source.social."):
            rec = {"platform": topic.split(".")[-1], "post_id": pid, "author_username": "x_%d" % i,
                   "content": "ok" if code == "schema" else "Call me at %s" % written(rng.choice(customers)),
                   "engagement_count": 1, "timestamp": iso(t0 + i)}
        else:
            rec = {"city": "City " + pid, "temperature": 30.0, "condition": "Rain", "humidity": 150,
                   "wind_speed": 1.0, "timestamp": iso(t0 + i), "is_extreme_weather": False}
        line = json.dumps(rec, ensure_ascii=False)
        if code == "invalid_json":
            line = line[: len(line) * 2 // 3]  # cut short: not JSON
        poison[pid] = {"dead_letters": dlt, "stage": stage, "code": code, "topic": topic}
        emit(rng.randrange(T), topic, line)

    # ---- write -----------------------------------------------------------------------
    for (tick, topic), ls in chunks.items():
        d = os.path.join(a.out, "chunks", "%02d" % tick)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, topic + ".jsonl"), "w", encoding="utf-8") as f:
            f.write("\n".join(ls) + "\n")
    total = sum(len(ls) for ls in chunks.values())
    counts = {"records": total, "order_updates": len(events), "order_lines": len(lines),
              "posts": len(posts), "weather": len(weather), "poison": len(poison),
              "customers": len(phones)}
    truth = {"lines": lines, "events": events, "posts": posts, "weather": weather, "poison": poison,
             "phones": {k: sorted(v) for k, v in phones.items()}, "emails": sorted(emails),
             "counts": counts}
    with open(os.path.join(a.out, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
