/* safetensors — read-only view of a .safetensors file: an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets}}, then the
 * raw tensor bytes. The file is mapped (never copied) and every entry is
 * checked against the file before a pointer to it is handed out: offsets in
 * range and ordered, byte size = product(shape) x dtype size.
 */
#ifndef SENSORY_SAFETENSORS_H
#define SENSORY_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef struct st_file st_file_t;

typedef struct st_tensor {
  const char *name;  /* owned by the st_file_t */
  const char *dtype; /* "F32", "F16", ... owned by the st_file_t */
  int ndim;
  int64_t shape[ST_MAX_DIMS];
  const void *data; /* inside the mapping; 4-byte aligned for F32 or NULL */
  size_t nbytes;
} st_tensor_t;

/* Maps and validates path. Caller owns the result (st_close). NULL + errstr
 * naming the file (and tensor, when one is at fault) on any error. */
st_file_t *st_open(const char *path, char *errstr, size_t errstr_size);

/* Unmaps and frees; NULL is accepted. */
void st_close(st_file_t *f);

/* The tensor called name, or NULL. The result is owned by f. */
const st_tensor_t *st_find(const st_file_t *f, const char *name);

/* Number of tensors, and the i-th in header order (owned by f). */
size_t st_count(const st_file_t *f);
const st_tensor_t *st_at(const st_file_t *f, size_t i);

#endif
