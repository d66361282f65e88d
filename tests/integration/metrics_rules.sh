#!/usr/bin/env bash
# Offline checks of the monitoring: the PrometheusRule and the Grafana
# dashboard of k8s/monitoring parse (promtool check rules; without promtool a
# structural check), their alerts fire as the targets say (promtool test
# rules on tests/fixtures/monitoring/alerts.test.yaml), every metric they use
# is in the programs' recorded scrapes (tests/fixtures/metrics/scrapes), and
# the checker itself refuses a misspelt metric, a wrong label, an unknown
# function and an unknown program's metric. The same name check against
# running programs is tests/integration/metrics_live.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${SENSORY_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
PY=/usr/bin/python3
CHECK="$SRC/tests/tools/metrics_check.py"
FIX="$SRC/tests/fixtures"
source "$SRC/tests/tools/checks.sh"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT

command -v promtool >/dev/null || echo "NOTE promtool missing (deploy/deps.sh installs prometheus): structural check only"
scrapes=()
for f in "$FIX"/metrics/scrapes/*.prom; do scrapes+=(--scrape "$f"); done
rules=(--rules "$SRC/k8s/monitoring/prometheusrule.yaml"
  --dashboard "$SRC/k8s/monitoring/dashboards/sensory.json")

if $PY "$CHECK" "${rules[@]}" "${scrapes[@]}" --rules-test "$FIX/monitoring/alerts.test.yaml" \
  --lazy snowflake_sink_store_errors_total="$SRC/services/snowflake-sink/sink.c" \
  --lazy weaviate_sink_object_errors_total="$SRC/services/weaviate-sink/post_store.c" \
  >"$T/good.txt" 2>&1; then
  ok "rules and dashboard: valid PromQL, alert tests pass, every metric in the scrapes"
else
  not_ok "rules and dashboard (below)"
fi
cat "$T/good.txt"
if command -v promtool >/dev/null; then
  check "promtool ran the alert tests" grep -q '^PASS promtool test rules' "$T/good.txt"
fi

# The checker must be able to fail.
if $PY "$CHECK" --rules "$FIX/metrics/bad-rules.yaml" "${scrapes[@]}" --no-promtool \
  >"$T/bad.txt" 2>&1; then
  not_ok "bad rules accepted"
else
  ok "bad rules refused"
fi
for want in "metric enricher_redis_upp is exported by no scrape" \
  "risk_svc_http_request_seconds_count has no label code" \
  "unknown function rat" \
  "metric nosuch_program_messages_in_total is exported by no scrape"; do
  check "refused: $want" grep -qF "$want" "$T/bad.txt"
done
check "a recorded name counts as defined" bash -c "! grep -q 'ok:recorded' '$T/bad.txt'"
# A name that is in no scrape but in the code's lazy list is still refused
# when its program no longer registers it.
printf 'groups: [{name: g, rules: [{alert: A, expr: "x_gone_total > 0"}]}]\n' >"$T/lazy.yaml"
if $PY "$CHECK" --names-only --rules "$T/lazy.yaml" "${scrapes[@]}" \
  --lazy x_gone_total="$SRC/services/enricher/enricher.c" >"$T/lazy.txt" 2>&1; then
  not_ok "a lazy counter no program registers was accepted"
else
  check "a lazy counter no program registers is refused" grep -q 'does not register it' "$T/lazy.txt"
fi
# The structural fallback (no promtool) catches broken brackets.
printf 'groups: [{name: g, rules: [{alert: A, expr: "sum(rate(up[5m]) > 0"}]}]\n' >"$T/broken.yaml"
if $PY "$CHECK" --rules "$T/broken.yaml" --no-promtool >"$T/broken.txt" 2>&1; then
  not_ok "unbalanced brackets accepted"
else
  check "unbalanced brackets refused without promtool" grep -q 'unbalanced' "$T/broken.txt"
fi
finish
