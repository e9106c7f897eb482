/* ratelimit.c - token buckets per client (ratelimit.h). */
#include "ratelimit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096 /* a power of two */
#define PROBE 8    /* slots a client may land in */

typedef struct bucket {
    char who[64];     /* "" for a free slot */
    double tokens;
    double at;        /* when tokens was last brought up to date */
} bucket;

struct rate_limiter {
    double capacity;  /* tokens: a minute's worth */
    double per_s;     /* tokens back a second */
    bucket slots[SLOTS];
};

rate_limiter *rate_limiter_new(int per_minute)
{
    rate_limiter *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->capacity = per_minute;
    r->per_s = per_minute / 60.0;
    return r;
}

void rate_limiter_free(rate_limiter *r)
{
    free(r);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int rate_limiter_take(rate_limiter *r, const char *who, double now,
                      int *retry_after)
{
    char key[64];
    snprintf(key, sizeof(key), "%s", who);
    uint32_t h = hash(key);
    bucket *b = NULL, *stalest = NULL;
    for (int i = 0; i < PROBE && b == NULL; i++) {
        bucket *s = &r->slots[(h + (uint32_t)i) & (SLOTS - 1)];
        if (strcmp(s->who, key) == 0)
            b = s;
        else if (stalest == NULL || s->who[0] == '\0' ||
                 (stalest->who[0] != '\0' && s->at < stalest->at))
            stalest = s;
    }
    if (b == NULL) { /* a new client, in a free slot or the stalest one's */
        b = stalest;
        memcpy(b->who, key, sizeof(b->who));
        b->tokens = r->capacity;
        b->at = now;
    }
    b->tokens += (now - b->at) * r->per_s;
    if (b->tokens > r->capacity)
        b->tokens = r->capacity;
    b->at = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    *retry_after = (int)ceil((1.0 - b->tokens) / r->per_s);
    if (*retry_after < 1)
        *retry_after = 1;
    return -1;
}
