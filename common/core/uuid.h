/* uuid — RFC 4122 identifiers as the pipeline uses them: name-based UUIDv5
 * (SHA-1), so a record's id follows from its business key (a re-delivered
 * post overwrites itself, and a tombstone that carries only the key finds
 * the object to delete), plus parsing and the canonical lower-case text form
 * (8-4-4-4-12 hex). Pure functions; nothing here allocates or logs.
 */
#ifndef SENSORY_UUID_H
#define SENSORY_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters + NUL */

/* Writes UUIDv5(ns, name[0..len)) in canonical lower-case text into out. */
void uuid_v5(const uint8_t ns[16], const char *name, size_t len, char out[UUID_STR_LEN]);

/* Parses the 36-character 8-4-4-4-12 form (either case; no braces, no urn:
 * prefix) of s[0..len) into out. Returns 0, or -1 when s is not one. */
int uuid_parse(const char *s, size_t len, uint8_t out[16]);

/* Writes the canonical lower-case text of u into out. */
void uuid_format(const uint8_t u[16], char out[UUID_STR_LEN]);

#endif
