/* fuzz_safetensors — the embedder's model file reader (safetensors.h): an
 * 8-byte header length, a JSON header, tensor bytes. A model file is handed
 * over by whoever deploys it; a corrupt or hostile one must be refused, never
 * read out of bounds.
 *
 * Invariants, beyond not crashing: every tensor the reader hands out lies in
 * the data section (its bytes are read here), is aligned, holds
 * product(shape) x dtype size bytes and overlaps no other; st_find finds each
 * by name; and whether a file is accepted does not depend on the order of
 * the header's entries (the same file with them reversed).
 */
#include <jansson.h>

#include "fuzz.h"
#include "safetensors.h"

static size_t dtype_size(const char *dt) {
  static const char *const names[] = {"F64", "F32", "F16", "BF16",    "I64",
                                      "I32", "I16", "I8",  "U8",      "BOOL",
                                      "U16", "U32", "U64", "F8_E4M3", "F8_E5M2"};
  static const size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 1, 2, 4, 8, 1, 1};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    if (strcmp(dt, names[i]) == 0)
      return sizes[i];
  return 0;
}

static st_file_t *open_bytes(const uint8_t *data, size_t size, char *err, size_t err_size) {
  char path[64];
  int fd = fuzz_memfile(data, size, path, sizeof(path));
  FUZZ_CHECK(fd >= 0, "memfd");
  st_file_t *f = st_open(path, err, err_size);
  close(fd);
  return f;
}

static void check_file(const st_file_t *f, const uint8_t *data, size_t size) {
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | data[i];
  size_t n = st_count(f);
  volatile uint8_t sink = 0;
  for (size_t i = 0; i < n; i++) {
    const st_tensor_t *t = st_at(f, i);
    size_t es = dtype_size(t->dtype);
    FUZZ_CHECK(es > 0, "a known dtype");
    FUZZ_CHECK(t->ndim >= 0 && t->ndim <= ST_MAX_DIMS, "dimensions");
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++)
      numel *= (uint64_t)t->shape[d];
    FUZZ_CHECK(t->nbytes == numel * es, "bytes = product(shape) x dtype size");
    FUZZ_CHECK(t->nbytes == 0 || t->data, "data");
    if (t->nbytes) {
      /* Offsets into this input: data section [8 + hlen, size). */
      const uint8_t *base = (const uint8_t *)t->data;
      FUZZ_CHECK((uintptr_t)base % es == 0, "aligned data");
      for (size_t b = 0; b < t->nbytes; b++)
        sink ^= base[b]; /* a read past the mapping would fault here */
    }
    FUZZ_CHECK(strcmp(st_find(f, t->name)->name, t->name) == 0, "st_find finds it");
    for (size_t j = 0; j < i; j++) {
      const st_tensor_t *u = st_at(f, j);
      const uint8_t *a = t->data, *b = u->data;
      if (t->nbytes && u->nbytes)
        FUZZ_CHECK(a + t->nbytes <= b || b + u->nbytes <= a, "tensors do not overlap");
    }
  }
  (void)sink;
  (void)size;
}

/* The same file with the header's entries in reverse order, the header padded
 * with spaces to its old length so the data stays where it was; NULL when
 * that does not fit. */
static uint8_t *reversed(const uint8_t *data, size_t size) {
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | data[i];
  json_t *h = json_loadb((const char *)data + 8, (size_t)hlen, 0, NULL);
  if (!json_is_object(h)) {
    json_decref(h);
    return NULL;
  }
  size_t n = json_object_size(h), k = 0;
  const char **keys = calloc(n + 1, sizeof(*keys));
  const char *key;
  json_t *v;
  json_object_foreach(h, key, v) keys[k++] = key;
  json_t *r = json_object();
  while (k > 0) {
    k--;
    json_object_set(r, keys[k], json_object_get(h, keys[k]));
  }
  char *text = json_dumps(r, JSON_COMPACT);
  uint8_t *out = NULL;
  if (text && strlen(text) <= hlen) {
    out = malloc(size);
    memcpy(out, data, size);
    memset(out + 8, ' ', (size_t)hlen);
    memcpy(out + 8, text, strlen(text));
  }
  free(text);
  free(keys);
  json_decref(r);
  json_decref(h);
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[1024];
  st_file_t *f = open_bytes(data, size, err, sizeof(err));
  if (f)
    check_file(f, data, size);
  else
    FUZZ_CHECK(err[0] != '\0', "a refused file says why");
  if (size >= 8) {
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
      hlen = hlen << 8 | data[i];
    uint8_t *rev = hlen <= size - 8 ? reversed(data, size) : NULL;
    if (rev) {
      st_file_t *g = open_bytes(rev, size, err, sizeof(err));
      FUZZ_CHECK((f != NULL) == (g != NULL), "the order of the header's entries does not matter");
      st_close(g);
      free(rev);
    }
  }
  st_close(f);
  return 0;
}
