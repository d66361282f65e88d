/* fuzz_weaviate — what weaviate-sink and post-search read from Weaviate
 * (weaviate_batch.h, weaviate_schema.h, store/weaviate.h): the per-object
 * results of a batch create and a batch delete, error bodies, the existing
 * class a schema check reads, and the redaction of its messages. A
 * response is outside input like any other.
 *
 * Invariants, beyond not crashing: every object gets a known status and a
 * NUL-terminated message of at most 399 bytes with a label; a message never
 * repeats a value Weaviate quoted after "value"; a schema check answers 0
 * or -1 with at most 16 missing properties of ours.
 */
#include <ctype.h>
#include <jansson.h>
#include <strings.h>

#include "fuzz.h"
#include "post_record.h"
#include "store/weaviate.h"
#include "weaviate_batch.h"
#include "weaviate_schema.h"
#include "json/jsonf.h"

static const char *const ids[3] = {"36ddd591-2dee-4e7e-a3cc-eb86d30a4303",
                                   "36ddd591-2dee-4e7e-a3cc-eb86d30a4304",
                                   "0a0b0c0d-0000-5000-8000-000000000001"};

/* The values msg quotes after "value" (as wv_error_redact finds them) must
 * not be in out, unless msg also holds that text outside the quote. */
static void check_redacted(const char *msg, const char *out) {
  for (const char *p = msg; *p; p++) {
    if (strncasecmp(p, "value", 5) != 0)
      continue;
    const char *q = p + 5;
    while (*q && (*q == ' ' || *q == ':' || isalpha((unsigned char)*q)) && q - p < 24 &&
           *q != '\'' && *q != '"')
      q++;
    if (*q != '\'' && *q != '"')
      continue;
    const char *v = q + 1, *e = strchr(v, *q);
    size_t n = e ? (size_t)(e - v) : strlen(v);
    const char *after = e;
    if (n < 4) {
      if (after)
        p = after;
      continue;
    }
    /* The same text elsewhere in the message (outside this quote) may stay. */
    size_t before = (size_t)(q - msg);
    int elsewhere = fuzz_contains(msg, before, v, n) || (e && fuzz_contains(e, strlen(e), v, n));
    if (after)
      p = after; /* read on after the quote, as the redaction does */
    if (!elsewhere && fuzz_contains(out, strlen(out), v, n)) {
      fprintf(stderr, "fuzz_weaviate: \"%s\" -> \"%s\" keeps \"%.*s\"\n", msg, out, (int)n, v);
      FUZZ_CHECK(0, "a quoted value is redacted");
    }
  }
}

static void check_result(const wv_result_t *r) {
  FUZZ_CHECK(r->status == WV_OK || r->status == WV_TRANSIENT || r->status == WV_PERMANENT,
             "a known status");
  FUZZ_CHECK(memchr(r->message, '\0', sizeof(r->message)) != NULL, "a NUL-terminated message");
  FUZZ_CHECK(r->error_class != NULL, "a label");
  FUZZ_CHECK(r->status == WV_OK || r->message[0], "a failure says why");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  char err[512];
  post_row_t rows[3];
  post_row_t *rp[3];
  memset(rows, 0, sizeof(rows));
  for (int i = 0; i < 3; i++) {
    snprintf(rows[i].id, sizeof(rows[i].id), "%s", ids[i]);
    rp[i] = &rows[i];
  }
  wv_result_t res[3];
  if (wv_batch_parse(body, size, rp, 3, res, err, sizeof(err)) == 0)
    for (int i = 0; i < 3; i++)
      check_result(&res[i]);
  if (wv_delete_parse(body, size, ids, 3, res, err, sizeof(err)) == 0)
    for (int i = 0; i < 3; i++)
      check_result(&res[i]);

  char text[300];
  weaviate_error_text(body, size, text, sizeof(text));
  FUZZ_CHECK(strlen(text) < sizeof(text), "an error text fits");

  json_t *doc = jsonf_parse(body, size, 64, NULL, 0);
  if (doc) {
    const char *missing[16];
    size_t nmissing = 99;
    int rc = wv_schema_check(doc, missing, &nmissing, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -1, "0 or -1");
    if (rc == 0) {
      FUZZ_CHECK(nmissing <= 16, "at most 16 missing properties");
      for (size_t i = 0; i < nmissing; i++) {
        json_t *def = wv_schema_property(missing[i]);
        FUZZ_CHECK(def != NULL, "a missing property is one of ours");
        json_decref(def);
      }
    }
    json_decref(doc);
  }

  /* The input as one message: redaction. */
  char *msg = strndup(body, size);
  char out[400];
  wv_error_redact(msg, out, sizeof(out));
  FUZZ_CHECK(strlen(out) < sizeof(out), "a redacted message fits");
  check_redacted(msg, out);
  const char *label = NULL;
  int st = wv_error_classify(msg, &label);
  FUZZ_CHECK((st == WV_TRANSIENT || st == WV_PERMANENT) && label, "a classified message");
  free(msg);
  return 0;
}
