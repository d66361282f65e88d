/* embedder tokenizer: parity with the Hugging Face `tokenizers` library on the
 * real all-MiniLM-L6-v2 vocabulary, over ids the reference produced
 * (tests/fixtures/embedding/tokenizer_cases.jsonl: corpus samples, Bengali,
 * Banglish, emoji, accents, URLs, PII tokens, empty and very long texts), plus
 * truncation at 256 and hand-checked small cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer.h"

static tokenizer_t *tok;
static char dir[1024];

static int setup(void **state) {
  (void)state;
  const char *fx = getenv("SENSORY_FIXTURES");
  snprintf(dir, sizeof(dir), "%s/embedding", fx ? fx : "tests/fixtures");
  char path[1100], err[256];
  snprintf(path, sizeof(path), "%s/vocab.txt", dir);
  tok = tokenizer_load(path, err, sizeof(err));
  if (!tok)
    fprintf(stderr, "%s\n", err);
  return tok ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  tokenizer_destroy(tok);
  return 0;
}

static void test_vocab(void **state) {
  (void)state;
  assert_int_equal(tokenizer_vocab_size(tok), 30522);
  assert_int_equal(tokenizer_token_id(tok, "[CLS]"), 101);
  assert_int_equal(tokenizer_token_id(tok, "the"), 1996);
  assert_int_equal(tokenizer_token_id(tok, "no-such-token"), -1);
}

static int encode(const char *s, int32_t *ids, size_t max, int *trunc) {
  return tokenizer_encode(tok, s, strlen(s), ids, max, trunc);
}

static void test_hand_checked(void **state) {
  (void)state;
  int32_t ids[64];
  int trunc = -1;
  /* "hello world" → [CLS] hello world [SEP] (ids from the vocab by hand). */
  assert_int_equal(encode("Hello, WORLD!", ids, 64, &trunc), 6);
  assert_int_equal(ids[0], 101);
  assert_int_equal(ids[1], tokenizer_token_id(tok, "hello"));
  assert_int_equal(ids[2], tokenizer_token_id(tok, ","));
  assert_int_equal(ids[3], tokenizer_token_id(tok, "world"));
  assert_int_equal(ids[4], tokenizer_token_id(tok, "!"));
  assert_int_equal(ids[5], 102);
  assert_int_equal(trunc, 0);
  /* Accent stripped, then "##" continuation: "RÉSUMÉS" → resume ##s. */
  assert_int_equal(encode("RÉSUMÉS", ids, 64, NULL), 4);
  assert_int_equal(ids[1], tokenizer_token_id(tok, "resume"));
  assert_int_equal(ids[2], tokenizer_token_id(tok, "##s"));
  /* Empty, whitespace and control-only texts have no tokens. */
  assert_int_equal(encode("", ids, 64, NULL), 2);
  assert_int_equal(encode(" \t\n ", ids, 64, NULL), 2);
  /* Truncation: room for 2 content ids only. */
  assert_int_equal(encode("a b c d", ids, 4, &trunc), 4);
  assert_int_equal(trunc, 1);
  assert_int_equal(ids[3], 102);
  /* Invalid UTF-8 bytes are dropped like U+FFFD, not crashed on. */
  assert_int_equal(tokenizer_encode(tok, "ab\xff\xc3", 4, ids, 64, NULL), 3);
}

static void compare(const char *what, size_t line, const int32_t *got, int n, json_t *want) {
  int same = n == (int)json_array_size(want);
  for (int i = 0; same && i < n; i++)
    same = got[i] == json_integer_value(json_array_get(want, (size_t)i));
  if (!same) {
    fprintf(stderr, "line %zu (%s): got %d ids, want %zu\n", line, what, n, json_array_size(want));
    for (int i = 0; i < n && i < 40; i++)
      fprintf(stderr, "%d%s", got[i], i + 1 < n ? " " : "\n");
    char *w = json_dumps(want, JSON_COMPACT);
    fprintf(stderr, "want %.400s\n", w);
    free(w);
  }
  assert_true(same);
}

static void test_reference_parity(void **state) {
  (void)state;
  char path[1100];
  snprintf(path, sizeof(path), "%s/tokenizer_cases.jsonl", dir);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  enum { BIG = 1 << 16 };
  int32_t *ids = malloc(BIG * sizeof(*ids));
  assert_non_null(ids);
  char *line = NULL;
  size_t cap = 0, lineno = 0, cases = 0, truncated_cases = 0;
  while (getline(&line, &cap, fp) > 0) {
    lineno++;
    json_error_t jerr;
    json_t *rec = json_loads(line, JSON_ALLOW_NUL, &jerr);
    assert_non_null(rec);
    const char *text = json_string_value(json_object_get(rec, "text"));
    size_t len = json_string_length(json_object_get(rec, "text"));
    int trunc = -1;
    int n = tokenizer_encode(tok, text, len, ids, BIG, &trunc);
    compare("full", lineno, ids, n, json_object_get(rec, "ids"));
    assert_int_equal(trunc, 0);
    json_t *want256 = json_object_get(rec, "ids256");
    n = tokenizer_encode(tok, text, len, ids, 256, &trunc);
    compare("256", lineno, ids, n, want256 ? want256 : json_object_get(rec, "ids"));
    assert_int_equal(trunc, want256 != NULL);
    truncated_cases += want256 != NULL;
    cases++;
    json_decref(rec);
  }
  free(line);
  free(ids);
  fclose(fp);
  fprintf(stderr, "tokenizer parity: %zu cases (%zu truncated) identical to HF tokenizers\n", cases,
          truncated_cases);
  assert_true(cases > 1000);
}

static void test_load_errors(void **state) {
  (void)state;
  char err[256];
  assert_null(tokenizer_load("/nonexistent/vocab.txt", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/vocab.txt"));
  char path[] = "/tmp/sensory-vocab-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *fp = fdopen(fd, "w");
  fputs("[PAD]\nhello\n", fp);
  fclose(fp);
  assert_null(tokenizer_load(path, err, sizeof(err)));
  assert_non_null(strstr(err, "missing"));
  unlink(path);
  tokenizer_destroy(NULL);
}

static void write_text(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void test_tokenizer_json(void **state) {
  (void)state;
  char path[] = "/tmp/sensory-tokjson-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  char err[512];
  /* The vocabulary comes from model.vocab, ids as given. */
  write_text(path, "{\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,"
                   "\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
                   "\"model\":{\"type\":\"WordPiece\",\"continuing_subword_prefix\":\"##\","
                   "\"max_input_chars_per_word\":100,\"vocab\":{\"[SEP]\":3,\"[PAD]\":0,"
                   "\"[UNK]\":1,\"[CLS]\":2,\"rain\":4,\"##coat\":5}}}");
  tokenizer_t *t = tokenizer_load_json(path, err, sizeof(err));
  assert_non_null(t);
  int32_t ids[8];
  assert_int_equal(tokenizer_encode(t, "Raincoat x", 10, ids, 8, NULL), 5);
  assert_int_equal(ids[0], 2);
  assert_int_equal(ids[1], 4);
  assert_int_equal(ids[2], 5);
  assert_int_equal(ids[3], 1);
  assert_int_equal(ids[4], 3);
  tokenizer_destroy(t);
  /* What this implementation would not reproduce is refused. */
  write_text(path, "{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}");
  assert_null(tokenizer_load_json(path, err, sizeof(err)));
  assert_non_null(strstr(err, "WordPiece"));
  write_text(path, "{\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":false},"
                   "\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}");
  assert_null(tokenizer_load_json(path, err, sizeof(err)));
  assert_non_null(strstr(err, "uncased"));
  write_text(path, "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0,\"b\":5}}}");
  assert_null(tokenizer_load_json(path, err, sizeof(err)));
  assert_non_null(strstr(err, "ids must be"));
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vocab),
      cmocka_unit_test(test_hand_checked),
      cmocka_unit_test(test_reference_parity),
      cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_tokenizer_json),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
