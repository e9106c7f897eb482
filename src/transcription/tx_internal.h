/*
 * tx_internal.h - what run.c and speakers.c share.  Not for use outside
 * src/transcription/.
 */
#ifndef VB_TX_INTERNAL_H
#define VB_TX_INTERNAL_H

#include "../diarize/diarize.h"
#include "../format/wsproto.h"
#include "claim.h"
#include "transcription.h"

struct tx_service {
    tx_service_config cfg;
    tx_claims *claims;
};

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
    int speakers;            /* after clustering; <= 0: nothing to do */
} tx_refine;

/* Reads tid's diarized segments into a new job; NULL when there is none
 * (or out of memory, logged). */
tx_refine *tx_refine_read(store_t *store, int64_t tid, int min_speakers,
                          int max_speakers);
void tx_refine_cluster(tx_refine *job);
/* Stores the labels that changed; returns the speakers_updated message
 * (malloc'd), or NULL when no label changed. */
char *tx_refine_write(store_t *store, const tx_refine *job);
void tx_refine_free(tx_refine *job);

#endif
