/* httpd_bench — a server with two trivial JSON routes on common/net/httpd,
 * for wrk (httpd_bench.sh): GET /ping answers {"ok":true}; POST /score
 * parses a small JSON body (HTTPD_JSON) and answers {"order_id":..,
 * "score":..}, the shape of risk-svc's route without its Redis and rules.
 *   httpd_bench ADDR [THREADS]   prints the port, serves until SIGINT/TERM */
#include "net/httpd.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void on_ping(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  httpd_respond_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static void on_score(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  const char *order = json_string_value(json_object_get(req->json, "order_id"));
  double amount = json_number_value(json_object_get(req->json, "amount"));
  if (!order) {
    httpd_respond_error(resp, 400, "contract_violation", "order_id is required", "/order_id");
    return;
  }
  httpd_respond_json(resp, 200,
                     json_pack("{s:s,s:i,s:s}", "order_id", order, "score", amount > 5000 ? 60 : 10,
                               "decision", "accept"));
}

int main(int argc, char **argv) {
  char err[256];
  if (argc < 2) {
    fprintf(stderr, "usage: httpd_bench ADDR [THREADS]\n");
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server's threads exist */
  httpd_opts_t o = {.addr = argv[1],
                    .threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1};
  httpd_t *h = httpd_new(&o, err, sizeof(err));
  if (!h || httpd_route(h, "GET", "/ping", 0, 0, on_ping, NULL, err, sizeof(err)) != 0 ||
      httpd_route(h, "POST", "/score", HTTPD_JSON, 0, on_score, NULL, err, sizeof(err)) != 0 ||
      httpd_start(h, err, sizeof(err)) != 0) {
    fprintf(stderr, "httpd_bench: %s\n", err);
    httpd_destroy(h);
    return 1;
  }
  printf("%d\n", httpd_port(h));
  fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  httpd_destroy(h);
  return 0;
}
