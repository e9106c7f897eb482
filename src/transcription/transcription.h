/*
 * transcription.h - one transcription's run, whatever feeds it: a live
 * socket (/ws/transcribe), an upload, `verbatim transcribe` (and, to come,
 * Deepgram's /v1/listen).
 *
 * A tx_run joins a session (session.h) to the store and the bus.  It looks
 * the transcription up, seeds the session with the speakers the
 * transcription already has, stores each final and only then publishes it
 * (to the bus, for watchers, and to the run's client), re-clusters the
 * speakers when the session ends, and says when everything is stored.  The
 * client (net's socket or upload job, the command line) only moves bytes
 * and maps faults to its own close codes or statuses.
 *
 * Threads.  A tx_service owns three threads' worth of work:
 *   - the writer (a runner with the store's writing connection): the
 *     lookup, every final, the new speaker labels.  Nothing else queues
 *     there, so a final waits only for the finals before it.
 *   - the slow runner: re-clustering (cubic in the segments), so that it
 *     never holds up a final of any stream.
 *   - the session's worker: interim results and events that are not
 *     stored are published on the thread that emitted them, unless a
 *     final before them is still being stored: then they wait behind it
 *     in the run (an interim that a newer one supersedes is dropped), so
 *     every client sees a run's messages in the order they happened.
 * A client's callbacks for one run are never called concurrently, always
 * in order, and `done` is the last of them; `superseded` alone may come
 * from another thread at any moment before `done`.
 *
 * Live sessions (tx_run_open_live) hold a claim on their transcription
 * (claim.h): one at a time, so that two never write its timeline at once.
 * A client that lost its connection takes its own session over with the
 * claim's resume token: the old run's input ends, its queued audio is
 * still decoded and its finals stored, and the new run opens (its lookup,
 * then `opened`) only once they are, so its timeline comes after them.
 *
 * The time offset.  `opened` reports the end of the transcription's stored
 * segments at the lookup; interims and events use it until the run's
 * first final.  That final takes the end again on the writer, just before
 * it is stored, and it and everything after use that: a run's segments
 * therefore start after whatever was stored before its first final (an
 * upload that stored some in between, say), never among them.
 */
#ifndef VB_TRANSCRIPTION_H
#define VB_TRANSCRIPTION_H

#include <stddef.h>
#include <stdint.h>

#include "../asr/engine.h"
#include "../bus/bus.h"
#include "../session/session.h"
#include "../store/store.h"
#include "../util/pool.h"
#include "../util/runner.h"

typedef struct tx_service tx_service;
typedef struct tx_run tx_run;

/* What the service is given; it owns none of it. */
typedef struct tx_service_config {
    store_t *store;     /* the writing connection: used on `writer` only */
    runner_t *writer;
    runner_t *slow;     /* re-clustering */
    bus_t *bus;         /* NULL: nothing is published (the command line) */
    int keep_audio;     /* keep what sessions and uploads hear, where the
                           transcription does (--keep-audio) */
} tx_service_config;

int tx_service_create(const tx_service_config *cfg, tx_service **out);
/* Runs whose session decodes nothing yet: it waits for the run's lookup
 * on the writer (which teaches it the transcription's vocabulary and
 * voices), or for another server to hand the session over (a few
 * seconds at most).  A server stopping waits for none to be left before
 * it stops its workers. */
int tx_service_held(tx_service *svc);
/* Waits until every run's work (stores, re-clustering) is finished; the
 * sessions must be done (their pool stopped).  Then frees the service. */
void tx_service_destroy(tx_service *svc);

/* Why a run could not go on.  The client maps these to its wire. */
typedef enum {
    TX_FAULT_NOT_FOUND = 1, /* no such transcription, at the lookup */
    TX_FAULT_DELETED,       /* deleted while the run went on */
    TX_FAULT_STORE,         /* the store failed (lookup or a final) */
    TX_FAULT_AUDIO,         /* the client's audio is damaged; reported
                               after the finals before the damage */
    TX_FAULT_INTERNAL,      /* the session or recogniser failed */
    TX_FAULT_BUSY           /* a live session on another server holds the
                               transcription (its lease, at the lookup) */
} tx_fault;

/* One result as the client gets it. */
typedef struct tx_result {
    const session_event *ev; /* times from the session's start */
    double time_offset;      /* add to put them on the transcription's
                                timeline */
    int64_t segment_id;      /* a stored final's id; 0 otherwise */
    const char *message;     /* Verbatim's message for it, as watchers
                                get it (wsproto.h) */
} tx_result;

typedef struct tx_client {
    /* The transcription was found; its title and where this run's
     * timeline starts. */
    void (*opened)(void *ctx, const char *title, double time_offset);
    /* An interim result, final (already stored), speech started or
     * utterance end, in order. */
    void (*result)(void *ctx, const tx_result *result);
    /* The speakers were re-clustered: Verbatim's speakers_updated message
     * (also published); only when a label changed.  May be NULL. */
    void (*speakers)(void *ctx, const char *message);
    /* The run cannot go on (message: for a person).  After it the run
     * stores and sends nothing more; stop_input was called first. */
    void (*fault)(void *ctx, tx_fault fault, const char *message);
    /* The client should stop sending audio: it is damaged, or nothing
     * more will be stored.  May be NULL. */
    void (*stop_input)(void *ctx);
    /* Another client took this live run over with its resume token: end
     * the input (as stop_input), and tell the socket once done() comes.
     * Any thread, under a lock of the run's: it must only note it and
     * wake its own thread.  Needed by tx_run_open_live's clients. */
    void (*superseded)(void *ctx);
    /* The session's queue went below its low-water mark (session_wake_fn).
     * May be NULL. */
    void (*wake)(void *ctx);
    /* The last call: the session is done, every final is stored and the
     * speakers are re-clustered.  The client may free ctx here. */
    void (*done)(void *ctx);
    void *ctx;
    const char *tag;  /* names the run in the log ("t=12 c=3"); copied */
} tx_client;

/* Opens a run on transcription tid: creates its session at once (so that
 * audio sent before the lookup finishes is kept) and queues the lookup.
 * params->transcription_id is set from tid.  On success the client's
 * callbacks run until done(); on failure none runs. */
int tx_run_open(tx_service *svc, int64_t tid, const session_params *params,
                asr_engine *engine, pool_t *pool, const tx_client *client,
                tx_run **out);
/* A resume token: 128 random bits as 32 lowercase hex digits. */
#define TX_TOKEN_LEN 32

/* What a live session brings and gets back. */
typedef struct tx_live {
    const char *resume;              /* the client's resume token, or NULL */
    char token[TX_TOKEN_LEN + 1];    /* set by tx_run_open_live before any
                                        callback: the claim's token, for
                                        the client's status message */
} tx_live;

/* tx_run_open for a live session, which claims transcription tid.  When
 * another live session holds it: VB_EBUSY, unless live->resume is that
 * session's token, which takes it over (see above; the token stays the
 * same).  With no live session on tid, resume is ignored.  On a shared
 * store, a session of another server is found at the lookup: fault
 * TX_FAULT_BUSY, or, resumed, live->token becomes that session's token
 * before opened().  So live must stay valid until opened() or fault().  An upload or the command line uses tx_run_open,
 * which claims nothing. */
int tx_run_open_live(tx_service *svc, int64_t tid, const session_params *params,
                     asr_engine *engine, pool_t *pool, const tx_client *client,
                     tx_live *live, tx_run **out);
/* The run's session, for feeding (session_feed, session_finalize,
 * session_close, session_lag); valid until tx_run_release. */
session_t *tx_run_session(tx_run *run);
/* Another part of the run's audio, decoded beside the parts before it
 * (an upload split at its pauses, so that several workers decode it at
 * once): a session of its own, fed and closed as the first one is, whose
 * audio starts `start` seconds after the first part's.  It has the first
 * session's parameters, the transcription's known speakers and its
 * vocabulary; its speaker labels are its own until the end-of-run
 * re-clustering joins them.  The run hands on each part's finals and
 * events after those of every part before it (a later part's interim
 * results are dropped) and its kept audio in the same order, and its done
 * comes after the last part's.  Add a part before closing the one before
 * it (the parts are in the order added): a part closed with none after it
 * is the last, and adding one after that is VB_EINVAL.  Call it after
 * opened(), on the thread that closes the parts; the session is valid
 * until tx_run_release. */
int tx_run_add_part(tx_run *run, double start, session_t **out);
/* Parts whose session is still decoding; *waiting (if not NULL) gets the
 * parts whose results the run has yet to hand on. */
int tx_run_parts_decoding(tx_run *run, int *waiting);
/* The input every part's session still has queued (session_queued_bytes). */
size_t tx_run_queued_bytes(tx_run *run);
/* The caller's reference: the run lives on until done() has been called. */
void tx_run_release(tx_run *run);

/* A transcription was deleted (the REST API): tells its watchers.  Any
 * thread. */
void tx_transcription_deleted(tx_service *svc, int64_t tid);
/* A person edited it (the REST API): tells its watchers `message`.  Any
 * thread. */
void tx_transcription_edited(tx_service *svc, int64_t tid, const char *message);

#endif
