"""The Python peer of risk-svc's benchmark: the scoring API as the seed's
Phase 1 plans it — FastAPI + uvicorn + redis-py (Debian's python3-fastapi,
python3-uvicorn with uvloop and httptools, python3-redis) — doing the same
work per request as risk-svc: API key (SHA-256, constant-time compare), the
request model (pydantic), the phone normalised to E.164 (Bangladeshi forms,
Bengali digits) and keyed with the same HMAC-SHA256 pseudonym, the same Redis
lookups in one pipeline (counters, three velocity windows, blacklist) on the
same keys, the default rules, the same answer.

Less than risk-svc: no rate limit, no decision published to Kafka, no
metrics. Run: RISK_API_KEYS_FILE=... PRIVACY_HMAC_KEY_FILE=... REDIS_URL=...
  uvicorn risk_peer:app --port P --loop uvloop --http httptools --workers 1
"""
import hashlib
import hmac
import os
import re
import time
import uuid
from typing import List, Literal, Optional

import redis.asyncio as aioredis
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, confloat, constr

KEY = open(os.environ["PRIVACY_HMAC_KEY_FILE"], "rb").read()
if KEY.endswith(b"\n"):
    KEY = KEY[:-1]
KEY_ID = "k" + hashlib.sha256(KEY).hexdigest()[:8]
API_KEYS = {}
for line in open(os.environ["RISK_API_KEYS_FILE"], encoding="utf-8"):
    parts = line.split()
    if len(parts) == 3 and not parts[0].startswith("#"):
        API_KEYS[bytes.fromhex(parts[2])] = (parts[0], set(parts[1].split(",")))
PREFIX = os.environ.get("RISK_HISTORY_PREFIX", "risk")
r = aioredis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
app = FastAPI()

BN = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")
MOBILE = re.compile(r"^1[3-9]\d{8}$")


def normalise(phone: str) -> Optional[str]:
    d = re.sub(r"[\s\-().]", "", phone.translate(BN))
    if d.startswith("+880"):
        d = d[4:]
    elif d.startswith("00880"):
        d = d[5:]
    elif d.startswith("880"):
        d = d[3:]
    elif d.startswith("0"):
        d = d[1:]
    return "+880" + d if MOBILE.match(d) else None


class Item(BaseModel):
    product_id: constr(regex=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    quantity: int = Field(gt=0, le=100000)
    price: Optional[confloat(gt=0)] = None


class RiskRequest(BaseModel):
    order_id: constr(min_length=1, max_length=128)
    merchant_id: constr(min_length=1, max_length=128)
    amount: confloat(gt=0, le=1e12)
    payment_method: Literal["cod", "prepaid"]
    customer_phone: Optional[constr(min_length=1, max_length=64)] = None
    customer_phone_hash: Optional[constr(regex=r"^[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$")] = None
    currency: Optional[constr(regex=r"^[A-Z]{3}$")] = None
    shipping_city: Optional[constr(min_length=1, max_length=128)] = None
    platform: Optional[Literal["shopify", "daraz"]] = None
    items: Optional[List[Item]] = Field(default=None, max_items=100)

    class Config:
        extra = "forbid"


FIELDS = ["orders", "cod_orders", "delivered", "returned", "failed_delivery", "cancelled",
          "cod_bad", "cod_outstanding"]


def rules(f, amount, cod):
    reasons = []
    if f["blacklisted"]:
        reasons.append(("blacklist", 100, "customer is on the blacklist"))
    if f["cod_orders"] >= 4 and f["cod_bad"] / f["cod_orders"] >= 0.75:
        reasons.append(("return_rate", 85, "%d of %d past COD orders returned or failed delivery"
                        % (f["cod_bad"], f["cod_orders"])))
    if f["orders"] >= 3 and f["cancelled"] / f["orders"] >= 0.5:
        reasons.append(("cancel_rate", 20, "%d of %d past orders cancelled"
                        % (f["cancelled"], f["orders"])))
    if f["cod_outstanding"] >= 3:
        reasons.append(("cod_outstanding", 25, "%d COD orders not yet delivered"
                        % f["cod_outstanding"]))
    for w, n, weight in (("velocity_1h", 5, 45), ("velocity_24h", 10, 20), ("velocity_7d", 20, 10)):
        if f[w] >= n:
            reasons.append((w, weight, "%d orders in the window" % f[w]))
    if f["orders"] == 0 and amount >= 20000:
        reasons.append(("new_customer_amount", 40, "first order with amount %.2f" % amount))
    if amount >= 50000:
        reasons.append(("high_amount", 15, "amount %.2f" % amount))
    bad = f["returned"] + f["failed_delivery"]
    if f["delivered"] >= 3 and f["orders"] and bad / f["orders"] <= 0.1:
        reasons.append(("loyal_customer", -25, "past orders delivered"))
    score = max(0, min(100, sum(w for _, w, _ in reasons)))
    if f["blacklisted"]:
        score = 100
    reasons.sort(key=lambda x: -abs(x[1]))
    return score, cod and score > 80, reasons


@app.post("/api/v1/risk-score")
async def risk_score(req: RiskRequest, x_api_key: Optional[str] = Header(default=None)):
    digest = hashlib.sha256((x_api_key or "").encode()).digest()
    entry = None
    for d, e in API_KEYS.items():
        if hmac.compare_digest(d, digest):
            entry = e
    if not entry:
        raise HTTPException(status_code=401, detail="unauthorized")
    if "score" not in entry[1]:
        raise HTTPException(status_code=403, detail="forbidden")
    if req.customer_phone is not None:
        e164 = normalise(req.customer_phone)
        if not e164:
            raise HTTPException(status_code=400, detail="customer_phone: not a phone number")
        phash = KEY_ID + ":" + hmac.new(KEY, ("phone:" + e164).encode(), hashlib.sha256).hexdigest()
    else:
        phash = req.customer_phone_hash
    now = int(time.time() * 1000)
    base = "%s:{%s}:" % (PREFIX, phash)
    degraded = False
    try:
        async with r.pipeline(transaction=False) as p:
            p.hmget(base + "c", FIELDS)
            for span in (3600000, 86400000, 604800000):
                p.zcount(base + "v", now - span, "+inf")
            p.exists(base + "bl")
            counters, v1, v24, v7, bl = await p.execute()
        f = {k: int(v or 0) for k, v in zip(FIELDS, counters)}
        f.update(velocity_1h=v1, velocity_24h=v24, velocity_7d=v7, blacklisted=bl > 0)
    except (aioredis.RedisError, OSError):
        degraded = True
        f = dict.fromkeys(FIELDS, 0)
        f.update(velocity_1h=0, velocity_24h=0, velocity_7d=0, blacklisted=False)
    score, advance, reasons = rules(f, req.amount, req.payment_method == "cod")
    return JSONResponse({
        "decision_id": str(uuid.uuid4()), "order_id": req.order_id, "score": score,
        "decision": "advance_payment_required" if advance else "accept",
        "reasons": [{"code": c, "weight": w, "detail": d} for c, w, d in reasons],
        "rules_version": "peer", "customer_phone_hash": phash,
        "cold_start": not degraded and f["orders"] == 0, "degraded": degraded})
