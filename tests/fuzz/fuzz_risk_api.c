/* fuzz_risk_api — risk-svc's API handlers (risk_api.h) on any request: the
 * API key headers and the parsed body of POST /api/v1/risk-score and PUT /
 * DELETE /api/v1/blacklist, over a fake history store and decision sink.
 *
 * Input: a first line choosing the route ("score", "put", "delete"; else
 * by the first byte), then the X-API-Key line, the Authorization line ("-"
 * for an absent header) and the body (JSON, parsed as httpd parses it).
 *
 * Invariants, beyond not crashing or leaking:
 *  - an answer has a known status and a JSON object body; an error body is
 *    {"error":{"code","message","path"}} and quotes no value of the request
 *    (no string value of the body, no header value);
 *  - the raw customer_phone never leaves: not in the answer, not in the
 *    published decision; the blacklist note holds no phone the scrubber
 *    would take;
 *  - a published decision is valid against schemas/risk_decision.json.
 */
#include <jansson.h>

#include "fuzz.h"
#include "privacy/pii.h"
#include "risk_api.h"
#include "risk_rules.h"
#include "json/jsonf.h"
#include "json/schema.h"

#include "risk_env.h"

static risk_api_t *api;
static pii_hasher_t *hasher;
static schema_t *decision_schema;
static char *schema_text;
static size_t schema_text_len;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char err[512], dir[4096], path[4200];
  api = risk_env_api(&hasher);
  fuzz_path(dir, sizeof(dir), "schemas");
  snprintf(path, sizeof(path), "%s/risk_decision.json", dir);
  decision_schema = schema_load_file(path, err, sizeof(err));
  FUZZ_CHECK(decision_schema != NULL, "risk_decision.json");
  /* Words a message may share with a value: the contracts' and the API's. */
  static const char *const texts[] = {"schemas/risk_request.json",
                                      "schemas/risk_blacklist_request.json",
                                      "services/risk-svc/risk_api.c", "common/json/schema.c"};
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    fuzz_path(path, sizeof(path), texts[i]);
    FILE *fp = fopen(path, "rb");
    FUZZ_CHECK(fp != NULL, "a source file to excuse words from");
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    schema_text = realloc(schema_text, schema_text_len + n);
    memcpy(schema_text + schema_text_len, buf, n);
    schema_text_len += n;
  }
  return 0;
}

/* A request value (>= 6 bytes, not a word the API or its contracts use) in
 * text: a quote. */
static int quotes(const char *text, size_t tlen, const char *v, size_t vlen) {
  return vlen >= 6 && fuzz_contains(text, tlen, v, vlen) &&
         !fuzz_contains(schema_text, schema_text_len, v, vlen);
}

/* Masks every key of v in text (a pointer names keys by design): what is
 * left of a value there is no quote of it. ("224+76:" is found in
 * "/tt224+76: unexpected property" only through the key "tt224+76".) */
static void mask_keys(const json_t *v, char *text, size_t tlen) {
  const char *k;
  json_t *m;
  size_t i;
  if (json_is_object(v)) {
    json_object_foreach((json_t *)v, k, m) {
      size_t kl = strlen(k);
      for (char *at = kl ? memmem(text, tlen, k, kl) : NULL; at;
           at = memmem(at + 1, tlen - (size_t)(at + 1 - text), k, kl))
        memset(at, 1, kl);
      mask_keys(m, text, tlen);
    }
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, m) mask_keys(m, text, tlen);
  }
}

/* Every string value in v, for quotes(). */
static void collect(const json_t *v, const char **vals, size_t *lens, size_t *n, size_t cap) {
  if (json_is_string(v) && *n < cap) {
    vals[*n] = json_string_value(v);
    lens[(*n)++] = json_string_length(v);
  } else if (json_is_object(v)) {
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m) collect(m, vals, lens, n, cap);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) collect(m, vals, lens, n, cap);
  }
}

static char *line(const char **p, const char *end) {
  const char *nl = memchr(*p, '\n', (size_t)(end - *p));
  const char *e = nl ? nl : end;
  char *s = strndup(*p, (size_t)(e - *p));
  *p = nl ? nl + 1 : end;
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  char *route = line(&p, end), *xkey = line(&p, end), *auth = line(&p, end);
  int r = !strcmp(route, "score")    ? 0
          : !strcmp(route, "put")    ? 1
          : !strcmp(route, "delete") ? 2
          : size                     ? data[0] % 3
                                     : 0;
  store_down = size > 1 && (data[1] & 1);
  json_t *body = jsonf_parse(p, (size_t)(end - p), 32, NULL, 0);
  if (!body) {
    free(route), free(xkey), free(auth);
    return 0; /* httpd answers 400 invalid_json itself */
  }
  risk_api_request_t req = {.method = r == 0   ? "POST"
                                      : r == 1 ? "PUT"
                                               : "DELETE",
                            .x_api_key = strcmp(xkey, "-") ? xkey : NULL,
                            .authorization = strcmp(auth, "-") ? auth : NULL,
                            .body = body};
  risk_api_response_t resp;
  free(published), free(note);
  published = note = NULL;
  if (r == 0)
    risk_api_score(api, &req, &resp);
  else
    risk_api_blacklist(api, &req, &resp);

  static const int known[] = {200, 400, 401, 403, 429, 500, 503};
  int ok = 0;
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    ok |= resp.status == known[i];
  FUZZ_CHECK(ok, "a known status");
  FUZZ_CHECK(json_is_object(resp.body), "a JSON object body");
  char *answer = jsonf_dumps(resp.body, NULL);
  FUZZ_CHECK(answer != NULL, "the answer is writable JSON");
  size_t alen = strlen(answer);

  const char *vals[256];
  size_t lens[256], nv = 0;
  collect(body, vals, lens, &nv, 256);
  const json_t *phone = json_object_get(body, "customer_phone");
  const char *ph = json_string_value(phone);
  size_t phl = json_string_length(phone);
  if (resp.status != 200) {
    const json_t *e = json_object_get(resp.body, "error");
    FUZZ_CHECK(json_is_string(json_object_get(e, "code")) &&
                   json_is_string(json_object_get(e, "message")) && json_object_get(e, "path"),
               "an error body is {error: {code, message, path}}");
    /* What an error says: its message and path (the rest is fixed). */
    char said[2048];
    snprintf(said, sizeof(said), "%s\n%s", json_string_value(json_object_get(e, "message")),
             json_is_string(json_object_get(e, "path"))
                 ? json_string_value(json_object_get(e, "path"))
                 : "");
    size_t sl = strlen(said);
    char unkeyed[sizeof(said)];
    memcpy(unkeyed, said, sl + 1);
    mask_keys(body, unkeyed, sl);
    for (size_t i = 0; i < nv; i++)
      if (quotes(unkeyed, sl, vals[i], lens[i])) {
        fprintf(stderr, "fuzz_risk_api: %s quotes \"%.*s\"\n", answer, (int)lens[i], vals[i]);
        FUZZ_CHECK(0, "an error never quotes the request");
      }
    FUZZ_CHECK(!quotes(said, sl, xkey, strlen(xkey)) && !quotes(said, sl, auth, strlen(auth)),
               "an error never quotes a header");
  }
  /* The fields answered and published as they came (ids, platform,
   * currency) may hold the phone's text: then it is theirs, not a leak. */
  int echoed = 0;
  static const char *const echo[] = {"order_id", "merchant_id", "platform", "currency"};
  for (size_t i = 0; ph && i < sizeof(echo) / sizeof(echo[0]); i++) {
    const json_t *v = json_object_get(body, echo[i]);
    echoed |=
        json_is_string(v) && fuzz_contains(json_string_value(v), json_string_length(v), ph, phl);
  }
  if (ph && !echoed) {
    char *unkeyed = strdup(answer);
    mask_keys(body, unkeyed, alen);
    FUZZ_CHECK(!quotes(unkeyed, alen, ph, phl), "the raw phone is not answered");
    free(unkeyed);
    if (published) {
      unkeyed = strdup(published);
      mask_keys(body, unkeyed, strlen(unkeyed));
      FUZZ_CHECK(!quotes(unkeyed, strlen(unkeyed), ph, phl), "the raw phone is not published");
      free(unkeyed);
    }
  }
  if (published) {
    char err[512];
    json_t *d = jsonf_parse(published, strlen(published), 64, err, sizeof(err));
    FUZZ_CHECK(d != NULL, "a published decision is JSON");
    if (schema_validate(decision_schema, d, err, sizeof(err)) != 0) {
      fprintf(stderr, "fuzz_risk_api: decision %s: %s\n", published, err);
      FUZZ_CHECK(0, "a published decision is valid against risk_decision.json");
    }
    json_decref(d);
  }
  if (note) {
    /* Scrubbed once, nothing left: a second pass over the note takes no
     * phone. (Addresses it may take: a token and the "@x.com" after it read
     * as one, and a token is no personal data; such an address changes the
     * context of what follows it — "@b.coorm+52068468" is a word's digits
     * on the first pass, a number after an address on the second — so, as
     * in fuzz_pii, only passes without one count.) */
    pii_counts_t c = {0, 0};
    char *again = pii_scrub_text(hasher, note, strlen(note), NULL, &c);
    FUZZ_CHECK(c.phones == 0 || c.emails > 0 || fuzz_longest_run(note, strlen(note)) > 28,
               "a blacklist note holds no phone");
    free(again);
  }
  free(answer);
  json_decref(resp.body);
  json_decref(body);
  free(route), free(xkey), free(auth);
  return 0;
}
