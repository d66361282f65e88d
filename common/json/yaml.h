/* yaml — a YAML document read into a jansson tree, for data files that are
 * more than flat settings (risk-svc's rules). Settings files keep using
 * core/config.h, which flattens YAML to dotted keys.
 *
 * Mappings become objects (keys must be plain scalars; a duplicate key is an
 * error), sequences arrays. A plain (unquoted) scalar is read as YAML 1.2's
 * core schema does: null/~/empty → null, true/false → booleans, integers
 * (decimal, fitting int64) → integers, decimal numbers → reals; anything
 * quoted, and every other plain scalar, is a string. Anchors and aliases are
 * refused (no billion laughs), and so is a NUL character in a value ("\0" in
 * a double-quoted scalar), as JSON's reader refuses \u0000. Nothing here logs.
 */
#ifndef SENSORY_JSON_YAML_H
#define SENSORY_JSON_YAML_H

#include <jansson.h>
#include <stddef.h>

/* Parses the first document of buf (len bytes). Returns a new value (caller
 * json_decref()s), an empty document giving JSON null; NULL with errstr
 * ("line N: why") on a YAML error, an alias, a non-scalar or duplicate key,
 * nesting deeper than 64, or allocation failure. */
json_t *yaml_parse_json(const char *buf, size_t len, char *errstr, size_t errstr_size);

/* Same for the file at path; errstr names the file (never its content). */
json_t *yaml_load_json_file(const char *path, char *errstr, size_t errstr_size);

#endif
