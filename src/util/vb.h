/*
 * vb.h - error codes shared by every Verbatim module.
 *
 * Functions that can fail return 0 on success or one of the negative VB_E*
 * codes below; where a person will read the reason, they also fill a
 * caller-provided message buffer.  vb_strerror() names a code.  Also the
 * one clock every module measures intervals with.
 */
#ifndef VB_H
#define VB_H

#include <pthread.h>
#include <stdio.h>
#include <stddef.h>

enum {
    VB_OK = 0,
    VB_EINVAL = -1,       /* the caller's input is malformed */
    VB_ENOMEM = -2,       /* an allocation failed */
    VB_ENOTFOUND = -3,    /* no such transcription, segment, file ... */
    VB_EIO = -4,          /* a file, socket or database operation failed */
    VB_EUNSUPPORTED = -5, /* well-formed input we do not handle */
    VB_EBUSY = -6,        /* a limit was reached; try again later */
    VB_ETOOBIG = -7,      /* input over a size limit */
    VB_EINTERNAL = -8,    /* a bug or an engine failure */
    VB_EAGAIN = -9        /* not now; a callback will say when */
};

const char *vb_strerror(int code);
/* url with any password in it (SCHEME://USER:PASSWORD@HOST..., or a
 * password=... parameter) replaced by "***", for logs and messages. */
void vb_url_redacted(const char *url, char *out, size_t len);

/* snprintf into an error buffer that may be NULL. */
void vb_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An anonymous file in memory (memfd), to be read by a library that
 * takes only paths ("/proc/self/fd/N"): its descriptor in *fd, which the
 * caller closes, and a stream for writing it, on a copy of the
 * descriptor (fclose it before the file is read).  NULL, with *fd -1 and
 * errno set, when it cannot be made. */
FILE *vb_memfile(const char *name, int *fd);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): for intervals and
 * deadlines, never for dates. */
double vb_monotonic_s(void);

/* For assert(): whether some thread holds m (a default mutex, whose
 * trylock fails while it is held, by the caller too).  Where a comment
 * says "called with the lock held", this checks it in debug builds. */
int vb_mutex_held(pthread_mutex_t *m);

#endif
