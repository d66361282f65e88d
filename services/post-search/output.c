/* output: post-search's readable table and its JSON lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "search.h"
#include "json/jsonf.h"

/* The first max characters (code points) of s on one line: control
 * characters become spaces, "…" marks a cut. */
static void print_start(FILE *out, const char *s, size_t max) {
  size_t len = strlen(s), at = 0, chars = 0;
  while (at < len && chars < max) {
    uint32_t cp;
    size_t k = utf8_decode(s + at, len - at, &cp);
    if (k == 0)
      break;
    if (cp < 0x20 || cp == 0x7f)
      fputc(' ', out);
    else
      fwrite(s + at, 1, k, out);
    at += k;
    chars++;
  }
  if (at < len)
    fputs("\xe2\x80\xa6", out);
}

void ps_print_table(FILE *out, const ps_row_t *rows, size_t n) {
  fprintf(out, "%4s  %-7s  %-8s  %-10s  %-24s  %s\n", "rank", "score", "platform", "date",
          "post id", "content");
  for (size_t i = 0; i < n; i++) {
    const ps_row_t *r = &rows[i];
    fprintf(out, "%4zu  %7.4f  %-8s  %-10.10s  %-24s  ", i + 1, r->score,
            r->platform ? r->platform : "", r->timestamp ? r->timestamp : "",
            r->post_id ? r->post_id : "");
    print_start(out, r->content ? r->content : "", 80);
    fputc('\n', out);
  }
}

void ps_print_json(FILE *out, const ps_row_t *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const ps_row_t *r = &rows[i];
    json_t *o =
        json_pack("{s:I, s:f, s:s, s:s, s:s, s:s, s:I, s:s}", "rank", (json_int_t)(i + 1), "score",
                  r->score, "id", r->id, "post_id", r->post_id ? r->post_id : "", "platform",
                  r->platform ? r->platform : "", "timestamp", r->timestamp ? r->timestamp : "",
                  "engagement", (json_int_t)r->engagement, "content", r->content ? r->content : "");
    if (!o)
      continue;
    json_t *h = r->hashtags ? jsonf_parse(r->hashtags, strlen(r->hashtags), 4, NULL, 0) : NULL;
    json_t *p =
        r->product_ids ? jsonf_parse(r->product_ids, strlen(r->product_ids), 4, NULL, 0) : NULL;
    json_object_set_new(o, "hashtags", h ? h : json_array());
    json_object_set_new(o, "product_ids", p ? p : json_array());
    if (r->has_parts) {
      if (r->in_vector)
        json_object_set_new(o, "vector_score", json_real(r->vector_score));
      if (r->in_keyword)
        json_object_set_new(o, "keyword_score", json_real(r->keyword_score));
    }
    char *s = jsonf_dumps(o, NULL);
    json_decref(o);
    if (s)
      fprintf(out, "%s\n", s);
    free(s);
  }
}

void ps_rows_free(ps_row_t *rows, size_t n) {
  for (size_t i = 0; rows && i < n; i++) {
    free(rows[i].post_id);
    free(rows[i].platform);
    free(rows[i].timestamp);
    free(rows[i].content);
    free(rows[i].hashtags);
    free(rows[i].product_ids);
  }
  free(rows);
}
