/* post_record: vector records (and their deletions) → rows the two stores
 * write; the record checks every store relies on live here. */
#include "post_record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t post_uuid_namespace[16] = {0x51, 0xcb, 0x6f, 0xfd, 0x13, 0x12, 0x5f, 0x7b,
                                         0x8e, 0xa3, 0xb4, 0x24, 0x2f, 0xe1, 0xbf, 0xe7};

static void fail_set(stage_fail_t *fail, const char *code, const char *path, const char *msg) {
  fail->code = code;
  snprintf(fail->message, sizeof(fail->message), "%s", msg);
  snprintf(fail->path, sizeof(fail->path), "%s", path);
}

void post_row_free(post_row_t *row) {
  if (!row)
    return;
  free(row->vector);
  free(row->wire);
  free(row);
}

static post_row_t *deletion(const char *post_id, size_t len, stage_fail_t *fail) {
  post_row_t *row = calloc(1, sizeof(*row)); /* caller owns: post_row_free() */
  if (!row) {
    fail->code = NULL;
    return NULL;
  }
  row->deleted = 1;
  row->post_id = post_id;
  row->post_id_len = len;
  uuid_v5(post_uuid_namespace, post_id, len, row->id);
  return row;
}

post_row_t *post_row_from_record(const schema_t *schema, const json_t *doc, const char *key,
                                 size_t key_len, stage_fail_t *fail) {
  if (!doc) {
    if (!key || !key_len) {
      fail_set(fail, "no_key", "", "a tombstone (null value) needs the post id as its key");
      return NULL;
    }
    if (key_len > 128) {
      fail_set(fail, "schema", "", "tombstone key longer than a post id (128 bytes)");
      return NULL;
    }
    return deletion(key, key_len, fail);
  }
  const json_t *del = json_object_get(doc, "deleted");
  if (del) {
    /* The explicit deletion of --stdio: exactly {"post_id", "deleted": true}. */
    const json_t *pid = json_object_get(doc, "post_id");
    if (!json_is_true(del) || !json_is_string(pid) || json_string_length(pid) == 0 ||
        json_string_length(pid) > 128 || json_object_size(doc) != 2) {
      fail_set(fail, "schema", "/deleted",
               "a deletion is exactly {\"post_id\": \"<1-128 characters>\", \"deleted\": true}");
      return NULL;
    }
    return deletion(json_string_value(pid), json_string_length(pid), fail);
  }
  char err[512];
  if (schema && schema_validate(schema, doc, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "schema", "vector_record: ", err);
    return NULL;
  }
  const json_t *pid = json_object_get(doc, "post_id"), *id = json_object_get(doc, "id");
  const json_t *vec = json_object_get(doc, "vector");
  if (!json_is_string(pid) || !json_is_string(id) || !json_is_array(vec) || !json_array_size(vec)) {
    fail_set(fail, "schema", "", "post_id, id and vector are required");
    return NULL;
  }
  post_row_t *row = calloc(1, sizeof(*row)); /* caller owns: post_row_free() */
  if (!row || !(row->vector = malloc(json_array_size(vec) * sizeof(float)))) {
    free(row);
    fail->code = NULL;
    return NULL;
  }
  row->post_id = json_string_value(pid);
  row->post_id_len = json_string_length(pid);
  uuid_v5(post_uuid_namespace, row->post_id, row->post_id_len, row->id);
  uint8_t given[16], want[16];
  if (uuid_parse(json_string_value(id), json_string_length(id), given) != 0 ||
      uuid_parse(row->id, 36, want) != 0 || memcmp(given, want, 16) != 0) {
    post_row_free(row);
    fail_set(fail, "invalid_id", "/id",
             "id is not the UUIDv5 of post_id: a redelivery would not overwrite it and a "
             "tombstone would not find it");
    return NULL;
  }
  row->dim = json_array_size(vec);
  for (size_t i = 0; i < row->dim; i++) {
    double d = json_number_value(json_array_get(vec, i));
    float f = (float)d;
    if (!isfinite(f)) {
      post_row_free(row);
      fail_set(fail, "schema", "/vector", "vector values must be finite float32 numbers");
      return NULL;
    }
    row->vector[i] = f;
  }
  const json_t *content = json_object_get(doc, "content");
  if (!json_is_string(content))
    content = json_object_get(doc, "enriched_text");
  row->doc = doc;
  row->content_v = content;
  row->content = json_string_value(content);
  row->platform = json_string_value(json_object_get(doc, "platform"));
  row->model = json_string_value(json_object_get(doc, "model"));
  row->timestamp = json_string_value(json_object_get(doc, "timestamp"));
  row->engagement = json_integer_value(json_object_get(doc, "engagement"));
  row->hashtags = json_object_get(doc, "hashtags");
  row->product_ids = json_object_get(doc, "product_ids");
  if (!row->content || !row->platform || !row->model || !row->timestamp ||
      !json_is_integer(json_object_get(doc, "engagement"))) {
    post_row_free(row);
    fail_set(fail, "schema", "",
             "platform, content or enriched_text, model, timestamp and "
             "engagement are required");
    return NULL;
  }
  return row;
}

/* 10^k for k in -64..64 (exact up to 10^22; the rest within half an ulp
 * of a double, far below what 9 digits of a float32 can see). */
static double pow10_of(int k) {
  static double table[129];
  static int ready;
  if (!ready) {
    for (int i = 0; i <= 128; i++)
      table[i] = pow(10.0, i - 64);
    ready = 1;
  }
  return table[k + 64];
}

size_t post_float_text(float f, char *out) {
  /* 9 significant digits read back as exactly the same float32 (the
   * embedder writes the same precision). Done with one multiplication and
   * integer digits instead of printf: a vector is 384 of these, and printf
   * was half the sink's time per record. The 9-digit mantissa is rounded
   * from a double, so it is within one unit of the 9th digit of the exact
   * decimal, far inside half the gap between neighbouring floats. */
  double d = (double)f;
  if (d == 0 || !isfinite(d)) {
    int n = snprintf(out, 24, "%.9g", d);
    return n > 0 ? (size_t)n : 0;
  }
  size_t o = 0;
  if (d < 0) {
    out[o++] = '-';
    d = -d;
  }
  int e = (int)floor(log10(d));
  if (e < -50 || e > 50) {
    int n = snprintf(out + o, 24 - o, "%.9g", d);
    return n > 0 ? o + (size_t)n : 0;
  }
  long long m = llround(d * pow10_of(8 - e));
  if (m >= 1000000000LL) { /* log10 rounded down a power of ten */
    m = llround(d * pow10_of(7 - e));
    e++;
  } else if (m < 100000000LL) {
    m = llround(d * pow10_of(9 - e));
    e--;
  }
  char dig[9];
  for (int i = 8; i >= 0; i--, m /= 10)
    dig[i] = (char)('0' + m % 10);
  int nd = 9;
  while (nd > 1 && dig[nd - 1] == '0')
    nd--;
  if (e >= -4 && e < 9) { /* plain notation, as %g would choose */
    if (e < 0) {
      out[o++] = '0';
      out[o++] = '.';
      for (int z = -1; z > e; z--)
        out[o++] = '0';
      for (int i = 0; i < nd; i++)
        out[o++] = dig[i];
    } else {
      for (int i = 0; i <= e; i++)
        out[o++] = i < nd ? dig[i] : '0';
      if (nd > e + 1) {
        out[o++] = '.';
        for (int i = e + 1; i < nd; i++)
          out[o++] = dig[i];
      }
    }
  } else {
    out[o++] = dig[0];
    if (nd > 1) {
      out[o++] = '.';
      for (int i = 1; i < nd; i++)
        out[o++] = dig[i];
    }
    int n = snprintf(out + o, 24 - o, "e%+03d", e);
    o += n > 0 ? (size_t)n : 0;
  }
  out[o] = '\0';
  return o;
}
