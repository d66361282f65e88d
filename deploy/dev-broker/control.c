/* control.c — parses and executes fault-injection commands. Kept free of I/O so
 * the same code serves the TCP port and the FIFO. */
#include "control.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kafka/topics.h"

#define MAX_ARGS 5

static const struct {
  const char *name;
  int16_t key;
} api_names[] = {
    {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},      {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},      {"ApiVersions", 18},
    {"CreateTopics", 19},    {"InitProducerId", 22}, {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},         {"TxnOffsetCommit", 28},
};

static int parse_long(const char *s, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int parse_apikey(const char *s, int16_t *out) {
  long v;
  if (parse_long(s, 0, 1000, &v) == 0) {
    *out = (int16_t)v;
    return 0;
  }
  for (size_t i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++) {
    if (!strcasecmp(s, api_names[i].name)) {
      *out = api_names[i].key;
      return 0;
    }
  }
  return -1;
}

/* Names are accepted because "NOT_LEADER_FOR_PARTITION" in a test script says
 * what is being simulated; "6" does not. */
static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
  const struct rd_kafka_err_desc *descs;
  size_t cnt;
  long v;

  if (parse_long(s, -200, 1000, &v) == 0) {
    *out = (rd_kafka_resp_err_t)v;
    return 0;
  }
  if (!strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18))
    s += 18;
  else if (!strncasecmp(s, "ERR_", 4))
    s += 4;
  rd_kafka_get_err_descs(&descs, &cnt);
  for (size_t i = 0; i < cnt; i++) {
    if (descs[i].name && !strcasecmp(descs[i].name, s)) {
      *out = descs[i].code;
      return 0;
    }
  }
  return -1;
}

/* Splits COPY in place on blanks; the caller's line stays untouched. */
static int split(char *copy, char **argv, int max) {
  int argc = 0;
  char *p = copy;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      *p++ = '\0';
    if (!*p)
      break;
    if (argc == max)
      return -1;
    argv[argc++] = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r')
      p++;
  }
  return argc;
}

static int reply_err(char *reply, size_t reply_size, rd_kafka_resp_err_t err) {
  if (!err) {
    snprintf(reply, reply_size, "ok");
    return 0;
  }
  snprintf(reply, reply_size, "error %s", rd_kafka_err2str(err));
  return -1;
}

static int bad(char *reply, size_t reply_size, const char *usage) {
  snprintf(reply, reply_size, "error usage: %s", usage);
  return -1;
}

int devbroker_control_exec(rd_kafka_mock_cluster_t *mcluster, int broker_cnt, const char *line,
                           char *reply, size_t reply_size) {
  char copy[DEVBROKER_CONTROL_LINE_MAX];
  char *argv[MAX_ARGS];
  long a, b;
  int argc;

  if (strlen(line) >= sizeof(copy)) {
    snprintf(reply, reply_size, "error line too long");
    return -1;
  }
  snprintf(copy, sizeof(copy), "%s", line);
  argc = split(copy, argv, MAX_ARGS);
  if (argc < 0) {
    snprintf(reply, reply_size, "error too many arguments");
    return -1;
  }
  if (argc == 0) {
    snprintf(reply, reply_size, "error empty command");
    return -1;
  }
  const char *cmd = argv[0];

  if (!strcmp(cmd, "ping")) {
    snprintf(reply, reply_size, "ok");
    return 0;
  }
  if (!strcmp(cmd, "help")) {
    snprintf(reply, reply_size,
             "ok ping|bootstrap|broker-down ID|broker-up ID|rtt ID MS|"
             "error APIKEY ERR COUNT|clear-errors APIKEY|topic-error TOPIC ERR|"
             "create-topic NAME PARTITIONS");
    return 0;
  }
  if (!strcmp(cmd, "bootstrap")) {
    snprintf(reply, reply_size, "ok %s", rd_kafka_mock_cluster_bootstraps(mcluster));
    return 0;
  }
  if (!strcmp(cmd, "broker-down") || !strcmp(cmd, "broker-up")) {
    if (argc != 2 || parse_long(argv[1], 1, broker_cnt, &a) == -1)
      return bad(reply, reply_size, "broker-down|broker-up ID (1..brokers)");
    return reply_err(reply, reply_size,
                     cmd[7] == 'd' ? rd_kafka_mock_broker_set_down(mcluster, (int32_t)a)
                                   : rd_kafka_mock_broker_set_up(mcluster, (int32_t)a));
  }
  if (!strcmp(cmd, "rtt")) {
    if (argc != 3 || parse_long(argv[1], 1, broker_cnt, &a) == -1 ||
        parse_long(argv[2], 0, 600000, &b) == -1)
      return bad(reply, reply_size, "rtt ID MS (0..600000)");
    return reply_err(reply, reply_size, rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a, (int)b));
  }
  if (!strcmp(cmd, "error")) {
    int16_t key;
    rd_kafka_resp_err_t err;
    if (argc != 4 || parse_apikey(argv[1], &key) == -1 || parse_err(argv[2], &err) == -1 ||
        parse_long(argv[3], 1, DEVBROKER_ERROR_COUNT_MAX, &a) == -1)
      return bad(reply, reply_size, "error APIKEY ERR COUNT (1..10000)");
    rd_kafka_resp_err_t *errs = malloc((size_t)a * sizeof(*errs));
    if (!errs) {
      snprintf(reply, reply_size, "error out of memory");
      return -1;
    }
    for (long i = 0; i < a; i++)
      errs[i] = err;
    rd_kafka_mock_push_request_errors_array(mcluster, key, (size_t)a, errs);
    free(errs);
    snprintf(reply, reply_size, "ok");
    return 0;
  }
  if (!strcmp(cmd, "clear-errors")) {
    int16_t key;
    if (argc != 2 || parse_apikey(argv[1], &key) == -1)
      return bad(reply, reply_size, "clear-errors APIKEY");
    rd_kafka_mock_clear_request_errors(mcluster, key);
    snprintf(reply, reply_size, "ok");
    return 0;
  }
  if (!strcmp(cmd, "topic-error")) {
    rd_kafka_resp_err_t err;
    if (argc != 3 || !topics_name_valid(argv[1]) || parse_err(argv[2], &err) == -1)
      return bad(reply, reply_size, "topic-error TOPIC ERR (0 clears)");
    rd_kafka_mock_topic_set_error(mcluster, argv[1], err);
    snprintf(reply, reply_size, "ok");
    return 0;
  }
  if (!strcmp(cmd, "create-topic")) {
    if (argc != 3 || !topics_name_valid(argv[1]) ||
        parse_long(argv[2], 1, TOPICS_PARTITIONS_MAX, &a) == -1)
      return bad(reply, reply_size, "create-topic NAME PARTITIONS (1..10000)");
    int rf = broker_cnt < 3 ? broker_cnt : 3;
    return reply_err(reply, reply_size, rd_kafka_mock_topic_create(mcluster, argv[1], (int)a, rf));
  }
  snprintf(reply, reply_size, "error unknown command \"%s\" (try help)", cmd);
  return -1;
}
