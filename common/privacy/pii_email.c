/* pii_email — practical email addresses: local@domain.tld.
 *
 * Not full RFC 5322: no quoted local parts, comments or IP-literal domains,
 * which do not occur in social posts or order forms. The local part is ASCII
 * atext without '/' (so a URL path does not swallow it); the domain is
 * dot-separated LDH labels with at least one dot and an alphabetic TLD of two
 * or more letters. Internationalised addresses (non-ASCII local part or a
 * U-label domain such as "উদাহরণ.বাংলা") are not detected in text and are
 * refused by pii_email_normalize: a documented gap, since they are very rare
 * in the data; a punycode ("xn--") domain is accepted as ASCII.
 *
 * Field normalisation and text detection share the same grammar, so an email
 * hashed as an identifier and the same email found in a post give pseudonyms
 * from the same normalised string.
 */
#include <string.h>

#include "privacy/pii_internal.h"

#define LOCAL_MAX 64
#define DOMAIN_MAX 253
#define LABEL_MAX 63

/* Character classes, one table lookup each (strchr per character was most
 * of the cost of normalising an address). */
enum { C_ALPHA = 1, C_DIGIT = 2, C_LOCAL = 4, C_DOMAIN = 8 };
#define LETTER (C_ALPHA | C_LOCAL | C_DOMAIN)
#define DIGIT (C_DIGIT | C_LOCAL | C_DOMAIN)
// clang-format off
static const unsigned char cclass[256] = {
    ['a' ... 'z'] = LETTER, ['A' ... 'Z'] = LETTER, ['0' ... '9'] = DIGIT,
    ['.'] = C_LOCAL | C_DOMAIN, ['-'] = C_LOCAL | C_DOMAIN,
    ['!'] = C_LOCAL, ['#'] = C_LOCAL, ['$'] = C_LOCAL, ['%'] = C_LOCAL, ['&'] = C_LOCAL,
    ['\''] = C_LOCAL, ['*'] = C_LOCAL, ['+'] = C_LOCAL, ['='] = C_LOCAL, ['?'] = C_LOCAL,
    ['^'] = C_LOCAL, ['_'] = C_LOCAL, ['`'] = C_LOCAL, ['{'] = C_LOCAL, ['|'] = C_LOCAL,
    ['}'] = C_LOCAL, ['~'] = C_LOCAL,
};
// clang-format on

static int is_alnum(unsigned char c) {
  return cclass[c] & (C_ALPHA | C_DIGIT);
}

static int is_local(unsigned char c) {
  return cclass[c] & C_LOCAL;
}

static int is_domain(unsigned char c) {
  return cclass[c] & C_DOMAIN;
}

static int is_alpha(unsigned char c) {
  return cclass[c] & C_ALPHA;
}

static int local_ok(const char *s, size_t n) {
  if (n == 0 || n > LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_local((unsigned char)s[i]))
      return 0;
    if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
      return 0;
  }
  return 1;
}

static int tld_ok(const char *s, size_t l) {
  if (l < 2)
    return 0;
  /* Punycode TLD ("xn--54b7fta0cc") is ASCII and allowed. */
  if (l > 4 && (s[0] == 'x' || s[0] == 'X') && (s[1] == 'n' || s[1] == 'N') && s[2] == '-' &&
      s[3] == '-')
    return 1;
  for (size_t k = 0; k < l; k++)
    if (!is_alpha((unsigned char)s[k]))
      return 0;
  return 1;
}

/* Length of the longest prefix of s[0..n) that is a domain: LDH labels of
 * 1..63 characters not starting or ending with '-', at least two labels, the
 * last one a TLD. 0 if none. One left-to-right pass, so that a long run of
 * junk after '@' ("a@1.1.1.1...") costs linear time. */
static size_t domain_prefix(const char *s, size_t n) {
  size_t labels = 0, start = 0, best = 0;
  if (n > DOMAIN_MAX)
    n = DOMAIN_MAX;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && s[i] != '.') {
      if (!is_domain((unsigned char)s[i]))
        break;
      continue;
    }
    size_t l = i - start;
    if (l == 0 || l > LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
      break;
    labels++;
    if (labels >= 2 && tld_ok(s + start, l))
      best = i;
    start = i + 1;
  }
  return best;
}

static int domain_ok(const char *s, size_t n) {
  return n > 0 && n <= DOMAIN_MAX && domain_prefix(s, n) == n;
}

int pii_email_at(const char *s, size_t len, size_t at, size_t floor, size_t *start, size_t *end) {
  /* Local part: back from '@', at most LOCAL_MAX characters, never into text
   * that was already replaced. A longer run of local characters is not an
   * address we recognise. */
  size_t ls = at;
  while (ls > floor && at - ls < LOCAL_MAX && is_local((unsigned char)s[ls - 1]))
    ls--;
  if (ls > floor && is_local((unsigned char)s[ls - 1]))
    return -1;
  /* Leading punctuation is the sentence's, not the address's: "'foo@x.com'",
   * "=foo@x.com", "...foo@x.com". */
  while (ls < at && !is_alnum((unsigned char)s[ls]) && s[ls] != '_' && s[ls] != '+' &&
         s[ls] != '-' && s[ls] != '%')
    ls++;
  if (!local_ok(s + ls, at - ls))
    return -1;

  size_t de = at + 1;
  while (de < len && de - at - 1 <= DOMAIN_MAX && is_domain((unsigned char)s[de]))
    de++;
  if (de - at - 1 > DOMAIN_MAX)
    return -1;
  /* Trailing punctuation ("mail foo@x.com." / "foo@x.com-") is not part of
   * the domain; then take the longest prefix that is a domain
   * ("foo@example.com.123" -> example.com). */
  while (de > at + 1 && (s[de - 1] == '.' || s[de - 1] == '-'))
    de--;
  size_t dl = domain_prefix(s + at + 1, de - at - 1);
  if (dl == 0)
    return -1;
  de = at + 1 + dl;
  /* Glued on the right: "foo@x.com_bar", "a@b.co@c.d", or a letter of another
   * script directly after the TLD. */
  if (de < len) {
    unsigned char c = (unsigned char)s[de];
    if (c == '_' || c == '@')
      return -1;
    if (c >= 0x80) {
      size_t n;
      if (pii_class_at(s, len, de, &n) == PII_CC_LETTER)
        return -1;
    }
  }
  *start = ls;
  *end = de;
  return 0;
}

/* The address the scrubber takes whose local part holds s[pos], found from
 * the '@' after pos with its local part reaching back no further than floor:
 * 0 and [*start, *end), or -1. */
static int email_around(const char *s, size_t len, size_t pos, size_t floor, size_t *start,
                        size_t *end) {
  size_t at = pos;
  char norm[LOCAL_MAX + 1 + DOMAIN_MAX + 1];
  while (at < len && at - pos <= LOCAL_MAX && is_local((unsigned char)s[at]))
    at++;
  if (at >= len || s[at] != '@' || pii_email_at(s, len, at, floor, start, end) != 0 || *start > pos)
    return -1;
  return pii_email_normalize(s + *start, *end - *start, norm, sizeof(norm));
}

int pii_email_starts_at(const char *s, size_t len, size_t pos) {
  size_t st, en;
  return email_around(s, len, pos, 0, &st, &en) == 0 && st == pos;
}

int pii_email_covers(const char *s, size_t len, size_t pos) {
  size_t st, en;
  return is_local((unsigned char)s[pos]) && email_around(s, len, pos, 0, &st, &en) == 0;
}

int pii_email_normalize(const char *in, size_t len, char *out, size_t out_size) {
  if (!in || !out || out_size == 0)
    return -1;
  out[0] = '\0';
  /* Trim ASCII white space. */
  while (len > 0 && (in[0] == ' ' || in[0] == '\t' || in[0] == '\r' || in[0] == '\n')) {
    in++;
    len--;
  }
  while (len > 0 &&
         (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '\r' || in[len - 1] == '\n'))
    len--;
  const char *at = memchr(in, '@', len);
  if (!at)
    return -1;
  size_t ll = (size_t)(at - in), dl = len - ll - 1;
  if (!local_ok(in, ll) || memchr(at + 1, '@', dl) || !domain_ok(at + 1, dl))
    return -1;
  if (len + 1 > out_size)
    return -1;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  out[len] = '\0';
  return 0;
}
