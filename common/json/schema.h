/* schema — JSON Schema (draft 2020-12 subset) validation of JSON values, as
 * jsonf documents (the allocation-free form, json/jsonf.h) or jansson values.
 *
 * A schema file is compiled once at start-up into a tree of checks; validating a
 * message walks that tree only.  Supported keywords: type, required, properties,
 * additionalProperties, enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minLength, maxLength (Unicode code points), pattern (PCRE2,
 * UTF mode), format "date-time" (RFC 3339), "date" (RFC 3339 full-date) and
 * "uuid" (RFC 4122 text form), items, prefixItems, minItems,
 * maxItems, uniqueItems, allOf, anyOf, oneOf, not, $ref within the same document
 * ("#", "#/json/pointer", "$defs"), $defs, and the annotations $schema, $id,
 * $comment, title, description, default, examples, x-pii.  Any other keyword is
 * a load-time error: a policy the validator cannot enforce is never ignored.
 *
 * x-pii marks the privacy policy in the contract itself (see schemas/README.md):
 *   "x-pii": {"action": "hash", "kind": "phone|email|username|name", "target": "field_hash"}
 *   "x-pii": {"action": "scan"}      free text to scan for phones and emails
 */
#ifndef SENSORY_SCHEMA_H
#define SENSORY_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "json/jsonf.h"

typedef struct schema schema_t;

typedef enum { SCHEMA_PII_HASH = 1, SCHEMA_PII_SCAN = 2 } schema_pii_action_t;

/* One top-level property carrying an x-pii annotation. Strings are owned by
 * the schema and live as long as it does. */
typedef struct schema_pii_field {
  const char *name;           /* property name, e.g. "customer_phone" */
  schema_pii_action_t action; /* hash-and-drop, or scan free text */
  const char *kind;           /* "phone", "email", "username", "name"; NULL for scan */
  const char *target; /* output field for the hash, e.g. "customer_phone_hash"; NULL for scan */
} schema_pii_field_t;

/* Compiles the schema in the JSON file at path. Returns NULL and fills errstr
 * on unreadable file, invalid JSON, an unsupported keyword, a bad pattern or an
 * unresolvable $ref (the message names the schema location). The caller owns the
 * result and frees it with schema_destroy(). */
schema_t *schema_load_file(const char *path, char *errstr, size_t errstr_size);

/* Same, from an already parsed document; doc is borrowed (not stolen). */
schema_t *schema_load_json(const json_t *doc, char *errstr, size_t errstr_size);

/* Frees a schema; NULL is accepted. */
void schema_destroy(schema_t *schema);

/* Returns 0 when the document value instance is valid. Otherwise returns -1
 * and writes the first failure as "<json-pointer>: <reason>", e.g.
 * "/quantity: must be > 0" or "/customer_phone: must be string" ("": the
 * root). Allocates nothing. Thread-safe for concurrent validations against one
 * schema. */
int schema_validate_node(const schema_t *schema, const jsonf_node_t *instance, char *errstr,
                         size_t errstr_size);

/* Records derived from valid ones. privacy-shield validates a record against
 * its source contract, changes a few top-level members and validates the
 * result against the clean contract; a pair of the two schemas knows which
 * top-level properties they check alike (compiled identically), so the
 * members the shield did not touch are not checked twice. */
typedef struct schema_pair schema_pair_t;

/* Compares target's and source's top-level property schemas. Both are
 * borrowed and must outlive the pair. NULL when out of memory or either is
 * NULL. The caller frees it with schema_pair_destroy (NULL accepted). */
schema_pair_t *schema_pair_new(const schema_t *target, const schema_t *source);
void schema_pair_destroy(schema_pair_t *p);

/* schema_validate_node(target, instance) for an object made from a record
 * that was valid against the pair's source schema: bit i of kept (i < 64)
 * says that the i-th member of instance has the name and the value it had in
 * that record. Those members, where the two schemas check their property
 * alike, are not checked again; every other check runs as schema_validate_node
 * runs it, so the verdict and the error message are the same. */
int schema_validate_derived(const schema_pair_t *p, const jsonf_node_t *instance, uint64_t kept,
                            char *errstr, size_t errstr_size);

/* Same for a jansson value, laid out as a document first (in a per-thread
 * scratch document): the same walk, the same answers. A value nested deeper
 * than 2048 levels fails with ": nesting too deep". */
int schema_validate(const schema_t *schema, const json_t *instance, char *errstr,
                    size_t errstr_size);

/* The x-pii annotated top-level properties, in schema order. *out points into
 * the schema (do not free). Returns the count. */
size_t schema_pii_fields(const schema_t *schema, const schema_pii_field_t **out);

/* The schema's "$id" or "title" (whichever present, else ""), for messages. */
const char *schema_name(const schema_t *schema);

#endif
