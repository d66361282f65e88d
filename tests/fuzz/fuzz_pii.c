/* fuzz_pii — phone and email recognition (privacy/pii.h) on outside text:
 * the field normalisers privacy-shield and risk-svc hash identifiers with,
 * and the free-text scrubber that replaces phones and emails in posts.
 *
 * Invariants, beyond not crashing:
 *  - a normalised phone is E.164 ("+" and 8-15 digits, no leading 0) and
 *    normalises to itself; a normalised email is trimmed, lower-case, one
 *    '@', and normalises to itself;
 *  - a pseudonym is "<key_id>:<64 hex>", the same for a value and for its
 *    normalised form; a refusal is a fixed message, never the value;
 *  - what the text scanner takes as a phone or an email alone in a text,
 *    the field normaliser accepts too, and the token is the first 16 hex
 *    of the same pseudonym (posts join orders by it);
 *  - pii_scrub_into gives pii_scrub_text's bytes and counts, and with too
 *    little room the same length and no count;
 *  - a scrubbed text holds no phone the scanner would take: running it
 *    again takes none (each token ending in a digit, see check_scrub).
 */
#include <ctype.h>

#include "fuzz.h"
#include "privacy/pii.h"

static pii_hasher_t *hasher;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *key = "fuzz-hmac-key-0123456789abcdef";
  char err[256];
  hasher = pii_hasher_new((const unsigned char *)key, strlen(key), NULL, err, sizeof(err));
  FUZZ_CHECK(hasher != NULL, "pii_hasher_new");
  return 0;
}

static const char *const refusals[] = {"not a phone number", "not an email address", "empty value",
                                       "unknown identifier kind"};

static void check_hash(const char *kind, const char *v, size_t n, char *out, int *ok) {
  char err[128] = "";
  *ok = pii_hash_identifier(hasher, kind, v, n, out, PII_HASH_MAX, err, sizeof(err)) == 0;
  if (*ok) {
    size_t kl = strlen(pii_hasher_key_id(hasher));
    FUZZ_CHECK(strlen(out) == kl + 65 && out[kl] == ':', "a pseudonym is <key_id>:<64 hex>");
    for (size_t i = kl + 1; i < kl + 65; i++)
      FUZZ_CHECK(isxdigit((unsigned char)out[i]) && !isupper((unsigned char)out[i]),
                 "a pseudonym is lower-case hex");
    return;
  }
  int known = 0;
  for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
    known |= strcmp(err, refusals[i]) == 0;
  FUZZ_CHECK(known, "a refusal is a fixed message, never the value");
}

/* pii_hash_identifier trims this white space before normalising. */
static void trim(const char **s, size_t *n) {
  static const char ws[] = " \t\r\n\f\v";
  while (*n > 0 && memchr(ws, (*s)[0], sizeof(ws) - 1)) {
    (*s)++;
    (*n)--;
  }
  while (*n > 0 && memchr(ws, (*s)[*n - 1], sizeof(ws) - 1))
    (*n)--;
}

static void check_phone(const char *in, size_t n) {
  char out[PII_E164_MAX], again[PII_E164_MAX], h1[PII_HASH_MAX], h2[PII_HASH_MAX];
  int ok1, ok2;
  check_hash("phone", in, n, h1, &ok1);
  trim(&in, &n);
  if (pii_phone_normalize(in, n, out, sizeof(out)) != 0) {
    FUZZ_CHECK(!ok1, "a phone that does not normalise is not hashed");
    return;
  }
  size_t len = strlen(out);
  FUZZ_CHECK(len >= 9 && len <= 16 && out[0] == '+' && out[1] != '0', "E.164: + and 8-15 digits");
  for (size_t i = 1; i < len; i++)
    FUZZ_CHECK(out[i] >= '0' && out[i] <= '9', "E.164 is digits");
  FUZZ_CHECK(pii_phone_normalize(out, len, again, sizeof(again)) == 0 && strcmp(out, again) == 0,
             "a normalised phone normalises to itself");
  check_hash("phone", out, len, h2, &ok2);
  FUZZ_CHECK(ok1 && ok2 && strcmp(h1, h2) == 0, "a phone and its E.164 share a pseudonym");
}

static void check_email(const char *in, size_t n) {
  char out[400], again[400], h1[PII_HASH_MAX], h2[PII_HASH_MAX];
  int ok1, ok2;
  check_hash("email", in, n, h1, &ok1);
  trim(&in, &n);
  if (pii_email_normalize(in, n, out, sizeof(out)) != 0) {
    FUZZ_CHECK(!ok1, "an email that does not normalise is not hashed");
    return;
  }
  size_t len = strlen(out);
  FUZZ_CHECK(len > 0 && !isspace((unsigned char)out[0]) && !isspace((unsigned char)out[len - 1]),
             "a normalised email is trimmed");
  const char *at = strchr(out, '@');
  FUZZ_CHECK(at && !strchr(at + 1, '@'), "a normalised email has one '@'");
  for (size_t i = 0; i < len; i++)
    FUZZ_CHECK(!isupper((unsigned char)out[i]), "a normalised email is lower-case");
  FUZZ_CHECK(pii_email_normalize(out, len, again, sizeof(again)) == 0 && strcmp(out, again) == 0,
             "a normalised email normalises to itself");
  check_hash("email", out, len, h2, &ok2);
  FUZZ_CHECK(ok1 && ok2 && strcmp(h1, h2) == 0, "an email and its normal form share a pseudonym");
}

/* 1 when s starts with PHONE_ or EMAIL_ and 16 lower-case hex digits. */
static int is_token(const char *s) {
  if (memcmp(s, "PHONE_", 6) != 0 && memcmp(s, "EMAIL_", 6) != 0)
    return 0;
  for (int i = 6; i < 22; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

static void check_scrub(const char *text, size_t n) {
  pii_counts_t c = {0, 0}, c2 = {0, 0}, c3 = {0, 0};
  size_t len = 0;
  char *out = pii_scrub_text(hasher, text, n, &len, &c);
  FUZZ_CHECK(out != NULL && out[len] == '\0', "pii_scrub_text");

  /* Into the caller's buffer: the same bytes; too small: the length only. */
  char *buf = malloc(len + 1);
  FUZZ_CHECK(buf != NULL, "malloc");
  size_t got = pii_scrub_into(hasher, text, n, buf, len, &c2);
  FUZZ_CHECK(got == len && memcmp(buf, out, len) == 0,
             "pii_scrub_into writes pii_scrub_text's bytes");
  FUZZ_CHECK(c2.phones == c.phones && c2.emails == c.emails, "both count the same");
  if (len > 0) {
    pii_counts_t c4 = {0, 0};
    FUZZ_CHECK(pii_scrub_into(hasher, text, n, buf, len - 1, &c4) == len,
               "too little room: the needed length");
    FUZZ_CHECK(c4.phones == 0 && c4.emails == 0, "too little room: nothing counted");
  }
  free(buf);

  /* One token for the whole text: the field normaliser agrees with the scanner. */
  if (c.phones + c.emails == 1 && len == 22) {
    char h[PII_HASH_MAX];
    int ok;
    const char *kind = c.phones ? "phone" : "email";
    check_hash(kind, text, n, h, &ok);
    FUZZ_CHECK(ok, "what the scanner takes as a whole text, the field normaliser accepts");
    const char *tok = strchr(h, ':') + 1;
    FUZZ_CHECK(memcmp(out + 6, tok, 16) == 0, "a token is the prefix of the field's pseudonym");
  }

  /* Nothing left to take: a second pass finds no phone. A token ends in a
   * hex digit or letter at random, and a number after "<digit>." or
   * "<digit>-" is not taken (versions, order ids) while one after "<letter>."
   * is: the second pass would judge the text after a token by a coin toss.
   * So each token ends in '0' for it, as a phone it replaced did. */
  for (size_t i = 0; i + 22 <= len; i++)
    if (is_token(out + i)) {
      out[i + 21] = '0';
      i += 21;
    }
  char *twice = pii_scrub_text(hasher, out, len, NULL, &c3);
  FUZZ_CHECK(twice != NULL, "pii_scrub_text on scrubbed text");
  /* A token followed by atext and "@x.com" reads as an address on the second
   * pass, which changes the runs around it: only passes without one count. */
  FUZZ_CHECK(c3.phones == 0 || c3.emails > 0 || fuzz_longest_run(out, len) > 28,
             "a scrubbed text holds no phone");
  free(twice);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  check_phone(s, size);
  check_email(s, size);
  char h[PII_HASH_MAX];
  int ok;
  check_hash("username", s, size, h, &ok);
  check_hash("name", s, size, h, &ok);
  check_scrub(s, size);
  return 0;
}
