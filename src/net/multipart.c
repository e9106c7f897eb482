/*
 * multipart.c - multipart/form-data bodies (multipart.h).
 *
 * A body is delimiter lines ("--" boundary) with a part between each two:
 * header lines, a blank line, the content; the last delimiter has "--"
 * after it.  The line breaks are CRLF; a bare LF is taken too, as some
 * hand-written clients send it.  Only Content-Disposition's name and
 * filename are read: the part's own Content-Type says nothing the audio
 * decoder does not find out from the bytes.
 */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../util/vb.h"

#define HEADERS_MAX 8192 /* of one part, all lines together */

static int is_space(int c)
{
    return c == ' ' || c == '\t';
}

/* Copies a parameter's value at *p (a token, or a quoted string with
 * backslash escapes) into out, truncating; *p moves past it. */
static void param_value(const char **p, const char *end, char *out,
                        size_t outlen)
{
    const char *s = *p;
    size_t n = 0;
    if (s < end && *s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end)
                s++;
            if (n + 1 < outlen)
                out[n++] = *s;
        }
        if (s < end)
            s++; /* the closing quote */
    } else {
        for (; s < end && *s != ';' && !is_space(*s); s++)
            if (n + 1 < outlen)
                out[n++] = *s;
    }
    out[n] = '\0';
    *p = s;
}

/* Walks "; key=value" parameters from p to end, calling back for each. */
typedef void (*param_fn)(void *ctx, const char *key, size_t keylen,
                         const char *value);

static void each_param(const char *p, const char *end, param_fn fn, void *ctx)
{
    while (p < end) {
        while (p < end && (*p == ';' || is_space(*p)))
            p++;
        const char *key = p;
        while (p < end && *p != '=' && *p != ';')
            p++;
        size_t keylen = (size_t)(p - key);
        while (keylen > 0 && is_space(key[keylen - 1]))
            keylen--;
        char value[MULTIPART_NAME_MAX * 2] = "";
        if (p < end && *p == '=') {
            p++;
            while (p < end && is_space(*p))
                p++;
            param_value(&p, end, value, sizeof(value));
        }
        if (keylen > 0)
            fn(ctx, key, keylen, value);
        while (p < end && *p != ';')
            p++;
    }
}

static int key_is(const char *key, size_t keylen, const char *want)
{
    return keylen == strlen(want) && strncasecmp(key, want, keylen) == 0;
}

static void boundary_param(void *ctx, const char *key, size_t keylen,
                           const char *value)
{
    char *boundary = ctx;
    if (key_is(key, keylen, "boundary") &&
        strlen(value) <= MULTIPART_BOUNDARY_MAX)
        strcpy(boundary, value);
}

int multipart_boundary(const char *content_type, char *boundary)
{
    static const char type[] = "multipart/form-data";
    const char *p = content_type;
    boundary[0] = '\0';
    while (is_space(*p))
        p++;
    size_t n = strlen(type);
    if (strncasecmp(p, type, n) != 0 ||
        (p[n] != '\0' && p[n] != ';' && !is_space(p[n])))
        return 0;
    each_param(p + n, p + strlen(p), boundary_param, boundary);
    return boundary[0] != '\0' ? 1 : -1;
}

static void disposition_param(void *ctx, const char *key, size_t keylen,
                              const char *value)
{
    multipart_part *part = ctx;
    if (key_is(key, keylen, "name")) {
        snprintf(part->name, sizeof(part->name), "%s", value);
    } else if (key_is(key, keylen, "filename")) {
        snprintf(part->filename, sizeof(part->filename), "%s", value);
        part->is_file = 1;
    } else if (key_is(key, keylen, "filename*")) { /* RFC 5987's form */
        part->is_file = 1;
    }
}

/* One header line (without its line break). */
static void header_line(const char *line, size_t len, multipart_part *part)
{
    static const char cd[] = "content-disposition:";
    size_t n = sizeof(cd) - 1;
    if (len < n || strncasecmp(line, cd, n) != 0)
        return;
    const char *p = line + n, *end = line + len;
    while (p < end && is_space(*p))
        p++;
    if (end - p < 9 || strncasecmp(p, "form-data", 9) != 0)
        return;
    each_param(p + 9, end, disposition_param, part);
}

/* The end of the line starting at p (its CR or LF), or NULL. */
static const uint8_t *line_end(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
    if (lf == NULL)
        return NULL;
    return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

/* Past the line break at p (CRLF or LF; the caller knows it is one). */
static const uint8_t *past_break(const uint8_t *p)
{
    return *p == '\r' ? p + 2 : p + 1;
}

static int is_break(const uint8_t *p, const uint8_t *end)
{
    return p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'));
}

/* The next delimiter line at or after p: where its "--" begins (after
 * the line break that belongs to it), or NULL.  *before: where the
 * content before it ends (its line break excluded). */
static const uint8_t *next_delimiter(const uint8_t *p, const uint8_t *end,
                                     const char *delim, size_t dlen,
                                     const uint8_t **before)
{
    while (p < end) {
        const uint8_t *d = memmem(p, (size_t)(end - p), delim, dlen);
        if (d == NULL)
            return NULL;
        if (d >= p + 1 && d[-1] == '\n') {
            *before = d - 1 > p && d[-2] == '\r' ? d - 2 : d - 1;
            return d;
        }
        p = d + 1; /* the boundary's text inside the content */
    }
    return NULL;
}

int multipart_parse(const uint8_t *body, size_t len, const char *boundary,
                    multipart_part *parts, size_t max, size_t *count,
                    char *err, size_t errlen)
{
    char delim[MULTIPART_BOUNDARY_MAX + 3];
    snprintf(delim, sizeof(delim), "--%s", boundary);
    size_t dlen = strlen(delim);
    const uint8_t *end = body + len, *p, *ignored;
    *count = 0;
    if (len >= dlen && memcmp(body, delim, dlen) == 0)
        p = body;
    else
        p = next_delimiter(body, end, delim, dlen, &ignored);
    if (p == NULL) {
        vb_seterr(err, errlen, "the form's boundary (from Content-Type) "
                  "does not occur in the body: it is not multipart/form-data "
                  "as declared");
        return -1;
    }
    for (;;) {
        p += dlen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return 0; /* the closing delimiter */
        while (p < end && is_space(*p))
            p++;
        if (!is_break(p, end)) {
            vb_seterr(err, errlen, "the form ends without its closing "
                      "boundary, or a boundary line has text after it");
            return -1;
        }
        p = past_break(p);
        if (*count == max) {
            vb_seterr(err, errlen, "the form has more than %zu parts", max);
            return -1;
        }
        multipart_part *part = &parts[*count];
        memset(part, 0, sizeof(*part));
        const uint8_t *headers = p;
        for (;;) {
            const uint8_t *e = line_end(p, end);
            if (e == NULL || e - headers > HEADERS_MAX) {
                vb_seterr(err, errlen, "a part of the form has no end to "
                          "its headers (a blank line) within %d bytes",
                          HEADERS_MAX);
                return -1;
            }
            const uint8_t *next = past_break(e);
            if (e == p) { /* the blank line */
                p = next;
                break;
            }
            header_line((const char *)p, (size_t)(e - p), part);
            p = next;
        }
        const uint8_t *content_end;
        const uint8_t *d = next_delimiter(p > body ? p - 1 : p, end, delim,
                                          dlen, &content_end);
        if (d == NULL) {
            vb_seterr(err, errlen, "the form ends inside a part: its "
                      "closing boundary is missing (was the upload cut "
                      "short?)");
            return -1;
        }
        part->data = p;
        part->len = content_end > p ? (size_t)(content_end - p) : 0;
        (*count)++;
        p = d;
    }
}
