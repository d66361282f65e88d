#!/usr/bin/python3
"""Generates realistic source records for tests, the demo and benchmarks.

Social posts (TikTok/Facebook comments about products, in English, Banglish
and Bengali script, some with phone numbers and emails written the many ways
people write them) and marketplace order lines (Shopify/Daraz, cash on
delivery or prepaid, with customer phones in every Bangladeshi format).
Deterministic for a given --seed.

  gen_records.py --kind social|market|mix --count N [--seed S]
                 [--format json|kcat] [--poison]

--format kcat writes "key|value" lines for `kcat -K '|'`; json writes values
only. --poison mixes in invalid records (one in 20) that a stage must
dead-letter. Each record's id is unique across a run, so tests can check for
loss and duplication by id.
"""
import argparse
import json
import random
import sys

CITIES = ["Dhaka", "Chittagong", "Sylhet", "Khulna", "Rajshahi", "Barishal", "Rangpur", "Comilla"]
PRODUCTS = [
    ("P-RAIN-01", "Raincoat", 5000), ("P-SARI-07", "Jamdani saree", 8500),
    ("P-PHN-12", "Phone case", 450), ("P-TEA-03", "Sylhet tea 500g", 380),
    ("P-HIJ-22", "Cotton hijab", 650), ("P-SHOE-9", "Running shoes", 3200),
    ("P-LAMP-4", "Rechargeable lamp", 1450), ("P-KURTA-2", "Panjabi kurta", 2100),
]
OPERATORS = ["13", "14", "15", "16", "17", "18", "19"]
BENGALI = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


def phone_variants(rng):
    op = rng.choice(OPERATORS)
    rest = "".join(rng.choice("0123456789") for _ in range(8))
    nsn = "1" + op[1] + rest  # 10-digit national significant number
    forms = [
        "+880" + nsn, "880" + nsn, "0" + nsn, "0" + nsn[:4] + "-" + nsn[4:],
        "0" + nsn[:3] + " " + nsn[3:7] + " " + nsn[7:], "(+880) " + nsn[:4] + " " + nsn[4:],
        "00880" + nsn, ("0" + nsn).translate(BENGALI), "+880 " + nsn[:4] + "-" + nsn[4:],
    ]
    return rng.choice(forms)


def email(rng, name):
    return "%s.%d@%s" % (name.lower(), rng.randint(1, 999),
                         rng.choice(["gmail.com", "Yahoo.com", "outlook.com", "shop.com.bd"]))


NAMES = ["Rahim", "Karim", "Fatema", "Nusrat", "Tanvir", "Sadia", "Arif", "Mitu", "Jamal", "Rina"]
TEMPLATES = [
    "Price too high for {p}, bhai discount den",
    "{p} ta onek sundor, kobe delivery hobe?",
    "Order korte chai {p}, amar number {phone} e call den",
    "Great quality {p}! Will buy again #happy",
    "{p} এর দাম কত? আমাকে {phone} নম্বরে জানান",
    "Please send details to {email} about {p}",
    "Received my {p} today, order #{order} took 3 days. Paid ৳{price}",
    "Is {p} available in {city}? inbox please",
    "Delivery was late, tracking DEX{track}BD still not updated",
    "Wholesale price for 50 {p}? Contact {email} or {phone}",
]


def social(rng, i):
    name, (pid, pname, price) = rng.choice(NAMES), rng.choice(PRODUCTS)
    text = rng.choice(TEMPLATES).format(
        p=pname, phone=phone_variants(rng), email=email(rng, name), order=rng.randint(1000, 99999),
        price="{:,}".format(price), city=rng.choice(CITIES), track=rng.randint(10**9, 10**10 - 1))
    platform = rng.choice(["tiktok", "facebook"])
    rec = {
        "platform": platform, "post_id": "%s-%08d" % (platform[:2], i),
        "author_username": "%s_%d" % (name.lower(), rng.randint(1, 9999)),
        "content": text, "engagement_count": rng.randint(0, 5000),
        "timestamp": "2026-11-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 20), rng.randint(0, 23),
                                                      rng.randint(0, 59), rng.randint(0, 59)),
        "hashtags": rng.sample(["sale", "dhaka", "eid", "fashion", "deal"], rng.randint(0, 2)),
        "product_mentions": [pid],
    }
    return rec["post_id"], "source.social." + platform, rec


def market(rng, i):
    name, (pid, pname, price) = rng.choice(NAMES), rng.choice(PRODUCTS)
    platform = rng.choice(["shopify", "daraz"])
    rec = {
        "platform": platform, "order_id": "%s-%08d" % (platform[:2], i),
        "merchant_id": "m-%03d" % rng.randint(1, 40), "product_id": pid, "product_name": pname,
        "quantity": rng.randint(1, 5), "price": float(price), "currency": "BDT",
        "order_status": rng.choice(["pending", "confirmed", "shipped", "delivered"]),
        "payment_method": rng.choice(["cod", "cod", "prepaid"]),
        "shipping_city": rng.choice(CITIES), "customer_phone": phone_variants(rng),
        "timestamp": "2026-11-%02dT%02d:%02d:00+06:00" % (rng.randint(1, 20), rng.randint(0, 23),
                                                          rng.randint(0, 59)),
    }
    if rng.random() < 0.5:
        rec["customer_email"] = email(rng, name)
        rec["customer_name"] = name + " " + rng.choice(["Ahmed", "Khan", "Islam", "Begum"])
    if rng.random() < 0.3:
        rec["note"] = "Call %s before delivery" % phone_variants(rng)
    return rec["order_id"], "source.market." + platform, rec


def poison(rng, i, kind):
    """Invalid records, each with the failure a stage must report."""
    key = "poison-%08d" % i
    choice = rng.randrange(4)
    if choice == 0:
        return key, "not json at all {"
    if choice == 1:
        _, _, rec = market(rng, i) if kind == "market" else social(rng, i)
        rec["quantity" if kind == "market" else "engagement_count"] = "many"
        return key, json.dumps(rec, ensure_ascii=False)
    if choice == 2:
        return key, "[" * 5000 + "]" * 5000
    _, _, rec = market(rng, i) if kind == "market" else social(rng, i)
    rec.pop("platform")
    return key, json.dumps(rec, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=["social", "market", "mix"], default="mix")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="first record number (ids)")
    ap.add_argument("--format", choices=["json", "kcat", "topic"], default="json",
                    help="topic: 'topic<TAB>key<TAB>value' lines")
    ap.add_argument("--poison", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = sys.stdout
    for i in range(a.start, a.start + a.count):
        kind = a.kind if a.kind != "mix" else rng.choice(["social", "market"])
        if a.poison and rng.random() < 0.05:
            key, value = poison(rng, i, kind)
            topic = "source.market.shopify" if kind == "market" else "source.social.tiktok"
        else:
            key, topic, rec = (social if kind == "social" else market)(rng, i)
            value = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        if a.format == "kcat":
            out.write("%s|%s\n" % (key, value))
        elif a.format == "topic":
            out.write("%s\t%s\t%s\n" % (topic, key, value))
        else:
            out.write(value + "\n")


if __name__ == "__main__":
    main()
