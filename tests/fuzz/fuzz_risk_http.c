/* fuzz_risk_http — risk-svc's HTTP request handling as a client meets it:
 * raw bytes sent to the real server (common/net/httpd.c on libmicrohttpd,
 * risk_http.c's routes, risk_api.c behind them) on a loopback port, one
 * connection per input, the write side shut so the server sees the end.
 *
 * Invariants, beyond the server not crashing, hanging or leaking: every
 * answer is an HTTP/1.1 status line with a known status; an answer of ours
 * (JSON) has a Content-Length its body matches and a JSON body; and after
 * every input the server still answers a plain request (404 for an unknown
 * path), so no input wedges it.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "risk_env.h"
#include "risk_http.h"
#include "json/jsonf.h"

static risk_http_t *server;
static int port;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char err[512];
  risk_api_t *api = risk_env_api(NULL);
  server = risk_http_start("127.0.0.1:0", 1, 16384, api, err, sizeof(err));
  if (!server) {
    fprintf(stderr, "fuzz_risk_http: %s\n", err);
    abort();
  }
  port = risk_http_port(server);
  return 0;
}

/* Sends data on a new connection and reads the answers: until the server
 * closes, or no byte came for wait_ms (libmicrohttpd keeps a connection the
 * client half-closed until its idle timeout, so silence ends the reading,
 * and the callers send a last request with "Connection: close"; a request
 * the input left unfinished may still be waited on). Returns the bytes
 * read in a malloc'd buffer. */
static char *exchange(const void *data, size_t size, int wait_ms, size_t *out_len) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0, "socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to the server");
  size_t off = 0;
  while (off < size) {
    ssize_t n = send(fd, (const char *)data + off, size - off, MSG_NOSIGNAL);
    if (n <= 0)
      break; /* the server may answer and close before reading everything */
    off += (size_t)n;
  }
  shutdown(fd, SHUT_WR);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0)
      break;
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
    ssize_t n = recv(fd, buf + len, cap - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  *out_len = len;
  return buf;
}

/* Checks every answer in buf (keep-alive: several may follow each other). */
static void check_answers(const char *buf, size_t len) {
  const char *p = buf, *end = buf + len;
  while (p < end) {
    int status = 0;
    FUZZ_CHECK(end - p >= 12 && memcmp(p, "HTTP/1.", 7) == 0 && sscanf(p + 9, "%3d", &status) == 1,
               "an answer starts with a status line");
    FUZZ_CHECK(status >= 100 && status <= 599, "a status");
    const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    FUZZ_CHECK(hend != NULL, "headers end");
    const char *body = hend + 4;
    const char *cl = memmem(p, (size_t)(hend - p), "Content-Length: ", 16);
    /* libmicrohttpd's own refusals (HTML; for a bad Content-Length it sends
     * its header block twice) end the checks: only our answers are split. */
    if (!cl || !memmem(p, (size_t)(hend - p), "application/json", 16))
      break;
    size_t n = strtoul(cl + 16, NULL, 10);
    FUZZ_CHECK(n <= (size_t)(end - body) || status >= 400, "the body has its length");
    if (n > (size_t)(end - body))
      break;
    json_t *v = jsonf_parse(body, n, 64, NULL, 0);
    FUZZ_CHECK(json_is_object(v), "a JSON answer is an object");
    json_decref(v);
    p = body + n;
  }
}

#define PROBE "GET /fuzz-probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The input, then a request that closes the connection once the input's
   * requests are answered. */
  char *req = malloc(size + sizeof(PROBE));
  memcpy(req, data, size);
  memcpy(req + size, PROBE, sizeof(PROBE) - 1);
  size_t len;
  char *ans = exchange(req, size + sizeof(PROBE) - 1, 1000, &len);
  check_answers(ans, len);
  free(ans);
  free(req);
  /* Still serving, on a connection of its own. */
  ans = exchange(PROBE, sizeof(PROBE) - 1, 5000, &len);
  FUZZ_CHECK(len > 12 && memcmp(ans + 9, "404", 3) == 0, "the server still answers");
  free(ans);
  return 0;
}
