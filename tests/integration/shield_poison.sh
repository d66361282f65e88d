#!/usr/bin/env bash
# Poison messages for privacy-shield: not JSON, wrong types, a 10 MB message,
# invalid UTF-8, deeply nested JSON, a missing field, an unparseable phone.
# Each lands on its dead-letter topic with its reason and origin, sealed so no
# raw personal data is readable there, and the valid records around them flow.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_dev_broker "$T"
$PY - "$T/in.tsv" <<'PY'
import json, sys
good = {"platform": "shopify", "merchant_id": "m-1", "product_id": "P-1",
        "product_name": "Raincoat", "quantity": 1, "price": 5000, "currency": "BDT",
        "order_status": "pending", "payment_method": "cod", "shipping_city": "Dhaka",
        "customer_phone": "01711-234567", "timestamp": "2026-11-20T10:00:00Z"}
post = {"platform": "tiktok", "author_username": "rahim_77", "content": "call 01811234567 now",
        "engagement_count": 3, "timestamp": "2026-11-20T10:00:00Z"}
def order(i, **kw):
    r = dict(good, order_id="ok-%d" % i); r.update(kw); return json.dumps(r).encode()
lines = []
def add(topic, key, value):
    lines.append(b"\t".join([topic.encode(), key.encode(), value]))
M, S = "source.market.shopify", "source.social.tiktok"
add(M, "ok-0", order(0))
add(M, "bad-notjson", b"this is not json 01711-234567")
add(M, "ok-1", order(1))
add(M, "bad-types", order(99, quantity="many"))
add(M, "bad-big", b'{"pad":"' + b"x" * (10 * 1024 * 1024) + b'"}')
add(M, "ok-2", order(2))
add(M, "bad-utf8", b'{"order_id":"\xff\xfe01711234567"}')
add(M, "bad-nested", b"[" * 100000 + b"]" * 100000)
add(M, "bad-missing", json.dumps({k: v for k, v in json.loads(order(98)).items() if k != "platform"}).encode())
add(M, "bad-phone", order(97, customer_phone="call me maybe"))
add(M, "ok-3", order(3))
add(S, "bad-post", json.dumps(dict(post, post_id="p-bad", engagement_count=-1)).encode())
add(S, "p-ok", json.dumps(dict(post, post_id="p-ok")).encode())
open(sys.argv[1], "wb").write(b"\n".join(lines) + b"\n")
PY
start_shield
$PY "$TOOLS/kafka_tool.py" produce -b "$KAFKA_BROKERS" <"$T/in.tsv"

check "valid records flow past the poison" wait_count clean.social,sink.snowflake.orders 5 120
check "every poison message is dead-lettered" wait_count dead-letters-market,dead-letters-social 8 60
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" \
  --topics dead-letters-market,dead-letters-social --idle 3 --out "$T/dlq.jsonl"
$PY "$TOOLS/kafka_tool.py" consume -b "$KAFKA_BROKERS" \
  --topics clean.social,sink.snowflake.orders --idle 2 --out "$T/out.jsonl"

# key → "dlq-topic code path" for every dead letter
$PY - "$T/dlq.jsonl" >"$T/codes" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    m = json.loads(line)
    e = json.loads(m["value"])
    sealed = "payload_enc" in e and "payload" not in e and "payload_b64" not in e
    print(m["key"], m["topic"], e["error"]["code"], e["error"]["path"] or "-",
          "sealed" if sealed else "PLAINTEXT", e["source"]["topic"],
          "offset" if e["source"]["offset"] >= 0 else "nooffset")
PY
expect() { # key dlq-topic code path
  check "$1 → $2 $3 $4" grep -qx "$1 $2 $3 $4 sealed source\.[a-z.]* offset" "$T/codes"
}
expect bad-notjson dead-letters-market invalid_json -
expect bad-types dead-letters-market schema /quantity
expect bad-big dead-letters-market too_large -
expect bad-utf8 dead-letters-market invalid_utf8 -
expect bad-nested dead-letters-market invalid_json -
expect bad-missing dead-letters-market schema /platform
expect bad-phone dead-letters-market invalid_identifier /customer_phone
expect bad-post dead-letters-social schema /engagement_count
check_eq "exactly 8 dead letters" 8 "$(wc -l <"$T/codes")"
check "missing field reason names it" grep -q "/platform: is required" "$T/dlq.jsonl"
check "no raw phone in any dead letter" bash -c "! grep -q -e 01711 -e 01811 -e rahim '$T/dlq.jsonl'"
check "no raw phone in any output" bash -c "! grep -q -e 01711 -e 01811 -e rahim '$T/out.jsonl'"
check_eq "valid records delivered" 5 "$(wc -l <"$T/out.jsonl")"
check "no raw personal data in the service log" bash -c "! grep -q -e 01711 -e 01811 -e rahim '$T/logs/privacy-shield.log'"
finish
