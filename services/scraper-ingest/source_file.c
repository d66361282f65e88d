/* The file / stdin source: JSON lines already in a source-topic schema, for
 * backfills, demos and offline tests. Every non-blank line ends as a record
 * or a dead letter. The cursor is the byte offset after the last line whose
 * record (or dead letter) was acknowledged, so a re-run resumes there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

/* Reads one line into buf (at most cap bytes kept; the rest of a longer line
 * is skipped). Returns the line's full length, -1 at end of input. *consumed
 * gets the bytes read including the newline. */
static long long read_line(FILE *in, char *buf, size_t cap, size_t *kept, size_t *consumed) {
  long long total = 0;
  size_t n = 0, used = 0;
  int c;
  while ((c = getc_unlocked(in)) != EOF) {
    used++;
    if (c == '\n') {
      *kept = n;
      *consumed = used;
      return total;
    }
    if (n < cap)
      buf[n++] = (char)c;
    total++;
  }
  *kept = n;
  *consumed = used;
  return used > 0 ? total : -1;
}

void scr_src_file(scr_run_t *run, scr_stats_t *st, const char *path, const char *topic) {
  int is_stdin = strcmp(path, "-") == 0;
  char stream[4096], cursor[SCR_CURSOR_MAX];
  snprintf(stream, sizeof(stream), "%s:%s", topic, path);
  FILE *in = is_stdin ? stdin : fopen(path, "r");
  if (!in) {
    st->status = SCR_SRC_UNREACHABLE;
    snprintf(st->error, sizeof(st->error), "cannot open %s: %s", path, strerror(errno));
    return;
  }
  long long offset = 0;
  if (!is_stdin) {
    if (scr_cursor(run, st, stream, cursor, sizeof(cursor)) != 0)
      goto out;
    if (cursor[0]) {
      char *end;
      offset = strtoll(cursor, &end, 10);
      if (*end || offset < 0 || fseeko(in, offset, SEEK_SET) != 0) {
        st->status = SCR_SRC_PARTIAL;
        snprintf(st->error, sizeof(st->error), "stored cursor '%.64s' is not an offset of %.512s",
                 cursor, path);
        goto out;
      }
    }
  }
  size_t cap = (size_t)run->cfg->max_message_bytes;
  char *buf = malloc(cap + 1); /* one line at a time, owned here */
  if (!buf) {
    st->status = SCR_SRC_KAFKA;
    snprintf(st->error, sizeof(st->error), "out of memory");
    goto out;
  }
  long long full, line_no = 0;
  size_t kept, used;
  uint64_t in_batch = 0;
  char value[32];
  while ((full = read_line(in, buf, cap, &kept, &used)) >= 0) {
    line_no++;
    offset += (long long)used;
    if (kept == 0 || strspn(buf, " \t\r") == kept)
      continue; /* blank lines are not records */
    buf[kept] = '\0';
    st->fetched++;
    int rc;
    if (full > (long long)cap) {
      rc = scr_dead_letter(run, st, topic, NULL, buf, kept, line_no, "too_large",
                           "line longer than message.max_bytes (payload cut)", NULL);
    } else {
      json_error_t jerr;
      json_t *doc = json_loadb(buf, kept, 0, &jerr);
      if (!doc || !json_is_object(doc)) {
        char why[128];
        /* jansson's text may quote the input: report the position only. */
        if (doc)
          snprintf(why, sizeof(why), "not a JSON object");
        else
          snprintf(why, sizeof(why), "not valid JSON (column %d)", jerr.column);
        rc = scr_dead_letter(run, st, topic, NULL, buf, kept, line_no, "invalid_json", why, NULL);
      } else {
        rc = scr_emit(run, st, topic, doc, buf, kept, line_no);
      }
      json_decref(doc);
    }
    if (rc != 0)
      break;
    if (++in_batch >= (uint64_t)run->cfg->file_batch || signals_stop) {
      snprintf(value, sizeof(value), "%lld", offset);
      st->pages++;
      if (scr_checkpoint(run, st, stream, is_stdin ? NULL : value) != 0)
        break;
      in_batch = 0;
      if (scr_stopping(st))
        break;
    }
  }
  if (st->status == SCR_SRC_OK && ferror(in)) {
    st->status = SCR_SRC_PARTIAL;
    snprintf(st->error, sizeof(st->error), "read error on %s", path);
  }
  if (st->status == SCR_SRC_OK) {
    snprintf(value, sizeof(value), "%lld", offset);
    if (in_batch)
      st->pages++;
    scr_checkpoint(run, st, stream, is_stdin ? NULL : value);
  }
  free(buf);
out:
  if (!is_stdin)
    fclose(in);
}
