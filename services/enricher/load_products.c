/* load_products — `enricher load-products FILE`: the operator's bulk load of
 * a product catalogue into Redis, in pipelined batches with the newer-wins
 * script (rstore), bad rows reported and skipped. */
#include "load_products.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "loader.h"
#include "rstore.h"

/* Sends one batch, retrying a lost connection a few times (the script is
 * newer-wins, so resending rows already written changes nothing). */
static int load_batch(redis_t *store, const product_t *ps, const int64_t *ts, size_t n,
                      size_t *applied, size_t *stale) {
  char errstr[512];
  for (int attempt = 0;; attempt++) {
    size_t a = 0, s = 0;
    if (rstore_load(store, ps, ts, n, &a, &s, errstr, sizeof(errstr)) == 0) {
      *applied += a;
      *stale += s;
      return 0;
    }
    if (attempt == 4) {
      log_error("load_failed", "redis: %s", errstr);
      return -1;
    }
    log_warn("redis_unavailable", "redis: %s; retrying", errstr);
    struct timespec pause = {0, 200000000L << (attempt > 2 ? 2 : attempt)};
    nanosleep(&pause, NULL);
  }
}

int load_products(redis_t *store, const char *path, size_t batch) {
  char errstr[512];
  loader_format_t fmt;
  if (loader_format_for(path, &fmt, errstr, sizeof(errstr)) != 0) {
    log_error("usage", "%s", errstr);
    return 2;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    log_error("usage", "cannot open %s: %s", path, strerror(errno));
    return 2;
  }
  size_t cap = batch, n = 0, rows = 0, bad = 0, applied = 0, stale = 0;
  product_t *ps = calloc(cap, sizeof(*ps));
  int64_t *ts = calloc(cap, sizeof(*ts));
  loader_t *l = loader_new(f, fmt);
  int rc = 0, r;
  if (!ps || !ts || !l) {
    log_error("internal", "out of memory");
    rc = 1;
    goto out;
  }
  int64_t now = clock_wall_ms();
  while ((r = loader_next(l, &ps[n], &ts[n], errstr, sizeof(errstr))) != LOADER_EOF) {
    if (r == LOADER_FATAL) {
      log_error("bad_file", "%s: %s", path, errstr);
      rc = 1;
      break;
    }
    if (r == LOADER_BAD_ROW) {
      bad++;
      log_warn("bad_row", "%s: %s", path, errstr);
      continue;
    }
    rows++;
    if (ts[n] < 0)
      ts[n] = now;
    if (++n == cap) {
      rc = load_batch(store, ps, ts, n, &applied, &stale);
      for (size_t i = 0; i < n; i++)
        product_clear(&ps[i]);
      n = 0;
      if (rc != 0)
        break;
    }
  }
  if (rc == 0 && n)
    rc = load_batch(store, ps, ts, n, &applied, &stale);
  if (rc != 0 || bad)
    rc = 1;
  printf("rows %zu loaded %zu stale %zu bad %zu\n", rows, applied, stale, bad);
  log_event(LOG_LEVEL_INFO, "load_products",
            json_pack("{s:I,s:I,s:I,s:I}", "rows", (json_int_t)rows, "loaded", (json_int_t)applied,
                      "stale", (json_int_t)stale, "bad", (json_int_t)bad),
            "load-products finished");
out:
  for (size_t i = 0; ps && i < n; i++)
    product_clear(&ps[i]);
  loader_destroy(l);
  free(ps);
  free(ts);
  fclose(f);
  return rc;
}
