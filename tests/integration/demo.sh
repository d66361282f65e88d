#!/usr/bin/env bash
# deploy/demo.sh, run as a new user would (minus the build, which ctest did):
# the real job from the local API server to the stores, then what it shows —
#  - every source scraped (exit 0), each broken record dead-lettered by the
#    stage that catches it (scraper-ingest, privacy-shield, snowflake-sink);
#  - rows per warehouse table and in the post store, exactly as the demo shop
#    holds them; the analyst query answers;
#  - post-search finds the posts about the query;
#  - risk-svc asks the known risky customer (phone written another way) for
#    advance payment and accepts a customer never seen (cold start);
#  - the dead letters with their reasons and the dlq-replay command;
# then, with KEEP=1, `deploy/pipeline.sh scrape` again (the cursors: nothing new)
# and `deploy/pipeline.sh down`.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

out="$T/demo.out"
rc=0
KEEP=1 DEMO_BUILD=0 bash "$SENSORY_SOURCE_DIR/deploy/demo.sh" "$T" >"$out" 2>&1 || rc=$?
check_eq "demo: exit 0" 0 "$rc"
((rc == 0)) || tail -n 30 "$out"
has() { grep -qF -- "$1" "$out"; }
line() { grep -F -- "$1" "$out" | head -n 1 | sed 's/  */ /g; s/^ //'; }

for s in shopify daraz weather facebook tiktok; do
  check "scraper-ingest: $s ran" grep -qE "^  $s +ok " "$out"
done
check_eq "shopify: 30 orders, 51 line items, the quantity-0 line dead-lettered" \
  "shopify ok fetched 30, produced 51 records, 1 dead-lettered, 1 requests" "$(line '  shopify ')"
check "the pipeline settled" grep -q 'waiting until every record is in a store or a dead-letter topic \.\.\. [0-9]* s' "$out"

# The demo shop: 51 Shopify lines + 40 Daraz orders, less one unreadable phone
# (privacy-shield) and one price beyond the column (snowflake-sink); 39
# comments + 30 videos; five cities.
check_eq "warehouse: orders" "orders 89 rows" "$(line '  orders ')"
check_eq "warehouse: weather" "weather_observations 5 rows" "$(line 'weather_observations')"
check_eq "warehouse: audit event per record the shield passed" "privacy_audit 159 rows" "$(line 'privacy_audit')"
check_eq "post store: every scraped post" "social_posts (post store) 69 rows" "$(line 'social_posts (post store)')"
check "analyst query: a row per city" bash -c "grep -cE '^   (Dhaka|Chittagong|Sylhet|Khulna|Rajshahi) +\|' '$out' | grep -qx 5"

check "post-search: the first hit is the post the query paraphrases" \
  grep -qiE '^     1   [01]\.[0-9]{4}  (tiktok|facebook) .*Price too high for the raincoat' "$out"

risky="$(grep -A3 'a known customer' "$out" | grep '→' || true)"
fresh="$(grep -A3 'never seen' "$out" | grep '→' || true)"
check "risk-svc: the risky customer must pay in advance" \
  grep -q '"decision":"advance_payment_required".*"code":"return_rate".*"cold_start":false' <<<"$risky"
check "risk-svc: a new customer is accepted, cold start" \
  grep -q '"score":0,"decision":"accept".*"cold_start":true' <<<"$fresh"
check "risk-svc: no raw phone in its answers" bash -c "! grep -qE '০১৮১২৪০৭৭৩৩|1812407733|1999000111' <<<'$risky$fresh'"

check "dead letter: scraper-ingest, schema /quantity, sealed" \
  grep -qE 'source=source.market.shopify.*code=schema +stage=scraper-ingest.*path=/quantity +sealed' "$out"
check "dead letter: scraper-ingest, schema /content (a one-character comment)" \
  grep -qE 'source=source.social.facebook.*code=schema +stage=scraper-ingest.*path=/content' "$out"
check "dead letter: privacy-shield, invalid_identifier, sealed" \
  grep -qE 'code=invalid_identifier +stage=privacy-shield.*path=/customer_phone +sealed' "$out"
check "dead letter: snowflake-sink, store_rejected with the store's reason" \
  grep -qE 'code=store_rejected +stage=snowflake-sink.*numeric field overflow' "$out"
check_eq "dead letters: four in all" 4 "$(grep -cE '^  dead-letters-(market|social)/' "$out")"
check "the replay command is shown" grep -q 'dlq-replay replay --topic dead-letters-market' "$out"
check "logs and metrics are pointed at" bash -c "grep -q 'logs (JSON):' '$out' && grep -q '/metrics' '$out'"
check "the demo times itself" grep -qE '^demo done in [0-9]+ s' "$out"
grep -E '^demo done' "$out" || true

# KEEP=1 left it running: the CronJob's next run finds nothing new.
source "$T/env"
rc=0
bash "$SENSORY_SOURCE_DIR/deploy/pipeline.sh" scrape "$T" >"$T/scrape2.out" 2>&1 || rc=$?
check_eq "second scrape: exit 0" 0 "$rc"
check_eq "second scrape: nothing new from any source" 5 "$(grep -c '"produced":0,' "$T/scrape2.out")"
bash "$SENSORY_SOURCE_DIR/deploy/pipeline.sh" down "$T" >/dev/null 2>&1
check "pipeline.sh down stopped every program" bash -c "! ls '$T'/pids/*.pid >/dev/null 2>&1"
finish
