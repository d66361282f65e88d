/* topics — the pipeline's topics as schemas/topics.yaml declares them: the
 * one source of truth for the dev broker, the Strimzi KafkaTopics, and the
 * programs' routing (where a topic's bad messages go, which field keys it,
 * which contract its messages follow).
 *
 *   topics:
 *     - {name: clean.social, partitions: 6, retention_hours: 168, key: post_id,
 *        schema: clean_social_post.json, dead_letters: dead-letters-social}
 *
 * key: the message field used as the Kafka key, null for none, "original" for
 * dead-letter topics (the failed message's own key). dead_letters: the topic
 * bad messages of this one go to; null on the dead-letter topics themselves.
 * ingest: true on the topics raw records enter by (before privacy-shield).
 * Unknown keys are ignored (tools read more than this module does).
 *
 * Depends on json/yaml.c, libyaml and jansson only, so the dev broker compiles
 * these files on their own. Read-only after topics_load(): safe to share
 * between threads.
 */
#ifndef SENSORY_KAFKA_TOPICS_H
#define SENSORY_KAFKA_TOPICS_H

#include <stddef.h>

/* Most partitions a topic may declare (one limit for the file, the dev
 * broker's create-topic command and anything else that counts them). */
#define TOPICS_PARTITIONS_MAX 10000

typedef struct topic_info {
  const char *name;
  int partitions;
  int retention_hours;      /* 0 when not given */
  const char *key;          /* NULL when the topic has no key */
  const char *schema;       /* contract file in schemas.dir, or NULL */
  const char *dead_letters; /* NULL for dead-letter topics */
  int ingest;               /* 1: raw records from outside (scraper-ingest writes it) */
} topic_info_t;

typedef struct topics topics_t;

/* Reads and checks path: names legal for Kafka ([A-Za-z0-9._-], 1..249, not
 * "." or ".."), 1..TOPICS_PARTITIONS_MAX partitions, no duplicates, every dead_letters naming
 * a topic of the file that has no dead_letters itself. Returns a table the
 * caller owns (topics_destroy), or NULL with errstr naming the file and the
 * problem. */
topics_t *topics_load(const char *path, char *errstr, size_t errstr_size);

/* Frees the table; NULL is accepted. */
void topics_destroy(topics_t *t);

size_t topics_count(const topics_t *t);

/* The i-th topic in file order (i < topics_count), owned by t. */
const topic_info_t *topics_at(const topics_t *t, size_t i);

/* The topic called name, or NULL (t may be NULL). */
const topic_info_t *topics_find(const topics_t *t, const char *name);

/* 1 when name is a legal Kafka topic name. */
int topics_name_valid(const char *name);

#endif
