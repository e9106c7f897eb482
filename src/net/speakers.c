/*
 * speakers.c - the stored side of diarization: the voices a transcription
 * already has (so that a new session keeps their labels), and the
 * re-clustering of all its segments when a session ends.  Runner thread
 * only (it reads and writes the store).
 *
 * The refined labels replace the stored ones where they differ, and the
 * change is announced as an event (README, "speakers_updated"):
 *   {"type": "event", "payload": {"type": "speakers_updated",
 *    "segments": [{"id": 12, "speaker": "speaker_1"}, ...]}}
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "net_internal.h"

static int label_index(const char *label)
{
    int n;
    char rest;
    if (label == NULL || sscanf(label, "speaker_%d%c", &n, &rest) != 1 || n < 0)
        return -1;
    return n;
}

int net_speaker_seeds(server *srv, int64_t tid, speaker_seed **out,
                      size_t *count)
{
    store_segment *segs = NULL;
    size_t n = 0;
    *out = NULL;
    *count = 0;
    int rc = store_segment_list(srv->store, tid, &segs, &n);
    if (rc != 0)
        return rc;
    speaker_seed *seeds = NULL;
    size_t used = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int who = label_index(segs[i].speaker);
        voice_stats v;
        if (who < 0 || segs[i].voice == NULL || voice_parse(segs[i].voice, &v) != 0)
            continue;
        size_t k = 0;
        while (k < used && seeds[k].speaker != who)
            k++;
        if (k == used) {
            speaker_seed *grown = realloc(seeds, (used + 1) * sizeof(*seeds));
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

char *net_refine_speakers(server *srv, int64_t tid, int min_speakers,
                          int max_speakers)
{
    store_segment *segs = NULL;
    size_t n = 0;
    if (store_segment_list(srv->store, tid, &segs, &n) != 0 || n == 0) {
        store_segments_free(segs, n);
        return NULL;
    }
    voice_stats *voices = malloc(n * sizeof(*voices));
    int *current = malloc(n * sizeof(int)), *labels = malloc(n * sizeof(int));
    size_t *index = malloc(n * sizeof(size_t));
    char *message = NULL;
    size_t m = 0;
    if (voices == NULL || current == NULL || labels == NULL || index == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (segs[i].voice == NULL || voice_parse(segs[i].voice, &voices[m]) != 0)
            continue; /* not diarized: left as it is */
        current[m] = label_index(segs[i].speaker);
        index[m++] = i;
    }
    diarize_params p = diarize_default_params();
    p.min_speakers = min_speakers;
    p.max_speakers = max_speakers;
    int k = diarize_refine(&p, voices, current, m, labels);
    if (k <= 0)
        goto done;
    cJSON *changed = cJSON_CreateArray();
    for (size_t j = 0; j < m; j++) {
        if (labels[j] == current[j])
            continue;
        store_segment *seg = &segs[index[j]];
        char label[32];
        snprintf(label, sizeof(label), "speaker_%d", labels[j]);
        if (store_segment_set_speaker(srv->store, tid, seg->id, label) != 0)
            continue;
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "id", (double)seg->id);
        cJSON_AddStringToObject(item, "speaker", label);
        cJSON_AddItemToArray(changed, item);
    }
    int count = cJSON_GetArraySize(changed);
    log_info(NULL, "transcription %lld: %d speakers after re-clustering, %d "
             "of %zu segments relabelled", (long long)tid, k, count, m);
    if (count == 0) {
        cJSON_Delete(changed);
        goto done;
    }
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "type", "speakers_updated");
    cJSON_AddItemToObject(payload, "segments", changed);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "event");
    cJSON_AddItemToObject(msg, "payload", payload);
    message = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (message != NULL)
        bus_publish(srv->bus, tid, message);
done:
    free(voices);
    free(current);
    free(labels);
    free(index);
    store_segments_free(segs, n);
    return message;
}
