/*
 * strbuf.h - a growable string for building text (exports, messages).
 *
 * An allocation failure is remembered: later appends do nothing and
 * strbuf_take() returns NULL, so callers check once at the end.
 */
#ifndef VB_STRBUF_H
#define VB_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *data;
    size_t len, cap;
    int failed;
} strbuf;

void strbuf_append(strbuf *sb, const char *text, size_t len);
void strbuf_puts(strbuf *sb, const char *text);
void strbuf_printf(strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text (malloc'd, NUL-terminated; "" when empty), or NULL after an
 * allocation failure.  The strbuf is empty afterwards. */
char *strbuf_take(strbuf *sb);

#endif
