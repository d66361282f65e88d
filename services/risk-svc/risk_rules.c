/* risk_rules — loading, hashing and evaluating the COD risk rules (see
 * risk_rules.h). Owns the rule table: which codes exist, which parameters
 * each takes and their ranges, and what each rule looks at. */
#include "risk_rules.h"

#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/yaml.h"

#define MAX_PARAMS 2
#define MAX_MERCHANTS 100000

typedef struct param_def {
  const char *name;
  double min, max;
  int integer;
} param_def_t;

typedef struct rule_def {
  const char *code;
  param_def_t params[MAX_PARAMS];
} rule_def_t;

static const rule_def_t defs[RISK_RULE_COUNT] = {
    [RISK_RULE_BLACKLIST] = {"blacklist", {{0}}},
    [RISK_RULE_RETURN_RATE] = {"return_rate",
                               {{"min_cod_orders", 1, 1e6, 1}, {"min_rate", 0, 1, 0}}},
    [RISK_RULE_CANCEL_RATE] = {"cancel_rate", {{"min_orders", 1, 1e6, 1}, {"min_rate", 0, 1, 0}}},
    [RISK_RULE_COD_OUTSTANDING] = {"cod_outstanding", {{"min_orders", 1, 1e6, 1}}},
    [RISK_RULE_VELOCITY_1H] = {"velocity_1h", {{"min_orders", 1, 1e6, 1}}},
    [RISK_RULE_VELOCITY_24H] = {"velocity_24h", {{"min_orders", 1, 1e6, 1}}},
    [RISK_RULE_VELOCITY_7D] = {"velocity_7d", {{"min_orders", 1, 1e6, 1}}},
    [RISK_RULE_NEW_CUSTOMER_AMOUNT] = {"new_customer_amount", {{"min_amount", 0, 1e15, 0}}},
    [RISK_RULE_HIGH_AMOUNT] = {"high_amount", {{"min_amount", 0, 1e15, 0}}},
    [RISK_RULE_LOYAL_CUSTOMER] = {"loyal_customer",
                                  {{"min_delivered", 1, 1e6, 1}, {"max_bad_rate", 0, 1, 0}}},
};

/* The defaults the tests pin (README "Rules"): a blacklisted customer scores
 * 100; >= 4 past COD orders with >= 75 % returned or failed scores 85 alone;
 * a first order of an ordinary amount scores 0; a burst of orders adds up. */
static const char default_yaml[] =
    "# risk-svc default rules (built in; services/risk-svc/rules.yaml is the same set).\n"
    "threshold: 80\n"
    "rules:\n"
    "  blacklist: {weight: 100}\n"
    "  return_rate: {weight: 85, min_cod_orders: 4, min_rate: 0.75}\n"
    "  cancel_rate: {weight: 20, min_orders: 3, min_rate: 0.5}\n"
    "  cod_outstanding: {weight: 25, min_orders: 3}\n"
    "  velocity_1h: {weight: 45, min_orders: 5}\n"
    "  velocity_24h: {weight: 20, min_orders: 10}\n"
    "  velocity_7d: {weight: 10, min_orders: 20}\n"
    "  new_customer_amount: {weight: 40, min_amount: 20000}\n"
    "  high_amount: {weight: 15, min_amount: 50000}\n"
    "  loyal_customer: {weight: -25, min_delivered: 3, max_bad_rate: 0.1}\n";

typedef struct rule {
  int enabled;
  int weight;
  double p[MAX_PARAMS];
} rule_t;

typedef struct ruleset {
  int threshold;
  rule_t rule[RISK_RULE_COUNT];
} ruleset_t;

typedef struct merchant {
  char *id;
  ruleset_t set;
} merchant_t;

struct risk_rules {
  ruleset_t base;
  merchant_t *merchants; /* sorted by id for bsearch */
  size_t nmerchants;
  char version[16];
};

const char *risk_rule_code(risk_rule_id_t id) {
  return (unsigned)id < RISK_RULE_COUNT ? defs[id].code : NULL;
}

const char *risk_rules_default_yaml(void) {
  return default_yaml;
}

static int rule_id(const char *code) {
  for (int i = 0; i < RISK_RULE_COUNT; i++)
    if (strcmp(defs[i].code, code) == 0)
      return i;
  return -1;
}

static int param_index(int id, const char *name) {
  for (int i = 0; i < MAX_PARAMS && defs[id].params[i].name; i++)
    if (strcmp(defs[id].params[i].name, name) == 0)
      return i;
  return -1;
}

/* One rule's mapping. partial: a merchant override (any subset of fields);
 * else the base set, where weight and every parameter are required. */
static int parse_rule(json_t *obj, int id, rule_t *r, int partial, const char *where, char *errstr,
                      size_t errstr_size) {
  if (!json_is_object(obj)) {
    snprintf(errstr, errstr_size, "%s: must be a mapping", where);
    return -1;
  }
  int seen_weight = 0, seen[MAX_PARAMS] = {0};
  const char *k;
  json_t *v;
  if (!partial)
    r->enabled = 1;
  json_object_foreach(obj, k, v) {
    if (strcmp(k, "enabled") == 0) {
      if (!json_is_boolean(v)) {
        snprintf(errstr, errstr_size, "%s.enabled: must be true or false", where);
        return -1;
      }
      r->enabled = json_is_true(v);
      continue;
    }
    if (strcmp(k, "weight") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < -100 || json_integer_value(v) > 100) {
        snprintf(errstr, errstr_size, "%s.weight: must be an integer -100..100", where);
        return -1;
      }
      r->weight = (int)json_integer_value(v);
      seen_weight = 1;
      continue;
    }
    int pi = param_index(id, k);
    if (pi < 0) {
      snprintf(errstr, errstr_size, "%s.%s: unknown parameter of rule %s", where, k, defs[id].code);
      return -1;
    }
    const param_def_t *pd = &defs[id].params[pi];
    double d = json_number_value(v);
    if (!json_is_number(v) || (pd->integer && !json_is_integer(v)) || !isfinite(d) || d < pd->min ||
        d > pd->max) {
      snprintf(errstr, errstr_size, "%s.%s: must be %s %g..%g", where, k,
               pd->integer ? "an integer" : "a number", pd->min, pd->max);
      return -1;
    }
    r->p[pi] = d;
    seen[pi] = 1;
  }
  if (partial)
    return 0;
  if (!seen_weight) {
    snprintf(errstr, errstr_size, "%s.weight: is required", where);
    return -1;
  }
  for (int i = 0; i < MAX_PARAMS && defs[id].params[i].name; i++)
    if (!seen[i]) {
      snprintf(errstr, errstr_size, "%s.%s: is required", where, defs[id].params[i].name);
      return -1;
    }
  return 0;
}

static int parse_set(json_t *obj, ruleset_t *set, int partial, const char *where, char *errstr,
                     size_t errstr_size) {
  json_t *thr = json_object_get(obj, "threshold");
  if (thr) {
    if (!json_is_integer(thr) || json_integer_value(thr) < 0 || json_integer_value(thr) > 100) {
      snprintf(errstr, errstr_size, "%s%sthreshold: must be an integer 0..100", where,
               *where ? "." : "");
      return -1;
    }
    set->threshold = (int)json_integer_value(thr);
  } else if (!partial) {
    snprintf(errstr, errstr_size, "threshold: is required");
    return -1;
  }
  json_t *rules = json_object_get(obj, "rules");
  if (!rules && !partial) {
    snprintf(errstr, errstr_size, "rules: is required");
    return -1;
  }
  if (rules && !json_is_object(rules)) {
    snprintf(errstr, errstr_size, "%s%srules: must be a mapping of rule codes", where,
             *where ? "." : "");
    return -1;
  }
  const char *code;
  json_t *v;
  json_object_foreach(rules, code, v) {
    char path[320];
    snprintf(path, sizeof(path), "%s%srules.%s", where, *where ? "." : "", code);
    int id = rule_id(code);
    if (id < 0) {
      snprintf(errstr, errstr_size, "%s: unknown rule code", path);
      return -1;
    }
    if (parse_rule(v, id, &set->rule[id], partial, path, errstr, errstr_size) != 0)
      return -1;
  }
  return 0;
}

static int merchant_cmp(const void *a, const void *b) {
  return strcmp(((const merchant_t *)a)->id, ((const merchant_t *)b)->id);
}

/* The canonical form hashed into rules_version: every value, fixed order. */
static int compute_version(risk_rules_t *r) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(c);
    return -1;
  }
  char line[256];
  for (size_t m = 0; m <= r->nmerchants; m++) {
    const ruleset_t *s = m == 0 ? &r->base : &r->merchants[m - 1].set;
    if (m) {
      int n = snprintf(line, sizeof(line), "merchant %zu:", strlen(r->merchants[m - 1].id));
      EVP_DigestUpdate(c, line, (size_t)n);
      EVP_DigestUpdate(c, r->merchants[m - 1].id, strlen(r->merchants[m - 1].id));
    }
    int n = snprintf(line, sizeof(line), "\nthreshold %d\n", s->threshold);
    EVP_DigestUpdate(c, line, (size_t)n);
    for (int i = 0; i < RISK_RULE_COUNT; i++) {
      const rule_t *ru = &s->rule[i];
      n = snprintf(line, sizeof(line), "%s %d %d %.17g %.17g\n", defs[i].code, ru->enabled,
                   ru->weight, ru->p[0], ru->p[1]);
      EVP_DigestUpdate(c, line, (size_t)n);
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  int ok = EVP_DigestFinal_ex(c, md, &mdlen);
  EVP_MD_CTX_free(c);
  if (!ok || mdlen < 6)
    return -1;
  static const char hex[] = "0123456789abcdef";
  r->version[0] = 'r';
  for (int i = 0; i < 6; i++) {
    r->version[1 + 2 * i] = hex[md[i] >> 4];
    r->version[2 + 2 * i] = hex[md[i] & 15];
  }
  r->version[13] = '\0';
  return 0;
}

/* Builds a rule set from the parsed document (borrowed). */
static risk_rules_t *rules_from_json(json_t *root, const char *origin, char *errstr,
                                     size_t errstr_size) {
  char inner[400];
  risk_rules_t *r = calloc(1, sizeof(*r));
  if (!r) {
    snprintf(errstr, errstr_size, "%s: out of memory", origin);
    return NULL;
  }
  const char *k;
  json_t *v;
  if (!json_is_object(root)) {
    snprintf(inner, sizeof(inner), "must be a mapping with threshold and rules");
    goto fail;
  }
  json_object_foreach(root, k, v) {
    if (strcmp(k, "threshold") && strcmp(k, "rules") && strcmp(k, "merchants") &&
        strcmp(k, "description")) {
      snprintf(inner, sizeof(inner), "%s: unknown key", k);
      goto fail;
    }
  }
  if (parse_set(root, &r->base, 0, "", inner, sizeof(inner)) != 0)
    goto fail;
  json_t *ms = json_object_get(root, "merchants");
  if (ms && !json_is_object(ms)) {
    snprintf(inner, sizeof(inner), "merchants: must be a mapping of merchant ids");
    goto fail;
  }
  size_t nm = json_object_size(ms);
  if (nm > MAX_MERCHANTS) {
    snprintf(inner, sizeof(inner), "merchants: more than %d", MAX_MERCHANTS);
    goto fail;
  }
  if (nm && !(r->merchants = calloc(nm, sizeof(*r->merchants)))) {
    snprintf(inner, sizeof(inner), "out of memory");
    goto fail;
  }
  json_object_foreach(ms, k, v) {
    merchant_t *m = &r->merchants[r->nmerchants];
    char where[200];
    snprintf(where, sizeof(where), "merchants.%s", k);
    if (!*k || strlen(k) > 128) {
      snprintf(inner, sizeof(inner), "merchants: a merchant id must be 1..128 characters");
      goto fail;
    }
    if (!json_is_object(v)) {
      snprintf(inner, sizeof(inner), "%s: must be a mapping", where);
      goto fail;
    }
    const char *mk;
    json_t *mv;
    json_object_foreach(v, mk, mv) {
      if (strcmp(mk, "threshold") && strcmp(mk, "rules")) {
        snprintf(inner, sizeof(inner), "%s.%s: unknown key", where, mk);
        goto fail;
      }
    }
    m->set = r->base;
    if (!(m->id = strdup(k))) {
      snprintf(inner, sizeof(inner), "out of memory");
      goto fail;
    }
    r->nmerchants++;
    if (parse_set(v, &m->set, 1, where, inner, sizeof(inner)) != 0)
      goto fail;
  }
  if (r->nmerchants)
    qsort(r->merchants, r->nmerchants, sizeof(*r->merchants), merchant_cmp);
  if (compute_version(r) != 0) {
    snprintf(inner, sizeof(inner), "out of memory");
    goto fail;
  }
  return r;
fail:
  snprintf(errstr, errstr_size, "%s: %s", origin, inner);
  risk_rules_destroy(r);
  return NULL;
}

risk_rules_t *risk_rules_parse(const char *yaml, size_t len, const char *origin, char *errstr,
                               size_t errstr_size) {
  char inner[400];
  json_t *root = yaml_parse_json(yaml, len, inner, sizeof(inner));
  if (!root) {
    snprintf(errstr, errstr_size, "%s: %s", origin, inner);
    return NULL;
  }
  risk_rules_t *r = rules_from_json(root, origin, errstr, errstr_size);
  json_decref(root);
  return r;
}

risk_rules_t *risk_rules_load(const char *path, char *errstr, size_t errstr_size) {
  if (!path || !*path)
    return risk_rules_parse(default_yaml, strlen(default_yaml), "built-in rules", errstr,
                            errstr_size);
  json_t *root = yaml_load_json_file(path, errstr, errstr_size);
  if (!root)
    return NULL;
  risk_rules_t *r = rules_from_json(root, path, errstr, errstr_size);
  json_decref(root);
  return r;
}

void risk_rules_destroy(risk_rules_t *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nmerchants; i++)
    free(r->merchants[i].id);
  free(r->merchants);
  free(r);
}

const char *risk_rules_version(const risk_rules_t *r) {
  return r->version;
}

size_t risk_rules_merchant_count(const risk_rules_t *r) {
  return r->nmerchants;
}

static const ruleset_t *set_for(const risk_rules_t *r, const char *merchant_id) {
  if (merchant_id && r->nmerchants) {
    merchant_t key = {.id = (char *)merchant_id};
    const merchant_t *m =
        bsearch(&key, r->merchants, r->nmerchants, sizeof(*r->merchants), merchant_cmp);
    if (m)
      return &m->set;
  }
  return &r->base;
}

static void add_reason(risk_result_t *out, int id, int weight, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_reason(risk_result_t *out, int id, int weight, const char *fmt, ...) {
  risk_reason_t *re = &out->reasons[out->nreasons++];
  re->code = id >= 0 ? defs[id].code : "degraded";
  re->weight = weight;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(re->detail, sizeof(re->detail), fmt, ap);
  va_end(ap);
  if (id >= 0)
    out->fired |= 1u << id;
}

void risk_rules_evaluate(const risk_rules_t *r, const char *merchant_id, const risk_features_t *f,
                         risk_fail_mode_t fail_mode, risk_result_t *out) {
  const ruleset_t *s = set_for(r, merchant_id);
  memset(out, 0, sizeof(*out));
  out->threshold = s->threshold;
  const int known = f->history_known;
  out->cold_start = known && f->orders == 0;
  int sum = 0;
  for (int id = 0; id < RISK_RULE_COUNT; id++) {
    const rule_t *ru = &s->rule[id];
    if (!ru->enabled)
      continue;
    const long long p0 = (long long)ru->p[0];
    const int w = ru->weight;
    size_t before = out->nreasons;
    switch ((risk_rule_id_t)id) {
    case RISK_RULE_BLACKLIST:
      if (known && f->blacklisted)
        add_reason(out, id, w, "customer is on the blacklist");
      break;
    case RISK_RULE_RETURN_RATE:
      if (known && f->cod_orders > 0 && f->cod_orders >= p0 &&
          (double)f->cod_bad / (double)f->cod_orders >= ru->p[1])
        add_reason(out, id, w, "%lld of %lld past COD orders returned or failed delivery",
                   (long long)f->cod_bad, (long long)f->cod_orders);
      break;
    case RISK_RULE_CANCEL_RATE:
      if (known && f->orders > 0 && f->orders >= p0 &&
          (double)f->cancelled / (double)f->orders >= ru->p[1])
        add_reason(out, id, w, "%lld of %lld past orders cancelled", (long long)f->cancelled,
                   (long long)f->orders);
      break;
    case RISK_RULE_COD_OUTSTANDING:
      if (known && f->cod_outstanding >= p0)
        add_reason(out, id, w, "%lld COD orders not yet delivered (threshold %lld)",
                   (long long)f->cod_outstanding, p0);
      break;
    case RISK_RULE_VELOCITY_1H:
      if (known && f->velocity_1h >= p0)
        add_reason(out, id, w, "%lld orders in the last hour (threshold %lld)",
                   (long long)f->velocity_1h, p0);
      break;
    case RISK_RULE_VELOCITY_24H:
      if (known && f->velocity_24h >= p0)
        add_reason(out, id, w, "%lld orders in the last 24 hours (threshold %lld)",
                   (long long)f->velocity_24h, p0);
      break;
    case RISK_RULE_VELOCITY_7D:
      if (known && f->velocity_7d >= p0)
        add_reason(out, id, w, "%lld orders in the last 7 days (threshold %lld)",
                   (long long)f->velocity_7d, p0);
      break;
    case RISK_RULE_NEW_CUSTOMER_AMOUNT:
      if (out->cold_start && f->amount >= ru->p[0])
        add_reason(out, id, w, "first order with amount %.2f (threshold %.2f)", f->amount,
                   ru->p[0]);
      break;
    case RISK_RULE_HIGH_AMOUNT:
      if (f->amount >= ru->p[0])
        add_reason(out, id, w, "amount %.2f (threshold %.2f)", f->amount, ru->p[0]);
      break;
    case RISK_RULE_LOYAL_CUSTOMER: {
      int64_t bad = f->returned + f->failed_delivery;
      if (known && f->delivered >= p0 && f->orders > 0 &&
          (double)bad / (double)f->orders <= ru->p[1])
        add_reason(out, id, w, "%lld past orders delivered, %lld returned or failed",
                   (long long)f->delivered, (long long)bad);
      break;
    }
    case RISK_RULE_COUNT:
      break;
    }
    if (out->nreasons != before)
      sum += w;
  }
  out->score = sum < 0 ? 0 : sum > 100 ? 100 : sum;
  if (out->fired & (1u << RISK_RULE_BLACKLIST))
    out->score = 100;
  out->advance_payment = f->cod && out->score > s->threshold;
  if (!known) {
    if (fail_mode == RISK_FAIL_CLOSED && f->cod)
      out->advance_payment = 1;
    add_reason(out, -1, 0, "customer history unavailable; %s",
               fail_mode == RISK_FAIL_CLOSED ? "fail-closed" : "fail-open");
  }
  /* Largest effect first, so reasons[0] is the main why (stable). */
  for (size_t i = 1; i < out->nreasons; i++) {
    risk_reason_t tmp = out->reasons[i];
    size_t j = i;
    while (j > 0 && abs(out->reasons[j - 1].weight) < abs(tmp.weight)) {
      out->reasons[j] = out->reasons[j - 1];
      j--;
    }
    out->reasons[j] = tmp;
  }
}
