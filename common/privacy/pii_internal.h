/* pii_internal — shared between pii.c, pii_phone.c and pii_email.c; not part
 * of the public contract (common/privacy/pii.h). Everything here is pure: no
 * allocation, no global state, so it is safe from any number of threads. */
#ifndef SENSORY_PII_INTERNAL_H
#define SENSORY_PII_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "privacy/pii.h"

/* Most phone matches one call of pii_phone_scan_run can yield (a run of
 * space-separated numbers; a longer run is read in windows). Must be at
 * least the groups of a window (pii_phone.c checks): a match left out for
 * want of room would stay in clear text. */
#define PII_RUN_MAX_MATCHES 32

typedef struct pii_phone_match {
  size_t start, end;       /* byte span in the text, [start, end) */
  char e164[PII_E164_MAX]; /* normalised number */
} pii_phone_match_t;

/* Character classes used by both detectors. */
enum { PII_CC_OTHER = 0, PII_CC_LETTER, PII_CC_DIGIT, PII_CC_INVALID };

/* Class of the code point that starts at s[i] (i < len); *n gets its byte
 * length (1 for an invalid byte). Bengali digits are PII_CC_DIGIT; letters of
 * any script (and '_') are PII_CC_LETTER. */
int pii_class_at(const char *s, size_t len, size_t i, size_t *n);

/* Class of the code point that ends just before s[i] (i > 0); *n gets its
 * byte length. Invalid bytes give PII_CC_INVALID. */
int pii_class_before(const char *s, size_t i, size_t *n);

/* If s[i] starts a digit (ASCII or Bengali U+09E6..U+09EF) returns its byte
 * length (1 or 3) and stores the ASCII digit in *d; else returns 0. */
size_t pii_digit_at(const char *s, size_t len, size_t i, char *d);

/* Parses the digit run that starts at s[pos] (a digit, Bengali digit, '+' or
 * '('), stores up to cap phone matches in m (*n_out of them, in text order)
 * and returns the position where scanning must resume: always > pos; the end
 * of the run, or for a run longer than one window (pii_phone.c) the start of
 * the window's last number, so that no position inside a rejected run is
 * tried again (that is what keeps the scan linear). s[0..floor) was replaced
 * by tokens already: a number starting at floor is not glued to it. */
size_t pii_phone_scan_run(const char *s, size_t len, size_t pos, size_t floor, pii_phone_match_t *m,
                          size_t cap, size_t *n_out);

/* Finds an email address around the '@' at s[at]; the local part may not reach
 * back before floor (text already replaced). On success returns 0 and sets
 * [*start, *end); else -1. */
int pii_email_at(const char *s, size_t len, size_t at, size_t floor, size_t *start, size_t *end);

/* 1 when the scrubber takes an email address whose local part starts
 * exactly at s[pos] (found from its '@', normalisable, its local part not
 * reaching further back), else 0: the phone scanner leaves such a digit group
 * to the address. */
int pii_email_starts_at(const char *s, size_t len, size_t pos);

/* 1 when the scrubber takes an email address whose local part holds s[pos]
 * (pos < len), else 0: digits it holds are the address's, not a phone's. */
int pii_email_covers(const char *s, size_t len, size_t pos);

#endif
