/*
 * store.h - where transcriptions and their segments live.
 *
 * A store_t is one connection to one backend, chosen by the URL given to
 * store_open(): a plain path or "sqlite:PATH" is SQLite (the default; the
 * file and its folder are created).  PostgreSQL will be another backend
 * behind the same functions; no SQL leaves this module.
 *
 * Threading: a store_t is not thread-safe.  The server gives it to a single
 * runner thread (util/runner.h) and every call happens there.
 *
 * Errors: 0 or a negative VB_E* code; VB_ENOTFOUND for an unknown id.
 * Strings handed in are copied; results are owned by the caller and freed
 * with the matching *_free function.
 */
#ifndef VB_STORE_H
#define VB_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_TITLE_MAX_CHARS 255  /* characters, not bytes */
#define STORE_TITLE_MAX_BYTES (STORE_TITLE_MAX_CHARS * 4)

typedef struct store store_t;

typedef struct store_transcription {
    int64_t id;
    char title[STORE_TITLE_MAX_BYTES + 1];
    char created_at[40]; /* ISO 8601, microseconds, "+00:00" */
} store_transcription;

typedef struct store_segment {
    int64_t id;
    int64_t transcription_id;
    char *text;
    char *speaker;    /* NULL when unknown */
    double start_time;
    double end_time;
    int is_final;
    char *words_json; /* JSON array of word timings, or NULL */
} store_segment;

int store_open(const char *url, store_t **out, char *err, size_t errlen);
void store_close(store_t *store);
/* A short name of the backend for logs and /api/health ("sqlite"). */
const char *store_backend(const store_t *store);

int store_transcription_create(store_t *store, const char *title,
                               store_transcription *out);
int store_transcription_get(store_t *store, int64_t id,
                            store_transcription *out);
/* Newest first. */
int store_transcription_list(store_t *store, store_transcription **out,
                             size_t *count);
int store_transcription_rename(store_t *store, int64_t id, const char *title,
                               store_transcription *out);
/* Deletes the transcription and its segments. */
int store_transcription_delete(store_t *store, int64_t id);
/* The end of the last stored segment, 0 when there is none; this is where
 * a new session on the transcription continues its timeline. */
int store_transcription_end_time(store_t *store, int64_t id, double *out);

/* Appends seg to seg->transcription_id and sets seg->id. */
int store_segment_add(store_t *store, store_segment *seg);
/* Ordered by start_time, then id. */
int store_segment_list(store_t *store, int64_t transcription_id,
                       store_segment **out, size_t *count);
void store_segments_free(store_segment *segs, size_t count);

/* The operations of one backend; store.c dispatches to them. */
struct store_ops {
    const char *name;
    void (*close)(store_t *);
    int (*transcription_create)(store_t *, const char *, store_transcription *);
    int (*transcription_get)(store_t *, int64_t, store_transcription *);
    int (*transcription_list)(store_t *, store_transcription **, size_t *);
    int (*transcription_rename)(store_t *, int64_t, const char *,
                                store_transcription *);
    int (*transcription_delete)(store_t *, int64_t);
    int (*transcription_end_time)(store_t *, int64_t, double *);
    int (*segment_add)(store_t *, store_segment *);
    int (*segment_list)(store_t *, int64_t, store_segment **, size_t *);
};

/* Every backend's handle starts with this. */
struct store {
    const struct store_ops *ops;
};

int store_sqlite_open(const char *path, store_t **out, char *err,
                      size_t errlen);

#endif
