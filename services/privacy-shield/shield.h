/* shield — privacy-shield's transform: validate a source record against its
 * contract, replace every identifier field by its keyed hash, replace phones
 * and emails inside free text by tokens, validate the result against the clean
 * contract, and emit it with one audit event. Pure: no Kafka, no I/O after
 * shield_new(), so it is unit-tested with plain strings.
 *
 * The record is read as a jsonf document and the clean one is built as a
 * document in scratch buffers the shield keeps from message to message, so a
 * message costs no allocation once the buffers have grown to the largest
 * record seen; a shield therefore transforms one message at a time.
 *
 * Which fields are identifiers and which are free text comes from the x-pii
 * annotations of the source schema (schemas/README.md): the policy is data.
 */
#ifndef SENSORY_SHIELD_H
#define SENSORY_SHIELD_H

#include <stddef.h>

#include "privacy/pii.h"
#include "stage/stage.h"

typedef struct shield shield_t;

/* Loads the source and clean schemas from schemas_dir. hasher is borrowed and
 * must outlive the shield. NULL + errstr on any schema error. */
shield_t *shield_new(const char *schemas_dir, const pii_hasher_t *hasher, char *errstr,
                     size_t errstr_size);

void shield_destroy(shield_t *s);

/* The stage's document transform (ctx is the shield_t). Input topics
 * source.social.* go to clean.social, source.market.* to sink.snowflake.orders;
 * every message also yields one audit.privacy side output. The outputs are
 * borrowed from the shield (stage_emit_ref): valid until its next call. */
int shield_transform_doc(void *ctx, const stage_msg_t *msg, const jsonf_node_t *doc,
                         stage_out_t *out, stage_fail_t *fail);

/* The same for a jansson record (doc is only read), with outputs copied
 * (stage_emit): the caller owns them. */
int shield_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                     stage_fail_t *fail);

#endif
