/* topics.h — the topic list of schemas/topics.yaml, as the dev broker needs it. */
#ifndef DEVBROKER_TOPICS_H
#define DEVBROKER_TOPICS_H

#include <stddef.h>

#define DEVBROKER_TOPICS_MAX 256
#define DEVBROKER_TOPIC_NAME_MAX 249 /* Kafka's own limit */
#define DEVBROKER_PARTITIONS_MAX 1000

struct devbroker_topic {
  char name[DEVBROKER_TOPIC_NAME_MAX + 1];
  int partitions;
};

struct devbroker_topics {
  size_t cnt;
  struct devbroker_topic topic[DEVBROKER_TOPICS_MAX];
};

/**
 * Parses PATH (a mapping whose key "topics" holds a sequence of mappings with
 * at least name and partitions; other keys are ignored) into OUT, which the
 * caller owns (a plain struct, nothing to free). Returns 0, or -1 with a
 * message in errstr on a read error, a YAML error, a bad name, a partition
 * count outside 1..1000, a duplicate name or more than 256 topics.
 */
int devbroker_topics_load(const char *path, struct devbroker_topics *out, char *errstr,
                          size_t errstr_size);

/** Returns 1 if NAME is a legal Kafka topic name ([A-Za-z0-9._-], 1..249). */
int devbroker_topic_name_valid(const char *name);

#endif
