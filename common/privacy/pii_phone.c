/* pii_phone — phone number normalisation (identifier fields) and detection in
 * free text, for the Bangladeshi numbering plan first.
 *
 * The BD rules come from libphonenumber's metadata for BD (copied to
 * tests/fixtures/pii/bd_libphonenumber_metadata.json):
 *   mobile NSN  (?:1[13-9]|64)\d{8}|(?:3[78]|44|66)[02-9]\d{7}   (10 digits)
 *   any NSN     [1-469]\d{9}|8[0-79]\d{7,8}|[2-79]\d{8}|[2-9]\d{7}|[3-9]\d{6}|[57-9]\d{5}
 * They are hand-coded below rather than run through a regex engine because the
 * scrubber is on the hot path; test_pii cross-checks them against the metadata
 * patterns with PCRE2.
 *
 * Two modes, because the evidence differs:
 *  - a field (customer_phone) is known to hold a phone, so national fixed-line
 *    numbers, a bare 10-digit mobile NSN and "00"-prefixed international
 *    numbers are accepted;
 *  - free text is full of order ids, prices, dates and timestamps, so only
 *    shapes that are unmistakably phones are taken: a national BD mobile
 *    (exactly 11 digits, 01[13-9]...), a BD number after 880 / +880 / 00880,
 *    or an international number written with a leading '+'.
 */
#include <string.h>

#include "core/utf8.h"
#include "privacy/pii_internal.h"

#define GROUP_MAX_DIGITS 18 /* a longer group is a long digit string, never a phone */
#define RUN_MAX_GROUPS 32   /* beyond this a run is a table of numbers: no matches */
#define MATCH_MAX_DIGITS 18 /* "00880" + 0 + 10-digit NSN + slack */

/* ---- character classes ------------------------------------------------ */

size_t pii_digit_at(const char *s, size_t len, size_t i, char *d) {
  unsigned char c = (unsigned char)s[i];
  if (c >= '0' && c <= '9') {
    *d = (char)c;
    return 1;
  }
  /* U+09E6..U+09EF is E0 A7 A6..AF: checked on bytes, no decoding needed. */
  if (c == 0xE0 && i + 2 < len && (unsigned char)s[i + 1] == 0xA7 &&
      (unsigned char)s[i + 2] >= 0xA6 && (unsigned char)s[i + 2] <= 0xAF) {
    *d = (char)('0' + ((unsigned char)s[i + 2] - 0xA6));
    return 3;
  }
  return 0;
}

/* Non-ASCII code points that separate words rather than belong to them: the
 * Bengali danda, currency and fraction signs, general punctuation, symbols and
 * emoji. Everything else outside ASCII counts as a letter, which errs towards
 * "glued to a word" and so towards not matching. */
static int cp_is_letter(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
  if (cp < 0xC0)
    return 0; /* Latin-1 punctuation, NBSP */
  if (cp == 0xD7 || cp == 0xF7)
    return 0;
  if (cp == 0x0964 || cp == 0x0965 || (cp >= 0x09F2 && cp <= 0x09FB))
    return 0;
  if (cp >= 0x2000 && cp <= 0x2BFF)
    return 0; /* general punctuation, currency, arrows, math, box drawing */
  if (cp >= 0x3000 && cp <= 0x303F)
    return 0;
  if (cp >= 0xFE00 && cp <= 0xFE0F)
    return 0; /* variation selectors */
  if (cp >= 0xFF00 && cp <= 0xFF0F)
    return 0;
  if (cp >= 0x1F000)
    return 0; /* emoji and pictographs */
  return 1;
}

static int cp_class(uint32_t cp) {
  if ((cp >= '0' && cp <= '9') || (cp >= 0x09E6 && cp <= 0x09EF))
    return PII_CC_DIGIT;
  return cp_is_letter(cp) ? PII_CC_LETTER : PII_CC_OTHER;
}

int pii_class_at(const char *s, size_t len, size_t i, size_t *n) {
  uint32_t cp;
  size_t k = utf8_decode(s + i, len - i, &cp);
  if (k == 0) {
    *n = 1;
    return PII_CC_INVALID;
  }
  *n = k;
  return cp_class(cp);
}

int pii_class_before(const char *s, size_t i, size_t *n) {
  /* Step back over at most 3 continuation bytes to the lead byte, then check
   * that a forward decode from there ends exactly at i. */
  size_t j = i - 1, back = 0;
  while (j > 0 && back < 3 && ((unsigned char)s[j] & 0xC0) == 0x80) {
    j--;
    back++;
  }
  uint32_t cp;
  size_t k = utf8_decode(s + j, i - j, &cp);
  if (k == 0 || j + k != i) {
    *n = 1;
    return PII_CC_INVALID;
  }
  *n = k;
  return cp_class(cp);
}

/* ---- numbering plan ------------------------------------------------------ */

/* (?:1[13-9]|64)\d{8}|(?:3[78]|44|66)[02-9]\d{7} */
static int bd_mobile_nsn(const char *d, size_t n) {
  if (n != 10)
    return 0;
  if (d[0] == '1')
    return d[1] == '1' || (d[1] >= '3' && d[1] <= '9');
  if (d[0] == '6' && d[1] == '4')
    return 1;
  if ((d[0] == '3' && (d[1] == '7' || d[1] == '8')) || (d[0] == '4' && d[1] == '4') ||
      (d[0] == '6' && d[1] == '6'))
    return d[2] != '1';
  return 0;
}

/* [1-469]\d{9}|8[0-79]\d{7,8}|[2-79]\d{8}|[2-9]\d{7}|[3-9]\d{6}|[57-9]\d{5} */
static int bd_possible_nsn(const char *d, size_t n) {
  char c = d[0];
  switch (n) {
  case 10:
    if (c == '8')
      return d[1] != '8';
    return c == '1' || c == '2' || c == '3' || c == '4' || c == '6' || c == '9';
  case 9:
    if (c == '8')
      return d[1] != '8';
    return c >= '2' && c <= '9';
  case 8:
    return c >= '2' && c <= '9';
  case 7:
    return c >= '3' && c <= '9';
  case 6:
    return c == '5' || (c >= '7' && c <= '9');
  default:
    return 0;
  }
}

static int write_e164(const char *cc, const char *d, size_t n, char *out, size_t out_size) {
  size_t cl = strlen(cc);
  if (1 + cl + n + 1 > out_size || cl + n > 15)
    return -1;
  out[0] = '+';
  memcpy(out + 1, cc, cl);
  memcpy(out + 1 + cl, d, n);
  out[1 + cl + n] = '\0';
  return 0;
}

/* A BD national significant number (after 880). A trunk "0" written after the
 * country code ("+880 01711-234567", common in BD) is dropped. The 1xx range is
 * mobile-only in the plan, so 010/012 numbers are refused there even though
 * the generic pattern would allow them; fixed lines only when allow_fixed. */
static int bd_nsn(const char *d, size_t n, int allow_fixed, char *out, size_t out_size) {
  if (n >= 7 && d[0] == '0') {
    d++;
    n--;
  }
  if (n == 0)
    return -1;
  if (bd_mobile_nsn(d, n) || (allow_fixed && d[0] != '1' && bd_possible_nsn(d, n)))
    return write_e164("880", d, n, out, out_size);
  return -1;
}

static int intl(const char *d, size_t n, char *out, size_t out_size) {
  if (n < 8 || n > 15 || d[0] == '0')
    return -1;
  return write_e164("", d, n, out, out_size);
}

/* Turns the digits of a candidate into E.164. field: the value is known to be
 * a phone (identifier field) rather than found in free text. */
static int classify(const char *d, size_t n, int plus, int field, char *out, size_t out_size) {
  if (n == 0)
    return -1;
  if (plus) {
    if (n > 3 && memcmp(d, "880", 3) == 0)
      return bd_nsn(d + 3, n - 3, 1, out, out_size);
    return intl(d, n, out, out_size);
  }
  if (n > 5 && memcmp(d, "00880", 5) == 0)
    return bd_nsn(d + 5, n - 5, 1, out, out_size);
  if (n > 2 && d[0] == '0' && d[1] == '0')
    return field ? intl(d + 2, n - 2, out, out_size) : -1;
  if (n > 3 && memcmp(d, "880", 3) == 0)
    return bd_nsn(d + 3, n - 3, field, out, out_size);
  if (d[0] == '0') {
    if (field)
      return bd_nsn(d, n, 1, out, out_size); /* bd_nsn drops the trunk 0 */
    if (n == 11 && d[1] == '1' && (d[2] == '1' || (d[2] >= '3' && d[2] <= '9')))
      return write_e164("880", d + 1, 10, out, out_size);
    return -1;
  }
  /* A bare 10-digit mobile NSN: only in a field — in text it is as likely an
   * epoch timestamp (1705312800) or an order number. */
  if (field && bd_mobile_nsn(d, n))
    return write_e164("880", d, n, out, out_size);
  return -1;
}

int pii_phone_normalize(const char *in, size_t len, char *out, size_t out_size) {
  char d[24];
  size_t n = 0, i = 0;
  int plus = 0, seen = 0;
  if (!in || !out || out_size == 0)
    return -1;
  out[0] = '\0';
  /* A field is lenient about layout: any mix of spaces, tabs, dashes, dots
   * and parentheses between digits; '+' only before the first digit. Anything
   * else (letters, "ext.", '/') makes it not a phone. */
  while (i < len) {
    unsigned char c = (unsigned char)in[i];
    char dg;
    size_t k = pii_digit_at(in, len, i, &dg);
    if (k) {
      if (n >= sizeof(d))
        return -1;
      d[n++] = dg;
      seen = 1;
      i += k;
    } else if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\r' ||
               c == '\n') {
      i++;
    } else if (c == '+' && !seen && !plus) {
      plus = 1;
      i++;
    } else {
      return -1;
    }
  }
  return classify(d, n, plus, 1, out, out_size);
}

/* ---- detection in free text -------------------------------------------- */

typedef struct group {
  size_t start, end; /* byte span, including a wrapping "(...)" and a leading '+' */
  char dig[GROUP_MAX_DIGITS];
  unsigned ndig; /* may exceed GROUP_MAX_DIGITS (then only counted) */
  char gap;      /* separator before this group: ' ', '-', '.', or 0 */
  unsigned char plus, paren, bad;
} group_t;

/* Parses one group at s[pos]: ["("]["+"]digits[")"]. Returns the end or 0. */
static size_t parse_group(const char *s, size_t len, size_t pos, int allow_plus, group_t *g) {
  size_t i = pos;
  int paren = 0;
  memset(g, 0, sizeof(*g));
  g->start = pos;
  if (i < len && s[i] == '(') {
    paren = 1;
    i++;
  }
  if (allow_plus && i < len && s[i] == '+') {
    g->plus = 1;
    i++;
  }
  char dg;
  size_t k;
  while (i < len && (k = pii_digit_at(s, len, i, &dg)) != 0) {
    if (g->ndig < GROUP_MAX_DIGITS)
      g->dig[g->ndig] = dg;
    g->ndig++;
    i += k;
  }
  if (g->ndig == 0)
    return 0;
  if (paren) {
    if (i >= len || s[i] != ')')
      return 0;
    g->paren = 1;
    i++;
  }
  g->end = i;
  return i;
}

/* A single-digit group is noise ("1 2 3") except a country code after '+'
 * ("+1 555 ...") or the trunk "0" after a BD country code ("+88 0 1711...",
 * "0088 0 1711..."). */
static int single_digit_ok(const group_t *g, size_t k, size_t a, const char *sofar, size_t n) {
  if (k == a && g[k].plus)
    return 1;
  if (g[k].dig[0] != '0')
    return 0;
  return (n == 2 && memcmp(sofar, "88", 2) == 0) || (n == 3 && memcmp(sofar, "880", 3) == 0) ||
         (n == 4 && memcmp(sofar, "0088", 4) == 0) || (n == 5 && memcmp(sofar, "00880", 5) == 0);
}

static int groups_valid(const group_t *g, size_t a, size_t b, char *e164) {
  char d[MATCH_MAX_DIGITS];
  size_t n = 0;
  for (size_t k = a; k < b; k++) {
    if (g[k].bad || g[k].ndig > GROUP_MAX_DIGITS || n + g[k].ndig > sizeof(d))
      return 0;
    if (g[k].ndig == 1 && !single_digit_ok(g, k, a, d, n))
      return 0;
    memcpy(d + n, g[k].dig, g[k].ndig);
    n += g[k].ndig;
  }
  return classify(d, n, g[a].plus, 0, e164, PII_E164_MAX) == 0;
}

/* Left context of a run: taints the first group if the run is glued to a word,
 * to another digit, to "digit-"/"digit." (ORD-2024-..., 1.2.3), or follows
 * '#', '@', '+' (hashtags, handles, sums). */
static int left_glued(const char *s, size_t pos, size_t floor) {
  size_t n;
  /* Right after a number or address the scrubber replaced (or one '-'/'.'
   * after it): what touches it is a token, not a word or a longer number
   * ("01811234567+8801711234567" is two phones; the first one's right side
   * was judged free already). */
  if (pos == 0 || pos <= floor)
    return 0;
  int cls = pii_class_before(s, pos, &n);
  if (cls == PII_CC_LETTER || cls == PII_CC_DIGIT)
    return 1;
  char p = s[pos - 1];
  if (p == '#' || p == '@' || p == '+' || p == '&' || p == '$' || p == '%' || p == '\\')
    return 1;
  if ((p == '-' || p == '.') && pos >= 2 && pos - 1 > floor) {
    cls = pii_class_before(s, pos - 1, &n);
    if (cls == PII_CC_DIGIT)
      return 1;
  }
  return 0;
}

static int right_glued(const char *s, size_t len, size_t end) {
  size_t n;
  if (end >= len)
    return 0;
  int cls = pii_class_at(s, len, end, &n);
  if (cls == PII_CC_LETTER || cls == PII_CC_DIGIT)
    return 1;
  if (s[end] == '%')
    return 1;
  /* Digits that an address the scrubber takes runs over are the address's
   * ("01711234567.bd@gmail.com", "01711234567=@x.com": '=' is atext). Only
   * those: a Bengali digit is no part of an address, and without an address
   * the number stands on its own. */
  return pii_email_covers(s, len, end - 1);
}

/* Every match of a run has at least one group of its own: with room for
 * RUN_MAX_GROUPS matches none is ever left out. */
_Static_assert(PII_RUN_MAX_MATCHES >= RUN_MAX_GROUPS, "room for one match per group");

/* Fills o with the number of groups [a, b). */
static void emit_match(const group_t *g, size_t a, size_t b, const char *e164,
                       pii_phone_match_t *o) {
  o->start = g[a].start;
  o->end = g[b - 1].end;
  /* "(01711234567)": the parentheses are the sentence's, keep them. */
  if (b - a == 1 && g[a].paren) {
    o->start++;
    o->end--;
  }
  memcpy(o->e164, e164, PII_E164_MAX);
}

/* Splits groups [a, r) wholly into valid numbers, each starting at a space
 * (or the run's start) and ending at one (or the run's end), the longest
 * first; next[k] gets the end of the number starting at group k. Returns 1
 * when it can. dead: starts known not to (keeps this quadratic). */
static int tile(const group_t *g, size_t ng, size_t a, size_t r, uint64_t *dead, size_t *next) {
  if (a == r)
    return 1;
  if ((*dead >> a & 1) || (a > 0 && g[a].gap != ' '))
    return 0;
  size_t digits = 0, bmax = a;
  for (size_t b = a + 1; b <= r; b++) {
    digits += g[b - 1].ndig;
    if (g[b - 1].bad || digits > MATCH_MAX_DIGITS)
      break;
    bmax = b;
  }
  char e164[PII_E164_MAX];
  for (size_t b = bmax; b > a; b--)
    if ((b == ng || g[b].gap == ' ') && groups_valid(g, a, b, e164) &&
        tile(g, ng, b, r, dead, next)) {
      next[a] = b;
      return 1;
    }
  *dead |= UINT64_C(1) << a;
  return 0;
}

size_t pii_phone_scan_run(const char *s, size_t len, size_t pos, size_t floor, pii_phone_match_t *m,
                          size_t cap, size_t *n_out) {
  group_t g[RUN_MAX_GROUPS];
  size_t ng = 0, end;
  *n_out = 0;

  end = parse_group(s, len, pos, 1, &g[0]);
  if (end == 0)
    return pos + 1; /* "(" or "+" not starting a number: let the next byte try */
  ng = 1;
  /* Gaps: one space, dash or dot, or nothing next to a parenthesis. A gap is
   * only consumed when a group follows, so "01711234567. Call" ends the run.
   *
   * A run of more than RUN_MAX_GROUPS groups (a list of numbers separated by
   * single spaces) is read in windows of at most that many, each ending at a
   * space (window = 1); the numbers of a window but its last are taken and
   * scanning resumes at that last one, so every number is judged once with
   * the groups that follow it. (Giving up on such a run left every number
   * of a long list in clear text.) RUN_MAX_GROUPS groups without a space
   * hold no number (MATCH_MAX_DIGITS): skipped up to the next space. A
   * group is parsed at most RUN_MAX_GROUPS + 1 times: the scan stays linear. */
  int skip = 0, window = 0;
  for (;;) {
    size_t i = end;
    char sep = 0;
    if (i < len && (s[i] == ' ' || s[i] == '-' || s[i] == '.')) {
      sep = s[i];
      i++;
    }
    if (i >= len)
      break;
    if (sep == 0 && s[i] != '(' && s[end - 1] != ')')
      break;
    if (skip && sep == ' ')
      break;
    group_t tmp, *t = skip || ng == RUN_MAX_GROUPS ? &tmp : &g[ng];
    size_t e = parse_group(s, len, i, 0, t);
    if (e == 0)
      break;
    if (!skip && ng == RUN_MAX_GROUPS) {
      size_t cut = sep == ' ' ? ng : 0;
      for (size_t k = ng - 1; cut == 0 && k > 0; k--)
        if (g[k].gap == ' ')
          cut = k;
      if (cut) {
        ng = cut;
        end = g[ng - 1].end;
        window = 1;
        break;
      }
      skip = 1;
    }
    t->gap = sep;
    end = e;
    if (!skip)
      ng++;
  }
  if (skip)
    return end;

  /* Groups that start an email address ("+44 20 7946 0@x.com": the local
   * part "0"; "... 0-1-cd@x.com", "(017)4@x.com", "0958\u09ed.11455@x.bd")
   * belong to the address, which the email scanner takes once the run is
   * passed; so does a dash before a group, where the address starts
   * ("(785090)-1f@gc.xk": '-' is atext). The groups before it are a run of their own: left in, the
   * address's groups would orphan them in the neighbour check below or make
   * them no number at all, and they would stay in clear text next to the
   * email's token. */
  for (size_t k = ng - 1; k > 0; k--)
    if (pii_email_starts_at(s, len, g[k].start) ||
        (g[k].gap == '-' && pii_email_starts_at(s, len, g[k].start - 1))) {
      ng = k;
      break;
    }

  /* A parenthesised group is already separated from its neighbours:
   * "number(01711234567)" is a phone. */
  if (!g[0].paren && left_glued(s, pos, floor))
    g[0].bad = 1;
  if (!g[ng - 1].paren && right_glued(s, len, g[ng - 1].end))
    g[ng - 1].bad = 1;

  /* Split the run at spaces into numbers: from each split point take the
   * longest valid number. A number written with inner spaces ("017 1123 4567")
   * is only kept if it is the whole run or its neighbours in the run are also
   * numbers; otherwise its digits may be a slice of a longer spaced number
   * (a card or account number). A compact number ("01711234567") stands on its
   * own next to a space ("2024 01711234567"). */
  size_t ma[RUN_MAX_GROUPS], mb[RUN_MAX_GROUPS], nm = 0;
  char e164[RUN_MAX_GROUPS][PII_E164_MAX];
  int spaced[RUN_MAX_GROUPS], alive[RUN_MAX_GROUPS];
  /* forbid[a] bit b: [a, b) was dropped as a possible slice. A dropped
   * number may have swallowed numbers that stand on their own ("+45 20
   * 01711-234567 07": the longest number from "+45" ran over a compact BD
   * mobile), so the run is matched again without it, until no number is
   * dropped on its own account (one dropped only because its neighbour was
   * may stand once that neighbour is matched anew). Each round forbids a
   * candidate, so this ends. */
  uint64_t forbid[RUN_MAX_GROUPS] = {0};
  for (;;) {
    nm = 0;
    for (size_t a = 0; a < ng;) {
      if (a > 0 && g[a].gap != ' ') {
        a++;
        continue;
      }
      size_t best = 0, digits = 0;
      for (size_t b = a + 1; b <= ng; b++) {
        digits += g[b - 1].ndig;
        if (g[b - 1].bad || digits > MATCH_MAX_DIGITS)
          break;
        if ((b == ng || g[b].gap == ' ') && !(forbid[a] >> b & 1) &&
            groups_valid(g, a, b, e164[nm]))
          best = b;
      }
      if (best) {
        ma[nm] = a;
        mb[nm] = best;
        spaced[nm] = 0;
        for (size_t k = a + 1; k < best; k++)
          if (g[k].gap == ' ')
            spaced[nm] = 1;
        alive[nm] = 1;
        nm++;
        a = best;
      } else {
        a++;
      }
    }
    /* Neighbour check to a fixed point: dropping one spaced number can
     * orphan the next. A window's last number is judged again in the next
     * window: what follows it here is no reason to drop it. */
    int dropped = 0;
    for (int changed = 1; changed;) {
      changed = 0;
      for (size_t k = 0; k < nm; k++) {
        if (!alive[k] || !spaced[k] || (ma[k] == 0 && mb[k] == ng))
          continue;
        int left_ok = ma[k] == 0 || (k > 0 && alive[k - 1] && mb[k - 1] == ma[k]);
        int right_ok = mb[k] == ng || (window && k + 1 == nm) ||
                       (k + 1 < nm && alive[k + 1] && ma[k + 1] == mb[k]);
        if (!left_ok || !right_ok) {
          alive[k] = 0;
          changed = 1;
          /* on its own account: a neighbour it lacks is no number at all */
          int left0 = ma[k] == 0 || (k > 0 && mb[k - 1] == ma[k]);
          int right0 = mb[k] == ng || (window && k + 1 == nm) || (k + 1 < nm && ma[k + 1] == mb[k]);
          if (!left0 || !right0) {
            forbid[ma[k]] |= UINT64_C(1) << mb[k];
            dropped = 1;
          }
        }
      }
    }
    if (!dropped)
      break;
  }
  /* A window's last number may go on in the next window: judged there. */
  size_t resume = end;
  if (window && nm >= 2) {
    nm--;
    resume = g[ma[nm]].start;
  }
  /* Without a dropped number no span can be tiled (no valid number starts
   * where an uncovered span does): the common case, a run of prices or dates,
   * ends here. */
  int dropped_any = 0;
  for (size_t k = 0; k < nm; k++)
    dropped_any |= !alive[k];
  for (size_t a = 0; a < ng; a++)
    dropped_any |= forbid[a] != 0;
  if (window || !dropped_any) {
    for (size_t k = 0; k < nm && *n_out < cap; k++)
      if (alive[k])
        emit_match(g, ma[k], mb[k], e164[k], &m[(*n_out)++]);
    return resume;
  }
  /* The rounds judge a number by neighbours that a later round may drop, so
   * they can forbid one that stands, with its neighbours matched anew, in a
   * chain of numbers ("+7603429134 880 44049 29134 880 44049 88 488": taking
   * "+7603429134 880" first made both BD mobiles after it look like slices).
   * So a span of groups no kept number covers — between kept numbers or the
   * run's edges — that splits wholly into valid numbers is taken as those
   * numbers: a span covered wholly is the evidence the neighbour rule asks
   * for. (Not in a window, whose end is no edge of the run.) */
  size_t next[RUN_MAX_GROUPS], k = 0;
  uint64_t dead = 0;
  for (size_t p = 0; p < ng && *n_out < cap;) {
    while (k < nm && (!alive[k] || ma[k] < p))
      k++;
    if (k < nm && ma[k] == p) {
      emit_match(g, ma[k], mb[k], e164[k], &m[(*n_out)++]);
      p = mb[k];
      continue;
    }
    size_t r = k < nm ? ma[k] : ng; /* the span [p, r) no kept number covers */
    if (tile(g, ng, p, r, &dead, next)) {
      for (size_t a = p; a < r && *n_out < cap; a = next[a]) {
        char t[PII_E164_MAX];
        groups_valid(g, a, next[a], t);
        emit_match(g, a, next[a], t, &m[(*n_out)++]);
      }
    }
    p = r;
  }
  return resume;
}
