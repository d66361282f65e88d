/* tokenizer — BERT uncased WordPiece exactly as the Hugging Face `tokenizers`
 * library runs it for all-MiniLM-L6-v2 (tokenizer.json: added tokens matched
 * on the raw text, BertNormalizer, BertPreTokenizer, WordPiece with "##"
 * continuation and [UNK] for words over 100 characters, "[CLS] $A [SEP]").
 * Parity with the reference is proven by tests/unit/test_embedder_tokenizer.c
 * over ids the reference produced (tests/fixtures/embedding/).
 */
#ifndef SENSORY_TOKENIZER_H
#define SENSORY_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tokenizer tokenizer_t;

/* Loads a BERT vocab.txt (one token per line, id = line number). The special
 * tokens [PAD] [UNK] [CLS] [SEP] must be present. Caller owns the result
 * (tokenizer_destroy). NULL + errstr on I/O or format errors. */
tokenizer_t *tokenizer_load(const char *vocab_path, char *errstr, size_t errstr_size);

/* Loads the vocabulary from a Hugging Face tokenizer.json instead, after
 * checking that it describes what this file implements (WordPiece, "##",
 * 100-character words, the uncased BertNormalizer); NULL + errstr otherwise. */
tokenizer_t *tokenizer_load_json(const char *path, char *errstr, size_t errstr_size);

/* Frees t; NULL is accepted. */
void tokenizer_destroy(tokenizer_t *t);

/* Number of entries of the vocabulary. */
size_t tokenizer_vocab_size(const tokenizer_t *t);

/* The id of token (e.g. "[CLS]"), or -1. */
int32_t tokenizer_token_id(const tokenizer_t *t, const char *token);

/* Encodes UTF-8 text (len bytes, need not be NUL-terminated; invalid bytes
 * count as U+FFFD, which the normaliser drops) into "[CLS] ... [SEP]" with at
 * most max_ids ids (>= 2), truncating on the right as the reference does. ids
 * receives the ids; *truncated (may be NULL) is set to 1 when tokens were cut.
 * Returns the number of ids (2 for a text with no tokens), or -1 when memory
 * runs out. */
int tokenizer_encode(const tokenizer_t *t, const char *text, size_t len, int32_t *ids,
                     size_t max_ids, int *truncated);

#endif
