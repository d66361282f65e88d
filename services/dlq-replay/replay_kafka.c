/* replay_kafka — dlq-replay's two kinds of client, made by the common factory
 * (kafka/kafka.h) with what dlq-replay's correctness needs on top, plus the
 * bounded reader over a dead-letter topic. The commands only use the clients
 * they are given. */
#include "replay_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "kafka/kafka.h"

rd_kafka_t *replay_kafka_consumer(const replay_kafka_opts_t *o, const char *group, char *errstr,
                                  size_t errstr_size) {
  conf_kv_t defaults[] = {{.key = "enable.partition.eof", .value = "true"}};
  /* After the pass-through on purpose: an offset must only ever be committed
   * by us, after its replay is acknowledged. */
  conf_kv_t overrides[] = {{.key = "enable.auto.commit", .value = "false"},
                           {.key = "enable.auto.offset.store", .value = "false"}};
  kafka_client_opts_t ko = {.brokers = o->brokers,
                            .client_id = "dlq-replay-consumer",
                            .props = o->props,
                            .nprops = o->prop_count,
                            .defaults = defaults,
                            .ndefaults = 1,
                            .overrides = overrides,
                            .noverrides = 2,
                            /* librdkafka (2.0) refuses assign() without a group
                             * id even when nothing is committed; a reader gets
                             * one that never commits. */
                            .group_id = group ? group : "dlq-replay-reader"};
  return kafka_consumer_new(&ko, errstr, errstr_size);
}

rd_kafka_t *replay_kafka_producer(const replay_kafka_opts_t *o,
                                  void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                                  void *opaque, char *errstr, size_t errstr_size) {
  /* Sized for the largest input a stage accepts (message.max_bytes <= 64 MiB). */
  kafka_client_opts_t ko = {.brokers = o->brokers,
                            .client_id = "dlq-replay-producer",
                            .props = o->props,
                            .nprops = o->prop_count,
                            .opaque = opaque,
                            .dr_msg_cb = dr_cb,
                            .max_message_bytes = 64 << 20};
  return kafka_producer_new(&ko, errstr, errstr_size);
}

/* ---- bounded reader ------------------------------------------------------ */

typedef struct replay_part {
  int32_t partition;
  int64_t start, end; /* [start, end): end is the high watermark at open */
  int done;
} replay_part_t;

struct replay_reader {
  rd_kafka_t *rk; /* borrowed */
  char *topic;
  replay_part_t *parts;
  int nparts, remaining;
  int64_t timeout_ms;
  int64_t last_progress; /* clock_mono_ms() */
};

static void part_done(replay_reader_t *r, replay_part_t *p) {
  if (!p->done) {
    p->done = 1;
    r->remaining--;
  }
}

static replay_part_t *find_part(replay_reader_t *r, int32_t partition) {
  for (int i = 0; i < r->nparts; i++)
    if (r->parts[i].partition == partition)
      return &r->parts[i];
  return NULL;
}

/* Lists the topic's partitions from metadata into r->parts. */
static int load_partitions(replay_reader_t *r, int32_t only, char *errstr, size_t errstr_size) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->rk, r->topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  int rc = -1;
  if (!rkt) {
    snprintf(errstr, errstr_size, "topic %s: %s", r->topic,
             rd_kafka_err2str(rd_kafka_last_error()));
    return -1;
  }
  rd_kafka_resp_err_t err = rd_kafka_metadata(r->rk, 0, rkt, &md, (int)r->timeout_ms);
  if (err) {
    snprintf(errstr, errstr_size, "cannot read metadata of %s from the brokers within %lld ms: %s",
             r->topic, (long long)r->timeout_ms, rd_kafka_err2str(err));
    goto out;
  }
  if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
    snprintf(errstr, errstr_size, "topic %s does not exist (%s)", r->topic,
             md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "no metadata");
    goto out;
  }
  const rd_kafka_metadata_topic_t *t = &md->topics[0];
  r->parts = calloc((size_t)t->partition_cnt, sizeof(*r->parts));
  if (!r->parts) {
    snprintf(errstr, errstr_size, "out of memory");
    goto out;
  }
  for (int i = 0; i < t->partition_cnt; i++)
    if (only < 0 || t->partitions[i].id == only)
      r->parts[r->nparts++].partition = t->partitions[i].id;
  if (r->nparts == 0) {
    snprintf(errstr, errstr_size, "topic %s has no partition %d (it has %d)", r->topic, only,
             t->partition_cnt);
    goto out;
  }
  rc = 0;
out:
  if (md)
    rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return rc;
}

/* Reads the group's committed offsets into parts[].start where they are
 * ahead of the low watermark. */
static int apply_committed(replay_reader_t *r, char *errstr, size_t errstr_size) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts);
  for (int i = 0; i < r->nparts; i++)
    rd_kafka_topic_partition_list_add(l, r->topic, r->parts[i].partition);
  rd_kafka_resp_err_t err = rd_kafka_committed(r->rk, l, (int)r->timeout_ms);
  if (err) {
    snprintf(errstr, errstr_size, "cannot read the group's committed offsets for %s: %s", r->topic,
             rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
    return -1;
  }
  for (int i = 0; i < l->cnt; i++) {
    replay_part_t *p = find_part(r, l->elems[i].partition);
    /* A committed offset below the low watermark points at letters retention
     * already deleted; one above the end cannot happen unless the topic was
     * recreated, and then starting at the end is the safe side. */
    if (p && l->elems[i].offset >= 0 && l->elems[i].offset > p->start)
      p->start = l->elems[i].offset < p->end ? l->elems[i].offset : p->end;
  }
  rd_kafka_topic_partition_list_destroy(l);
  return 0;
}

replay_reader_t *replay_reader_open(rd_kafka_t *consumer, const char *topic, int32_t partition,
                                    int64_t offset, int use_committed, int64_t timeout_ms,
                                    char *errstr, size_t errstr_size) {
  replay_reader_t *r = calloc(1, sizeof(*r)); /* owned by the caller */
  if (!r || !(r->topic = strdup(topic))) {
    snprintf(errstr, errstr_size, "out of memory");
    free(r);
    return NULL;
  }
  r->rk = consumer;
  r->timeout_ms = timeout_ms;
  if (load_partitions(r, partition, errstr, errstr_size) != 0)
    goto fail;
  for (int i = 0; i < r->nparts; i++) {
    replay_part_t *p = &r->parts[i];
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(consumer, topic, p->partition, &lo, &hi, (int)timeout_ms);
    if (err) {
      snprintf(errstr, errstr_size, "cannot query the offsets of %s [%d]: %s", topic, p->partition,
               rd_kafka_err2str(err));
      goto fail;
    }
    p->start = lo;
    p->end = hi;
    if (offset >= 0) {
      if (offset < lo || offset >= hi) {
        snprintf(errstr, errstr_size, "%s [%d] has offsets %lld..%lld; offset %lld is %s", topic,
                 p->partition, (long long)lo, (long long)hi - 1, (long long)offset,
                 offset < lo ? "gone (retention)" : "not written yet");
        goto fail;
      }
      p->start = offset;
      p->end = offset + 1;
    }
  }
  if (use_committed && offset < 0 && apply_committed(r, errstr, errstr_size) != 0)
    goto fail;

  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts);
  r->remaining = r->nparts;
  for (int i = 0; i < r->nparts; i++) {
    if (r->parts[i].start >= r->parts[i].end) {
      part_done(r, &r->parts[i]); /* nothing to read: do not even assign it */
      continue;
    }
    rd_kafka_topic_partition_list_add(l, topic, r->parts[i].partition)->offset = r->parts[i].start;
  }
  rd_kafka_resp_err_t err = l->cnt ? rd_kafka_assign(consumer, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_topic_partition_list_destroy(l);
  if (err) {
    snprintf(errstr, errstr_size, "cannot assign %s: %s", topic, rd_kafka_err2str(err));
    goto fail;
  }
  r->last_progress = clock_mono_ms();
  return r;
fail:
  replay_reader_destroy(r);
  return NULL;
}

int replay_reader_next(replay_reader_t *r, rd_kafka_message_t **msg, char *errstr,
                       size_t errstr_size) {
  *msg = NULL;
  if (r->remaining <= 0)
    return REPLAY_READ_END;
  rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);
  if (!m) {
    if (clock_mono_ms() - r->last_progress > r->timeout_ms) {
      snprintf(errstr, errstr_size,
               "no message from %s for %lld ms although %d partition(s) have more: is the "
               "broker reachable?",
               r->topic, (long long)r->timeout_ms, r->remaining);
      return REPLAY_READ_ERROR;
    }
    return REPLAY_READ_IDLE;
  }
  replay_part_t *p = find_part(r, m->partition);
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && p && m->offset >= p->end) {
      part_done(r, p);
      r->last_progress = clock_mono_ms();
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      /* Consumer errors are informational: librdkafka retries on its own, and
       * the no-progress timeout ends a run that never recovers. */
      log_warn("consume_error", "%s", rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
    return r->remaining <= 0 ? REPLAY_READ_END : REPLAY_READ_IDLE;
  }
  r->last_progress = clock_mono_ms();
  if (!p || p->done || m->offset >= p->end) {
    /* Halted partitions and letters written after we started are not ours. */
    if (p && m->offset >= p->end)
      part_done(r, p);
    rd_kafka_message_destroy(m);
    return r->remaining <= 0 ? REPLAY_READ_END : REPLAY_READ_IDLE;
  }
  if (m->offset + 1 >= p->end)
    part_done(r, p);
  *msg = m;
  return REPLAY_READ_MSG;
}

void replay_reader_halt(replay_reader_t *r, int32_t partition) {
  replay_part_t *p = find_part(r, partition);
  if (p)
    part_done(r, p);
}

void replay_reader_halt_all(replay_reader_t *r) {
  for (int i = 0; i < r->nparts; i++)
    part_done(r, &r->parts[i]);
}

int replay_reader_partitions(const replay_reader_t *r) {
  return r->nparts;
}

void replay_reader_range(const replay_reader_t *r, int i, int32_t *partition, int64_t *start,
                         int64_t *end) {
  *partition = r->parts[i].partition;
  *start = r->parts[i].start;
  *end = r->parts[i].end;
}

void replay_reader_destroy(replay_reader_t *r) {
  if (!r)
    return;
  if (r->rk && r->nparts)
    rd_kafka_assign(r->rk, NULL);
  free(r->parts);
  free(r->topic);
  free(r);
}
