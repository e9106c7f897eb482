/*
 * chunked.h - a request body in HTTP/1.1's chunked transfer coding,
 * decoded as it arrives (chunked.c).  One decoder per request; no
 * allocation, no threads of its own.
 */
#ifndef VB_CHUNKED_H
#define VB_CHUNKED_H

#include <stddef.h>

/* Takes decoded data; non-zero refuses it (the body is too large, say). */
typedef int (*chunked_sink)(void *ctx, const char *data, size_t len);

typedef struct chunked_decoder {
    int state;
    size_t remaining;   /* of the chunk size being read, or of its data */
    int digits;         /* hex digits of the size read so far */
    const char *error;  /* after -1: what was wrong, for the client */
} chunked_decoder;

void chunked_init(chunked_decoder *d);

/* Decodes the next len bytes of the body, handing its data to sink.
 * 1: the body has ended (anything after it in `in` is not read);
 * 0: more is to come; CHUNKED_MALFORMED: d->error says what is wrong;
 * CHUNKED_REFUSED: the sink refused data.  Once it has returned other
 * than 0, it must not be fed again. */
#define CHUNKED_MALFORMED (-1)
#define CHUNKED_REFUSED (-2)
int chunked_feed(chunked_decoder *d, const char *in, size_t len,
                 chunked_sink sink, void *ctx);

#endif
