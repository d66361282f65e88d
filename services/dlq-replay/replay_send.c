/* replay_send — the replay command. Each selected dead letter's original
 * payload goes back to its source topic (or --to) with its original key and
 * the replay headers, or with --file to stdout, one payload per line.
 *
 * Over Kafka the consumer group remembers what was replayed: a letter's
 * offset is tracked when it is read and acknowledged when its replay is
 * delivered (kafka/offsets.h), and only the offset after a run of
 * acknowledged letters is stored and committed. A refused letter or a failed
 * delivery halts its partition, so the group never moves past a letter that
 * was not replayed (unless --skip-refused says to move past refusals).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/signals.h"
#include "kafka/kafka.h"
#include "kafka/offsets.h"
#include "replay_cmd.h"
#include "replay_kafka.h"
#include "replay_source.h"

/* ---- shared by both modes: selection, refusals, the summary ---------------- */

typedef struct summary {
  uint64_t selected, replayed, skipped, failed;
  uint64_t refused, truncated, wrong_key, attempts, other;
  int halted;
} summary_t;

typedef struct run {
  const replay_config_t *cfg;
  const dlq_key_t *key;
  replay_filter_t filter;
  replay_rules_t rules;
  summary_t s;
} run_t;

static run_t run_new(const replay_config_t *cfg, const dlq_key_t *key, int need_key) {
  return (run_t){.cfg = cfg,
                 .key = key,
                 .filter = {cfg->code, cfg->source_topic},
                 .rules = {.to_topic = cfg->to,
                           .max_attempts = cfg->max_attempts,
                           .force = cfg->force,
                           .need_key = need_key}};
}

enum { LETTER_SEND = 0, LETTER_SKIP = 1, LETTER_REFUSED = -1 };

/* Decides one letter: LETTER_SKIP when the filter does not select it,
 * LETTER_REFUSED (counted; *why and errstr say why; the caller logs), or
 * LETTER_SEND with *it filled (the caller frees it). msg_key is the dead
 * letter's own Kafka key (NULL in files). */
static int judge(run_t *r, const replay_letter_t *l, const void *msg_key, size_t msg_key_len,
                 replay_item_t *it, replay_refusal_t *why, char *errstr, size_t errstr_size) {
  if (l->env && !replay_filter_match(&r->filter, l->env)) {
    r->s.skipped++;
    return LETTER_SKIP;
  }
  r->s.selected++;
  *why = REPLAY_REFUSED_MALFORMED;
  if (!l->env)
    snprintf(errstr, errstr_size, "%s", l->bad);
  else if (replay_extract(l->env, r->key, msg_key, msg_key_len, &r->rules, it, why, errstr,
                          errstr_size) == 0)
    return LETTER_SEND;
  r->s.refused++;
  if (*why == REPLAY_REFUSED_TRUNCATED)
    r->s.truncated++;
  else if (*why == REPLAY_REFUSED_KEY)
    r->s.wrong_key++;
  else if (*why == REPLAY_REFUSED_ATTEMPTS)
    r->s.attempts++;
  else
    r->s.other++;
  return LETTER_REFUSED;
}

static int summarize(const run_t *r, int fatal) {
  const summary_t *s = &r->s;
  int dry_run = r->cfg->dry_run;
  int rc = fatal || s->refused || s->failed ? 1 : 0;
  log_event(LOG_LEVEL_INFO, "summary",
            json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:i,s:i}", "command",
                      "replay", "dry_run", dry_run, "selected", (json_int_t)s->selected, "replayed",
                      (json_int_t)s->replayed, "skipped_by_filter", (json_int_t)s->skipped,
                      "refused", (json_int_t)s->refused, "refused_truncated",
                      (json_int_t)s->truncated, "refused_wrong_key", (json_int_t)s->wrong_key,
                      "refused_attempts", (json_int_t)s->attempts, "refused_other",
                      (json_int_t)s->other, "failed", (json_int_t)s->failed, "max_attempts",
                      (json_int_t)r->cfg->max_attempts, "force", r->cfg->force, "halted_partitions",
                      s->halted, "exit_code", rc),
            "replay finished");
  fprintf(stderr,
          "dlq-replay: %s %" PRIu64 " of %" PRIu64 " selected; %" PRIu64
          " skipped by filter; %" PRIu64 " refused (%" PRIu64 " truncated, %" PRIu64
          " wrong key, %" PRIu64 " at max attempts, %" PRIu64 " other); %" PRIu64 " failed%s\n",
          dry_run ? "would replay" : "replayed", s->replayed, s->selected, s->skipped, s->refused,
          s->truncated, s->wrong_key, s->attempts, s->other, s->failed,
          fatal ? "; STOPPED EARLY (see the log)" : "");
  if (s->attempts)
    fprintf(stderr,
            "dlq-replay: %" PRIu64 " letter(s) %s refused: attempts reached max attempts %" PRId64
            " (they failed again after each replay). Look at them with show and fix the cause; "
            "then --force replays them (docs/operations-dlq.md)\n",
            s->attempts, dry_run ? "would be" : "were", r->cfg->max_attempts);
  return rc;
}

/* ---- replay --file: payloads to stdout ---------------------------------------- */

typedef struct file_send {
  run_t r;
  int write_failed;
} file_send_t;

static int file_visit(void *vctx, replay_letter_t *l) {
  file_send_t *c = vctx;
  char errstr[512];
  replay_item_t it;
  replay_refusal_t why;
  int v = judge(&c->r, l, NULL, 0, &it, &why, errstr, sizeof(errstr));
  if (v == LETTER_SKIP)
    return 0;
  if (v == LETTER_SEND && memchr(it.payload, '\n', it.payload_len)) {
    /* One message per line is the stdio contract: a payload with a newline
     * would become two broken messages downstream. */
    replay_item_free(&it);
    c->r.s.refused++;
    c->r.s.other++;
    v = LETTER_REFUSED;
    why = REPLAY_REFUSED_MALFORMED;
    snprintf(errstr, sizeof(errstr),
             "payload contains a newline: cannot be one line; replay it over Kafka instead");
  }
  if (v == LETTER_REFUSED) {
    log_event(LOG_LEVEL_WARN, "refused",
              json_pack("{s:s,s:s}", "dlq", l->where, "reason", replay_refusal_name(why)), "%s: %s",
              l->where, errstr);
  } else {
    if (c->r.cfg->dry_run)
      printf("would replay %s code=%s -> stdout (%zu bytes, attempts %lld)\n", l->where,
             replay_error_code(l->env), it.payload_len, it.attempts);
    else if (fwrite(it.payload, 1, it.payload_len, stdout) != it.payload_len ||
             fputc('\n', stdout) == EOF)
      c->write_failed = 1;
    if (!c->write_failed)
      c->r.s.replayed++;
    replay_item_free(&it);
  }
  return c->write_failed || (c->r.cfg->limit > 0 && c->r.s.selected >= (uint64_t)c->r.cfg->limit);
}

static int send_file(const replay_config_t *cfg, const conf_result_t *res, const dlq_key_t *key) {
  file_send_t c = {.r = run_new(cfg, key, 0)};
  char errstr[1024];
  int fatal = replay_source_each(cfg, res, file_visit, &c, errstr, sizeof(errstr)) != 0;
  if (fflush(stdout) != 0)
    c.write_failed = 1;
  if (fatal)
    log_error("replay_failed", "%s", errstr);
  if (c.write_failed) {
    log_error("write_failed", "cannot write payloads to stdout");
    c.r.s.failed++;
  }
  return summarize(&c.r, fatal || signals_stop);
}

/* ---- replay over Kafka -------------------------------------------------------- */

typedef struct kafka_send {
  run_t r;
  int commit; /* store and commit offsets (not --dry-run, not --no-commit) */
  rd_kafka_t *consumer, *producer;
  replay_reader_t *reader;
  offsets_t *offsets;
  int32_t *halted; /* partitions halted in this run */
  int nhalted;
  size_t inflight;
  int fatal;
} kafka_send_t;

/* One letter in the offset tracker, and the delivery-report opaque of its
 * replay. Freed when the tracker releases it. */
typedef struct letter_ref {
  offsets_entry_t entry;
  int32_t partition;
  int64_t offset;
} letter_ref_t;

static int is_halted(const kafka_send_t *k, int32_t partition) {
  for (int i = 0; i < k->nhalted; i++)
    if (k->halted[i] == partition)
      return 1;
  return 0;
}

/* Tracker callbacks: a letter left the tracker; a partition's position moved. */
static void letter_release(void *ctx, offsets_entry_t *e) {
  (void)ctx;
  free(OFFSETS_CONTAINER_OF(e, letter_ref_t, entry));
}

static void advance(void *ctx, const char *topic, int32_t partition, int64_t next) {
  kafka_send_t *k = ctx;
  if (!k->commit)
    return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(k->consumer, l);
  if (err) {
    log_error("offset_store", "%s [%d] offset %lld not stored: %s", topic, partition,
              (long long)next, rd_kafka_err2str(err));
    k->fatal = 1;
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* Starts tracking a letter; NULL (fatal set) when out of memory. */
static letter_ref_t *track(kafka_send_t *k, int32_t partition, int64_t offset) {
  letter_ref_t *ref = calloc(1, sizeof(*ref)); /* freed by letter_release */
  if (!ref || offsets_track(k->offsets, &ref->entry, k->r.cfg->topic, partition, offset) != 0) {
    free(ref);
    log_error("out_of_memory", "cannot track %s [%d] offset %lld", k->r.cfg->topic, partition,
              (long long)offset);
    k->fatal = 1;
    return NULL;
  }
  ref->partition = partition;
  ref->offset = offset;
  return ref;
}

/* A letter that needs no replay (skipped by the filter, refused with
 * --skip-refused or without a group): the group may move past it. */
static void track_done(kafka_send_t *k, int32_t partition, int64_t offset) {
  letter_ref_t *ref = track(k, partition, offset);
  if (ref)
    offsets_done(k->offsets, &ref->entry);
}

/* Stops a partition at a letter that was not replayed: nothing after it may
 * be replayed in this run, or the group could never be committed past it
 * without replaying those again. The letter stays tracked and unacknowledged,
 * so the stored offset stops before it. */
static void halt_partition(kafka_send_t *k, int32_t partition, int64_t offset, const char *why) {
  const char *topic = k->r.cfg->topic;
  if (is_halted(k, partition))
    return;
  k->halted[k->nhalted++] = partition;
  k->r.s.halted++;
  replay_reader_halt(k->reader, partition);
  log_event(LOG_LEVEL_ERROR, "partition_halted",
            json_pack("{s:s,s:i,s:I}", "topic", topic, "partition", partition, "offset",
                      (json_int_t)offset),
            "%s [%d] halted at offset %lld (%s): the group stays before it; fix the cause and "
            "run again, or pass --skip-refused to move past refused letters",
            topic, partition, (long long)offset, why);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  kafka_send_t *k = opaque;
  letter_ref_t *ref = m->_private;
  const char *topic = k->r.cfg->topic;
  k->inflight--;
  if (m->err) {
    k->r.s.failed++;
    log_event(LOG_LEVEL_ERROR, "delivery_failed",
              json_pack("{s:s,s:i,s:I,s:s}", "topic", topic, "partition", ref->partition, "offset",
                        (json_int_t)ref->offset, "target", rd_kafka_topic_name(m->rkt)),
              "replay of %s/%d@%lld to %s failed: %s", topic, ref->partition,
              (long long)ref->offset, rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    /* The letter stays unfinished in the tracker: the group stops before it. */
    halt_partition(k, ref->partition, ref->offset, "delivery failed");
  } else {
    k->r.s.replayed++;
    log_event(LOG_LEVEL_INFO, "replayed",
              json_pack("{s:s,s:i,s:I,s:s,s:i,s:I}", "topic", topic, "partition", ref->partition,
                        "offset", (json_int_t)ref->offset, "target", rd_kafka_topic_name(m->rkt),
                        "target_partition", m->partition, "target_offset", (json_int_t)m->offset),
              "replayed %s/%d@%lld", topic, ref->partition, (long long)ref->offset);
    offsets_done(k->offsets, &ref->entry); /* may free ref */
  }
}

/* Produces one replay with its failure history in headers; returns 0 or a
 * librdkafka error. A full queue (many letters, slow broker) is waited out
 * for up to timeout_ms while delivery reports are served. */
static rd_kafka_resp_err_t produce_item(kafka_send_t *k, const replay_item_t *it,
                                        letter_ref_t *ref) {
  char attempts[32];
  snprintf(attempts, sizeof(attempts), "%lld", it->attempts);
  rd_kafka_headers_t *h = rd_kafka_headers_new(2);
  rd_kafka_header_add(h, REPLAY_HEADER_ATTEMPTS, -1, attempts, -1);
  rd_kafka_header_add(h, REPLAY_HEADER_FIRST_FAILED_AT, -1, it->first_failed_at, -1);
  rd_kafka_resp_err_t err = kafka_produce(k->producer, it->topic, it->key, it->key_len,
                                          it->payload_len ? it->payload : NULL, it->payload_len, h,
                                          0, ref, k->r.cfg->timeout_ms);
  if (err)
    rd_kafka_headers_destroy(h); /* on success the message owns them */
  return err;
}

static void kafka_refused(kafka_send_t *k, const rd_kafka_message_t *m, const char *where,
                          replay_refusal_t why, const char *errstr) {
  log_event(LOG_LEVEL_WARN, "refused",
            json_pack("{s:s,s:i,s:I,s:s}", "topic", k->r.cfg->topic, "partition", m->partition,
                      "offset", (json_int_t)m->offset, "reason", replay_refusal_name(why)),
            "%s refused: %s", where, errstr);
  if (k->r.cfg->skip_refused || !k->commit) {
    track_done(k, m->partition, m->offset);
  } else if (track(k, m->partition, m->offset)) { /* stays unfinished: the group stops */
    halt_partition(k, m->partition, m->offset, replay_refusal_name(why));
  }
}

static void kafka_letter(kafka_send_t *k, rd_kafka_message_t *m) {
  const replay_config_t *cfg = k->r.cfg;
  char where[512], errstr[512], code[64];
  if (is_halted(k, m->partition))
    return; /* read before its partition halted on a failed delivery */
  snprintf(where, sizeof(where), "%s/%" PRId32 "@%" PRId64, cfg->topic, m->partition, m->offset);
  replay_letter_t l;
  replay_letter_parse(&l, where, m->payload, m->len);
  replay_item_t it;
  replay_refusal_t why;
  int v = judge(&k->r, &l, m->key, m->key_len, &it, &why, errstr, sizeof(errstr));
  snprintf(code, sizeof(code), "%s", replay_error_code(l.env));
  replay_letter_clear(&l);
  if (v == LETTER_SKIP) {
    /* Only reachable with a group of the filter's own (or --no-commit):
     * moving past what this filter does not select is that group's job. */
    track_done(k, m->partition, m->offset);
    return;
  }
  if (cfg->limit > 0 && k->r.s.selected >= (uint64_t)cfg->limit)
    replay_reader_halt_all(k->reader); /* this one is the last */
  if (v == LETTER_REFUSED) {
    kafka_refused(k, m, where, why, errstr);
    return;
  }
  if (cfg->dry_run) {
    printf("would replay %s code=%s -> %s key=%s (%zu bytes, attempts %lld)\n", where, code,
           it.topic, it.key ? "original" : "none", it.payload_len, it.attempts);
    k->r.s.replayed++;
    replay_item_free(&it);
    return;
  }
  letter_ref_t *ref = track(k, m->partition, m->offset);
  rd_kafka_resp_err_t err = ref ? produce_item(k, &it, ref) : RD_KAFKA_RESP_ERR__NOENT;
  if (err) {
    k->r.s.failed++;
    log_error("produce_failed", "%s -> %s: %s", where, it.topic,
              ref ? rd_kafka_err2str(err) : "out of memory");
    halt_partition(k, m->partition, m->offset, "produce failed");
  } else {
    k->inflight++;
  }
  replay_item_free(&it);
}

/* Creates the clients and opens the reader at the group's position. */
static int kafka_open(kafka_send_t *k, const conf_result_t *res, const char *group,
                      const replay_kafka_opts_t *po) {
  const replay_config_t *cfg = k->r.cfg;
  replay_kafka_opts_t o = replay_config_kafka(cfg, res);
  char errstr[1024];
  if (!(k->consumer = replay_kafka_consumer(&o, group, errstr, sizeof(errstr))) ||
      (!cfg->dry_run &&
       !(k->producer = replay_kafka_producer(po, dr_cb, k, errstr, sizeof(errstr)))) ||
      !(k->reader = replay_reader_open(k->consumer, cfg->topic, -1, -1, group != NULL,
                                       cfg->timeout_ms, errstr, sizeof(errstr)))) {
    log_error("replay_failed", "%s", errstr);
    return -1;
  }
  int n = replay_reader_partitions(k->reader);
  if (!(k->offsets = offsets_new(letter_release, advance, k)) ||
      !(k->halted = calloc((size_t)n, sizeof(int32_t)))) {
    log_error("out_of_memory", "cannot track %d partition(s)", n);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    int32_t partition;
    int64_t start, end;
    replay_reader_range(k->reader, i, &partition, &start, &end);
    log_event(LOG_LEVEL_INFO, "range",
              json_pack("{s:s,s:i,s:I,s:I}", "topic", cfg->topic, "partition", partition, "from",
                        (json_int_t)start, "to", (json_int_t)end),
              "%s [%d]: %lld letter(s) to read from offset %lld", cfg->topic, partition,
              (long long)(end - start), (long long)start);
  }
  return 0;
}

/* Waits for the replays in flight, then commits what was acknowledged. */
static void kafka_finish(kafka_send_t *k, const char *group) {
  const replay_config_t *cfg = k->r.cfg;
  if (k->producer) {
    rd_kafka_flush(k->producer, (int)cfg->timeout_ms + 5000);
    if (k->inflight > 0) {
      log_error("drain_incomplete",
                "%zu replay(s) unacknowledged: their letters stay uncommitted and a rerun "
                "replays them again",
                k->inflight);
      /* Purged messages get their delivery report (an error) here, so dr_cb
       * counts them as failed and halts their partitions. */
      rd_kafka_purge(k->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(k->producer, 1000);
      k->r.s.failed += k->inflight; /* reports that never came */
    }
  }
  if (k->commit && k->consumer && k->reader) {
    rd_kafka_resp_err_t err = rd_kafka_commit(k->consumer, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      log_error("commit_failed",
                "group %s: %s: the replays were delivered but not remembered; a rerun replays "
                "them again",
                group, rd_kafka_err2str(err));
      k->fatal = 1;
    }
  }
}

static int send_kafka(const replay_config_t *cfg, const conf_result_t *res, const dlq_key_t *key) {
  kafka_send_t k = {.r = run_new(cfg, key, 1), .commit = !cfg->dry_run && !cfg->no_commit};
  const char *group = cfg->no_commit                  ? NULL
                      : replay_config_set(cfg->group) ? cfg->group
                                                      : REPLAY_DEFAULT_GROUP;
  char errstr[1024], timeout[32];
  /* A replay to a topic that does not exist must fail within the run's
   * timeout, not librdkafka's 5-minute default; -X may still override it. */
  snprintf(timeout, sizeof(timeout), "%lld", (long long)cfg->timeout_ms);
  conf_kv_t *props = calloc(res->kafka_count + 1, sizeof(*props));
  if (!props) {
    log_error("out_of_memory", "cannot configure the producer");
    return 1;
  }
  props[0] = (conf_kv_t){"producer.message.timeout.ms", timeout};
  for (size_t i = 0; i < res->kafka_count; i++)
    props[i + 1] = res->kafka[i];
  replay_kafka_opts_t po = replay_config_kafka(cfg, res);
  po.props = props;
  po.prop_count = res->kafka_count + 1;

  if (kafka_open(&k, res, group, &po) != 0) {
    k.fatal = 1;
    goto out;
  }
  log_event(LOG_LEVEL_INFO, "started",
            json_pack("{s:s,s:s?,s:b,s:b,s:I,s:b}", "topic", cfg->topic, "group", group, "commit",
                      k.commit, "dry_run", cfg->dry_run, "max_attempts",
                      (json_int_t)cfg->max_attempts, "force", cfg->force),
            "replaying from %s", cfg->topic);
  while (!signals_stop && !k.fatal) {
    rd_kafka_message_t *m;
    int st = replay_reader_next(k.reader, &m, errstr, sizeof(errstr));
    if (k.producer)
      rd_kafka_poll(k.producer, 0);
    if (st == REPLAY_READ_END)
      break;
    if (st == REPLAY_READ_ERROR) {
      log_error("read_failed", "%s", errstr);
      k.fatal = 1;
      break;
    }
    if (st == REPLAY_READ_MSG) {
      kafka_letter(&k, m);
      rd_kafka_message_destroy(m);
    }
  }
  if (signals_stop)
    log_warn("interrupted", "stopping on signal: waiting for replays in flight, then committing");
out:
  kafka_finish(&k, group);
  replay_reader_destroy(k.reader);
  if (k.consumer) {
    rd_kafka_consumer_close(k.consumer);
    rd_kafka_destroy(k.consumer);
  }
  if (k.producer)
    rd_kafka_destroy(k.producer); /* after flush: any report left is dropped */
  offsets_destroy(k.offsets);
  free(k.halted);
  free(props);
  if (fflush(stdout) != 0)
    k.fatal = 1;
  return summarize(&k.r, k.fatal || signals_stop);
}

int replay_send(const replay_config_t *cfg, const conf_result_t *res, const dlq_key_t *key) {
  return replay_config_set(cfg->file) ? send_file(cfg, res, key) : send_kafka(cfg, res, key);
}
