/* test_pii_corpus — precision and recall of pii_scrub_text over the
 * hand-labelled tests/fixtures/pii/labelled.tsv, and a false-positive check
 * over real review corpora (tests/fixtures/pii/corpus/, CSV) that contain no phone
 * numbers or emails (checked by inspection: no '@' at all, and the only
 * long digit runs are Daraz product ids inside URLs).
 *
 * labelled.tsv: one case per line, "text<TAB>entities", entities being the
 * expected normalised values (E.164 phones, lower-cased emails) separated by
 * commas, or "-" for none. Lines without a TAB are comments (a case may
 * itself start with '#': hashtags are among the hard negatives). A detection
 * is matched to an expected entity by token (PHONE_/EMAIL_ + 16 hex), so a
 * number found but normalised wrongly counts as both a false positive and a
 * false negative. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
// clang-format on

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/pii.h"

#define MAX_ENT 16
#define MIN_PRECISION 0.99
#define MIN_RECALL 0.97

static const unsigned char KEY[] = "corpus-test-key-0123456789";

typedef struct {
  char tok[MAX_ENT][PII_TOKEN_MAX];
  size_t n;
} toks_t;

/* Every PHONE_/EMAIL_ token (prefix + 16 lowercase hex) in s[0..n). */
static void find_tokens(const char *s, size_t n, toks_t *t) {
  t->n = 0;
  for (size_t i = 0; i + 22 <= n; i++) {
    if (memcmp(s + i, "PHONE_", 6) != 0 && memcmp(s + i, "EMAIL_", 6) != 0)
      continue;
    size_t k = 0;
    while (k < 16 && ((s[i + 6 + k] >= '0' && s[i + 6 + k] <= '9') ||
                      (s[i + 6 + k] >= 'a' && s[i + 6 + k] <= 'f')))
      k++;
    if (k == 16 && t->n < MAX_ENT) {
      memcpy(t->tok[t->n], s + i, 22);
      t->tok[t->n][22] = '\0';
      t->n++;
      i += 21;
    }
  }
}

/* Removes one occurrence of tok from t; returns 1 if there was one. */
static int take(toks_t *t, const char *tok) {
  for (size_t i = 0; i < t->n; i++) {
    if (strcmp(t->tok[i], tok) == 0) {
      memmove(t->tok[i], t->tok[i + 1], (t->n - i - 1) * sizeof(t->tok[0]));
      t->n--;
      return 1;
    }
  }
  return 0;
}

typedef struct {
  size_t tp, fp, fn;
} score_t;

static double ratio(size_t a, size_t b) {
  return b ? (double)a / (double)b : 1.0;
}

static void test_labelled(void **state) {
  (void)state;
  char path[1024], err[256];
  snprintf(path, sizeof(path), "%s/pii/labelled.tsv", test_fixtures());
  size_t size;
  char *data = test_slurp(path, &size);
  pii_hasher_t *h = pii_hasher_new(KEY, sizeof(KEY) - 1, NULL, err, sizeof(err));
  assert_non_null(h);
  score_t sc[2] = {{0, 0, 0}, {0, 0, 0}}; /* phones, emails */
  size_t cases = 0;
  char *line = data;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    char *tab = strchr(line, '\t');
    if (tab) {
      *tab = '\0';
      const char *text = line, *ents = tab + 1;
      cases++;
      toks_t before, after;
      size_t n;
      find_tokens(text, strlen(text), &before);
      char *o = pii_scrub_text(h, text, strlen(text), &n, NULL);
      assert_non_null(o);
      find_tokens(o, n, &after);
      /* Tokens already in the input are not detections. */
      for (size_t i = 0; i < before.n; i++)
        take(&after, before.tok[i]);
      if (strcmp(ents, "-") != 0) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", ents);
        for (char *e = buf; e && *e;) {
          char *comma = strchr(e, ',');
          if (comma)
            *comma = '\0';
          int is_phone = e[0] == '+';
          char hash[PII_HASH_MAX], tok[PII_TOKEN_MAX];
          if (pii_hash_identifier(h, is_phone ? "phone" : "email", e, strlen(e), hash, sizeof(hash),
                                  err, sizeof(err)) != 0)
            fail_msg("labelled.tsv: bad expected entity \"%s\"", e);
          snprintf(tok, sizeof(tok), "%s_%.16s", is_phone ? "PHONE" : "EMAIL",
                   strchr(hash, ':') + 1);
          if (take(&after, tok)) {
            sc[is_phone ? 0 : 1].tp++;
          } else {
            sc[is_phone ? 0 : 1].fn++;
            printf("pii corpus: missed %s in: %s\n", is_phone ? "phone" : "email", text);
          }
          e = comma ? comma + 1 : NULL;
        }
      }
      for (size_t i = 0; i < after.n; i++) {
        sc[after.tok[i][0] == 'P' ? 0 : 1].fp++;
        printf("pii corpus: false positive %.5s in: %s -> %s\n", after.tok[i], text, o);
      }
      free(o);
    }
    line = nl ? nl + 1 : NULL;
  }
  static const char *name[2] = {"phones", "emails"};
  int ok = 1;
  for (int k = 0; k < 2; k++) {
    double p = ratio(sc[k].tp, sc[k].tp + sc[k].fp), r = ratio(sc[k].tp, sc[k].tp + sc[k].fn);
    printf("pii corpus: %s precision %.3f recall %.3f (tp=%zu fp=%zu fn=%zu, n=%zu cases)\n",
           name[k], p, r, sc[k].tp, sc[k].fp, sc[k].fn, cases);
    if (p < MIN_PRECISION || r < MIN_RECALL)
      ok = 0;
  }
  assert_true(cases >= 150);
  assert_true(sc[0].tp + sc[0].fn >= 50);
  assert_true(sc[1].tp + sc[1].fn >= 20);
  assert_true(ok);
  free(data);
  pii_hasher_destroy(h);
}

/* Every line of every corpus file, whole (text plus the other CSV columns,
 * URLs and ids included), must come back unchanged. */
static void test_review_corpora(void **state) {
  (void)state;
  char dir[1024], path[2048], err[256];
  snprintf(dir, sizeof(dir), "%s/pii/corpus", test_fixtures());
  DIR *d = opendir(dir);
  if (!d)
    fail_msg("cannot open %s", dir);
  pii_hasher_t *h = pii_hasher_new(KEY, sizeof(KEY) - 1, NULL, err, sizeof(err));
  assert_non_null(h);
  size_t lines = 0, files = 0, hits = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t nl = strlen(de->d_name);
    if (nl < 5 || strcmp(de->d_name + nl - 4, ".csv") != 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    size_t size;
    char *data = test_slurp(path, &size);
    files++;
    for (char *line = data; line && *line;) {
      char *end = strchr(line, '\n');
      size_t len = end ? (size_t)(end - line) : strlen(line);
      pii_counts_t c = {0, 0};
      size_t n;
      char *o = pii_scrub_text(h, line, len, &n, &c);
      assert_non_null(o);
      if (c.phones || c.emails || n != len || memcmp(o, line, len) != 0) {
        hits++;
        printf("pii corpus: detection in %s: %.*s\n", de->d_name, (int)len, line);
      }
      free(o);
      lines++;
      line = end ? end + 1 : NULL;
    }
    free(data);
  }
  closedir(d);
  printf("pii corpus: %zu real review lines in %zu files, %zu detections\n", lines, files, hits);
  assert_true(files >= 4);
  assert_true(lines >= 3000);
  assert_int_equal(hits, 0);
  pii_hasher_destroy(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_labelled),
      cmocka_unit_test(test_review_corpora),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
