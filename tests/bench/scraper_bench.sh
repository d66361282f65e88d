#!/usr/bin/env bash
# scraper-ingest throughput into the dev broker (not a ctest test):
#   1. 100,000 records from the file source (target >= 50,000 records/s);
#   2. 100,002 records from the recorded-response server (Shopify source,
#      33,334 orders x 3 line items, 250 orders per page, no rate limit),
#      to show page fetching is not the bottleneck against a local server.
# Prints records/s per source. Uses build/bin unless SENSORY_BIN says otherwise.
set -euo pipefail
export SENSORY_SOURCE_DIR="${SENSORY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export SENSORY_BIN="${SENSORY_BIN:-$SENSORY_SOURCE_DIR/build/bin}"
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"
source "$SENSORY_SOURCE_DIR/tests/tools/scraper_itest.sh"

start_dev_broker "$T"
start_redis "$T"
N=100000
$PY "$TOOLS/gen_records.py" --kind market --count $N --seed 3 --format json >"$T/in.jsonl"

rate() { $PY -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[2]); print('%d records in %.2f s = %d records/s' % (n, s, n / s))" "$@"; }

t0=$(date +%s.%N)
scr bench-file --from "file:$T/in.jsonl" --topic source.market.shopify
t1=$(date +%s.%N)
check_eq "file: exit 0" 0 "$SCR_RC"
check_eq "file: all produced" $N "$(summary bench-file file produced)"
file_s=$($PY -c "print($t1 - $t0)")
echo "file source:  $(rate $N "$file_s")"

start_mock bench-mock --orders 33334 --slim
export SHOPIFY_BASE_URL="$MOCK_URL"
t0=$(date +%s.%N)
SCR_RC=0
/usr/bin/time -f '%U %S' -o "$T/http.cpu" "$SENSORY_BIN/scraper-ingest" --sources shopify \
  --shopify-limit 250 --shopify-rate-per-sec 0 --max-pages 100000 \
  >>"$T/logs/bench-http.out" 2>>"$T/logs/bench-http.log" || SCR_RC=$?
t1=$(date +%s.%N)
check_eq "http: exit 0" 0 "$SCR_RC"
M="$(summary bench-http shopify produced)"
check_eq "http: all line items produced" 100002 "$M"
http_s=$($PY -c "print($t1 - $t0)")
echo "http source:  $(rate "$M" "$http_s") ($(summary bench-http shopify pages) pages)"
read -r cu cs <"$T/http.cpu"
# Wall time is set by the Python mock; the scraper's own CPU shows the headroom.
echo "http source:  scraper CPU $cu s user + $cs s sys for $M records ($($PY -c "print(int($M / max($cu + $cs, 0.01)))") records per CPU-second)"
check_eq "total in the topic" $((N + M)) "$(topic_count source.market.shopify)"
finish
