/*
 * claim.h - which run holds a transcription's live session.  Not for use
 * outside src/transcription/.
 *
 * At most one live session writes a transcription's timeline at a time;
 * a second one is refused (the client maps it to 4409), unless it brings
 * the holder's resume token: then it takes the claim over, and run.c ends
 * the old run's input and starts the new one's timeline after the old
 * one's finals.
 *
 * This implementation is a table in this process, under one lock.  To
 * share claims between server instances (issue 34), replace this file's
 * implementation, not its callers: a row per transcription in the store,
 * or a Redis key, holding the holder (instance and run), the token and an
 * expiry that the holder renews while it runs (so that a crashed
 * instance's claim lapses).  The takeover's two signals that run.c sends
 * in-process would then travel on the bus: "end your input" to the old
 * holder's instance, and "its finals are stored" back to the new one.
 */
#ifndef VB_TX_CLAIM_H
#define VB_TX_CLAIM_H

#include <stdint.h>

#include "transcription.h" /* tx_run, TX_TOKEN_LEN */

typedef struct tx_claims tx_claims;

typedef enum {
    TX_CLAIM_TAKEN,   /* nobody held it: `run` holds it, with a new token */
    TX_CLAIM_RESUMED, /* the holder's token: `run` holds it now, with the
                         same token; *previous is the old holder, retained
                         (tx_run_retain) for the caller to let go */
    TX_CLAIM_BUSY,    /* another run holds it, and the token is not its */
    TX_CLAIM_FAILED   /* no randomness or no memory (logged) */
} tx_claim_outcome;

int tx_claims_create(tx_claims **out);
/* Every claim must have been released. */
void tx_claims_destroy(tx_claims *claims);

/* Claims tid for run.  resume: the token the client sent, or NULL.
 * token receives the claim's token (NUL-terminated) unless BUSY or
 * FAILED.  Any thread. */
tx_claim_outcome tx_claims_take(tx_claims *claims, int64_t tid, tx_run *run,
                                const char *resume,
                                char token[TX_TOKEN_LEN + 1],
                                tx_run **previous);
/* Gives run's claim of tid another token (the lease's, when the session
 * was resumed from another server).  Any thread. */
void tx_claims_set_token(tx_claims *claims, int64_t tid, const tx_run *run,
                         const char *token);
/* Lets tid go if run still holds it (a run taken over holds nothing).
 * Any thread. */
void tx_claims_release(tx_claims *claims, int64_t tid, tx_run *run);

#endif
