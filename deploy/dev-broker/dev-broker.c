/* dev-broker — a Kafka broker for development and tests ONLY.
 *
 * It wraps librdkafka's built-in mock cluster: the real Kafka wire protocol over
 * TCP on 127.0.0.1, every byte kept in memory. Production is Apache Kafka or
 * Redpanda; no service may depend on anything mock-specific (the control
 * channel, fault commands, the bootstrap file, or the mock's quirks below).
 *
 * Known limits of the mock (librdkafka 2.0.2), so nobody mistakes it for Kafka:
 *   - nothing is persisted; a restart loses every message and committed offset;
 *   - each partition keeps only about 5 MiB (and at most 100,000 produce
 *     batches) and silently drops the oldest data, with no error to producer
 *     or consumer. Measured: of 8,000 1-KiB messages in one partition, offsets
 *     0..2876 were gone and 5,123 remained; 150,000 small batched messages
 *     were all kept. Tests must stay well below 5 MiB per partition;
 *   - isolation.level=read_committed is not honoured;
 *   - topics.yaml retention_hours is not applied (the mock has no retention);
 *   - each mock call (topic create, fault command) runs on the mock's thread,
 *     which sometimes takes it only at its 1 s poll timeout: start-up with 13
 *     topics measured 0.04-5 s, a control reply up to ~1 s;
 *   - listeners bind random loopback ports; --port uses a bind(2) interposer
 *     (fixed_port.c) because the mock API has no listener option.
 *
 * Usage:
 *   dev-broker --topics schemas/topics.yaml [--brokers N] --bootstrap-file PATH
 *              [--port FIRST] [--control-port N | --control-fifo PATH]
 * stdout: one JSON line {"event":"ready",...} once serving (and, with a FIFO,
 * one JSON line per command reply); stderr: JSON log lines. Exit 0 after
 * SIGTERM/SIGINT, 1 on a runtime failure, 2 on bad arguments or topics file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "control.h"
#include "fixed_port.h"
#include "kafka/topics.h"

#define MAX_BROKERS 9
#define MAX_CLIENTS 16
#define LOG_LINE_MAX 2048

struct client {
  int fd;       /* -1: slot free */
  size_t len;   /* bytes buffered in line */
  int overlong; /* discarding until newline: line exceeded the cap */
  char line[DEVBROKER_CONTROL_LINE_MAX];
};

struct options {
  const char *topics_path;
  const char *bootstrap_file;
  const char *control_fifo;
  int brokers;
  int port;         /* 0: random ports (the mock's default) */
  int control_port; /* -1: no TCP control; 0: ephemeral */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* Escapes S as JSON string content into OUT (always NUL-terminated, truncated
 * at the cap). */
static void json_escape(const char *s, char *out, size_t out_size) {
  size_t o = 0;
  if (out_size == 0)
    return;
  for (; *s && o + 7 < out_size; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, out_size - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = '\0';
}

/* One JSON object per line on stderr, written with a single call so lines from
 * librdkafka's threads never interleave mid-line. */
__attribute__((format(printf, 3, 4))) static void log_json(const char *level, const char *event,
                                                           const char *fmt, ...) {
  char msg[1024], esc[LOG_LINE_MAX], line[LOG_LINE_MAX + 256], ts[32];
  struct timespec now;
  struct tm tm;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  json_escape(msg, esc, sizeof(esc));
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(line, sizeof(line),
           "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"service\":\"dev-broker\","
           "\"event\":\"%s\",\"msg\":\"%s\"}\n",
           ts, now.tv_nsec / 1000000, level, event, esc);
  fputs(line, stderr);
}

static void rdkafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  /* The dummy handle has no bootstrap.servers on purpose; its warning
   * about that would only confuse someone reading the log. */
  if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
    return;
  log_json(level <= 3   ? "error"
           : level <= 4 ? "warn"
           : level <= 6 ? "info"
                        : "debug",
           "rdkafka", "%s: %s", fac, buf);
}

static int parse_int(const char *s, long min, long max, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    return -1;
  *out = (int)v;
  return 0;
}

static void usage(FILE *fp) {
  fputs("usage: dev-broker --topics FILE --bootstrap-file PATH [--brokers N (1..9)]\n"
        "                  [--port FIRST] [--control-port N | --control-fifo PATH]\n"
        "For development and tests only: librdkafka's in-memory mock cluster.\n"
        "Control commands (one per line, reply ok/error): ping, bootstrap, help,\n"
        "  broker-down ID, broker-up ID, rtt ID MS, error APIKEY ERR COUNT,\n"
        "  clear-errors APIKEY, topic-error TOPIC ERR, create-topic NAME PARTITIONS\n",
        fp);
}

static int parse_args(int argc, char **argv, struct options *o, char *errstr, size_t errstr_size) {
  memset(o, 0, sizeof(*o));
  o->brokers = 1;
  o->control_port = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    }
    if (!v) {
      snprintf(errstr, errstr_size, "%s: missing value or unknown option", a);
      return -1;
    }
    i++;
    if (!strcmp(a, "--topics"))
      o->topics_path = v;
    else if (!strcmp(a, "--bootstrap-file"))
      o->bootstrap_file = v;
    else if (!strcmp(a, "--control-fifo"))
      o->control_fifo = v;
    else if (!strcmp(a, "--brokers")) {
      if (parse_int(v, 1, MAX_BROKERS, &o->brokers) == -1) {
        snprintf(errstr, errstr_size, "--brokers must be 1..%d", MAX_BROKERS);
        return -1;
      }
    } else if (!strcmp(a, "--port")) {
      if (parse_int(v, 1024, 65535 - MAX_BROKERS, &o->port) == -1) {
        snprintf(errstr, errstr_size, "--port must be 1024..%d", 65535 - MAX_BROKERS);
        return -1;
      }
    } else if (!strcmp(a, "--control-port")) {
      if (parse_int(v, 0, 65535, &o->control_port) == -1) {
        snprintf(errstr, errstr_size, "--control-port must be 0..65535");
        return -1;
      }
    } else {
      snprintf(errstr, errstr_size, "unknown option %s", a);
      return -1;
    }
  }
  if (!o->topics_path || !o->bootstrap_file) {
    snprintf(errstr, errstr_size, "--topics and --bootstrap-file are required");
    return -1;
  }
  if (o->control_fifo && o->control_port >= 0) {
    snprintf(errstr, errstr_size, "choose one of --control-port and --control-fifo");
    return -1;
  }
  return 0;
}

/* Readers must never see a half-written address, so write a sibling temp file
 * and rename it over PATH (rename is atomic within one filesystem). */
static int write_file_atomic(const char *path, const char *content, char *errstr,
                             size_t errstr_size) {
  char tmp[PATH_MAX];
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    snprintf(errstr, errstr_size, "%s: path too long", path);
    return -1;
  }
  FILE *fp = fopen(tmp, "w");
  if (!fp) {
    snprintf(errstr, errstr_size, "%.300s: %s", tmp, strerror(errno));
    return -1;
  }
  int bad = fputs(content, fp) == EOF || fputc('\n', fp) == EOF;
  bad |= fflush(fp) != 0 || fsync(fileno(fp)) != 0;
  bad |= fclose(fp) != 0;
  if (bad || rename(tmp, path) != 0) {
    snprintf(errstr, errstr_size, "%.300s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

/* Loopback only: the control channel is unauthenticated by design. */
static int control_listen(int port, int *bound_port, char *errstr, size_t errstr_size) {
  struct sockaddr_in sin;
  socklen_t sl = sizeof(sin);
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  if (fd == -1) {
    snprintf(errstr, errstr_size, "socket: %s", strerror(errno));
    return -1;
  }
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons((uint16_t)port);
  if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 8) == -1 ||
      getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
    snprintf(errstr, errstr_size, "control port 127.0.0.1:%d: %s", port, strerror(errno));
    close(fd);
    return -1;
  }
  *bound_port = ntohs(sin.sin_port);
  return fd;
}

/* O_RDWR on our own FIFO keeps a writer open, so poll() never reports a
 * permanent EOF after each `echo cmd > fifo` closes its end. */
static int control_fifo_open(const char *path, char *errstr, size_t errstr_size) {
  struct stat st;
  if (mkfifo(path, 0600) == -1 && errno != EEXIST) {
    snprintf(errstr, errstr_size, "mkfifo %s: %s", path, strerror(errno));
    return -1;
  }
  if (stat(path, &st) == -1 || !S_ISFIFO(st.st_mode)) {
    snprintf(errstr, errstr_size, "%s exists and is not a FIFO", path);
    return -1;
  }
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1) {
    snprintf(errstr, errstr_size, "open %s: %s", path, strerror(errno));
    return -1;
  }
  return fd;
}

/* Sends REPLY for LINE back where the command came from: the TCP client, or
 * stdout as a JSON line when it came through the FIFO (REPLY_FD < 0). */
static void send_reply(int reply_fd, const char *line, char *reply, size_t reply_size, int rc) {
  char el[DEVBROKER_CONTROL_LINE_MAX * 2], er[DEVBROKER_CONTROL_LINE_MAX * 4];

  log_json(rc == 0 ? "info" : "warn", "control", "%s -> %s", line, reply);
  if (reply_fd >= 0) {
    /* Best effort: a client that went away loses only its reply. */
    size_t n = strnlen(reply, reply_size - 1);
    reply[n] = '\n';
    ssize_t w = send(reply_fd, reply, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    reply[n] = '\0';
  } else {
    json_escape(line, el, sizeof(el));
    json_escape(reply, er, sizeof(er));
    printf("{\"event\":\"control\",\"command\":\"%s\",\"reply\":\"%s\"}\n", el, er);
    fflush(stdout);
  }
}

static void run_command(rd_kafka_mock_cluster_t *mc, int brokers, const char *line, int reply_fd) {
  char reply[DEVBROKER_CONTROL_LINE_MAX * 2];
  int rc = devbroker_control_exec(mc, brokers, line, reply, sizeof(reply));
  send_reply(reply_fd, line, reply, sizeof(reply), rc);
}

/* Feeds N bytes into C's line buffer, running each complete line. Lines over
 * the cap are answered with an error and skipped, never executed truncated. */
static void feed(struct client *c, const char *buf, size_t n, rd_kafka_mock_cluster_t *mc,
                 int brokers, int reply_fd) {
  for (size_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      if (c->overlong) {
        char reply[64];
        snprintf(reply, sizeof(reply), "error line too long (max %d bytes)",
                 DEVBROKER_CONTROL_LINE_MAX - 1);
        send_reply(reply_fd, "(overlong line)", reply, sizeof(reply), -1);
      } else {
        c->line[c->len] = '\0';
        if (c->len > 0 && c->line[c->len - 1] == '\r')
          c->line[c->len - 1] = '\0';
        if (c->line[0])
          run_command(mc, brokers, c->line, reply_fd);
      }
      c->len = 0;
      c->overlong = 0;
    } else if (!c->overlong) {
      if (c->len + 1 >= sizeof(c->line))
        c->overlong = 1;
      else
        c->line[c->len++] = buf[i];
    }
  }
}

static int serve(rd_kafka_mock_cluster_t *mc, int brokers, int listen_fd, int fifo_fd) {
  struct client clients[MAX_CLIENTS];
  struct client fifo_client = {.fd = fifo_fd};
  struct pollfd pfd[MAX_CLIENTS + 2];
  char buf[4096];

  for (int i = 0; i < MAX_CLIENTS; i++)
    clients[i].fd = -1;

  while (!stop_requested) {
    nfds_t n = 0;
    int idx_client[MAX_CLIENTS + 2];
    if (listen_fd >= 0) {
      pfd[n] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
      idx_client[n++] = -1;
    }
    if (fifo_fd >= 0) {
      pfd[n] = (struct pollfd){.fd = fifo_fd, .events = POLLIN};
      idx_client[n++] = -2;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd >= 0) {
        pfd[n] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        idx_client[n++] = i;
      }
    }
    /* A bounded timeout keeps the signal check responsive even if
     * the signal lands between the flag test and poll(). */
    int r = poll(pfd, n, 200);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      log_json("error", "poll", "%s", strerror(errno));
      return -1;
    }
    for (nfds_t k = 0; k < n && r > 0; k++) {
      if (!pfd[k].revents)
        continue;
      if (idx_client[k] == -1) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -1)
          continue;
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
          if (clients[i].fd < 0)
            slot = i;
        if (slot < 0) {
          ssize_t w = send(fd, "error too many clients\n", 23, MSG_NOSIGNAL | MSG_DONTWAIT);
          (void)w;
          close(fd);
          continue;
        }
        clients[slot] = (struct client){.fd = fd};
      } else if (idx_client[k] == -2) {
        ssize_t got = read(fifo_fd, buf, sizeof(buf));
        if (got > 0)
          feed(&fifo_client, buf, (size_t)got, mc, brokers, -1);
      } else {
        struct client *c = &clients[idx_client[k]];
        ssize_t got = recv(c->fd, buf, sizeof(buf), 0);
        if (got > 0) {
          feed(c, buf, (size_t)got, mc, brokers, c->fd);
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          close(c->fd);
          c->fd = -1;
        }
      }
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0)
      close(clients[i].fd);
  return 0;
}

int main(int argc, char **argv) {
  topics_t *topics = NULL;
  struct options opt;
  char errstr[512];
  rd_kafka_conf_t *conf;
  rd_kafka_t *rk = NULL;
  rd_kafka_mock_cluster_t *mc = NULL;
  int listen_fd = -1, fifo_fd = -1, control_port = -1, rc = 1;
  struct sigaction sa;

  if (parse_args(argc, argv, &opt, errstr, sizeof(errstr)) == -1) {
    log_json("error", "config", "%s", errstr);
    usage(stderr);
    return 2;
  }
  if (!(topics = topics_load(opt.topics_path, errstr, sizeof(errstr)))) {
    log_json("error", "config", "%s", errstr);
    return 2;
  }

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* The mock needs a client handle to live in; this producer never sends. */
  conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, rdkafka_log_cb);
  if (rd_kafka_conf_set(conf, "client.id", "dev-broker", errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    log_json("error", "config", "%s", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    log_json("error", "rdkafka", "rd_kafka_new: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }

  if (opt.port && devbroker_fixed_port_check(opt.port, opt.brokers, errstr, sizeof(errstr)) == -1) {
    log_json("error", "mock", "--port %d: %s", opt.port, errstr);
    goto out;
  }
  devbroker_fixed_port_arm(opt.port);
  mc = rd_kafka_mock_cluster_new(rk, opt.brokers);
  int rewritten = devbroker_fixed_port_rewritten();
  devbroker_fixed_port_arm(0);
  if (!mc) {
    log_json("error", "mock", "rd_kafka_mock_cluster_new failed%s",
             opt.port ? " (is the --port range free?)" : "");
    goto out;
  }
  if (opt.port && rewritten != opt.brokers) {
    /* The interposer did not see the mock's binds (e.g. a future
     * librdkafka binds differently): say so instead of pretending. */
    log_json("error", "mock", "--port %d: only %d of %d listeners got fixed ports", opt.port,
             rewritten, opt.brokers);
    goto out;
  }

  int replication = opt.brokers < 3 ? opt.brokers : 3;
  for (size_t i = 0; i < topics_count(topics); i++) {
    const topic_info_t *t = topics_at(topics, i);
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, t->name, t->partitions, replication);
    if (err) {
      log_json("error", "topic", "create %s: %s", t->name, rd_kafka_err2str(err));
      goto out;
    }
  }

  if (opt.control_port >= 0) {
    listen_fd = control_listen(opt.control_port, &control_port, errstr, sizeof(errstr));
    if (listen_fd == -1) {
      log_json("error", "control", "%s", errstr);
      goto out;
    }
  } else if (opt.control_fifo) {
    fifo_fd = control_fifo_open(opt.control_fifo, errstr, sizeof(errstr));
    if (fifo_fd == -1) {
      log_json("error", "control", "%s", errstr);
      goto out;
    }
  }

  const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  if (write_file_atomic(opt.bootstrap_file, bootstrap, errstr, sizeof(errstr)) == -1) {
    log_json("error", "bootstrap-file", "%s", errstr);
    goto out;
  }

  char bs_esc[1024];
  json_escape(bootstrap, bs_esc, sizeof(bs_esc));
  printf("{\"event\":\"ready\",\"bootstrap\":\"%s\",\"topics\":%zu,\"brokers\":%d,"
         "\"control_port\":%d}\n",
         bs_esc, topics_count(topics), opt.brokers, control_port);
  fflush(stdout);
  if (listen_fd >= 0)
    log_json("info", "ready", "bootstrap %s, %zu topics, %d broker(s), control tcp 127.0.0.1:%d",
             bootstrap, topics_count(topics), opt.brokers, control_port);
  else
    log_json("info", "ready", "bootstrap %s, %zu topics, %d broker(s), control fifo %s", bootstrap,
             topics_count(topics), opt.brokers, fifo_fd >= 0 ? opt.control_fifo : "(none)");

  if (serve(mc, opt.brokers, listen_fd, fifo_fd) == 0)
    rc = 0;
  log_json("info", "shutdown", "stopping (signal received: %s)", stop_requested ? "yes" : "no");

out:
  if (listen_fd >= 0)
    close(listen_fd);
  if (fifo_fd >= 0)
    close(fifo_fd);
  if (mc)
    rd_kafka_mock_cluster_destroy(mc);
  if (rk)
    rd_kafka_destroy(rk);
  topics_destroy(topics);
  return rc;
}
