/* fuzz_schema — the JSON Schema validator (json/schema.h) on outside
 * records: every input that parses is validated against every contract in
 * schemas/, the way privacy-shield, risk-svc and the sinks validate what
 * they read.
 *
 * Invariants, beyond not crashing:
 *  - the document walk and the jansson entry point give the same verdict
 *    and the same message;
 *  - a record valid against a source contract is judged by the derived
 *    check of each contract pair (privacy-shield's source -> clean) exactly
 *    as by a full validation, whichever members are marked unchanged: the
 *    pair's "checked alike" must really be alike;
 *  - a failure reads "<json-pointer>: <reason>" and never quotes a value of
 *    the record (values may be personal data): a string value of the record
 *    appears in the message only when the contract itself or a key holds it,
 *    and a key with an '@' or seven digits is withheld; it is valid UTF-8
 *    however it was cut.
 */
#include <dirent.h>
#include <jansson.h>

#include "core/utf8.h"
#include "fuzz.h"
#include "json/jsonf.h"
#include "json/schema.h"

#define MAX_SCHEMAS 32

static struct contract {
  char name[64];
  schema_t *schema;
  char *text; /* the schema file, for "the contract holds this string" */
  size_t text_len;
} contracts[MAX_SCHEMAS];
static size_t ncontracts;

/* privacy-shield's pairs: target (clean) <- source. */
static const char *const pair_names[][2] = {
    {"clean_market_order.json", "market_order.json"},
    {"clean_social_post.json", "social_post.json"},
    {"market_order.json", "market_order.json"},
    {"social_post.json", "social_post.json"},
};
#define NPAIRS (sizeof(pair_names) / sizeof(pair_names[0]))
static schema_pair_t *pairs[NPAIRS];
static const struct contract *pair_source[NPAIRS], *pair_target[NPAIRS];

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  char *buf = malloc(1 << 20);
  size_t n = buf ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
  fclose(fp);
  if (buf)
    buf[n] = '\0';
  *len = n;
  return buf;
}

/* The validator's sources: the fixed words of its messages are in there
 * (" schema in anyOf"), and a value that is one of them is no quote. */
static char *vocabulary;
static size_t vocabulary_len;

static const struct contract *contract_named(const char *name) {
  for (size_t i = 0; i < ncontracts; i++)
    if (strcmp(contracts[i].name, name) == 0)
      return &contracts[i];
  return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char dir[4096], path[8192], err[512];
  fuzz_path(dir, sizeof(dir), "schemas");
  DIR *d = opendir(dir);
  FUZZ_CHECK(d != NULL, "schemas/ is readable");
  struct dirent *e;
  while ((e = readdir(d)) != NULL && ncontracts < MAX_SCHEMAS) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 || n >= sizeof(contracts[0].name))
      continue;
    struct contract *c = &contracts[ncontracts];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    c->schema = schema_load_file(path, err, sizeof(err));
    if (!c->schema) {
      fprintf(stderr, "fuzz_schema: %s\n", err);
      abort();
    }
    c->text = slurp(path, &c->text_len);
    memcpy(c->name, e->d_name, n + 1); /* n < sizeof(c->name), checked above */
    ncontracts++;
  }
  closedir(d);
  FUZZ_CHECK(ncontracts >= 8, "the contracts are loaded");
  fuzz_path(path, sizeof(path), "common/json/schema.c");
  vocabulary = slurp(path, &vocabulary_len);
  FUZZ_CHECK(vocabulary != NULL, "common/json/schema.c is readable");
  for (size_t i = 0; i < NPAIRS; i++) {
    pair_target[i] = contract_named(pair_names[i][0]);
    pair_source[i] = contract_named(pair_names[i][1]);
    FUZZ_CHECK(pair_target[i] && pair_source[i], "the contract pairs exist");
    pairs[i] = schema_pair_new(pair_target[i]->schema, pair_source[i]->schema);
    FUZZ_CHECK(pairs[i] != NULL, "schema_pair_new");
  }
  return 0;
}

/* 1 when s[0..n) is the text of some key of the document value v. */
static int is_in_a_key(const jsonf_node_t *v, const char *s, size_t n) {
  const jsonf_node_t *end = v + v->size;
  for (const jsonf_node_t *c = v; c < end; c++)
    if (c->hash && c->type == JSONF_STRING && fuzz_contains(c->v.s, c->len, s, n))
      return 1;
  return 0;
}

/* The message quotes no value of the record. Its pointer (before the last
 * ": ") is made of keys of the record, names of the contract and array
 * indexes; its reason (after it) holds no string value of the record that
 * the contract does not hold too. Short values (under 6 bytes) are left
 * out of the second check: "string" or "1" are words of messages. */
static void check_no_value(const char *err, const jsonf_node_t *root, const struct contract *c) {
  size_t elen = strlen(err);
  const char *sep = NULL;
  for (const char *p = err; (p = strstr(p, ": ")) != NULL; p++)
    sep = p;
  size_t plen = sep ? (size_t)(sep - err) : elen; /* no reason: a truncated pointer */
  const char *reason = sep ? sep + 2 : err + elen;

  char seg[512];
  for (size_t i = 0; i < plen;) {
    FUZZ_CHECK(err[i] == '/' || err[i] == ':', "a pointer is /-separated segments");
    size_t j = i + 1, n = 0;
    for (; j < plen && err[j] != '/'; j++) {
      char ch = err[j];
      if (ch == '~' && j + 1 < plen && (err[j + 1] == '0' || err[j + 1] == '1'))
        ch = err[++j] == '0' ? '~' : '/';
      seg[n++] = ch;
    }
    size_t k = 0;
    while (k < n && seg[k] >= '0' && seg[k] <= '9')
      k++;
    /* Keys that look like personal data are withheld, long ones cut. */
    if (n == 14 && memcmp(seg, "(key withheld)", 14) == 0)
      k = n;
    if (n > 3 && memcmp(seg + n - 3, "...", 3) == 0)
      n -= 3;
    int digits = 0;
    for (size_t q = 0; q < n; q++)
      digits += seg[q] >= '0' && seg[q] <= '9';
    FUZZ_CHECK(k == n || (digits < 7 && !memchr(seg, '@', n)),
               "a key that looks like personal data is withheld");
    if (err[i] == '/' && n > 0 && k < n && !is_in_a_key(root, seg, n) &&
        !fuzz_contains(c->text, c->text_len, seg, n)) {
      fprintf(stderr, "fuzz_schema: %s: pointer of \"%s\" has \"%.*s\"\n", c->name, err, (int)n,
              seg);
      FUZZ_CHECK(0, "a pointer segment is a key, a contract name or an index");
    }
    i = j;
  }

  size_t rlen = strlen(reason);
  const jsonf_node_t *end = root + root->size;
  for (const jsonf_node_t *n = root; n < end; n++) {
    if (n->type != JSONF_STRING || n->hash || n->len < 6)
      continue;
    if (fuzz_contains(reason, rlen, n->v.s, n->len) &&
        !fuzz_contains(c->text, c->text_len, n->v.s, n->len) &&
        !fuzz_contains(vocabulary, vocabulary_len, n->v.s, n->len)) {
      fprintf(stderr, "fuzz_schema: %s: \"%s\" quotes \"%.*s\"\n", c->name, err, (int)n->len,
              n->v.s);
      FUZZ_CHECK(0, "a schema error never quotes a value of the record");
    }
  }
}

static void check_form(const char *err, size_t cap) {
  FUZZ_CHECK(utf8_valid(err, strlen(err)), "a message is valid UTF-8 (it goes into JSON)");
  FUZZ_CHECK(err[0] == '/' || err[0] == ':', "a message starts with the pointer");
  /* A pointer that fills the buffer (a long key) leaves no room for the reason. */
  FUZZ_CHECK(strstr(err, ": ") != NULL || strlen(err) >= cap - 3,
             "a message is \"<pointer>: <reason>\"");
}

static jsonf_doc_t *doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512], err2[512];
  if (!doc)
    doc = jsonf_doc_new();
  const jsonf_node_t *root = jsonf_doc_parse(doc, (const char *)data, size, 64, err, sizeof(err));
  if (!root)
    return 0;
  json_t *v = jsonf_parse((const char *)data, size, 64, err, sizeof(err));
  FUZZ_CHECK(v != NULL, "jsonf_parse accepts what jsonf_doc_parse accepted");

  int valid[MAX_SCHEMAS];
  for (size_t i = 0; i < ncontracts; i++) {
    const struct contract *c = &contracts[i];
    err[0] = err2[0] = '\0';
    int rc = schema_validate_node(c->schema, root, err, sizeof(err));
    int rc2 = schema_validate(c->schema, v, err2, sizeof(err2));
    FUZZ_CHECK(rc == rc2, "document and jansson validation agree");
    FUZZ_CHECK(strcmp(err, err2) == 0, "document and jansson validation say the same");
    valid[i] = rc == 0;
    if (rc != 0) {
      check_form(err, sizeof(err));
      check_no_value(err, root, c);
    }
    /* A short buffer gets a prefix of the same message, never an overflow. */
    char small[16];
    memset(small, 'x', sizeof(small));
    int rc3 = schema_validate_node(c->schema, root, small, 7);
    FUZZ_CHECK(rc3 == rc, "the verdict does not depend on the buffer");
    FUZZ_CHECK(small[7] == 'x' && (rc == 0 || memchr(small, 0, 7) != NULL),
               "a message stays inside its buffer, NUL-terminated");
  }

  /* Derived checks: the record itself, unchanged, as the derived record. */
  uint64_t kept = 0;
  for (size_t i = 0; i < size && i < 8; i++)
    kept = kept << 8 | data[size - 1 - i];
  for (size_t p = 0; p < NPAIRS; p++) {
    if (!valid[pair_source[p] - contracts])
      continue;
    for (int k = 0; k < 2; k++) {
      uint64_t mask = k ? ~UINT64_C(0) : kept;
      err[0] = err2[0] = '\0';
      int full = schema_validate_node(pair_target[p]->schema, root, err, sizeof(err));
      int der = schema_validate_derived(pairs[p], root, mask, err2, sizeof(err2));
      FUZZ_CHECK(full == der, "a derived check gives the full check's verdict");
      FUZZ_CHECK(strcmp(err, err2) == 0, "a derived check gives the full check's message");
    }
  }
  json_decref(v);
  return 0;
}
