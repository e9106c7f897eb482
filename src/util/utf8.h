/*
 * utf8.h - the few things Verbatim asks of UTF-8 text: is it valid, how
 * many characters does it hold, and where may it be cut without splitting
 * a character.  Pure functions; safe from any thread.
 */
#ifndef VB_UTF8_H
#define VB_UTF8_H

#include <stddef.h>

/* Are the len bytes at s valid UTF-8: no stray or missing continuation
 * bytes, no overlong forms, no surrogates, nothing past U+10FFFF? */
int utf8_valid(const char *s, size_t len);

/* Characters in the len bytes at s (continuation bytes not counted). */
size_t utf8_chars(const char *s, size_t len);

/* The longest prefix of s, at most max bytes, that ends at a character's
 * start (so that a cut never splits one), in bytes. */
size_t utf8_prefix(const char *s, size_t max);

#endif
