/* jsonf_internal — shared by the reader (jsonf.c), documents (jsonf_doc.c) and
 * the writer (jsonf_write.c). Not a public header: programs use jsonf.h. */
#ifndef SENSORY_JSONF_INTERNAL_H
#define SENSORY_JSONF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json/jsonf.h"

/* Deepest value the writer and the jansson conversions follow. */
#define JSONF_MAX_DEPTH 2048

/* 1 for bytes that end the fast ASCII run inside a string: '"', '\\', control
 * characters and bytes >= 0x80 (validated as UTF-8). */
extern const unsigned char jsonf_str_stop[256];

#define JSONF_ONES UINT64_C(0x0101010101010101)
#define JSONF_HIGHS UINT64_C(0x8080808080808080)

/* Nonzero when some byte of the 8 at p is a jsonf_str_stop byte. May report
 * false positives (the caller then goes byte by byte) but never misses one. */
static inline uint64_t jsonf_word_has_stop(const unsigned char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  uint64_t q = w ^ (JSONF_ONES * '"'), s = w ^ (JSONF_ONES * '\\');
  return (((w - JSONF_ONES * 0x20) & ~w) | ((q - JSONF_ONES) & ~q) | ((s - JSONF_ONES) & ~s) | w) &
         JSONF_HIGHS;
}

/* The first jsonf_str_stop byte in [p, end), or end. Sixteen bytes a step
 * with SSE2 (every x86-64 has it): a signed compare below 0x20 catches the
 * control characters and the bytes >= 0x80 at once. */
static inline const unsigned char *jsonf_skip_plain(const unsigned char *p,
                                                    const unsigned char *end) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                _mm_cmplt_epi8(x, space));
    unsigned mask = (unsigned)_mm_movemask_epi8(stop);
    if (mask)
      return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (end - p >= 8 && !jsonf_word_has_stop(p))
    p += 8;
  while (p < end && !jsonf_str_stop[*p])
    p++;
  return p;
}

/* Length of the valid UTF-8 sequence starting at p (p[0] >= 0x80), or 0.
 * Rejects overlong forms, surrogates and code points above U+10FFFF, like
 * jansson. */
size_t jsonf_utf8_seq(const unsigned char *p, const unsigned char *end);

/* One (object, key) pair of the last parse, for duplicate-key detection; an
 * entry of an older parse (gen differs) is an empty slot. */
typedef struct jsonf_dup {
  uint32_t gen, obj, key; /* parse generation, node indexes */
} jsonf_dup_t;

/* An open container while a text is read (the reader's stack). */
typedef struct jsonf_frame {
  uint32_t at;    /* its node */
  uint32_t count; /* members or items so far */
  uint32_t key;   /* objects: node of the current member's key */
  const unsigned char *key_at;
  uint64_t seen; /* objects: a filter of the key hashes so far */
} jsonf_frame_t;

struct jsonf_doc {
  jsonf_node_t *nodes;
  size_t count, cap;
  char *sb; /* strings the last parse decoded (those with escapes) */
  size_t sb_len, sb_cap;
  jsonf_dup_t *dup; /* open addressing over (object, key) */
  size_t dup_cap, dup_used;
  uint32_t gen;
  jsonf_frame_t *frames; /* the reader's stack, kept */
  size_t frames_cap;
};

/* Doubles the reader's stack: 0, or -1 when out of memory. */
int jsonf_doc_grow_frames(jsonf_doc_t *d);

/* Makes room for one more node: 0, or -1 when out of memory or at 2^32 nodes. */
int jsonf_doc_grow(jsonf_doc_t *d);

/* Appends a node (zeroed except size = 1) and returns it, or NULL. */
static inline jsonf_node_t *jsonf_doc_push(jsonf_doc_t *d) {
  if (d->count == d->cap && jsonf_doc_grow(d) < 0)
    return NULL;
  jsonf_node_t *n = &d->nodes[d->count++];
  memset(n, 0, sizeof(*n));
  n->size = 1;
  return n;
}

/* Releases the buffers of a document that once held a very large text, so one
 * outsized message does not pin its memory for the life of the process. */
void jsonf_doc_trim(jsonf_doc_t *d);

#endif
