"""The shop the demo scrapes: what the local API server (server.py --dataset
demo) answers for Shopify, Daraz, Facebook, TikTok and OpenWeatherMap, in the
shapes those APIs document (the fields scraper-ingest reads, plus the usual
neighbours), for a Bangladeshi merchant selling the catalogue of
deploy/sample/products.csv.

Deterministic apart from the clock: everything is dated relative to the
server's start (orders over the last six weeks, posts over the last days), so
velocity rules and "--since" filters see a live shop. Contents:

- 24 customers, each phone written a different way on different orders
  (01812-407733, +8801812407733, Bengali digits, 00880...); one of them,
  RISKY (below), has five COD orders on Daraz, four returned or not
  delivered: the customer risk-svc must ask for advance payment.
- Shopify: 30 orders (1-3 line items, SKU = catalogue id); Daraz: 40 orders;
  statuses from pending to delivered, cancelled, returned, failed delivery.
- Facebook: comments under two posts; TikTok: videos for the keyword "saree";
  phones and emails inside the text (the shield turns them into tokens).
- Weather for the five default cities (Rajshahi in a heat wave).
- Deliberately broken records, one per stage that catches them:
  a Shopify line item with quantity 0 and a one-character Facebook comment
  (scraper-ingest: schema), a Daraz order whose phone is "N/A"
  (privacy-shield: invalid_identifier), a Daraz item priced beyond the
  warehouse column (snowflake-sink: store_rejected).
"""
import random
import time

RISKY = {"nsn": "1812407733", "name": "Sharmin Akter", "city": "Rajshahi"}
CATALOGUE = [  # deploy/sample/products.csv
    ("P-RAIN-01", "Raincoat", 5000), ("P-SARI-07", "Jamdani saree", 8500),
    ("P-PHN-12", "Phone case", 450), ("P-TEA-03", "Sylhet tea 500g", 380),
    ("P-HIJ-22", "Cotton hijab", 650), ("P-SHOE-9", "Running shoes", 3200),
    ("P-LAMP-4", "Rechargeable lamp", 1450),
]
CITIES = ["Dhaka", "Chittagong", "Sylhet", "Khulna", "Rajshahi"]
FIRST = ["Rahim", "Karim", "Fatema", "Nusrat", "Tanvir", "Sadia", "Arif", "Mitu", "Jamal", "Rina",
         "Shakil", "Tania"]
LAST = ["Ahmed", "Khan", "Islam", "Begum", "Hossain", "Chowdhury"]
BN = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
DAY = 86400


def written(nsn, k):
    """The k-th way a customer writes the mobile +880<nsn>."""
    forms = ["0%s-%s" % (nsn[:4], nsn[4:]), "+880" + nsn, ("0" + nsn).translate(BN),
             "00880" + nsn, "+880 %s-%s" % (nsn[:4], nsn[4:]), "0" + nsn,
             "(+880) %s %s" % (nsn[:4], nsn[4:])]
    return forms[k % len(forms)]


def iso(t, tz="+06:00"):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + 6 * 3600)) + tz


class DemoShop:
    shopify_id_base = 5101000

    def __init__(self, now=None):
        now = int(now or time.time())
        self.now = now
        rng = random.Random(2611)
        seen = {RISKY["nsn"]}
        self.customers = []
        for i in range(23):
            while True:
                nsn = "1" + rng.choice("3456789") + "%08d" % rng.randrange(10 ** 8)
                if nsn not in seen:
                    seen.add(nsn)
                    break
            first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
            self.customers.append({"nsn": nsn, "name": "%s %s" % (first, last),
                                   "email": "%s.%s%d@gmail.com" % (first.lower(), last.lower(), i),
                                   "city": CITIES[i % len(CITIES)]})
        self._shopify = [self._shopify_order(i, rng) for i in range(30)]
        self.shopify_count = len(self._shopify)
        self.daraz, self._items = [], {}
        self._daraz_orders(rng)
        self._social(rng)

    # ---- Shopify Admin REST (GET /admin/api/<v>/orders.json) -------------
    def _shopify_order(self, i, rng):
        c = self.customers[i % len(self.customers)]
        oid = self.shopify_id_base + i
        t = self.now - (30 - i) * DAY + rng.randrange(3600)
        fin, ful, cancelled = rng.choice([("paid", "fulfilled", None), ("pending", None, None),
                                          ("paid", None, None), ("refunded", "fulfilled", None),
                                          ("paid", "fulfilled", None),
                                          ("voided", None, iso(t + DAY))])
        cod = rng.random() < 0.6
        lines = []
        for j, (sku, name, price) in enumerate(rng.sample(CATALOGUE, rng.randint(1, 3))):
            lines.append({"id": oid * 10 + j, "product_id": None, "variant_id": None,
                          "sku": sku, "title": name, "name": name, "quantity": rng.randint(1, 3),
                          "price": "%.2f" % price, "fulfillment_status": ful,
                          "requires_shipping": True, "vendor": "Sensory demo shop"})
        if i == 17:  # broken: scraper-ingest dead-letters this line (schema, /quantity)
            lines[0]["quantity"] = 0
        first, last = c["name"].split(" ", 1)
        phone = written(c["nsn"], i)
        address = {"first_name": first, "last_name": last, "name": c["name"],
                   "address1": "House %d, Road %d" % (rng.randint(1, 90), rng.randint(1, 30)),
                   "city": c["city"], "country": "Bangladesh", "country_code": "BD",
                   "zip": "1%03d" % rng.randrange(1000), "phone": phone}
        return {"id": oid, "name": "#%d" % (1000 + i), "order_number": 1000 + i,
                "email": c["email"], "phone": None, "created_at": iso(t), "updated_at": iso(t + 3600),
                "cancelled_at": cancelled, "cancel_reason": "customer" if cancelled else None,
                "currency": "BDT", "financial_status": fin, "fulfillment_status": ful,
                "gateway": "Cash on Delivery (COD)" if cod else "bkash",
                "payment_gateway_names": ["Cash on Delivery (COD)" if cod else "bkash"],
                "total_price": "%.2f" % sum(float(li["price"]) * li["quantity"] for li in lines),
                "line_items": lines, "shipping_address": address, "billing_address": address,
                "note": "Please call %s before delivery" % written(c["nsn"], i + 3) if i % 4 == 0 else None,
                "customer": {"id": 700000 + i % len(self.customers), "email": c["email"],
                             "first_name": first, "last_name": last, "phone": phone}}

    def shopify_order(self, i):
        return self._shopify[i]

    # ---- Daraz Open Platform (GET /orders/get, /orders/items/get) --------
    def _daraz_orders(self, rng):
        # The risky customer: five COD orders, four returned or not delivered.
        plan = [(RISKY, -40 * DAY + 7 * k * DAY, s, "COD")
                for k, s in enumerate(["returned", "failed", "returned", "delivered", "returned"])]
        for i in range(35):
            c = self.customers[(i * 5) % len(self.customers)]
            s = rng.choice(["delivered", "delivered", "delivered", "shipped", "pending",
                            "ready_to_ship", "canceled", "returned"])
            plan.append((c, -35 * DAY + i * DAY + rng.randrange(3600), s,
                         rng.choice(["COD", "COD", "bKash", "Nagad"])))
        plan.sort(key=lambda p: p[1])
        # Broken on purpose, never the risky customer's orders: one phone that is
        # no phone (privacy-shield: invalid_identifier), one price beyond the
        # warehouse's NUMERIC(14,2) (snowflake-sink: store_rejected).
        no_phone = next(i for i in range(11, len(plan)) if plan[i][0] is not RISKY)
        too_dear = next(i for i in range(23, len(plan)) if plan[i][0] is not RISKY)
        for i, (c, dt, status, pm) in enumerate(plan):
            oid = 60017000 + i
            t = self.now + dt
            first, last = c["name"].split(" ", 1)
            phone = written(c["nsn"], i)
            if i == no_phone:
                phone = "N/A"
            order = {"order_id": oid, "order_number": oid, "created_at": time.strftime(
                "%Y-%m-%d %H:%M:%S +0600", time.gmtime(t + 6 * 3600)),
                "updated_at": time.strftime("%Y-%m-%d %H:%M:%S +0600", time.gmtime(t + 6 * 3600 + DAY)),
                "payment_method": pm, "statuses": [status], "items_count": 1,
                "price": "0.00", "remarks": "",
                "address_shipping": {"first_name": first, "last_name": last, "phone": phone,
                                     "address1": "Flat %d, Block %s" % (rng.randint(1, 20), "ABCD"[i % 4]),
                                     "city": c["city"], "country": "Bangladesh"},
                "_t": t}
            sku, name, price = rng.choice(CATALOGUE)
            item_price = "{:,.2f}".format(price)
            if i == too_dear:
                item_price = "99,999,999,999,999.00"
            self._items[oid] = [{"order_item_id": oid * 10, "order_id": oid, "sku": sku,
                                 "shop_sku": "%s-BD" % sku, "name": name, "item_price": item_price,
                                 "paid_price": item_price, "currency": "BDT", "status": status}]
            order["price"] = item_price
            self.daraz.append(order)

    def daraz_items(self, order_id):
        return self._items.get(int(order_id), [])

    # ---- Facebook Graph comments and TikTok Research videos --------------
    def _social(self, rng):
        texts = [
            "Price too high for the {p}, bhai discount den",
            "{p} ta onek sundor, kobe delivery hobe?",
            "Order korte chai {p}, amar number {phone} e call den",
            "Great quality {p}! Will buy again #happy",
            "{p} er dam koto? {phone} e janan",
            "Please send details to {email} about the {p}",
            "Received my {p} today, took 3 days #happy",
            "Is the {p} available in {city}? inbox please",
            "Delivery was late, the {p} came a week after I paid #monsoon",
            "Wholesale price for 50 {p}? Contact {email} or {phone}",
            "{p} size ache? colour ta ki same as photo? #sale",
            "The {p} was different from the photo, I want to return it #refund",
        ]

        def text(i):
            c = self.customers[(i * 7) % len(self.customers)]
            name = CATALOGUE[(i * 5 + i // len(texts)) % len(CATALOGUE)][1]
            return texts[i % len(texts)].format(p=name.lower() if i % 3 else name, city=CITIES[i % len(CITIES)],
                                                phone=written(c["nsn"], i), email=c["email"])

        self.post_ids = ["1029384756_5550001", "1029384756_5550002"]
        self.comments = {}
        for p, post in enumerate(self.post_ids):
            rows = []
            for i in range(20):
                n = p * 20 + i
                t = self.now - (6 * DAY) + n * 3 * 3600
                c = self.customers[(n * 3) % len(self.customers)]
                rows.append({"id": "%s_%d" % (post, 8100 + i), "message": text(n),
                             "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(t)),
                             "from": {"name": c["name"], "id": str(3300000 + (n * 3) % 23)},
                             "like_count": rng.randrange(40), "comment_count": rng.randrange(5)})
            if p == 1:  # broken: too short for the contract (scraper-ingest: schema)
                rows[6]["message"] = "👍"
            self.comments[post] = rows
        self.videos = []
        for i in range(30):
            t = self.now - 5 * DAY + i * 4 * 3600
            d = text(i + 5)
            self.videos.append({"id": 7301234567890120000 + i, "video_description": d + " #saree",
                                "create_time": t, "username": "shop_lover_%d" % (i % 9),
                                "region_code": "BD", "like_count": rng.randrange(2000),
                                "comment_count": rng.randrange(90), "share_count": rng.randrange(30),
                                "view_count": rng.randrange(50000),
                                "hashtag_names": ["saree"] + (["sale"] if i % 3 == 0 else [])})

    def comments_of(self, post_id):
        return self.comments.get(post_id, [])

    # ---- OpenWeatherMap current weather -----------------------------------
    def weather(self, city):
        if city not in CITIES:
            return None
        k = CITIES.index(city)
        hot = city == "Rajshahi"
        lat, lon = [(23.71, 90.41), (22.34, 91.83), (24.90, 91.87), (22.82, 89.55), (24.37, 88.60)][k]
        return {"coord": {"lon": lon, "lat": lat},
                "weather": [{"id": 800 if hot else 500, "main": "Clear" if hot else "Rain",
                             "description": "clear sky" if hot else "light rain", "icon": "01d"}],
                "base": "stations",
                "main": {"temp": 41.2 if hot else 29.0 + k, "feels_like": 44.0 if hot else 33.0,
                         "temp_min": 39.0 if hot else 27.0, "temp_max": 42.0 if hot else 31.0,
                         "pressure": 1004, "humidity": 38 if hot else 78},
                "visibility": 10000, "wind": {"speed": 3.1 + k, "deg": 200},
                "clouds": {"all": 0 if hot else 75}, "dt": self.now - self.now % 600,
                "sys": {"country": "BD"}, "timezone": 21600, "id": 1185241 + k, "name": city,
                "cod": 200}
