/*
 * utf8.h - UTF-8 as PostgreSQL takes it (no overlong forms, no surrogates,
 * nothing past U+10FFFF): what is stored or sent as text is checked here
 * first, so that a bad byte is refused with its position instead of by
 * the database.
 */
#ifndef HOURSD_UTF8_H
#define HOURSD_UTF8_H

#include "hoursd.h"

/* Length of the valid UTF-8 character at s (n bytes left, n > 0); 0 when invalid. */
size_t utf8_char_len(const unsigned char *s, size_t n);

/* The offset of the first byte of s[0..n) that is not valid UTF-8; n when all is. */
size_t utf8_invalid_at(const char *s, size_t n);

#endif
