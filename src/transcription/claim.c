/*
 * claim.c - live-session claims in this process (claim.h).
 *
 * A short list under one lock: a server has at most --max-sessions live
 * sessions, so a linear search costs less than it would to keep a map.
 */
#include "claim.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../util/log.h"
#include "tx_internal.h"

typedef struct claim {
    int64_t tid;
    tx_run *holder;
    char token[TX_TOKEN_LEN + 1];
    struct claim *next;
} claim;

struct tx_claims {
    pthread_mutex_t lock;
    claim *head;
};

int tx_claims_create(tx_claims **out)
{
    tx_claims *claims = calloc(1, sizeof(*claims));
    if (claims == NULL)
        return -1;
    pthread_mutex_init(&claims->lock, NULL);
    *out = claims;
    return 0;
}

void tx_claims_destroy(tx_claims *claims)
{
    if (claims == NULL)
        return;
    while (claims->head != NULL) { /* only if a run was leaked */
        claim *next = claims->head->next;
        free(claims->head);
        claims->head = next;
    }
    pthread_mutex_destroy(&claims->lock);
    free(claims);
}

/* 128 bits from the kernel's generator, as hex: a token nobody can guess
 * from the ones they have seen. */
static int new_token(char token[TX_TOKEN_LEN + 1])
{
    unsigned char bytes[TX_TOKEN_LEN / 2];
    size_t got = 0;
    while (got < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(bytes); i++)
        snprintf(token + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}

/* Compares in time that does not depend on where they differ, so that a
 * client cannot find the token one character at a time by timing. */
static int token_equal(const char *a, const char *b)
{
    if (b == NULL || strlen(b) != TX_TOKEN_LEN)
        return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < TX_TOKEN_LEN; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

tx_claim_outcome tx_claims_take(tx_claims *claims, int64_t tid, tx_run *run,
                                const char *resume,
                                char token[TX_TOKEN_LEN + 1],
                                tx_run **previous)
{
    *previous = NULL;
    pthread_mutex_lock(&claims->lock);
    claim *c = claims->head;
    while (c != NULL && c->tid != tid)
        c = c->next;
    if (c != NULL) {
        if (!token_equal(c->token, resume)) {
            pthread_mutex_unlock(&claims->lock);
            return TX_CLAIM_BUSY;
        }
        /* Retained under the lock: the old holder lets its claim go
         * (under this lock) before it can be freed. */
        tx_run_retain(c->holder);
        *previous = c->holder;
        c->holder = run;
        memcpy(token, c->token, TX_TOKEN_LEN + 1);
        pthread_mutex_unlock(&claims->lock);
        return TX_CLAIM_RESUMED;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || new_token(c->token) != 0) {
        pthread_mutex_unlock(&claims->lock);
        log_error("claim", "%s", c ? "the kernel gave no random bytes for a "
                                  "resume token" : "out of memory");
        free(c);
        return TX_CLAIM_FAILED;
    }
    c->tid = tid;
    c->holder = run;
    c->next = claims->head;
    claims->head = c;
    memcpy(token, c->token, TX_TOKEN_LEN + 1);
    pthread_mutex_unlock(&claims->lock);
    return TX_CLAIM_TAKEN;
}

void tx_claims_release(tx_claims *claims, int64_t tid, tx_run *run)
{
    pthread_mutex_lock(&claims->lock);
    for (claim **pp = &claims->head; *pp; pp = &(*pp)->next) {
        claim *c = *pp;
        if (c->tid == tid && c->holder == run) {
            *pp = c->next;
            free(c);
            break;
        }
    }
    pthread_mutex_unlock(&claims->lock);
}

void tx_claims_set_token(tx_claims *claims, int64_t tid, const tx_run *run,
                         const char *token)
{
    pthread_mutex_lock(&claims->lock);
    for (claim *c = claims->head; c; c = c->next)
        if (c->tid == tid && c->holder == run)
            snprintf(c->token, sizeof(c->token), "%s", token);
    pthread_mutex_unlock(&claims->lock);
}
