#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header beyond this is not a model file (the real one is ~20 KB). */
#define ST_MAX_HEADER (100u << 20)

struct st_file {
  void *map; /* the whole file (owned, munmap) */
  size_t map_len;
  json_t *header; /* owns the name and dtype strings */
  st_tensor_t *tensors;
  size_t count;
};

void st_close(st_file_t *f) {
  if (!f)
    return;
  if (f->map && f->map != MAP_FAILED)
    munmap(f->map, f->map_len);
  json_decref(f->header);
  free(f->tensors);
  free(f);
}

static size_t dtype_size(const char *dt) {
  static const struct {
    const char *name;
    size_t size;
  } types[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},    {"I64", 8},
               {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},      {"BOOL", 1},
               {"U16", 2}, {"U32", 4}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (strcmp(dt, types[i].name) == 0)
      return types[i].size;
  return 0;
}

/* Fills t from one header entry; data_len is the size of the byte buffer. */
static int parse_entry(const char *path, const char *name, json_t *v, const uint8_t *data,
                       size_t data_len, st_tensor_t *t, char *errstr, size_t errstr_size) {
  json_t *dtype = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
         *offs = json_object_get(v, "data_offsets");
  if (!json_is_object(v) || !json_is_string(dtype) || !json_is_array(shape) ||
      !json_is_array(offs) || json_array_size(offs) != 2 || json_array_size(shape) > ST_MAX_DIMS) {
    snprintf(errstr, errstr_size,
             "%s: tensor %s: header entry needs dtype, shape (<= %d dims) "
             "and data_offsets [begin, end]",
             path, name, ST_MAX_DIMS);
    return -1;
  }
  t->name = name;
  t->dtype = json_string_value(dtype);
  size_t esize = dtype_size(t->dtype);
  if (!esize) {
    snprintf(errstr, errstr_size, "%s: tensor %s: unknown dtype %s", path, name, t->dtype);
    return -1;
  }
  t->ndim = (int)json_array_size(shape);
  uint64_t numel = 1;
  for (int d = 0; d < t->ndim; d++) {
    json_t *dim = json_array_get(shape, (size_t)d);
    if (!json_is_integer(dim) || json_integer_value(dim) < 0 ||
        json_integer_value(dim) > (INT64_C(1) << 40)) {
      snprintf(errstr, errstr_size, "%s: tensor %s: bad shape", path, name);
      return -1;
    }
    t->shape[d] = json_integer_value(dim);
    numel *= (uint64_t)t->shape[d];
    if (numel > (UINT64_C(1) << 40)) {
      snprintf(errstr, errstr_size, "%s: tensor %s: shape too large", path, name);
      return -1;
    }
  }
  json_t *b = json_array_get(offs, 0), *e = json_array_get(offs, 1);
  if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
      json_integer_value(e) < json_integer_value(b) || (uint64_t)json_integer_value(e) > data_len) {
    snprintf(errstr, errstr_size,
             "%s: tensor %s: data_offsets outside the %zu data bytes (file truncated or "
             "header corrupt)",
             path, name, data_len);
    return -1;
  }
  uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(e);
  if (end - begin != numel * esize) {
    snprintf(errstr, errstr_size,
             "%s: tensor %s: data_offsets span %llu bytes but shape x %s needs %llu", path, name,
             (unsigned long long)(end - begin), t->dtype, (unsigned long long)(numel * esize));
    return -1;
  }
  t->nbytes = (size_t)(end - begin);
  /* Unaligned data cannot be read as float in place; the format aligns it,
   * a file that does not is rejected rather than silently copied. */
  if (((uintptr_t)(data + begin)) % esize != 0) {
    snprintf(errstr, errstr_size, "%s: tensor %s: data not aligned to %zu bytes", path, name,
             esize);
    return -1;
  }
  t->data = data + begin;
  return 0;
}

static int by_offset(const void *a, const void *b) {
  const st_tensor_t *x = a, *y = b;
  return x->data < y->data ? -1 : x->data > y->data;
}

st_file_t *st_open(const char *path, char *errstr, size_t errstr_size) {
  st_file_t *f = calloc(1, sizeof(*f)); /* caller owns: st_close() */
  int fd = -1;
  struct stat sb;
  if (!f) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
    snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
    goto fail;
  }
  if (sb.st_size < 8) {
    snprintf(errstr, errstr_size, "%s: %lld bytes, too short for a safetensors file", path,
             (long long)sb.st_size);
    goto fail;
  }
  f->map_len = (size_t)sb.st_size;
  f->map = mmap(NULL, f->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (f->map == MAP_FAILED) {
    f->map = NULL;
    snprintf(errstr, errstr_size, "%s: mmap: %s", path, strerror(errno));
    goto fail;
  }
  close(fd);
  fd = -1;
  const uint8_t *p = f->map;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | p[i];
  if (hlen == 0 || hlen > ST_MAX_HEADER || hlen > f->map_len - 8) {
    snprintf(errstr, errstr_size,
             "%s: header length %llu does not fit the %zu-byte file "
             "(truncated or not safetensors)",
             path, (unsigned long long)hlen, f->map_len);
    goto fail;
  }
  json_error_t jerr;
  f->header = json_loadb((const char *)p + 8, (size_t)hlen, 0, &jerr);
  if (!json_is_object(f->header)) {
    snprintf(errstr, errstr_size, "%s: header is not a JSON object: %s", path, jerr.text);
    goto fail;
  }
  size_t n = json_object_size(f->header);
  if (!(f->tensors = calloc(n ? n : 1, sizeof(*f->tensors)))) {
    snprintf(errstr, errstr_size, "out of memory");
    goto fail;
  }
  const uint8_t *data = p + 8 + hlen;
  size_t data_len = f->map_len - 8 - (size_t)hlen;
  const char *name;
  json_t *v;
  json_object_foreach(f->header, name, v) {
    if (strcmp(name, "__metadata__") == 0)
      continue;
    if (parse_entry(path, name, v, data, data_len, &f->tensors[f->count], errstr, errstr_size))
      goto fail;
    f->count++;
  }
  /* Tensors must not overlap: a header that points two names at the same
   * bytes is corrupt even when each range is in bounds. An empty tensor
   * holds no bytes and overlaps nothing: left in, whether it collided with
   * a tensor starting at its offset depended on qsort's order among equal
   * offsets, i.e. on the order of the header's entries. */
  st_tensor_t *sorted = malloc((f->count ? f->count : 1) * sizeof(*sorted));
  if (!sorted) {
    snprintf(errstr, errstr_size, "out of memory");
    goto fail;
  }
  size_t nonempty = 0;
  for (size_t i = 0; i < f->count; i++)
    if (f->tensors[i].nbytes)
      sorted[nonempty++] = f->tensors[i];
  qsort(sorted, nonempty, sizeof(*sorted), by_offset);
  for (size_t i = 1; i < nonempty; i++) {
    if ((const uint8_t *)sorted[i - 1].data + sorted[i - 1].nbytes >
        (const uint8_t *)sorted[i].data) {
      snprintf(errstr, errstr_size, "%s: tensors %s and %s overlap (header lies about offsets)",
               path, sorted[i - 1].name, sorted[i].name);
      free(sorted);
      goto fail;
    }
  }
  free(sorted);
  return f;
fail:
  if (fd >= 0)
    close(fd);
  st_close(f);
  return NULL;
}

const st_tensor_t *st_find(const st_file_t *f, const char *name) {
  for (size_t i = 0; i < f->count; i++)
    if (strcmp(f->tensors[i].name, name) == 0)
      return &f->tensors[i];
  return NULL;
}

size_t st_count(const st_file_t *f) {
  return f->count;
}

const st_tensor_t *st_at(const st_file_t *f, size_t i) {
  return i < f->count ? &f->tensors[i] : NULL;
}
