/* weaviate_schema — the SocialPost class the sink writes (vectorizer none:
 * the vectors come from the embedder; cosine distance, as post-search
 * ranks), and the check of an existing class against it.
 *
 * Properties: post_id, platform, model (text, whole-value tokens, filter
 * only), content (text, word tokens: keyword search), hashtags (text[],
 * word), product_ids (text[], whole values, filter only), timestamp (date),
 * engagement (int).
 */
#ifndef SENSORY_WEAVIATE_SCHEMA_H
#define SENSORY_WEAVIATE_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* The class definition for POST /v1/schema. Caller owns (json_decref);
 * NULL on allocation failure. */
json_t *wv_schema_class(const char *class_name);

/* The definition of one property by name (for POST
 * /v1/schema/{class}/properties), or NULL when it is not one of ours.
 * Caller owns. */
json_t *wv_schema_property(const char *name);

/* Checks an existing class (GET /v1/schema/{class}) against ours. Returns 0
 * when the sink can write to it, with the names of our properties it lacks
 * (to be added) in missing[0..*nmissing) (static strings; at most 16);
 * -1 with errstr saying what conflicts (a property of another type, a
 * vectorizer, named vectors, another distance, multi-tenancy). */
int wv_schema_check(const json_t *existing, const char **missing, size_t *nmissing, char *errstr,
                    size_t errstr_size);

#endif
