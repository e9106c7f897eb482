/*
 * chunked.c - the chunked transfer coding of an HTTP/1.1 request body
 * (RFC 9112, 7.1), decoded as it arrives in pieces of any size.
 *
 * libwebsockets hands a request body without Content-Length to the
 * server as it came off the wire, chunk sizes and all, and cannot tell
 * where it ends; this decoder gives back the data and says when the last
 * chunk (and any trailer fields after it) has arrived.
 *
 *   chunked-body = *( chunk-size [ ; extensions ] CRLF  data  CRLF )
 *                  "0" [ ; extensions ] CRLF  *( trailer-field CRLF )  CRLF
 *
 * A bare LF is taken where CRLF belongs, as most servers do.
 */
#include "chunked.h"

#include <stdint.h>
#include <string.h>

enum {
    CH_SIZE,        /* hex digits of a chunk's size */
    CH_EXTENSION,   /* after the size: ";name=value" up to the line's end */
    CH_SIZE_LF,     /* the LF after the size line's CR */
    CH_DATA,        /* `remaining` bytes of data */
    CH_DATA_CR,     /* the CRLF after the data */
    CH_DATA_LF,
    CH_TRAILER,     /* at the start of a line after the last chunk */
    CH_TRAILER_TEXT,/* a trailer field, skipped */
    CH_TRAILER_LF,  /* the LF after a trailer field's CR */
    CH_END_LF,      /* the LF of the empty line that ends the body */
    CH_DONE,
};

void chunked_init(chunked_decoder *d)
{
    memset(d, 0, sizeof(*d));
    d->state = CH_SIZE;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int fail(chunked_decoder *d, const char *why)
{
    d->error = why;
    return CHUNKED_MALFORMED;
}

/* The end of the size line: data follows, or the trailer after the last. */
static void size_line_done(chunked_decoder *d)
{
    d->state = d->remaining > 0 ? CH_DATA : CH_TRAILER;
    d->digits = 0;
}

int chunked_feed(chunked_decoder *d, const char *in, size_t len,
                 chunked_sink sink, void *ctx)
{
    size_t i = 0;
    while (i < len && d->state != CH_DONE) {
        char c = in[i];
        switch (d->state) {
        case CH_SIZE: {
            int v = hex_value(c);
            if (v >= 0) {
                if (d->remaining > (SIZE_MAX >> 4))
                    return fail(d, "a chunk size is too large");
                d->remaining = d->remaining * 16 + (size_t)v;
                d->digits++;
                i++;
                break;
            }
            if (d->digits == 0)
                return fail(d, "a chunk does not begin with its size in hex");
            if (c == ';' || c == ' ' || c == '\t')
                d->state = CH_EXTENSION;
            else if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (c == '\n')
                size_line_done(d);
            else
                return fail(d, "a chunk size is followed by something else");
            i++;
            break;
        }
        case CH_EXTENSION:
            if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (c == '\n')
                size_line_done(d);
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return fail(d, "a chunk's size line does not end in CRLF");
            size_line_done(d);
            i++;
            break;
        case CH_DATA: {
            size_t n = len - i < d->remaining ? len - i : d->remaining;
            if (sink(ctx, in + i, n) != 0)
                return CHUNKED_REFUSED;
            d->remaining -= n;
            i += n;
            if (d->remaining == 0)
                d->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c == '\r')
                d->state = CH_DATA_LF;
            else if (c == '\n')
                d->state = CH_SIZE;
            else
                return fail(d, "a chunk's data is longer than its size says");
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return fail(d, "a chunk's data does not end in CRLF");
            d->state = CH_SIZE;
            i++;
            break;
        case CH_TRAILER:
            if (c == '\r')
                d->state = CH_END_LF;
            else if (c == '\n')
                d->state = CH_DONE;
            else
                d->state = CH_TRAILER_TEXT;
            i++;
            break;
        case CH_TRAILER_TEXT:
            if (c == '\r')
                d->state = CH_TRAILER_LF;
            else if (c == '\n')
                d->state = CH_TRAILER;
            i++;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                return fail(d, "a trailer field does not end in CRLF");
            d->state = CH_TRAILER;
            i++;
            break;
        case CH_END_LF:
            if (c != '\n')
                return fail(d, "the body does not end in CRLF");
            d->state = CH_DONE;
            i++;
            break;
        }
    }
    return d->state == CH_DONE ? 1 : 0;
}
