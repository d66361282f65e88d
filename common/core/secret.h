/* secret — reading key material from files (k8s Secrets mounted as files). */
#ifndef SENSORY_SECRET_H
#define SENSORY_SECRET_H

#include <stddef.h>

#define SECRET_MAX 4096

/* Reads the whole file at path into a newly allocated buffer (*out, *out_len),
 * dropping one trailing "\n" (or "\r\n"). Fails with -1 and an errstr naming the
 * file (never its content) if it is missing, unreadable, empty or larger than
 * SECRET_MAX. The caller frees *out with secret_free(), which wipes it first. */
int secret_read_file(const char *path, unsigned char **out, size_t *out_len, char *errstr,
                     size_t errstr_size);

/* Wipes and frees a buffer returned by secret_read_file(); NULL is accepted. */
void secret_free(unsigned char *buf, size_t len);

/* Short public fingerprint of a key: "k" + first 8 hex digits of SHA-256(key),
 * written into out (>= 10 bytes). Names a key in logs and hash fields without
 * revealing it. */
void secret_key_id(const unsigned char *key, size_t key_len, char *out, size_t out_size);

#endif
