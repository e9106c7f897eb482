/*
 * ratelimit.h - at most N requests a minute per client (--rate-limit).
 *
 * A token bucket per client: it holds up to N tokens, each request takes
 * one, and N come back each minute, evenly.  The clients are kept in a
 * table of fixed size; when it is full, the client idle the longest (whose
 * bucket is the fullest) makes room.  One thread at a time (the I/O
 * thread).
 */
#ifndef VB_RATELIMIT_H
#define VB_RATELIMIT_H

typedef struct rate_limiter rate_limiter;

/* NULL when out of memory. */
rate_limiter *rate_limiter_new(int per_minute);
void rate_limiter_free(rate_limiter *r);
/* Takes a token for client `who` at time now (seconds): 0, or -1 with
 * *retry_after set to the whole seconds until the next token. */
int rate_limiter_take(rate_limiter *r, const char *who, double now,
                      int *retry_after);

#endif
