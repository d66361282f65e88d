/* risk_rules — the COD risk rules as data: a YAML file of weights and
 * thresholds, per-merchant overrides, and the evaluation of one order's
 * features against the rules in force.
 *
 * File format (services/risk-svc/README.md has the full description):
 *
 *   threshold: 80                  # score > threshold → advance_payment_required (COD only)
 *   rules:                         # the complete rule set; a code not listed is off
 *     blacklist:   {weight: 100}
 *     return_rate: {weight: 85, min_cod_orders: 4, min_rate: 0.75}
 *     ...
 *   merchants:                     # optional overrides, merged onto the rules above
 *     shop-42: {threshold: 70, rules: {velocity_1h: {weight: 50}, high_amount: {enabled: false}}}
 *
 * Rule codes are a contract (they appear in API reasons, metrics and the
 * warehouse): blacklist, return_rate, cancel_rate, cod_outstanding,
 * velocity_1h, velocity_24h, velocity_7d, new_customer_amount, high_amount,
 * loyal_customer. Unknown codes, unknown parameters and out-of-range values
 * are load errors, so a typo never switches a rule off silently.
 *
 * The score is the sum of the weights of the rules that fire, clamped to
 * 0..100; a blacklisted customer scores 100. The rules_version is "r" + 12 hex
 * of SHA-256 over a canonical form of the whole rule set (base and every
 * merchant), so comments and formatting do not change it and any value does.
 *
 * Threads: a loaded rule set is read-only; evaluate concurrently. Nothing
 * here logs.
 */
#ifndef RISK_RULES_H
#define RISK_RULES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  RISK_RULE_BLACKLIST,
  RISK_RULE_RETURN_RATE,
  RISK_RULE_CANCEL_RATE,
  RISK_RULE_COD_OUTSTANDING,
  RISK_RULE_VELOCITY_1H,
  RISK_RULE_VELOCITY_24H,
  RISK_RULE_VELOCITY_7D,
  RISK_RULE_NEW_CUSTOMER_AMOUNT,
  RISK_RULE_HIGH_AMOUNT,
  RISK_RULE_LOYAL_CUSTOMER,
  RISK_RULE_COUNT
} risk_rule_id_t;

/* What a decision is computed from: the customer's history (when it could be
 * read) and the request. */
typedef struct risk_features {
  int history_known; /* 0: Redis was unavailable (degraded); counters are 0 */
  int blacklisted;
  int64_t orders, cod_orders, delivered, returned, failed_delivery, cancelled;
  int64_t cod_bad;         /* past COD orders that were returned or failed delivery */
  int64_t cod_outstanding; /* COD orders not yet delivered, returned, failed or cancelled */
  int64_t velocity_1h, velocity_24h, velocity_7d; /* orders in the window before now */
  double amount;
  int cod; /* payment_method cod (else prepaid) */
} risk_features_t;

typedef struct risk_reason {
  const char *code; /* static: a rule code, or "degraded" */
  int weight;
  char detail[160]; /* counts and thresholds only, never an identifier */
} risk_reason_t;

typedef struct risk_result {
  int score;           /* 0..100 */
  int advance_payment; /* decision advance_payment_required */
  int cold_start;      /* history known and empty */
  int threshold;       /* of the rule set used */
  size_t nreasons;
  risk_reason_t reasons[RISK_RULE_COUNT + 1];
  unsigned fired; /* bit per risk_rule_id_t */
} risk_result_t;

typedef enum { RISK_FAIL_OPEN = 0, RISK_FAIL_CLOSED = 1 } risk_fail_mode_t;

typedef struct risk_rules risk_rules_t;

/* The rule code of id (static string), NULL when out of range. */
const char *risk_rule_code(risk_rule_id_t id);

/* The built-in default rules as YAML text (static), identical in meaning to
 * services/risk-svc/rules.yaml (a unit test holds them together). */
const char *risk_rules_default_yaml(void);

/* Loads rules from YAML text (len bytes). origin names the source in errors.
 * Returns a new rule set (caller frees with risk_rules_destroy), or NULL with
 * errstr ("<origin>: rules.velocity_1h.weight: must be an integer -100..100"). */
risk_rules_t *risk_rules_parse(const char *yaml, size_t len, const char *origin, char *errstr,
                               size_t errstr_size);

/* Loads the file at path, or the built-in defaults when path is NULL or "". */
risk_rules_t *risk_rules_load(const char *path, char *errstr, size_t errstr_size);

/* Frees; NULL is accepted. */
void risk_rules_destroy(risk_rules_t *r);

/* "r" + 12 hex digits; owned by r. */
const char *risk_rules_version(const risk_rules_t *r);

/* Number of merchants with overrides. */
size_t risk_rules_merchant_count(const risk_rules_t *r);

/* Scores f with the rules of merchant_id (its overrides when it has some;
 * merchant_id may be NULL). When !f->history_known only rules that need no
 * history fire (high_amount); the decision is then advance payment for a COD
 * order when fail_mode is RISK_FAIL_CLOSED or the request alone scores above
 * the threshold, and a reason "degraded" is added. Prepaid orders are never
 * asked for advance payment. */
void risk_rules_evaluate(const risk_rules_t *r, const char *merchant_id, const risk_features_t *f,
                         risk_fail_mode_t fail_mode, risk_result_t *out);

#endif
