/*
 * speakers.c - the stored side of diarization: the voices a transcription
 * already has (so that a new session keeps their labels), and the
 * re-clustering of all its segments when a session ends.
 *
 * Re-clustering is cubic in the segments (0.9 s for 500, 4.2 s for
 * 1,000), so it is split: the segments are read and the new labels written
 * on the writer, where they are ordered with the finals, and the
 * clustering runs on the slow runner in between, holding up no final.
 * The refined labels replace the stored ones where they differ, and the
 * change is announced as a speakers_updated event (wsproto.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "tx_internal.h"

int tx_speaker_seeds(store_t *store, int64_t tid, tx_seed **out,
                     size_t *count)
{
    store_segment *segs = NULL;
    size_t n = 0;
    *out = NULL;
    *count = 0;
    int rc = store_segment_list(store, tid, &segs, &n);
    if (rc != 0)
        return rc;
    tx_seed *seeds = NULL;
    size_t used = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int who = diarize_label_index(segs[i].speaker);
        voice_stats v;
        if (who < 0 || segs[i].voice == NULL || voice_parse(segs[i].voice, &v) != 0)
            continue;
        size_t k = 0;
        while (k < used && seeds[k].speaker != who)
            k++;
        if (k == used) {
            tx_seed *grown = realloc(seeds, (used + 1) * sizeof(*seeds));
            if (grown == NULL) {
                rc = VB_ENOMEM;
                break;
            }
            seeds = grown;
            memset(&seeds[used], 0, sizeof(seeds[used]));
            seeds[used++].speaker = who;
        }
        voice_merge(&seeds[k].voice, &v);
    }
    store_segments_free(segs, n);
    if (rc != 0) {
        free(seeds);
        return rc;
    }
    *out = seeds;
    *count = used;
    return 0;
}

void tx_refine_free(tx_refine *job)
{
    if (job == NULL)
        return;
    free(job->segment_ids);
    free(job->voices);
    free(job->current);
    free(job->labels);
    free(job->was);
    free(job);
}

tx_refine *tx_refine_read(store_t *store, int64_t tid, int min_speakers,
                          int max_speakers)
{
    store_segment *segs = NULL;
    size_t n = 0;
    if (store_segment_list(store, tid, &segs, &n) != 0 || n == 0) {
        store_segments_free(segs, n);
        return NULL;
    }
    tx_refine *job = calloc(1, sizeof(*job));
    if (job != NULL) {
        job->segment_ids = malloc(n * sizeof(*job->segment_ids));
        job->voices = malloc(n * sizeof(*job->voices));
        job->current = malloc(n * sizeof(*job->current));
        job->labels = malloc(n * sizeof(*job->labels));
        job->was = malloc(n * sizeof(*job->was));
    }
    if (job == NULL || !job->segment_ids || !job->voices || !job->current ||
        !job->labels || !job->was) {
        log_error(NULL, "transcription %lld: no memory to re-cluster its "
                  "speakers", (long long)tid);
        tx_refine_free(job);
        store_segments_free(segs, n);
        return NULL;
    }
    job->tid = tid;
    job->min_speakers = min_speakers;
    job->max_speakers = max_speakers;
    for (size_t i = 0; i < n; i++) {
        size_t m = job->count;
        if (segs[i].voice == NULL || voice_parse(segs[i].voice, &job->voices[m]) != 0)
            continue; /* not diarized: left as it is */
        job->current[m] = diarize_label_index(segs[i].speaker);
        job->segment_ids[m] = segs[i].id;
        job->count++;
    }
    store_segments_free(segs, n);
    return job;
}

void tx_refine_cluster(tx_refine *job)
{
    diarize_params p = diarize_default_params();
    p.min_speakers = job->min_speakers;
    p.max_speakers = job->max_speakers;
    job->speakers = job->count == 0 ? 0
                    : diarize_refine(&p, job->voices, job->current, job->count,
                                     job->labels, job->was);
}

/* The name stored for label (NULL: none). */
static const char *name_of(const store_speaker *names, size_t n,
                           const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i].label, label) == 0)
            return names[i].name;
    return NULL;
}

/* Names follow their voices to the new labels: a speaker that was label
 * L takes L's name; a label now held by another voice loses its old
 * name.  Returns the speakers_named message when a name moved. */
static char *move_names(store_t *store, const tx_refine *job)
{
    store_speaker *names = NULL;
    size_t n = 0;
    if (store_speakers_get(store, job->tid, &names, &n) != 0 || n == 0) {
        free(names);
        return NULL;
    }
    store_speaker *after = calloc(n + (size_t)job->speakers, sizeof(*after));
    size_t m = 0;
    if (after == NULL) {
        free(names);
        return NULL;
    }
    /* Names of labels no speaker holds now and no speaker was stay. */
    for (size_t i = 0; i < n; i++) {
        int index = diarize_label_index(names[i].label);
        int held = index >= 0 && index < job->speakers;
        for (int c = 0; c < job->speakers && !held; c++)
            held = job->was[c] == index;
        if (index < 0 || !held)
            after[m++] = names[i];
    }
    for (int c = 0; c < job->speakers; c++) {
        char from[DIARIZE_LABEL_MAX];
        if (job->was[c] < 0)
            continue;
        diarize_label(job->was[c], from, sizeof(from));
        const char *name = name_of(names, n, from);
        if (name == NULL)
            continue;
        diarize_label(c, after[m].label, sizeof(after[m].label));
        snprintf(after[m].name, sizeof(after[m].name), "%s", name);
        m++;
    }
    int moved = m != n;
    for (size_t i = 0; i < m && !moved; i++) {
        const char *before = name_of(names, n, after[i].label);
        moved = before == NULL || strcmp(before, after[i].name) != 0;
    }
    int rc = 0;
    for (size_t i = 0; moved && i < n && rc == 0; i++)
        if (name_of(after, m, names[i].label) == NULL)
            rc = store_speaker_set(store, job->tid, names[i].label, "");
    for (size_t i = 0; moved && i < m && rc == 0; i++)
        rc = store_speaker_set(store, job->tid, after[i].label, after[i].name);
    char *message = NULL;
    if (moved && rc != 0) {
        log_error(NULL, "transcription %lld: the speakers' names could not "
                  "follow their new labels", (long long)job->tid);
    } else if (moved) {
        message = wsproto_speakers_named(after, m);
    }
    free(names);
    free(after);
    return message;
}

char *tx_refine_write(store_t *store, const tx_refine *job, char **named)
{
    *named = NULL;
    if (job->speakers <= 0)
        return NULL;
    *named = move_names(store, job);
    wsproto_relabel *changes = malloc(job->count * sizeof(*changes));
    if (changes == NULL)
        return NULL;
    size_t changed = 0;
    for (size_t j = 0; j < job->count; j++) {
        if (job->labels[j] == job->current[j])
            continue;
        wsproto_relabel *c = &changes[changed];
        c->segment_id = job->segment_ids[j];
        diarize_label(job->labels[j], c->speaker, sizeof(c->speaker));
        /* A segment deleted or relabelled meanwhile is simply skipped. */
        if (store_segment_set_speaker(store, job->tid, c->segment_id,
                                      c->speaker) == 0)
            changed++;
    }
    log_info(NULL, "transcription %lld: %d speakers after re-clustering, %zu "
             "of %zu segments relabelled", (long long)job->tid, job->speakers,
             changed, job->count);
    char *message = changed ? wsproto_speakers_updated(changes, changed) : NULL;
    free(changes);
    return message;
}
