/* fuzz_http_client — the response headers the HTTP client reads for its
 * callers (net/http_client.h): the Link header whose rel="next" target the
 * scraper follows, Retry-After, and the URL escaping applied to values from
 * pages (cursors) before they go into a URL.
 *
 * Invariants, beyond not crashing or hanging: a next link is exactly the
 * text between a '<' and the '>' after it, and "does not fit" only when it
 * does not; Retry-After is -1 or a wait >= 0; an escaped value holds only
 * unreserved characters and %XX, and unescapes to the value.
 */
#include "fuzz.h"
#include "net/http_client.h"

static int unhex(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = strndup((const char *)data, size);
  FUZZ_CHECK(s != NULL, "strndup");
  size_t len = strlen(s);

  char out[256];
  int rc = http_link_next(s, out, sizeof(out));
  FUZZ_CHECK(rc >= -1 && rc <= 1, "1, 0 or -1");
  if (rc == 1) {
    char *lt = malloc(strlen(out) + 3);
    snprintf(lt, strlen(out) + 3, "<%s>", out);
    FUZZ_CHECK(strstr(s, lt) != NULL, "the next link is a <...> of the header");
    FUZZ_CHECK(!strchr(out, '>'), "a link ends at the first '>'");
    free(lt);
  }
  if (rc == -1) {
    char *big = malloc(len + 1);
    FUZZ_CHECK(http_link_next(s, big, len + 1) == 1, "-1 only when the link does not fit");
    FUZZ_CHECK(strlen(big) + 1 > sizeof(out), "it did not fit");
    free(big);
  }

  long wait = http_retry_after_parse(s, 1700000000L);
  FUZZ_CHECK(wait >= -1, "Retry-After is -1 or a wait");

  size_t cap = 3 * len + 1;
  char *esc = malloc(cap), *back = malloc(len + 1);
  FUZZ_CHECK(http_url_escape(s, esc, cap) == 0, "3 bytes a byte always fit");
  size_t o = 0;
  for (const char *p = esc; *p; p++) {
    if (*p == '%') {
      int hi = unhex(p[1]), lo = hi < 0 ? -1 : unhex(p[2]);
      FUZZ_CHECK(hi >= 0 && lo >= 0, "%XX");
      back[o++] = (char)(hi << 4 | lo);
      p += 2;
    } else {
      FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~", *p),
                 "only unreserved characters stay");
      back[o++] = *p;
    }
  }
  FUZZ_CHECK(o == len && memcmp(back, s, len) == 0, "escaping is reversible");
  FUZZ_CHECK(len == 0 || http_url_escape(s, esc, strlen(esc)) == -1, "one byte short: -1");
  free(esc);
  free(back);
  free(s);
  return 0;
}
