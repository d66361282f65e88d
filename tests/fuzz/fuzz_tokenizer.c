/* fuzz_tokenizer — the embedder's WordPiece tokenizer (tokenizer.h) on post
 * text, which is outside input: any bytes, invalid UTF-8 included.
 *
 * Invariants, beyond not crashing: "[CLS] ... [SEP]" with 2..max_ids ids,
 * every id in the vocabulary; the same text gives the same ids; a shorter
 * limit gives the longer encoding cut on the right ([CLS], its first ids,
 * [SEP]) and says so exactly when it cut.
 */
#include "fuzz.h"
#include "tokenizer.h"

static tokenizer_t *tok;
static int32_t cls, sep;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char path[4096], err[512];
  fuzz_path(path, sizeof(path), "tests/fixtures/embedding/vocab.txt");
  tok = tokenizer_load(path, err, sizeof(err));
  if (!tok) {
    fprintf(stderr, "fuzz_tokenizer: %s\n", err);
    abort();
  }
  cls = tokenizer_token_id(tok, "[CLS]");
  sep = tokenizer_token_id(tok, "[SEP]");
  return 0;
}

#define FULL 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int32_t full[FULL], again[FULL], cut[FULL];
  const char *text = (const char *)data;
  int trunc = -1;
  int n = tokenizer_encode(tok, text, size, full, FULL, &trunc);
  FUZZ_CHECK(n >= 2 && n <= FULL, "2..max_ids ids");
  FUZZ_CHECK(full[0] == cls && full[n - 1] == sep, "[CLS] ... [SEP]");
  size_t vocab = tokenizer_vocab_size(tok);
  for (int i = 0; i < n; i++)
    FUZZ_CHECK(full[i] >= 0 && (size_t)full[i] < vocab, "ids are in the vocabulary");
  int n2 = tokenizer_encode(tok, text, size, again, FULL, NULL);
  FUZZ_CHECK(n2 == n && memcmp(full, again, (size_t)n * sizeof(*full)) == 0, "deterministic");

  /* A limit from the input: the encoding cut on the right. */
  size_t max = size ? 2 + data[0] % 40 : 2;
  int t2 = -1;
  int m = tokenizer_encode(tok, text, size, cut, max, &t2);
  if (!trunc) {
    FUZZ_CHECK(m == ((size_t)n <= max ? n : (int)max), "a shorter limit keeps what fits");
    FUZZ_CHECK(t2 == ((size_t)n > max), "truncated exactly when cut");
    FUZZ_CHECK(cut[0] == cls && cut[m - 1] == sep, "a cut encoding is [CLS] ... [SEP] too");
    FUZZ_CHECK(memcmp(cut + 1, full + 1, (size_t)(m - 2) * sizeof(*cut)) == 0,
               "a cut encoding is a prefix of the full one");
  }
  return 0;
}
