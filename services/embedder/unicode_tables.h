/* unicode_tables — per-code-point behaviour of the Hugging Face BERT
 * normaliser and pre-tokenizer, generated from the reference library
 * (tests/tools/embedder_unicode_gen.js). Sorted, non-overlapping ranges;
 * code points in no range keep themselves / are ordinary word characters.
 */
#ifndef SENSORY_UNICODE_TABLES_H
#define SENSORY_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* Normalisation kinds (uni_norm_ranges) */
enum { UNI_KEEP = 0, UNI_REMOVE = 1, UNI_SPACE = 2, UNI_CJK = 3, UNI_HANGUL = 4, UNI_MAP = 5 };
/* Pre-tokenizer kinds (uni_pre_ranges) */
enum { UNI_PRE_WORD = 0, UNI_PRE_SPACE = 1, UNI_PRE_PUNCT = 2 };

typedef struct uni_range {
  uint32_t first, last;
  uint8_t kind;
} uni_range_t;

/* A code point replaced by a string (UTF-8, NUL-terminated): lower-casing
 * and accent stripping. */
typedef struct uni_map {
  uint32_t cp;
  const char *to;
} uni_map_t;

extern const uni_range_t uni_norm_ranges[];
extern const size_t uni_norm_ranges_count;
extern const uni_range_t uni_pre_ranges[];
extern const size_t uni_pre_ranges_count;
extern const uni_map_t uni_norm_map[];
extern const size_t uni_norm_map_count;

#endif
