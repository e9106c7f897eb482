/* store.c - picks a backend from the URL and dispatches to it (store.h). */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"

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
        vb_seterr(err, errlen,
                  "PostgreSQL is not supported by this build yet; "
                  "use a SQLite file path");
        return VB_EUNSUPPORTED;
    }
    return store_sqlite_open(url, out, err, errlen);
}

void store_close(store_t *s)
{
    if (s != NULL)
        s->ops->close(s);
}

const char *store_backend(const store_t *s)
{
    return s->ops->name;
}

int store_transcription_create(store_t *s, const char *title,
                               store_transcription *out)
{
    return s->ops->transcription_create(s, title, out);
}

int store_transcription_get(store_t *s, int64_t id, store_transcription *out)
{
    return s->ops->transcription_get(s, id, out);
}

int store_transcription_list(store_t *s, store_transcription **out,
                             size_t *count)
{
    return s->ops->transcription_list(s, out, count);
}

int store_transcription_rename(store_t *s, int64_t id, const char *title,
                               store_transcription *out)
{
    return s->ops->transcription_rename(s, id, title, out);
}

int store_transcription_delete(store_t *s, int64_t id)
{
    return s->ops->transcription_delete(s, id);
}

int store_transcription_end_time(store_t *s, int64_t id, double *out)
{
    return s->ops->transcription_end_time(s, id, out);
}

int store_segment_add(store_t *s, store_segment *seg)
{
    return s->ops->segment_add(s, seg);
}

int store_segment_list(store_t *s, int64_t tid, store_segment **out,
                       size_t *count)
{
    return s->ops->segment_list(s, tid, out, count);
}

void store_segments_free(store_segment *segs, size_t count)
{
    if (segs == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        free(segs[i].text);
        free(segs[i].speaker);
        free(segs[i].words_json);
    }
    free(segs);
}
