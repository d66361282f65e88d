#!/usr/bin/python3
"""risk-svc test helper (Debian's Python, standard library only).

  risk_tool.py gen --out raw.tsv --plan plan.json [--customers N] [--seed S]
      raw market orders (topic<TAB>key<TAB>value for kafka_tool.py produce) of
      customers with a known history, each customer's phone written in a
      different form per order; plan.json lists each customer (kind, phone
      forms, the E.164 number) for the test to score them.
  risk_tool.py recount --in orders.jsonl
      the counters risk-svc must hold, recounted from sink.snowflake.orders
      messages ({"topic","key","value"} lines) by the rules of the update
      script; one JSON line per customer, sorted.
  risk_tool.py load --url URL --key KEY --plan plan.json --seconds S --rate R --out FILE
      keep-alive POSTs to /api/v1/risk-score at about R requests/s for S
      seconds; one JSON line per answer {"t","status","degraded","decision"}.
  risk_tool.py score --url URL --key KEY --plan plan.json --out FILE
      scores every customer of the plan once (a different written form each)
      plus one new customer and one customer in every form; checks each answer
      against its kind and prints "ok"/"FAIL" lines; answers go to FILE.
  risk_tool.py burst --url URL --key KEY --n N --out FILE
      N requests back to back on one connection; one line per answer with
      status and Retry-After.
"""
import argparse
import datetime
import http.client
import json
import random
import sys
import time
import urllib.parse

BN = "০১২৩৪৫৬৭৮৯"


def forms(nsn):
    """Ways a person writes the BD mobile +880<nsn> (nsn: 10 digits)."""
    return [
        "+880" + nsn,
        "0" + nsn,
        "+880 %s-%s" % (nsn[:4], nsn[4:]),
        "0%s-%s" % (nsn[:4], nsn[4:]),
        "00880" + nsn,
        "".join(BN[int(c)] for c in "0" + nsn),
        "880" + nsn,
        "(+880) %s %s" % (nsn[:4], nsn[4:]),
    ]


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def cmd_gen(a):
    r = random.Random(a.seed)
    now = time.time()
    plan, lines = [], []
    seen = set()
    # kinds: risky (>= 4 COD, >= 75 % returned/failed), good (delivered),
    # burst (>= 5 orders in the last hour, unfulfilled), cancel (cancels)
    kinds = ["risky", "good", "good", "burst", "cancel", "good"]
    oid = 0
    for c in range(a.customers):
        while True:
            nsn = "1" + r.choice("3456789") + "%08d" % r.randrange(10 ** 8)
            if nsn not in seen:
                seen.add(nsn)
                break
        kind = kinds[c % len(kinds)]
        fs = forms(nsn)
        platform = r.choice(["shopify", "daraz"])
        topic = "source.market." + platform
        orders = []
        if kind == "risky":
            n = r.randint(4, 6)
            for i in range(n):
                t = now - (40 - 5 * i) * 86400
                path = ["pending", "shipped", "returned" if i < n - 1 or r.random() < 0.5
                        else "failed_delivery"]
                orders.append((t, path, "cod"))
        elif kind == "good":
            for i in range(r.randint(3, 5)):
                t = now - (30 - 6 * i) * 86400
                orders.append((t, ["pending", "shipped", "delivered"], r.choice(["cod", "prepaid"])))
        elif kind == "burst":
            for i in range(6):
                orders.append((now - 3000 + 300 * i, ["pending"], "cod"))
        else:  # cancel
            for i in range(4):
                orders.append((now - (20 - 3 * i) * 86400,
                               ["pending", "cancelled"] if i < 3 else ["pending", "delivered"],
                               "cod"))
        for t, path, pm in orders:
            oid += 1
            order_id = "%s-%06d" % ("S" if platform == "shopify" else "D", oid)
            product, qty = "P-%d" % r.randint(1, 50), r.randint(1, 3)
            price, city = r.choice([450, 990, 1500, 2200]), r.choice(["Dhaka", "Sylhet", "Khulna"])
            for k, st in enumerate(path):
                rec = {"platform": platform, "order_id": order_id, "merchant_id": "m-%d" % (c % 7),
                       "product_id": product, "product_name": "Saree", "quantity": qty,
                       "price": price, "currency": "BDT", "order_status": st,
                       "payment_method": pm, "shipping_city": city,
                       "customer_phone": fs[(oid + k) % len(fs)],
                       "timestamp": iso(t + k * 3600 if st != "pending" else t)}
                lines.append("%s\t%s\t%s" % (topic, order_id, json.dumps(rec, ensure_ascii=False)))
        plan.append({"kind": kind, "e164": "+880" + nsn, "nsn": nsn, "forms": fs,
                     "orders": len(orders)})
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(a.plan, "w", encoding="utf-8") as f:
        json.dump(plan, f, ensure_ascii=False)
    print("generated %d messages for %d customers" % (len(lines), len(plan)), file=sys.stderr)
    return 0


FINAL = {"delivered", "returned", "failed_delivery", "cancelled"}


def recount(orders_seen):
    """The counters risk-svc's update script keeps, from clean orders (dicts
    with customer_phone_hash, platform, order_id, order_status,
    payment_method) in the order it consumed them: one count per status an
    order went through, a repeated status changing nothing. Returns
    {pseudonym: counters}."""
    cust, orders = {}, {}
    for o in orders_seen:
        h = o.get("customer_phone_hash")
        if not h:
            continue
        key = (h, o["platform"], o["order_id"])
        st = o["order_status"]
        c = cust.setdefault(h, {"orders": 0, "cod_orders": 0, "delivered": 0, "returned": 0,
                                "failed_delivery": 0, "cancelled": 0, "cod_bad": 0,
                                "cod_outstanding": 0})
        s = orders.get(key)
        if s is None:
            s = orders[key] = {"seen": set(), "cod": o["payment_method"] == "cod", "out": None,
                               "final": False, "bad": False}
            c["orders"] += 1
            c["cod_orders"] += s["cod"]
        if st in s["seen"]:
            continue
        s["seen"].add(st)
        if st in FINAL:
            c[st] += 1
        if s["cod"]:
            if st in FINAL:
                if s["out"] == 1:
                    s["out"] = 0
                    c["cod_outstanding"] -= 1
                s["final"] = True
                if st in ("returned", "failed_delivery") and not s["bad"]:
                    s["bad"] = True
                    c["cod_bad"] += 1
            elif not s["final"] and s["out"] is None:
                s["out"] = 1
                c["cod_outstanding"] += 1
    return cust


def cmd_recount(a):
    def records():
        for line in open(a.inp, encoding="utf-8"):
            if line.strip():
                rec = json.loads(line)
                yield json.loads(rec["value"]) if "value" in rec else rec

    cust = recount(records())
    for h in sorted(cust):
        print(json.dumps(dict(customer_phone_hash=h, **cust[h]), sort_keys=True))
    return 0


def post(conn, key, body):
    conn.request("POST", "/api/v1/risk-score", body=json.dumps(body),
                 headers={"X-API-Key": key, "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, resp.getheader("Retry-After"), data


def connect(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def cmd_load(a):
    plan = json.load(open(a.plan, encoding="utf-8"))
    conn = connect(a.url)
    out = open(a.out, "w", encoding="utf-8")
    t0 = time.time()
    i = 0
    while time.time() - t0 < a.seconds:
        p = plan[i % len(plan)]
        body = {"order_id": "load-%d" % i, "merchant_id": "m-1", "amount": 1200,
                "payment_method": "cod", "customer_phone": p["forms"][i % len(p["forms"])]}
        try:
            status, _, data = post(conn, a.key, body)
            d = json.loads(data) if data else {}
        except (OSError, http.client.HTTPException, ValueError) as e:
            status, d = 0, {"error": str(e)}
            conn.close()
            conn = connect(a.url)
        out.write(json.dumps({"t": round(time.time() - t0, 3), "status": status,
                              "degraded": d.get("degraded"), "decision": d.get("decision")}) + "\n")
        out.flush()
        i += 1
        ahead = i / a.rate - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
    return 0


EXPECT = {  # kind -> (decision, a reason code that must be there)
    "risky": ("advance_payment_required", "return_rate"),
    "good": ("accept", "loyal_customer"),
    "burst": ("accept", "velocity_1h"),
    "cancel": ("accept", "cancel_rate"),
}


def cmd_score(a):
    plan = json.load(open(a.plan, encoding="utf-8"))
    conn = connect(a.url)
    out = open(a.out, "w", encoding="utf-8")
    bad = {}
    total = {}
    fails = 0

    def score(i, phone, merchant="m-1", amount=1200):
        body = {"order_id": "chk-%d" % i, "merchant_id": merchant, "amount": amount,
                "payment_method": "cod", "customer_phone": phone}
        status, _, data = post(conn, a.key, body)
        out.write(data.decode("utf-8") + "\n")
        return status, json.loads(data)

    for i, p in enumerate(plan):
        status, d = score(i, p["forms"][i % len(p["forms"])])
        want, code = EXPECT[p["kind"]]
        codes = [r["code"] for r in d.get("reasons", [])]
        ok = (status == 200 and d["decision"] == want and code in codes and not d["degraded"]
              and not d["cold_start"])
        if p["kind"] == "risky":
            ok = ok and d["score"] > 80 and codes[0] == "return_rate"
        if p["kind"] == "burst":
            ok = ok and d["score"] >= 45
        total[p["kind"]] = total.get(p["kind"], 0) + 1
        if not ok:
            bad[p["kind"]] = bad.get(p["kind"], 0) + 1
            if bad[p["kind"]] <= 2:
                print("unexpected answer for a %s customer: %s" % (p["kind"], json.dumps(d)),
                      file=sys.stderr)
    for kind in sorted(total):
        n_ok = total[kind] - bad.get(kind, 0)
        print("%s %s customers: %d of %d answered as expected" %
              ("ok  " if n_ok == total[kind] else "FAIL", kind, n_ok, total[kind]))
        fails += n_ok != total[kind]
    # A customer never seen: cold start, accepted.
    status, d = score(10 ** 6, "+8801399" + "%06d" % random.Random(a.seed).randrange(10 ** 6))
    ok = status == 200 and d["cold_start"] and d["decision"] == "accept" and d["score"] == 0
    print("%s new customer: cold_start %s, %s, score %s" %
          ("ok  " if ok else "FAIL", d.get("cold_start"), d.get("decision"), d.get("score")))
    fails += not ok
    # One risky customer in every written form: one pseudonym, one answer.
    p = next(x for x in plan if x["kind"] == "risky")
    answers = set()
    for j, f in enumerate(p["forms"]):
        status, d = score(2 * 10 ** 6 + j, f)
        answers.add((status, d.get("customer_phone_hash"), d.get("decision"), d.get("score")))
    ok = len(answers) == 1 and next(iter(answers))[0] == 200
    print("%s %d written forms of one phone: %d pseudonym(s) and answer(s)" %
          ("ok  " if ok else "FAIL", len(p["forms"]), len(answers)))
    fails += not ok
    return 1 if fails else 0


def cmd_burst(a):
    conn = connect(a.url)
    out = open(a.out, "w", encoding="utf-8")
    for i in range(a.n):
        body = {"order_id": "burst-%d" % i, "merchant_id": "m-1", "amount": 10,
                "payment_method": "cod", "customer_phone": "01711000000"}
        status, retry, data = post(conn, a.key, body)
        out.write(json.dumps({"status": status, "retry_after": retry,
                              "code": (json.loads(data).get("error") or {}).get("code")}) + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--plan", required=True)
    g.add_argument("--customers", type=int, default=228)
    g.add_argument("--seed", type=int, default=7)
    r = sub.add_parser("recount")
    r.add_argument("--in", dest="inp", required=True)
    ld = sub.add_parser("load")
    for p in (ld,):
        p.add_argument("--url", required=True)
        p.add_argument("--key", required=True)
        p.add_argument("--plan", required=True)
        p.add_argument("--seconds", type=float, default=10)
        p.add_argument("--rate", type=float, default=50)
        p.add_argument("--out", required=True)
    sc = sub.add_parser("score")
    sc.add_argument("--url", required=True)
    sc.add_argument("--key", required=True)
    sc.add_argument("--plan", required=True)
    sc.add_argument("--out", required=True)
    sc.add_argument("--seed", type=int, default=11)
    b = sub.add_parser("burst")
    b.add_argument("--url", required=True)
    b.add_argument("--key", required=True)
    b.add_argument("--n", type=int, default=50)
    b.add_argument("--out", required=True)
    a = ap.parse_args()
    return {"gen": cmd_gen, "recount": cmd_recount, "load": cmd_load, "score": cmd_score,
            "burst": cmd_burst}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
