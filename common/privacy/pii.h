/* pii — detection, normalisation and keyed pseudonyms for phone numbers and
 * email addresses, shared by privacy-shield and risk-svc so both derive the same
 * pseudonym for the same person.
 *
 * Phones are normalised to E.164: every way a Bangladeshi mobile is written
 * (+8801711234567, 8801711234567, 01711234567, 01711-234567, 017 1123 4567,
 * (+880) 1711 234567, 008801711234567, Bengali digits) gives "+8801711234567";
 * other numbers written with a "+" country code are accepted by length (8-15
 * digits). Emails are trimmed and lower-cased.
 *
 * Pseudonyms are HMAC-SHA256(key, kind ":" normalised value), written as
 * "<key_id>:<64 hex>" for identifier fields and "PHONE_<16 hex>" /
 * "EMAIL_<16 hex>" for tokens replacing PII inside free text. A token is the
 * first 16 hex digits of the identifier hash of the same value (same MAC,
 * same input "phone:+8801711234567"), so a post mentioning a number joins the
 * orders carrying it by prefix.
 *
 * Threads: a hasher is read-only after pii_hasher_new(); pii_hash_identifier
 * and pii_scrub_text may be called concurrently on one hasher (each call
 * copies the precomputed keyed SHA-256 states onto its own stack). Nothing
 * here logs; error strings never contain the key or the value being hashed.
 */
#ifndef SENSORY_PII_H
#define SENSORY_PII_H

#include <stddef.h>

#define PII_DETECTOR_VERSION "pii-1"
#define PII_E164_MAX 17  /* "+" + 15 digits + NUL */
#define PII_HASH_MAX 96  /* "<key_id>:<64 hex>" + NUL, key_id <= 16 chars */
#define PII_TOKEN_MAX 24 /* "EMAIL_" + 16 hex + NUL */
#define PII_KEY_MIN 16

typedef struct pii_hasher pii_hasher_t;

typedef struct pii_counts {
  size_t phones;
  size_t emails;
} pii_counts_t;

/* Builds a hasher from key bytes (>= PII_KEY_MIN). key_id may be NULL: it is
 * then "k" + the first 8 hex digits of SHA-256(key), a fingerprint that names
 * the key without revealing it. Returns NULL and fills errstr on a short key.
 * Caller owns the result (pii_hasher_destroy). */
pii_hasher_t *pii_hasher_new(const unsigned char *key, size_t key_len, const char *key_id,
                             char *errstr, size_t errstr_size);

/* Reads the key from a file (a k8s Secret): the whole content, one trailing
 * newline ignored; refuses a missing, unreadable or short (< 16 bytes) key with
 * a message that names the file but never the key. */
pii_hasher_t *pii_hasher_from_file(const char *path, const char *key_id, char *errstr,
                                   size_t errstr_size);

void pii_hasher_destroy(pii_hasher_t *h);

/* The key id carried in every hash field. Owned by the hasher. */
const char *pii_hasher_key_id(const pii_hasher_t *h);

/* Normalises a phone number as written by a person to E.164 in out
 * (>= PII_E164_MAX bytes). Returns 0, or -1 if it is not a plausible phone.
 * The value is taken to be a phone field, so this accepts more than text
 * detection does: BD fixed lines ("029876543"), a bare 10-digit mobile NSN
 * ("1711234567") and "00"-prefixed international numbers. BD numbers must fit
 * the BD plan (010/012 mobiles are refused); other country codes 8-15 digits. */
int pii_phone_normalize(const char *in, size_t len, char *out, size_t out_size);

/* Trims and lower-cases an email into out; returns 0, or -1 if not an email.
 * Practical grammar, shared with text detection: ASCII local part (atext
 * without '/'), LDH domain with a dot and an alphabetic (or xn--) TLD.
 * Internationalised addresses (non-ASCII local part or U-label domain) are
 * refused — a documented gap. */
int pii_email_normalize(const char *in, size_t len, char *out, size_t out_size);

/* Pseudonym of an identifier field of the given kind ("phone", "email",
 * "username", "name"): phones and emails are normalised first (-1 and errstr
 * "not a phone number"/"not an email address" if they cannot be), usernames are
 * trimmed and lower-cased, names trimmed with inner white space collapsed.
 * Writes "<key_id>:<64 hex>" into out (>= PII_HASH_MAX). Returns 0 or -1. */
int pii_hash_identifier(const pii_hasher_t *h, const char *kind, const char *value, size_t len,
                        char *out, size_t out_size, char *errstr, size_t errstr_size);

/* Returns a newly allocated copy of text (UTF-8, len bytes) in which every phone
 * number and email address is replaced by its PHONE_<hex> / EMAIL_<hex> token,
 * adding what it replaced to *counts (may be NULL). Invalid UTF-8 is copied
 * through byte for byte (detection still runs on the valid parts). Sets *out_len
 * (may be NULL); the copy is also NUL-terminated. Returns NULL only on
 * allocation failure (or h NULL). Caller frees. One pass, linear in len.
 * In text only unmistakable phones are taken, for precision: a BD mobile
 * written nationally (exactly 11 digits 01[13-9]...), after 880 / +880 /
 * 00880, or any number with a leading "+" country code; separators are single
 * spaces, dashes, dots and parentheses around a group. A number glued to a
 * letter, digit, '_', '#', '@' or to "digit-"/"digit." is not taken (order
 * ids, tracking numbers, hashtags, versions), nor is a spaced slice of a
 * longer spaced digit run. */
char *pii_scrub_text(const pii_hasher_t *h, const char *text, size_t len, size_t *out_len,
                     pii_counts_t *counts);

/* The same scrubbing into the caller's buffer out (out_size bytes; out may be
 * NULL when out_size is 0), without allocating and without a terminating NUL.
 * Returns the length of the scrubbed text: when it exceeds out_size, out holds
 * only a prefix, nothing was added to *counts, and the caller calls again with
 * at least that much room. Returns (size_t)-1 when h is NULL or a MAC fails. */
size_t pii_scrub_into(const pii_hasher_t *h, const char *text, size_t len, char *out,
                      size_t out_size, pii_counts_t *counts);

#endif
