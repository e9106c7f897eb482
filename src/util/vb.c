/* vb.c - error code names, the error-buffer helper, in-memory files, the
 * clock and the lock check of vb.h. */
#include "vb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

const char *vb_strerror(int code)
{
    switch (code) {
    case VB_OK: return "success";
    case VB_EINVAL: return "invalid input";
    case VB_ENOMEM: return "out of memory";
    case VB_ENOTFOUND: return "not found";
    case VB_EIO: return "input/output error";
    case VB_EUNSUPPORTED: return "not supported";
    case VB_EBUSY: return "busy";
    case VB_ETOOBIG: return "too large";
    case VB_EINTERNAL: return "internal error";
    case VB_EAGAIN: return "not yet";
    default: return "unknown error";
    }
}

void vb_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

FILE *vb_memfile(const char *name, int *fd)
{
    *fd = memfd_create(name, MFD_CLOEXEC);
    int copy = *fd >= 0 ? dup(*fd) : -1;
    FILE *out = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (out == NULL) {
        int saved = errno;
        if (copy >= 0)
            close(copy);
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        errno = saved;
    }
    return out;
}

double vb_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vb_mutex_held(pthread_mutex_t *m)
{
    if (pthread_mutex_trylock(m) != 0)
        return 1;
    pthread_mutex_unlock(m);
    return 0;
}
