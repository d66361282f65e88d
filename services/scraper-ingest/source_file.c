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

typedef struct file {
  FILE *in;
  const char *path, *topic;
  char *buf; /* one line, at most max_message_bytes kept */
  size_t cap;
  long long offset, line_no;
} file_t;

static int file_begin(scr_loop_t *lp) {
  file_t *f = lp->self;
  if (!lp->cursor[0])
    return 0;
  char *end;
  f->offset = strtoll(lp->cursor, &end, 10);
  if (*end || f->offset < 0 || fseeko(f->in, f->offset, SEEK_SET) != 0)
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "stored cursor '%.64s' is not an offset of %.512s",
                         lp->cursor, f->path);
  return 0;
}

/* A page is file.batch records; it ends early at the end of the input or
 * when a stop is requested (then the lines read so far are checkpointed). */
static int file_read(scr_loop_t *lp, scr_page_t *page) {
  file_t *f = lp->self;
  scr_run_t *run = lp->run;
  scr_stats_t *st = lp->st;
  long long full;
  size_t kept, used;
  uint64_t n = 0;
  int eof = 0;
  while (n < (uint64_t)run->cfg->file_batch && !signals_stop &&
         !(eof = (full = read_line(f->in, f->buf, f->cap, &kept, &used)) < 0)) {
    f->line_no++;
    f->offset += (long long)used;
    if (kept == 0 || strspn(f->buf, " \t\r") == kept)
      continue; /* blank lines are not records */
    f->buf[kept] = '\0';
    st->fetched++;
    n++;
    int rc;
    if (full > (long long)f->cap) {
      rc = scr_dead_letter(run, st, f->topic, NULL, f->buf, kept, f->line_no, "too_large",
                           "line longer than message.max_bytes (payload cut)", NULL);
    } else {
      json_error_t jerr;
      json_t *doc = json_loadb(f->buf, kept, 0, &jerr);
      if (!doc || !json_is_object(doc)) {
        char why[128];
        /* jansson's text may quote the input: report the position only. */
        if (doc)
          snprintf(why, sizeof(why), "not a JSON object");
        else
          snprintf(why, sizeof(why), "not valid JSON (column %d)", jerr.column);
        rc = scr_dead_letter(run, st, f->topic, NULL, f->buf, kept, f->line_no, "invalid_json", why,
                             NULL);
      } else {
        rc = scr_emit(run, st, f->topic, doc, f->buf, kept, f->line_no);
      }
      json_decref(doc);
    }
    if (rc != 0)
      return -1;
  }
  if (ferror(f->in))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "read error on %s", f->path);
  page->more = !eof;
  page->empty = n == 0;
  snprintf(page->cursor, sizeof(page->cursor), "%lld", f->offset);
  return 0;
}

void scr_src_file(scr_run_t *run, scr_stats_t *st, const char *path, const char *topic) {
  int is_stdin = strcmp(path, "-") == 0;
  char stream[4096];
  snprintf(stream, sizeof(stream), "%s:%s", topic, path);
  file_t f = {.path = path, .topic = topic, .cap = (size_t)run->cfg->max_message_bytes};
  if (!(f.in = is_stdin ? stdin : fopen(path, "r"))) {
    st->status = SCR_SRC_UNREACHABLE;
    snprintf(st->error, sizeof(st->error), "cannot open %s: %s", path, strerror(errno));
    return;
  }
  if (!(f.buf = malloc(f.cap + 1))) { /* owned here */
    st->status = SCR_SRC_KAFKA;
    snprintf(st->error, sizeof(st->error), "out of memory");
  } else {
    const char *streams[] = {stream};
    scr_loop_spec_t spec = {.topic = topic,
                            .streams = streams,
                            .nstreams = 1,
                            .no_cursor = is_stdin, /* stdin cannot be resumed */
                            .unbounded = 1,        /* a file is read to its end */
                            .self = &f,
                            .begin = file_begin,
                            .read = file_read};
    scr_page_loop(run, st, &spec);
  }
  free(f.buf);
  if (!is_stdin)
    fclose(f.in);
}
