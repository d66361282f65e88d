#!/usr/bin/env bash
# post-search against the posts weaviate-sink stored, with vectors the
# embedder computed (a random 384-dimensional BERT made by
# tests/tools/make_test_bert.py: the real tokenizer, forward pass and pooling):
#  - a query equal to a stored post's content finds that post first;
#  - --alpha 1 (pure vector) ranks exactly as a brute-force cosine ranking
#    computed here in Python from the table's real[] vectors, and --alpha 0
#    (pure keyword) returns only posts holding the query's words;
#  - --like POST_ID finds the post itself first (also when another post has
#    the same text);
#  - --platform and --since filter; the table shows 80 characters; --json;
#  - the same against Weaviate (the contract server, GraphQL hybrid query);
#  - bad usage: exit 2.
set -euo pipefail
[[ -x "$SENSORY_BIN/post-search" ]] || { echo "SKIP: post-search not built"; exit 77; }
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_postgres "$T"
MODEL="$T/model"
$PY "$TOOLS/make_test_bert.py" "$MODEL" --vocab "$SENSORY_FIXTURES/embedding/vocab.txt" \
  --vocab-size 8000 --hidden 384 --layers 1 --heads 12
export MODEL_DIR="$MODEL"
N=400
$PY - "$N" >"$T/enriched.jsonl" <<'PY'
import json, random, sys
rng = random.Random(5)
words = ["price", "too", "high", "raincoat", "delivery", "late", "quality", "good", "bad",
         "refund", "size", "small", "large", "colour", "fabric", "fast", "slow", "order",
         "umbrella", "monsoon", "discount", "shoes", "bag", "return", "cash", "phone"]
for i in range(int(sys.argv[1])):
    text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))
    if i in (7, 8):
        text = "same words in two posts about the umbrella"
    print(json.dumps({"platform": "tiktok" if i % 2 else "facebook", "post_id": "ps_%d" % i,
                      "author_hash": "k1:" + "ab" * 32, "content": text,
                      "engagement_count": i, "timestamp": "2026-%s" % (
                          "10-%02dT12:00:00Z" % (10 + i % 20) if i % 3 == 0 else
                          "11-%02dT12:00:00Z" % (1 + i % 28)),
                      "hashtags": ["monsoon"] if i % 10 == 0 else [], "products": [],
                      "enriched_text": text}))
PY
"$SENSORY_BIN/embedder" --stdio --topic enriched.social --dlq-file "$T/e.dlq" \
  <"$T/enriched.jsonl" >"$T/vectors.jsonl" 2>"$T/logs/embedder.log"
check_eq "the embedder embedded every post" "$N" "$(wc -l <"$T/vectors.jsonl")"
"$SENSORY_BIN/weaviate-sink" --stdio --topic sink.weaviate.vectors --dlq-file "$T/s.dlq" \
  <"$T/vectors.jsonl" 2>"$T/logs/sink.log"
PSQL="$SENSORY_PG_BIN/psql -X -At $DATABASE_URL"
check_eq "the sink stored every post" "$N" "$($PSQL -c 'SELECT count(*) FROM social_posts')"

# The query's vector, computed by the same embedder (what post-search does
# inside), for the independent ranking below.
embed() { # TEXT → one vector record on stdout
  $PY -c 'import json,sys; print(json.dumps({"platform":"tiktok","post_id":"q","author_hash":"k1:"+"ab"*32,"content":"query text","engagement_count":0,"timestamp":"2026-11-21T10:00:00Z","products":[],"enriched_text":sys.argv[1]}))' "$1" |
    "$SENSORY_BIN/embedder" --stdio --topic enriched.social --dlq-file "$T/q.dlq" 2>/dev/null
}
# brute TEXT LIMIT [SOURCE]: post ids by cosine, computed in Python from the
# table's real[] column (double precision; ties by id, as Weaviate).
brute() {
  embed "$1" >"$T/q.json"
  $PSQL -F $'\t' -c "SELECT id, post_id, vector FROM social_posts" >"$T/all.tsv"
  $PY - "$T/q.json" "$T/all.tsv" "$2" <<'PY'
import json, math, sys
q = json.loads(open(sys.argv[1]).read())["vector"]
rows = []
for line in open(sys.argv[2]):
    oid, pid, vec = line.rstrip("\n").split("\t")
    v = [float(x) for x in vec.strip("{}").split(",")]
    dot = sum(a * b for a, b in zip(q, v))
    cos = dot / (math.sqrt(sum(a * a for a in q)) * math.sqrt(sum(b * b for b in v)))
    rows.append((-cos, oid, pid))
rows.sort()
print(" ".join(pid for _, _, pid in rows[:int(sys.argv[3])]))
PY
}
ids() { $PY -c 'import json,sys; print(" ".join(json.loads(l)["post_id"] for l in sys.stdin))'; }

# --- exact content → that post first ------------------------------------------
for k in 3 42 199 350; do
  content="$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[int(sys.argv[2])])["content"])' "$T/enriched.jsonl" "$k")"
  first="$("$SENSORY_BIN/post-search" "$content" --json --limit 5 | ids | cut -d' ' -f1)"
  check_eq "query = content of ps_$k finds it first" "ps_$k" "$first"
done

# --- alpha 1 equals brute force; alpha 0 is keywords ------------------------------
for q in "delivery late refund" "price too high for raincoat"; do
  want="$(brute "$q" 20)"
  have="$("$SENSORY_BIN/post-search" "$q" --alpha 1 --limit 20 --json | ids)"
  check_eq "--alpha 1 '$q' equals the brute-force cosine ranking" "$want" "$have"
done
"$SENSORY_BIN/post-search" raincoat --alpha 0 --limit 50 --json >"$T/kw.jsonl"
check "--alpha 0: only posts holding the word" $PY - "$T/kw.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if rows and all("raincoat" in r["content"].split() for r in rows) and
         all("vector_score" not in r for r in rows) else 1)
PY

# --- --like -----------------------------------------------------------------------
for k in 7 8 120; do
  first="$("$SENSORY_BIN/post-search" --like "ps_$k" --json --limit 3 | ids | cut -d' ' -f1)"
  check_eq "--like ps_$k finds itself first" "ps_$k" "$first"
done
rc=0
"$SENSORY_BIN/post-search" --like no_such_post >/dev/null 2>"$T/like.err" || rc=$?
check_eq "--like of an unknown post: exit 1" 1 "$rc"

# --- filters, table, JSON -----------------------------------------------------------
"$SENSORY_BIN/post-search" "order price" --platform tiktok --since 2026-11-15 --limit 30 \
  --json >"$T/f.jsonl"
check "--platform and --since filter" $PY - "$T/f.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if rows and all(r["platform"] == "tiktok" and r["timestamp"] >= "2026-11-15"
                           for r in rows) else 1)
PY
"$SENSORY_BIN/post-search" "price too high for raincoat" --limit 7 >"$T/table.txt"
check_eq "table: a header and 7 rows" 8 "$(wc -l <"$T/table.txt")"
check "table: rank, score, platform, date, post id, content" \
  grep -Eq '^ +1 +[0-9]\.[0-9]{4}  (tiktok|facebook) +2026-1[01]-[0-9]{2}  ps_[0-9]+ ' "$T/table.txt"

# --- the same against Weaviate ---------------------------------------------------------
rm -f "$T/wv.port"
$PY "$TOOLS/weaviate_contract.py" --spec "$SENSORY_FIXTURES/api/weaviate-openapi.json" \
  --port-file "$T/wv.port" >>"$T/logs/weaviate.log" 2>&1 &
record_pid "$T" weaviate $!
for _ in $(seq 1 100); do [[ -s "$T/wv.port" ]] && break; sleep 0.1; done
WV="http://127.0.0.1:$(<"$T/wv.port")"
SINK_BACKEND=weaviate WEAVIATE_URL="$WV" "$SENSORY_BIN/weaviate-sink" --stdio \
  --topic sink.weaviate.vectors --dlq-file "$T/w.dlq" <"$T/vectors.jsonl" 2>"$T/logs/wsink.log"
q="delivery late refund"
want="$(brute "$q" 20)"
have="$(SINK_BACKEND=weaviate WEAVIATE_URL="$WV" "$SENSORY_BIN/post-search" "$q" --alpha 1 \
  --limit 20 --json | ids)"
check_eq "Weaviate, --alpha 1: the brute-force cosine ranking" "$want" "$have"
first="$(SINK_BACKEND=weaviate WEAVIATE_URL="$WV" "$SENSORY_BIN/post-search" --like ps_120 \
  --json --limit 3 | ids | cut -d' ' -f1)"
check_eq "Weaviate, --like ps_120 finds itself first" ps_120 "$first"
content="$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[42])["content"])' "$T/enriched.jsonl")"
first="$(SINK_BACKEND=weaviate WEAVIATE_URL="$WV" "$SENSORY_BIN/post-search" "$content" \
  --platform "$( ((42 % 2)) && echo tiktok || echo facebook)" --json --limit 3 | ids | cut -d' ' -f1)"
check_eq "Weaviate, hybrid with a where filter: content of ps_42 first" ps_42 "$first"
check_eq "no GraphQL or REST request broke the contract" 0 \
  "$(curl -sf "$WV/__control/state" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["violations"]))')"

# --- bad usage ---------------------------------------------------------------------------
for args in "" "--alpha 2 q" "--platform instagram q" "--since yesterday q" "--like p q"; do
  rc=0
  # shellcheck disable=SC2086
  "$SENSORY_BIN/post-search" $args >/dev/null 2>&1 || rc=$?
  check_eq "post-search $args: exit 2" 2 "$rc"
done
finish
