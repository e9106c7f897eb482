/*
 * multipart.h - a multipart/form-data request body (RFC 7578), as curl -F,
 * an HTML form and Python's requests send an upload: its parts found in
 * place, nothing copied (multipart.c).  Pure functions; any thread.
 */
#ifndef VB_MULTIPART_H
#define VB_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */
#define MULTIPART_NAME_MAX 128

typedef struct multipart_part {
    char name[MULTIPART_NAME_MAX];     /* its form field's name ("" none) */
    char filename[MULTIPART_NAME_MAX]; /* "" when it is no file */
    int is_file;                       /* it had a filename parameter */
    const uint8_t *data;               /* inside the body */
    size_t len;
} multipart_part;

/* The boundary of a Content-Type header's value when it is
 * multipart/form-data: 1 with it copied into boundary (at least
 * MULTIPART_BOUNDARY_MAX + 1 bytes), 0 for another type, -1 when the
 * type is multipart/form-data without a usable boundary. */
int multipart_boundary(const char *content_type, char *boundary);

/* Splits body into its parts (at most max; more are an error): 0 with
 * *count set, or -1 with err saying what is wrong, for the client. */
int multipart_parse(const uint8_t *body, size_t len, const char *boundary,
                    multipart_part *parts, size_t max, size_t *count,
                    char *err, size_t errlen);

#endif
