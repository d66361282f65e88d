/* fuzz_json — the JSON reader every program reads outside input with
 * (json/jsonf.h), in both forms: the document privacy-shield walks and the
 * jansson value the other transforms use, and the writer.
 *
 * Invariants, beyond not crashing:
 *  - jsonf accepts exactly what jansson accepts (strict, duplicates
 *    rejected, no \u0000; jansson is no judge of NUL bytes) and reads the same value (reals to the
 * bit: the fast path must round as strtod does);
 *  - both writers give jansson's own compact bytes, from the value and from
 *    the document; writing what was read and reading it back gives the same
 *    value and the same bytes (a fixed point);
 *  - a document reused from input to input (as every stage reuses one) reads
 *    as a fresh one does; the depth limit refuses exactly the deeper texts;
 *  - an error is "invalid JSON at byte N: <reason>" with N inside the input
 *    and a fixed reason: the input is never quoted (it may be personal data).
 */
#include <jansson.h>

#include "fuzz.h"
#include "json/jsonf.h"

static const char *const reasons[] = {
    "out of memory",
    "unterminated string",
    "invalid \\u escape",
    "\\u0000 is not allowed",
    "lone surrogate in \\u escape",
    "invalid escape",
    "invalid UTF-8",
    "control character in string",
    "invalid number",
    "leading zero in number",
    "integer out of range",
    "real number overflow",
    "invalid literal",
    "maximum nesting depth exceeded",
    "unexpected end of input",
    "unexpected character",
    "unterminated object",
    "expected string key",
    "expected ':'",
    "duplicate object key",
    "expected ',' or '}'",
    "unterminated array",
    "expected ',' or ']'",
    "unexpected data after the value",
    "input too large",
};

static void check_error(const char *err, size_t size) {
  size_t at = 0;
  int used = 0;
  FUZZ_CHECK(sscanf(err, "invalid JSON at byte %zu: %n", &at, &used) == 1 && used > 0,
             "error text has the documented form");
  FUZZ_CHECK(at <= size, "error position inside the input");
  const char *why = err + used;
  int known = 0;
  for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
    known |= strcmp(why, reasons[i]) == 0;
  FUZZ_CHECK(known, "error reason is a fixed text (never quotes the input)");
}

/* Nesting depth of the document value v (scalars 0). */
static int doc_depth(const jsonf_node_t *v) {
  if (v->type != JSONF_ARRAY && v->type != JSONF_OBJECT)
    return 0;
  int deepest = 0;
  const jsonf_node_t *c = v + 1, *end = v + v->size;
  while (c < end) {
    if (v->type == JSONF_OBJECT)
      c++; /* the key */
    int d = doc_depth(c);
    if (d > deepest)
      deepest = d;
    c += c->size;
  }
  return deepest + 1;
}

static jsonf_doc_t *reused;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  char err[256] = "", err2[256] = "";
  if (!reused)
    reused = jsonf_doc_new();

  /* jansson, as the reference: strict, any value at the top. */
  json_error_t je;
  json_t *ref = json_loadb(buf, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);

  json_t *v = jsonf_parse(buf, size, 2048, err, sizeof(err));
  const jsonf_node_t *root = jsonf_doc_parse(reused, buf, size, 2048, err2, sizeof(err2));
  FUZZ_CHECK((v != NULL) == (root != NULL), "jansson and document forms agree on acceptance");
  /* A NUL byte is never valid JSON (not white space, a control character in
   * a string), but jansson stops reading at one after a value: there it is
   * no reference. */
  int has_nul = memchr(buf, 0, size) != NULL;
  FUZZ_CHECK(!v || !has_nul, "a text with a NUL byte is refused");
  if (!v) {
    FUZZ_CHECK(strcmp(err, err2) == 0, "both forms give the same error");
    check_error(err, size);
    /* jansson's limit is 2048 levels too; it also refuses what jsonf does. */
    FUZZ_CHECK(ref == NULL || has_nul, "jsonf refuses only what jansson refuses");
    json_decref(ref);
    return 0;
  }
  FUZZ_CHECK(ref != NULL, "jsonf accepts only what jansson accepts");
  FUZZ_CHECK(json_equal(v, ref), "jsonf reads the value jansson reads");

  /* The writers: jansson's bytes, from either form. */
  char *want = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
  FUZZ_CHECK(want != NULL, "jansson serialises what it read");
  size_t want_len = strlen(want);
  jsonf_buf_t a = {0}, b = {0};
  FUZZ_CHECK(jsonf_dump(v, &a) == 0, "jsonf_dump writes an accepted value");
  FUZZ_CHECK(jsonf_dump_node(root, &b) == 0, "jsonf_dump_node writes an accepted document");
  FUZZ_CHECK(a.len == want_len && memcmp(a.data, want, want_len) == 0,
             "jsonf_dump gives jansson's compact bytes");
  FUZZ_CHECK(b.len == a.len && memcmp(b.data, a.data, a.len) == 0,
             "the document writes as its jansson value does");

  /* A fixed point: what was written reads back as the same value, the same bytes. */
  int depth = doc_depth(root);
  jsonf_doc_t *fresh = jsonf_doc_new();
  const jsonf_node_t *again = jsonf_doc_parse(fresh, a.data, a.len, 2048, err, sizeof(err));
  FUZZ_CHECK(again != NULL, "the written text parses");
  jsonf_buf_t c = {0};
  FUZZ_CHECK(jsonf_dump_node(again, &c) == 0 && c.len == a.len &&
                 memcmp(c.data, a.data, a.len) == 0,
             "writing is a fixed point");
  json_t *back = jsonf_parse(a.data, a.len, 2048, err, sizeof(err));
  FUZZ_CHECK(back && json_equal(back, v), "the written text reads as the same value");

  /* A document built from the jansson value writes the same bytes. */
  jsonf_doc_t *conv = jsonf_doc_new();
  const jsonf_node_t *cr = jsonf_doc_from_jansson(conv, v);
  jsonf_buf_t e = {0};
  FUZZ_CHECK(cr && jsonf_dump_node(cr, &e) == 0 && e.len == a.len &&
                 memcmp(e.data, a.data, a.len) == 0,
             "jsonf_doc_from_jansson keeps the value");

  /* The depth limit: a text is refused exactly when it nests deeper. */
  int limit = size ? (int)(data[0] % 6) : 0;
  const jsonf_node_t *lim = jsonf_doc_parse(fresh, buf, size, limit, err, sizeof(err));
  FUZZ_CHECK((lim != NULL) == (depth <= limit), "max_depth refuses exactly the deeper texts");
  if (!lim)
    FUZZ_CHECK(strstr(err, "maximum nesting depth exceeded") != NULL, "depth error says so");

  jsonf_buf_free(&a);
  jsonf_buf_free(&b);
  jsonf_buf_free(&c);
  jsonf_buf_free(&e);
  jsonf_doc_destroy(fresh);
  jsonf_doc_destroy(conv);
  json_decref(back);
  free(want);
  json_decref(v);
  json_decref(ref);
  return 0;
}
