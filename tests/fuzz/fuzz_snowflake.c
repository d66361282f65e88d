/* fuzz_snowflake — snowflake-sink's reader of Snowflake SQL API answers
 * (snowflake_api.h): any body with any of the statuses the store sees, and
 * the redaction of the messages it keeps.
 *
 * Invariants, beyond not crashing: a known outcome; code, SQLSTATE, handle
 * and message NUL-terminated in their fields; a handle only of UUID
 * characters (it goes into a URL path); no quoted text of Snowflake's
 * message survives (values are quoted there); 200 is done, 202 with a
 * handle running.
 */
#include <jansson.h>

#include "fuzz.h"
#include "snowflake_api.h"

static void check(long status, const char *body, size_t len) {
  sfapi_result_t r;
  sfapi_parse(status, body, len, &r);
  FUZZ_CHECK(r.outcome >= SFAPI_DONE && r.outcome <= SFAPI_FATAL, "a known outcome");
  FUZZ_CHECK(memchr(r.code, 0, sizeof(r.code)) && memchr(r.sql_state, 0, sizeof(r.sql_state)) &&
                 memchr(r.handle, 0, sizeof(r.handle)) && memchr(r.message, 0, sizeof(r.message)),
             "fields are NUL-terminated");
  FUZZ_CHECK(strspn(r.handle, "0123456789abcdefABCDEF-") == strlen(r.handle),
             "a handle is UUID characters");
  FUZZ_CHECK(r.message[0] != '\0', "a message says something");
  if (status == 200)
    FUZZ_CHECK(r.outcome == SFAPI_DONE, "200 is done");
  if (status == 202)
    FUZZ_CHECK(r.outcome == (r.handle[0] ? SFAPI_RUNNING : SFAPI_RETRY), "202 polls its handle");
  /* The message as the body gave it: nothing between quotes survives
   * (unless the same text also stands outside quotes). */
  const char *given = json_string_value(json_object_get(r.doc, "message"));
  if (given) {
    size_t gl = strlen(given);
    char *outside = malloc(gl + 1);
    size_t ol = 0;
    for (const char *p = given; *p;) {
      const char *q = strpbrk(p, "'\"");
      size_t plain = q ? (size_t)(q - p) : strlen(p);
      memcpy(outside + ol, p, plain);
      ol += plain;
      if (!q)
        break;
      outside[ol++] = '\1';
      const char *e = strchr(q + 1, *q);
      p = e ? e + 1 : q + strlen(q);
    }
    for (const char *p = given; *p;) {
      const char *q = strpbrk(p, "'\"");
      if (!q)
        break;
      const char *e = strchr(q + 1, *q);
      size_t n = e ? (size_t)(e - q - 1) : strlen(q + 1);
      /* Each run of the quoted text between quote marks: the marks are no
       * value, and the redaction keeps those of empty pairs, so a quoted
       * text of marks around one character is found again in its output. */
      for (size_t k = 0; k < n;) {
        size_t run = strcspn(q + 1 + k, "'\"");
        if (run > n - k)
          run = n - k;
        const char *v = q + 1 + k;
        if (run >= 4 && !fuzz_contains(outside, ol, v, run) &&
            fuzz_contains(r.message, strlen(r.message), v, run)) {
          fprintf(stderr, "fuzz_snowflake: \"%s\" kept \"%.*s\"\n", r.message, (int)run, v);
          FUZZ_CHECK(0, "quoted text is redacted");
        }
        k += run + 1;
      }
      p = e ? e + 1 : q + 1 + n;
    }
    free(outside);
  }
  sfapi_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const long statuses[] = {200, 202, 400, 401, 408, 422, 429, 500, 503, 0};
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
    check(statuses[i], (const char *)data, size);
  /* The input as a message to redact in place (as sfapi_parse does). */
  char msg[512];
  size_t n = size < sizeof(msg) - 1 ? size : sizeof(msg) - 1;
  memcpy(msg, data, n);
  msg[n] = '\0';
  sfapi_redact(msg);
  FUZZ_CHECK(strlen(msg) < sizeof(msg), "a redacted message fits");
  return 0;
}
