#!/usr/bin/python3
"""The local API server: Shopify Admin REST, Daraz Open Platform, OpenWeatherMap,
Facebook Graph and TikTok Research endpoints on 127.0.0.1, answering with
recorded, documented-shape responses, so scraper-ingest can run its real
requests against it (the demo, the chaos test and the scraper's tests). It
checks what it receives as the APIs do (auth headers, Daraz signatures,
paging parameters) and never talks to a real host.

  server.py --dataset demo --port-file F [--log F] [--port N]
  server.py --dataset generated --fixtures DIR --port-file F [--log F]
            [--orders N] [--bad K] [--id-base N] [--slim]
            [--fault KIND:N ...] [--slow-page N:SECONDS]

--dataset demo serves the demo shop of demo_shop.py (customers with BD
phones, order histories, comments and videos, five cities' weather; a few
records deliberately broken). --dataset generated (the tests' default)
renumbers the documented payloads in --fixtures (tests/fixtures/api): --orders
of each kind, every --bad'th Shopify order with a line item of quantity 0.

--fault 429:2 answers request #2 (per endpoint family) with 429 + Retry-After: 1,
500:2 with a 500, timeout:2 sleeps 3 s before answering, malformed:3 serves a
body that is not JSON (every time that page is asked for), junk:2 puts a
non-object item into Shopify page 2. --slow-page N:S
delays Shopify page N by S seconds (a test kills the client meanwhile).
Every request is logged as one JSON line to --log; a request that breaks the
API's rules is logged with "violation": "...". Stop it with SIGTERM.

Credentials it accepts (local values, not secrets): the constants below;
scraper-ingest reads them from files as it reads real ones.
"""
import argparse
import base64
import copy
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHOPIFY_TOKEN = "shpat_test_token"
DARAZ_APP_KEY = "123456"
DARAZ_SECRET = "helloworld"
DARAZ_TOKEN = "daraz_test_token"
OWM_KEY = "owm_test_key"
FB_TOKEN = "fb_test_token"
TT_TOKEN = "tt_test_token"
CITIES = ["Dhaka", "Chittagong", "Sylhet", "Khulna", "Rajshahi"]


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def unb64(s):
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))


class Generated:
    """The tests' data: the documented payloads renumbered, --orders of each
    kind, built on demand (a benchmark asks for 100,000 Shopify line items)."""

    def __init__(self, a):
        self.a = a
        fx = a.fixtures
        self.single = json.load(open(fx + "/shopify_order_single.json"))["order"]
        self.weather_doc = json.load(open(fx + "/openweathermap_current_weather.json"))
        if a.slim:
            for k in ("fulfillments", "tax_lines", "shipping_lines", "client_details",
                      "payment_details", "discount_codes", "note_attributes", "customer"):
                self.single.pop(k, None)
            for li in self.single["line_items"]:
                for k in list(li):
                    if k not in ("id", "product_id", "variant_id", "sku", "title", "name",
                                 "quantity", "price"):
                        del li[k]
        self.shopify_id_base = a.id_base
        self.shopify_count = a.orders
        # Daraz orders, created one minute apart.
        self.daraz = []
        for i in range(a.orders):
            t = 1704067200 + 60 * i  # 2024-01-01T00:00:00Z
            self.daraz.append({
                "order_id": 500000 + i,
                "created_at": time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(t)),
                "payment_method": "COD" if i % 2 else "Bkash",
                "statuses": ["pending"],
                "address_shipping": {"city": CITIES[i % 5], "phone": "0171100%04d" % i,
                                     "first_name": "Buyer", "last_name": str(i)},
                "_t": t})
        self.comments = [{"id": "post1_%d" % i, "message": "Is the raincoat %d still available? #raincoat" % i,
                          "created_time": "2024-03-01T10:%02d:00+0000" % (i % 60),
                          "from": {"name": "User %d" % i, "id": str(9000 + i)},
                          "like_count": i % 7, "comment_count": 0} for i in range(a.orders)]
        self.videos = [{"id": 7000000000000000000 + i, "video_description": "Eid saree haul %d #eid" % i,
                        "create_time": 1700000000 + i, "username": "seller_%d" % (i % 13),
                        "like_count": i, "comment_count": 1, "share_count": 0,
                        "hashtag_names": ["eid"]} for i in range(a.orders)]

    def shopify_order(self, i):
        a = self.a
        o = copy.deepcopy(self.single)
        o["id"] = a.id_base + i
        o["name"] = "#%d" % (a.id_base + i)
        o["shipping_address"]["city"] = CITIES[i % len(CITIES)]
        o["currency"] = "BDT"
        for j, li in enumerate(o["line_items"]):
            li["id"] = (a.id_base + i) * 10 + j
        if a.bad and i % a.bad == a.bad - 1:
            o["line_items"][0]["quantity"] = 0
        return o

    def daraz_items(self, order_id):
        return [{"order_item_id": order_id * 10, "sku": "P-SARI-07", "name": "Jamdani saree",
                 "item_price": "1,500.00", "currency": "BDT",
                 "status": "delivered" if order_id % 3 else "failed"}]

    def comments_of(self, post_id):
        return self.comments

    def weather(self, city):
        w = copy.deepcopy(self.weather_doc)
        w["name"] = city
        w["main"]["temp"] = 41.5 if city == "Rajshahi" else 29.0
        return w


class State:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.counts = {}
        self.faults = {}
        for f in a.fault or []:
            kind, n = f.split(":")
            self.faults.setdefault(int(n), []).append(kind)
        self.slow = {}
        for s in a.slow_page or []:
            n, secs = s.split(":")
            self.slow[int(n)] = float(secs)
        self.log = open(a.log, "a", buffering=1)
        if a.dataset == "demo":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import demo_shop
            self.data = demo_shop.DemoShop()
        else:
            self.data = Generated(a)

    def next_count(self, family):
        with self.lock:
            self.counts[family] = self.counts.get(family, 0) + 1
            return self.counts[family]

    def record(self, **kw):
        kw["t"] = round(time.time(), 3)
        self.log.write(json.dumps(kw) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, obj, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def fault(self, family, n):
        """Applies an injected fault; returns True when it answered."""
        st = self.server.st
        for kind in st.faults.get(n, []):
            if kind == "429":
                self.send_json(429, {"errors": "Exceeded 2 calls per second"}, {"Retry-After": "1"})
                return True
            if kind == "500":
                self.send_json(500, {"errors": "Internal Server Error"})
                return True
            if kind == "timeout":
                time.sleep(3)
        return False

    def do_GET(self):
        self.route("GET", b"")

    def do_PUT(self):
        # A Pushgateway stand-in: records the grouping path and the metric names.
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        names = sorted({l.split("{")[0].split(" ")[0] for l in body.splitlines()
                        if l and not l.startswith("#")})
        self.server.st.record(family="pushgateway", n=self.server.st.next_count("pushgateway"),
                              method="PUT", path=self.path, metrics=names,
                              content_type=self.headers.get("Content-Type"))
        self.send_json(200, {})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.route("POST", self.rfile.read(n))

    def route(self, method, body):
        st = self.server.st
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        p = u.path
        if p.startswith("/admin/api/") and p.endswith("/orders.json"):
            family = "shopify"
        elif p.startswith("/orders/"):
            family = "daraz" if p == "/orders/get" else "daraz_items"
        elif p == "/data/2.5/weather":
            family = "weather"
        elif p.endswith("/comments"):
            family = "facebook"
        elif p == "/v2/research/video/query/":
            family = "tiktok"
        else:
            st.record(path=p, violation="unknown path")
            return self.send_json(404, {"error": "not found"})
        n = st.next_count(family)
        entry = {"family": family, "n": n, "method": method, "path": p,
                 "query": {k: v for k, v in q.items() if k not in ("access_token", "appid", "sign")}}
        violation = getattr(self, "check_" + family)(q, body)
        if violation:
            entry["violation"] = violation
            st.record(**entry)
            return self.send_json(401 if "auth" in violation else 400, {"error": violation})
        st.record(**entry)
        if self.fault(family, n):
            return
        return getattr(self, "serve_" + family)(q, body, n)

    # ---- Shopify --------------------------------------------------------
    def check_shopify(self, q, body):
        if self.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
            return "auth: bad X-Shopify-Access-Token"
        if "page_info" in q:
            extra = set(q) - {"page_info", "limit", "fields"}
            if extra:
                return "page_info with other parameters: %s" % sorted(extra)
        elif q.get("status") != "any":
            return "status=any missing"
        if int(q.get("limit", "50")) > 250:
            return "limit over 250"
        return None

    def serve_shopify(self, q, body, n):
        st = self.server.st
        limit = int(q.get("limit", "50"))
        if "page_info" in q:
            info = unb64(q["page_info"])
            after, page = info["after"], info["page"]
        else:
            after, page = int(q.get("since_id", "0")), 1
        if "malformed:%d" % page in ["%s" % f for f in self.server.st.a.fault or []]:
            return self.send_json(200, None, raw=b'{"orders": [ {"id": 1, "truncated')
        if page in st.slow:
            time.sleep(st.slow.pop(page))  # once: the retry after a crash is served at once
        d = st.data
        first = max(after + 1 - d.shopify_id_base, 0)
        last = min(first + limit, d.shopify_count)
        chunk = [d.shopify_order(i) for i in range(first, last)]
        if "junk:%d" % page in (st.a.fault or []):
            chunk.insert(1, "not an order")  # an item no mapper can read
        headers = {}
        if last < d.shopify_count:
            host = "http://%s:%d" % self.server.server_address[:2]
            nxt = "%s%s?limit=%d&page_info=%s" % (host, urllib.parse.urlsplit(self.path).path, limit,
                                                  b64({"after": chunk[-1]["id"], "page": page + 1}))
            headers["Link"] = '<%s>; rel="next"' % nxt
        self.send_json(200, {"orders": chunk}, headers)

    # ---- Daraz ----------------------------------------------------------
    def daraz_sign_ok(self, q, path):
        s = path + "".join(k + q[k] for k in sorted(q) if k != "sign")
        want = hmac.new(DARAZ_SECRET.encode(), s.encode(), hashlib.sha256).hexdigest().upper()
        return q.get("sign") == want

    def daraz_common(self, q, path):
        for k in ("app_key", "timestamp", "sign_method", "access_token", "sign"):
            if k not in q:
                return "missing %s" % k
        if q["app_key"] != DARAZ_APP_KEY or q["access_token"] != DARAZ_TOKEN:
            return "auth: bad app_key or access_token"
        if q["sign_method"] != "sha256":
            return "sign_method not sha256"
        if not self.daraz_sign_ok(q, path):
            return "auth: bad signature"
        if abs(int(q["timestamp"]) / 1000 - time.time()) > 7200:
            return "timestamp not in milliseconds of now"
        return None

    def check_daraz(self, q, body):
        v = self.daraz_common(q, "/orders/get")
        if v:
            return v
        if int(q.get("limit", "0")) > 100 or int(q.get("limit", "0")) < 1:
            return "limit not in 1..100"
        if int(q.get("offset", "0")) > 5000:
            return "offset over 5000"
        if "created_after" not in q:
            return "created_after missing"
        return None

    def check_daraz_items(self, q, body):
        v = self.daraz_common(q, "/orders/items/get")
        if v:
            return v
        try:
            ids = json.loads(q.get("order_ids", ""))
            assert isinstance(ids, list) and ids
        except Exception:
            return "order_ids is not a JSON list"
        return None

    def serve_daraz(self, q, body, n):
        st = self.server.st
        ca = q["created_after"]
        t0 = time.mktime(time.strptime(ca[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        if len(ca) > 19 and ca[19] in "+-":
            sign = 1 if ca[19] == "+" else -1
            t0 -= sign * (int(ca[20:22]) * 3600 + int(ca[-2:]) * 60)
        rows = [o for o in st.data.daraz if o["_t"] > t0]
        off, lim = int(q["offset"]), int(q["limit"])
        page = [{k: v for k, v in o.items() if k != "_t"} for o in rows[off:off + lim]]
        self.send_json(200, {"code": "0", "data": {"count": len(page), "countTotal": len(rows),
                                                   "orders": page}, "request_id": "r%d" % n})

    def serve_daraz_items(self, q, body, n):
        ids = json.loads(q["order_ids"])
        data = [{"order_id": i, "order_items": self.server.st.data.daraz_items(i)} for i in ids]
        self.send_json(200, {"code": "0", "data": data})

    # ---- OpenWeatherMap -------------------------------------------------
    def check_weather(self, q, body):
        if q.get("appid") != OWM_KEY:
            return "auth: bad appid"
        if q.get("units") != "metric" or not q.get("q", "").endswith(",BD"):
            return "expected units=metric and q=CITY,BD"
        return None

    def serve_weather(self, q, body, n):
        w = self.server.st.data.weather(q["q"].split(",")[0])
        if w is None:
            return self.send_json(404, {"cod": "404", "message": "city not found"})
        self.send_json(200, w)

    # ---- Facebook -------------------------------------------------------
    def check_facebook(self, q, body):
        if self.headers.get("Authorization") != "Bearer " + FB_TOKEN:
            return "auth: bad bearer token"
        if "access_token" in q:
            return "token in the URL"
        return None

    def serve_facebook(self, q, body, n):
        st = self.server.st
        start = unb64(q["after"])["i"] if "after" in q else 0
        lim = int(q.get("limit", "25"))
        comments = st.data.comments_of(self.path.split("?")[0].rstrip("/").split("/")[-2])
        data = comments[start:start + lim]
        end = start + len(data)
        paging = {}
        if data:
            paging["cursors"] = {"before": b64({"i": start}), "after": b64({"i": end})}
            if end < len(comments):
                paging["next"] = "https://graph.facebook.com/never-followed?after=" + b64({"i": end})
        self.send_json(200, {"data": data, "paging": paging})

    # ---- TikTok ---------------------------------------------------------
    def check_tiktok(self, q, body):
        if self.headers.get("Authorization") != "Bearer " + TT_TOKEN:
            return "auth: bad bearer token"
        try:
            b = json.loads(body)
        except Exception:
            return "body is not JSON"
        for k in ("query", "start_date", "end_date", "max_count"):
            if k not in b:
                return "body without %s" % k
        if b.get("cursor", 0) > 0 and "search_id" not in b:
            return "cursor without search_id"
        return None

    def serve_tiktok(self, q, body, n):
        st = self.server.st
        b = json.loads(body)
        if "search_id" in b and b["search_id"] != "search-1":
            # As the API answers a search_id that has expired.
            return self.send_json(400, {"data": {}, "error": {"code": "invalid_params",
                                                              "message": "search_id expired"}})
        cur, lim = b.get("cursor", 0), b["max_count"]
        videos = st.data.videos
        vids = videos[cur:cur + lim]
        self.send_json(200, {"data": {"cursor": cur + len(vids), "has_more": cur + len(vids) < len(videos),
                                      "search_id": "search-1", "videos": vids},
                             "error": {"code": "ok", "message": "", "log_id": "l%d" % n}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["generated", "demo"], default="generated")
    ap.add_argument("--fixtures", help="documented payloads (generated dataset)")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--orders", type=int, default=600)
    ap.add_argument("--bad", type=int, default=0)
    ap.add_argument("--id-base", type=int, default=1000)
    ap.add_argument("--slim", action="store_true", help="Shopify orders without the fields the scraper ignores")
    ap.add_argument("--fault", action="append")
    ap.add_argument("--slow-page", action="append")
    a = ap.parse_args()
    if a.dataset == "generated" and not a.fixtures:
        ap.error("--dataset generated needs --fixtures DIR")
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.st = State(a)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
