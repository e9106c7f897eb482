/* store.c - picks a backend from the URL and dispatches to it (store.h). */
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/metrics.h"
#include "../util/vb.h"

/* A backend's answer, a failure counted (store.h). */
static int counted(int rc)
{
    if (rc < 0 && rc != VB_ENOTFOUND && rc != VB_EINVAL)
        metrics_count_store_error();
    return rc;
}

int store_open(const char *url, store_t **out, char *err, size_t errlen)
{
    if (url == NULL || *url == '\0') {
        vb_seterr(err, errlen, "no database given");
        return VB_EINVAL;
    }
    if (strncmp(url, "sqlite:", 7) == 0)
        return store_sqlite_open(url + 7, out, err, errlen);
    if (strncmp(url, "postgres://", 11) == 0 ||
        strncmp(url, "postgresql://", 13) == 0) {
        return store_pg_open(url, out, err, errlen);
    }
    return store_sqlite_open(url, out, err, errlen);
}

int store_key_create(store_t *s, store_key *key)
{
    return counted(s->ops->key_create(s, key));
}

int store_key_list(store_t *s, store_key **out, size_t *count)
{
    return counted(s->ops->key_list(s, out, count));
}

int store_key_revoke(store_t *s, const char *name)
{
    return counted(s->ops->key_revoke(s, name));
}

int store_key_touch(store_t *s, const char *hash)
{
    return counted(s->ops->key_touch(s, hash));
}

int store_segment_page(store_t *s, int64_t tid, const store_page *page,
                       store_segment **out, size_t *count)
{
    return counted(s->ops->segment_page(s, tid, page, out, count));
}

int store_segment_last_id(store_t *s, int64_t tid, int64_t *out)
{
    return counted(s->ops->segment_last_id(s, tid, out));
}

int store_session_add(store_t *s, const store_web_session *ws)
{
    return counted(s->ops->session_add(s, ws));
}

int store_session_end(store_t *s, const char *hash)
{
    return counted(s->ops->session_end(s, hash));
}

int store_session_list(store_t *s, int64_t now, store_web_session **out,
                       size_t *count)
{
    return counted(s->ops->session_list(s, now, out, count));
}

int store_claim(const char *url, int *claim, char *err, size_t errlen)
{
    *claim = -1;
    if (url == NULL || strncmp(url, "postgres", 8) == 0)
        return 0; /* shared by design; store_open says what is wrong */
    return store_sqlite_claim(strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url,
                              claim, err, errlen);
}

void store_release_claim(int claim)
{
    if (claim >= 0)
        close(claim);
}

void store_close(store_t *s)
{
    if (s != NULL)
        s->ops->close(s);
}

int store_ping(store_t *s)
{
    return counted(s->ops->ping ? s->ops->ping(s) : VB_EUNSUPPORTED);
}

const char *store_backend(const store_t *s)
{
    return s->ops->name;
}

int store_transcription_create(store_t *s, const char *title,
                               store_transcription *out)
{
    return counted(s->ops->transcription_create(s, title, out));
}

int store_transcription_get(store_t *s, int64_t id, store_transcription *out)
{
    return counted(s->ops->transcription_get(s, id, out));
}

int store_transcription_list(store_t *s, int limit, int offset,
                             store_transcription **out, size_t *count,
                             int64_t *total)
{
    return counted(s->ops->transcription_list(s, limit, offset, out, count, total));
}

int store_transcription_rename(store_t *s, int64_t id, const char *title,
                               store_transcription *out)
{
    return counted(s->ops->transcription_rename(s, id, title, out));
}

int store_transcription_delete(store_t *s, int64_t id)
{
    return counted(s->ops->transcription_delete(s, id));
}

int store_transcription_end_time(store_t *s, int64_t id, double *out)
{
    return counted(s->ops->transcription_end_time(s, id, out));
}

int store_segment_add(store_t *s, store_segment *seg)
{
    return counted(s->ops->segment_add(s, seg));
}

int store_segment_list(store_t *s, int64_t tid, store_segment **out,
                       size_t *count)
{
    return counted(s->ops->segment_list(s, tid, out, count));
}

int store_segment_set_text(store_t *s, int64_t tid, int64_t segment_id,
                           const char *text, store_segment *out)
{
    return counted(s->ops->segment_set_text(s, tid, segment_id, text, out));
}

int store_speakers_get(store_t *s, int64_t tid, store_speaker **out,
                       size_t *count)
{
    return counted(s->ops->speakers_get(s, tid, out, count));
}

int store_speaker_set(store_t *s, int64_t tid, const char *label,
                      const char *name)
{
    return counted(s->ops->speaker_set(s, tid, label, name));
}

int store_search(store_t *s, const char *query, int limit, int offset,
                 store_hit **out, size_t *count, int64_t *total)
{
    return counted(s->ops->search(s, query, limit, offset, out, count, total));
}

void store_hits_free(store_hit *hits, size_t count)
{
    for (size_t i = 0; hits != NULL && i < count; i++)
        free(hits[i].snippet);
    free(hits);
}

int store_segment_get(store_t *s, int64_t tid, int64_t segment_id,
                      store_segment *out)
{
    return counted(s->ops->segment_get(s, tid, segment_id, out));
}

int store_segment_set_words(store_t *s, int64_t tid, int64_t segment_id,
                            const char *words_json)
{
    return counted(s->ops->segment_set_words(s, tid, segment_id, words_json));
}

int store_audio_append(store_t *s, int64_t tid, const char *run, int seq,
                       double offset, const uint8_t *data, size_t len)
{
    return counted(s->ops->audio_append(s, tid, run, seq, offset, data, len));
}

int store_audio_runs(store_t *s, int64_t tid, store_audio_run **out,
                     size_t *count)
{
    return counted(s->ops->audio_runs(s, tid, out, count));
}

void store_audio_runs_free(store_audio_run *runs, size_t count)
{
    for (size_t i = 0; runs != NULL && i < count; i++)
        free(runs[i].packets);
    free(runs);
}

int store_audio_delete(store_t *s, int64_t tid)
{
    return counted(s->ops->audio_delete(s, tid));
}

int store_audio_keeping(store_t *s, int64_t tid, int *keep, int *has)
{
    int unused;
    return counted(s->ops->audio_keeping(s, tid, keep, has ? has : &unused));
}

int store_audio_set_keeping(store_t *s, int64_t tid, int keep)
{
    return counted(s->ops->audio_set_keeping(s, tid, keep));
}

int store_vocabulary_get(store_t *s, int64_t tid, char **out)
{
    return counted(s->ops->vocabulary_get(s, tid, out));
}

int store_vocabulary_set(store_t *s, int64_t tid, const char *text)
{
    return counted(s->ops->vocabulary_set(s, tid, text));
}

int store_segment_set_speaker(store_t *s, int64_t tid, int64_t segment_id,
                              const char *speaker)
{
    return counted(s->ops->segment_set_speaker(s, tid, segment_id, speaker));
}

void store_segment_clear(store_segment *seg)
{
    free(seg->text);
    free(seg->speaker);
    free(seg->words_json);
    free(seg->voice);
    seg->text = seg->speaker = seg->words_json = seg->voice = NULL;
}

void store_segments_free(store_segment *segs, size_t count)
{
    if (segs == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        store_segment_clear(&segs[i]);
    free(segs);
}

int store_upload_create(store_t *s, store_upload *u)
{
    return counted(s->ops->upload_create(s, u));
}

int store_upload_save(store_t *s, const store_upload *u)
{
    return counted(s->ops->upload_save(s, u));
}

int store_upload_get(store_t *s, int64_t tid, int64_t id, store_upload *out)
{
    return counted(s->ops->upload_get(s, tid, id, out));
}

int store_upload_list(store_t *s, int64_t tid, store_upload **out,
                      size_t *count)
{
    return counted(s->ops->upload_list(s, tid, out, count));
}

int store_lease_take(store_t *s, int64_t tid, const char *holder,
                     const char *token, const char *resume, double ttl,
                     store_lease *out)
{
    memset(out, 0, sizeof(*out));
    return s->ops->lease_take(s, tid, holder, token, resume, ttl, out);
}

int store_lease_renew(store_t *s, const char *instance, double ttl)
{
    return s->ops->lease_renew(s, instance, ttl);
}

int store_lease_release(store_t *s, int64_t tid, const char *holder)
{
    return s->ops->lease_release(s, tid, holder);
}
