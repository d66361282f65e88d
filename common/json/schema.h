/* schema — JSON Schema (draft 2020-12 subset) validation of jansson documents.
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

/* Returns 0 when instance is valid. Otherwise returns -1 and writes the first
 * failure as "<json-pointer>: <reason>", e.g. "/quantity: must be > 0" or
 * "/customer_phone: must be string" ("": the root). Thread-safe for concurrent
 * validations against one schema. */
int schema_validate(const schema_t *schema, const json_t *instance, char *errstr,
                    size_t errstr_size);

/* The x-pii annotated top-level properties, in schema order. *out points into
 * the schema (do not free). Returns the count. */
size_t schema_pii_fields(const schema_t *schema, const schema_pii_field_t **out);

/* The schema's "$id" or "title" (whichever present, else ""), for messages. */
const char *schema_name(const schema_t *schema);

#endif
