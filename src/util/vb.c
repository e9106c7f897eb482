/* vb.c - error code names, the error-buffer helper, in-memory files, the
 * clock and the lock check of vb.h. */
#include "vb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

void vb_url_redacted(const char *url, char *out, size_t len)
{
    if (len == 0)
        return;
    size_t n = 0;
    const char *p = url ? url : "";
    const char *scheme_end = strstr(p, "://");
    const char *host_end = scheme_end ? scheme_end + 3 + strcspn(scheme_end + 3, "/?") : p;
    const char *at = NULL; /* the last '@' of the authority */
    for (const char *q = scheme_end ? scheme_end + 3 : host_end; q < host_end; q++)
        if (*q == '@')
            at = q;
    const char *colon = at ? memchr(scheme_end + 3, ':', (size_t)(at - scheme_end - 3)) : NULL;
    while (*p && n + 1 < len) {
        if (p == colon + 1 && colon != NULL) { /* USER:PASSWORD@ */
            for (const char *r = "***"; *r && n + 1 < len; r++)
                out[n++] = *r;
            p = at;
            colon = NULL; /* once (an empty password ends where it starts) */
            continue;
        }
        if (strncmp(p, "password=", 9) == 0 &&
            (p == url || strchr("?& ", p[-1]) != NULL)) {
            for (const char *r = "password=***"; *r && n + 1 < len; r++)
                out[n++] = *r;
            p += 9 + strcspn(p + 9, "& ");
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
}
