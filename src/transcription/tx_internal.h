/*
 * tx_internal.h - what run.c and speakers.c share.  Not for use outside
 * src/transcription/.
 */
#ifndef VB_TX_INTERNAL_H
#define VB_TX_INTERNAL_H

#include <stdatomic.h>

#include "../audio/keep.h"
#include "../diarize/diarize.h"
#include "../format/wsproto.h"
#include "claim.h"
#include "lease.h"
#include "transcription.h"

struct tx_service {
    tx_service_config cfg;
    tx_claims *claims;
    tx_leases *leases;  /* NULL unless the store is shared (lease.h) */
    atomic_int held;    /* runs whose session waits for its lookup */
};

/* A run's kept audio (audio.c).  Encoded on the session's worker
 * (tx_audio_hear, then tx_audio_end once the session has heard all),
 * stored on the writer (tx_audio_keep once the lookup knows whether the
 * transcription keeps audio, tx_audio_store for each piece due and the
 * last). */
typedef struct tx_audio tx_audio;
tx_audio *tx_audio_create(const char *tag); /* NULL: out of memory, logged */
void tx_audio_free(tx_audio *a);
/* 1: a piece is due; queue one tx_audio_store on the writer. */
int tx_audio_hear(tx_audio *a, const int16_t *pcm, size_t n);
void tx_audio_end(tx_audio *a);
void tx_audio_keep(tx_audio *a, int keep);
/* Stores what is pending, the run starting at `offset` on the timeline. */
void tx_audio_store(tx_audio *a, store_t *store, int64_t tid, double offset);

/* Another reference to run (claim.c keeps a run it hands over alive). */
void tx_run_retain(tx_run *run);

/* A voice the transcription already has, for a new session to keep. */
typedef struct tx_seed {
    int speaker;
    voice_stats voice;
} tx_seed;

/* The voices of tid's labelled speakers so far (malloc'd array).  Writer
 * thread. */
int tx_speaker_seeds(store_t *store, int64_t tid, tx_seed **out,
                     size_t *count);

/* One re-clustering, in three steps on two threads: read (writer),
 * cluster (slow runner), write (writer). */
typedef struct tx_refine {
    int64_t tid;
    int min_speakers, max_speakers;
    size_t count;            /* the diarized segments */
    int64_t *segment_ids;
    voice_stats *voices;
    int *current, *labels;
    int *was;                /* per speaker: its label before (-1: new) */
    int speakers;            /* after clustering; <= 0: nothing to do */
} tx_refine;

/* Reads tid's diarized segments into a new job; NULL when there is none
 * (or out of memory, logged). */
tx_refine *tx_refine_read(store_t *store, int64_t tid, int min_speakers,
                          int max_speakers);
void tx_refine_cluster(tx_refine *job);
/* Stores the labels that changed and moves the names given to labels
 * with their voices; returns the speakers_updated message (malloc'd), or
 * NULL when no label changed, and sets *named to the speakers_named
 * message when names moved (else NULL). */
char *tx_refine_write(store_t *store, const tx_refine *job, char **named);
void tx_refine_free(tx_refine *job);

#endif
