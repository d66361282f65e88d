#include "tokenizer.h"
#include "core/array.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unicode_tables.h"

/* The reference gives words longer than this (in characters) a single [UNK]. */
#define MAX_WORD_CHARS 100
#define MAX_VOCAB_TOKEN 256

typedef struct vocab_slot {
  const char *tok; /* points into tokenizer.text */
  uint32_t len;
  int32_t id;
} vocab_slot_t;

struct tokenizer {
  char *text;          /* the vocab file, lines NUL-terminated in place (owned) */
  vocab_slot_t *slots; /* open addressing, power-of-two size (owned) */
  size_t nslots;
  size_t size;
  int32_t unk, cls, sep;
  int32_t special_ids[5];
};

static const char *const special_tokens[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a: short keys, good spread, no state */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

static int32_t vocab_find(const tokenizer_t *t, const char *s, size_t n) {
  size_t mask = t->nslots - 1;
  for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
    const vocab_slot_t *sl = &t->slots[i];
    if (!sl->tok)
      return -1;
    if (sl->len == n && memcmp(sl->tok, s, n) == 0)
      return sl->id;
  }
}

int32_t tokenizer_token_id(const tokenizer_t *t, const char *token) {
  return vocab_find(t, token, strlen(token));
}

size_t tokenizer_vocab_size(const tokenizer_t *t) {
  return t->size;
}

void tokenizer_destroy(tokenizer_t *t) {
  if (!t)
    return;
  free(t->slots);
  free(t->text);
  free(t);
}

static char *read_file(const char *path, size_t *len, char *errstr, size_t errstr_size) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  long size = -1;
  if (fseek(fp, 0, SEEK_END) == 0)
    size = ftell(fp);
  if (size < 0 || size > (64L << 20) || fseek(fp, 0, SEEK_SET) != 0) {
    snprintf(errstr, errstr_size, "%s: unreadable or larger than 64 MiB", path);
  } else if (!(buf = malloc((size_t)size + 1))) {
    snprintf(errstr, errstr_size, "out of memory");
  } else if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
    snprintf(errstr, errstr_size, "%s: short read", path);
    free(buf);
    buf = NULL;
  } else {
    buf[size] = '\0';
    *len = (size_t)size;
  }
  fclose(fp);
  return buf;
}

/* Builds the tokenizer over text (vocab.txt format, len bytes + NUL; owned
 * from here on, freed on failure too); vocab_path names it in errors. */
static tokenizer_t *load_text(char *text, size_t len, const char *vocab_path, char *errstr,
                              size_t errstr_size) {
  tokenizer_t *t = calloc(1, sizeof(*t)); /* caller owns: tokenizer_destroy() */
  size_t lines = 0;
  if (!t) {
    free(text);
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  t->text = text;
  for (size_t i = 0; i < len; i++)
    lines += t->text[i] == '\n';
  lines += len > 0 && t->text[len - 1] != '\n';
  t->nslots = 1024;
  while (t->nslots < lines * 2)
    t->nslots <<= 1;
  if (!(t->slots = calloc(t->nslots, sizeof(*t->slots)))) {
    snprintf(errstr, errstr_size, "out of memory");
    goto fail;
  }
  char *p = t->text, *end = t->text + len;
  int32_t id = 0;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *e = nl ? nl : end;
    size_t n = (size_t)(e - p);
    if (n > 0 && p[n - 1] == '\r')
      n--;
    p[n] = '\0';
    if (n == 0 || n > MAX_VOCAB_TOKEN) {
      snprintf(errstr, errstr_size, "%s: line %d: empty or overlong token", vocab_path, id + 1);
      goto fail;
    }
    /* A duplicate keeps its first id, as the reference's map does on load. */
    if (vocab_find(t, p, n) < 0) {
      size_t mask = t->nslots - 1, i = hash_bytes(p, n) & mask;
      while (t->slots[i].tok)
        i = (i + 1) & mask;
      t->slots[i] = (vocab_slot_t){p, (uint32_t)n, id};
    }
    id++;
    p = e + 1;
  }
  t->size = (size_t)id;
  for (size_t i = 0; i < 5; i++)
    t->special_ids[i] = tokenizer_token_id(t, special_tokens[i]);
  t->unk = t->special_ids[1];
  t->cls = t->special_ids[2];
  t->sep = t->special_ids[3];
  if (t->special_ids[0] < 0 || t->unk < 0 || t->cls < 0 || t->sep < 0) {
    snprintf(errstr, errstr_size, "%s: [PAD], [UNK], [CLS] or [SEP] missing", vocab_path);
    goto fail;
  }
  return t;
fail:
  tokenizer_destroy(t);
  return NULL;
}

tokenizer_t *tokenizer_load(const char *vocab_path, char *errstr, size_t errstr_size) {
  size_t len = 0;
  char *text = read_file(vocab_path, &len, errstr, errstr_size);
  return text ? load_text(text, len, vocab_path, errstr, errstr_size) : NULL;
}

/* Refuses a tokenizer.json this implementation would not reproduce. */
static int check_json(json_t *root, const char *path, char *errstr, size_t errstr_size) {
  json_t *model = json_object_get(root, "model"), *norm = json_object_get(root, "normalizer");
  const char *type = json_string_value(json_object_get(model, "type"));
  const char *prefix = json_string_value(json_object_get(model, "continuing_subword_prefix"));
  json_t *maxc = json_object_get(model, "max_input_chars_per_word");
  json_t *strip = json_object_get(norm, "strip_accents");
  const char *why = NULL;
  if (!type || strcmp(type, "WordPiece") != 0)
    why = "model.type is not WordPiece";
  else if (prefix && strcmp(prefix, "##") != 0)
    why = "continuing_subword_prefix is not ##";
  else if (maxc && json_integer_value(maxc) != MAX_WORD_CHARS)
    why = "max_input_chars_per_word is not 100";
  else if (!json_is_object(json_object_get(model, "vocab")))
    why = "model.vocab missing";
  else if (norm &&
           (!json_is_true(json_object_get(norm, "lowercase")) ||
            !json_is_true(json_object_get(norm, "clean_text")) ||
            !json_is_true(json_object_get(norm, "handle_chinese_chars")) || json_is_false(strip)))
    why = "normalizer is not the uncased BertNormalizer (lowercase, clean_text, CJK, accents)";
  if (why)
    snprintf(errstr, errstr_size, "%s: %s (only BERT uncased WordPiece is implemented)", path, why);
  return why ? -1 : 0;
}

tokenizer_t *tokenizer_load_json(const char *path, char *errstr, size_t errstr_size) {
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  const char **by_id = NULL;
  char *text = NULL;
  tokenizer_t *t = NULL;
  if (!json_is_object(root)) {
    snprintf(errstr, errstr_size, "%s: %s", path, root ? "not a JSON object" : jerr.text);
    goto out;
  }
  if (check_json(root, path, errstr, errstr_size))
    goto out;
  /* Lay the vocabulary out as vocab.txt would be: one token per id, ids
   * 0..n-1 with none missing. */
  json_t *vocab = json_object_get(json_object_get(root, "model"), "vocab"), *v;
  size_t n = json_object_size(vocab), total = 0;
  const char *tok;
  if (!(by_id = calloc(n ? n : 1, sizeof(*by_id)))) {
    snprintf(errstr, errstr_size, "out of memory");
    goto out;
  }
  json_object_foreach(vocab, tok, v) {
    json_int_t id = json_integer_value(v);
    if (!json_is_integer(v) || id < 0 || (size_t)id >= n || by_id[id] || strchr(tok, '\n')) {
      snprintf(errstr, errstr_size, "%s: vocab entry %.64s: ids must be 0..%zu, each once", path,
               tok, n - 1);
      goto out;
    }
    by_id[id] = tok;
    total += strlen(tok) + 1;
  }
  if (!(text = malloc(total + 1))) {
    snprintf(errstr, errstr_size, "out of memory");
    goto out;
  }
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(by_id[i]);
    memcpy(text + at, by_id[i], l);
    text[at + l] = '\n';
    at += l + 1;
  }
  text[at] = '\0';
  t = load_text(text, at, path, errstr, errstr_size); /* owns text now */
out:
  free(by_id);
  json_decref(root);
  return t;
}

/* ---- UTF-8 ---------------------------------------------------------- */

/* Decodes one code point; invalid or truncated sequences give U+FFFD and
 * advance one byte (the normaliser drops U+FFFD, as for any string the
 * reference could have been given). */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i) {
  unsigned char c = s[*i];
  uint32_t cp;
  size_t n;
  if (c < 0x80) {
    (*i)++;
    return c;
  } else if (c >= 0xc2 && c <= 0xdf) {
    cp = c & 0x1f, n = 1;
  } else if (c >= 0xe0 && c <= 0xef) {
    cp = c & 0x0f, n = 2;
  } else if (c >= 0xf0 && c <= 0xf4) {
    cp = c & 0x07, n = 3;
  } else {
    (*i)++;
    return 0xfffd;
  }
  if (*i + n >= len) { /* truncated sequence */
    (*i)++;
    return 0xfffd;
  }
  for (size_t k = 1; k <= n; k++) {
    if ((s[*i + k] & 0xc0) != 0x80) {
      (*i)++;
      return 0xfffd;
    }
    cp = (cp << 6) | (s[*i + k] & 0x3f);
  }
  if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
    (*i)++;
    return 0xfffd;
  }
  *i += n + 1;
  return cp;
}

static size_t utf8_put(uint32_t cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

static int range_kind(const uni_range_t *r, size_t n, uint32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < r[mid].first)
      hi = mid;
    else if (cp > r[mid].last)
      lo = mid + 1;
    else
      return r[mid].kind;
  }
  return 0;
}

static const char *map_find(uint32_t cp) {
  size_t lo = 0, hi = uni_norm_map_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < uni_norm_map[mid].cp)
      hi = mid;
    else if (cp > uni_norm_map[mid].cp)
      lo = mid + 1;
    else
      return uni_norm_map[mid].to;
  }
  return NULL;
}

/* ---- encoding --------------------------------------------------------- */

typedef struct enc {
  const tokenizer_t *t;
  int32_t *ids;
  size_t n, cap; /* cap: room for content ids (max_ids - 2) */
  int truncated;
  uint32_t *norm; /* normalised code points of the current segment (owned) */
  size_t norm_len, norm_cap;
  char word[MAX_WORD_CHARS * 4 + 8]; /* UTF-8 of the current word, "##" room in front */
} enc_t;

static int emit(enc_t *e, int32_t id) {
  if (e->n >= e->cap) {
    e->truncated = 1;
    return -1;
  }
  e->ids[e->n++] = id;
  return 0;
}

static int norm_push(enc_t *e, uint32_t cp) {
  if (array_reserve(&e->norm, &e->norm_cap, e->norm_len + 1, sizeof(*e->norm), 256) != 0)
    return -1;
  e->norm[e->norm_len++] = cp;
  return 0;
}

/* BertNormalizer over one code point, from the generated tables. */
static int normalize_cp(enc_t *e, uint32_t cp) {
  switch (range_kind(uni_norm_ranges, uni_norm_ranges_count, cp)) {
  case UNI_REMOVE:
    return 0;
  case UNI_SPACE:
    return norm_push(e, ' ');
  case UNI_CJK:
    return norm_push(e, ' ') || norm_push(e, cp) || norm_push(e, ' ') ? -1 : 0;
  case UNI_HANGUL: {
    uint32_t s = cp - 0xac00, tt = s % 28;
    if (norm_push(e, 0x1100 + s / 588) || norm_push(e, 0x1161 + (s % 588) / 28))
      return -1;
    return tt ? norm_push(e, 0x11a7 + tt) : 0;
  }
  default:
    break;
  }
  const char *to = map_find(cp);
  if (!to)
    return norm_push(e, cp);
  size_t n = strlen(to), i = 0;
  while (i < n)
    if (norm_push(e, utf8_next((const unsigned char *)to, n, &i)))
      return -1;
  return 0;
}

/* WordPiece over one pre-token (norm[from, to)): greedy longest match first. */
static int wordpiece(enc_t *e, size_t from, size_t to) {
  size_t nchars = to - from;
  if (nchars > MAX_WORD_CHARS)
    return emit(e, e->t->unk);
  /* word = "##" + UTF-8; off[k] = byte offset of char k after the "##". */
  size_t off[MAX_WORD_CHARS + 1], blen = 2;
  e->word[0] = '#', e->word[1] = '#';
  for (size_t k = 0; k < nchars; k++) {
    off[k] = blen - 2;
    blen += utf8_put(e->norm[from + k], e->word + blen);
  }
  off[nchars] = blen - 2;
  int32_t pieces[MAX_WORD_CHARS];
  size_t npieces = 0, start = 0;
  while (start < nchars) {
    int32_t id = -1;
    size_t end = nchars;
    /* A continuation piece is looked up as "##" + piece: write the "##"
     * just in front of the piece (the word's first bytes are not needed again
     * once start > 0, and the two bytes before the word are spare). */
    if (start > 0) {
      e->word[2 + off[start] - 2] = '#';
      e->word[2 + off[start] - 1] = '#';
    }
    for (; end > start; end--) {
      const char *s = e->word + 2 + off[start] - (start > 0 ? 2 : 0);
      size_t n = off[end] - off[start] + (start > 0 ? 2 : 0);
      if ((id = vocab_find(e->t, s, n)) >= 0)
        break;
    }
    if (id < 0)
      return emit(e, e->t->unk); /* no piece: the whole word is unknown */
    pieces[npieces++] = id;
    start = end;
  }
  for (size_t k = 0; k < npieces; k++)
    if (emit(e, pieces[k]))
      return -1;
  return 0;
}

/* Normalises and pre-tokenizes raw text [s, s+len) (no special tokens in it)
 * and word-pieces every word. Returns 0, 1 when the id buffer is full, -1 on
 * allocation failure. */
static int encode_segment(enc_t *e, const char *s, size_t len) {
  e->norm_len = 0;
  for (size_t i = 0; i < len;)
    if (normalize_cp(e, utf8_next((const unsigned char *)s, len, &i)))
      return -1;
  size_t word = 0;
  for (size_t i = 0; i <= e->norm_len; i++) {
    int kind = i < e->norm_len ? range_kind(uni_pre_ranges, uni_pre_ranges_count, e->norm[i])
                               : UNI_PRE_SPACE;
    if (kind == UNI_PRE_WORD)
      continue;
    if (i > word && wordpiece(e, word, i))
      return 1;
    if (kind == UNI_PRE_PUNCT && wordpiece(e, i, i + 1))
      return 1;
    word = i + 1;
  }
  return 0;
}

int tokenizer_encode(const tokenizer_t *t, const char *text, size_t len, int32_t *ids,
                     size_t max_ids, int *truncated) {
  enc_t e = {.t = t, .ids = ids + 1, .cap = max_ids >= 2 ? max_ids - 2 : 0};
  int rc = 0;
  /* Added tokens ([CLS], [UNK]...) are matched in the raw text before any
   * normalisation, as the reference does; the text between them is encoded
   * normally. */
  size_t seg = 0, i = 0;
  while (rc == 0 && i <= len) {
    int special = -1;
    size_t slen = 0;
    if (i < len && text[i] == '[') {
      for (int k = 0; k < 5; k++) {
        slen = strlen(special_tokens[k]);
        if (t->special_ids[k] >= 0 && len - i >= slen &&
            memcmp(text + i, special_tokens[k], slen) == 0) {
          special = k;
          break;
        }
      }
    }
    if (special < 0 && i < len) {
      i++;
      continue;
    }
    if (i > seg)
      rc = encode_segment(&e, text + seg, i - seg);
    if (rc == 0 && special >= 0)
      rc = emit(&e, t->special_ids[special]) ? 1 : 0;
    if (special < 0)
      break;
    i += slen;
    seg = i;
  }
  free(e.norm);
  if (rc < 0)
    return -1;
  if (max_ids < 2)
    return -1;
  ids[0] = t->cls;
  ids[e.n + 1] = t->sep;
  if (truncated)
    *truncated = e.truncated;
  return (int)e.n + 2;
}
