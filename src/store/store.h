/*
 * store.h - where transcriptions and their segments live.
 *
 * A store_t is one connection to one backend, chosen by the URL given to
 * store_open(): a plain path or "sqlite:PATH" is SQLite (the default; the
 * file and its folder are created); "postgresql://..." or "postgres://..."
 * (libpq's URI) is PostgreSQL, which several servers may share.  Both
 * create and migrate their schema themselves.  No SQL leaves this module.
 *
 * Threading: a store_t is not thread-safe.  The server gives it to a single
 * runner thread (util/runner.h) and every call happens there.
 *
 * Errors: 0 or a negative VB_E* code; VB_ENOTFOUND for an unknown id.
 * Every failure of a backend's operation but VB_ENOTFOUND and VB_EINVAL
 * (a caller's mistake) is counted in metrics.h's store errors, here in
 * the dispatch, so that each backend is counted alike.
 * Strings handed in are copied; results are owned by the caller and freed
 * with the matching *_free function.
 */
#ifndef VB_STORE_H
#define VB_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_TITLE_MAX_CHARS 255  /* characters, not bytes */
#define STORE_TITLE_MAX_BYTES (STORE_TITLE_MAX_CHARS * 4)
#define STORE_PREVIEW_BYTES 200
#define STORE_LABEL_MAX 64
#define STORE_NAME_MAX 400  /* bytes: 100 characters of UTF-8 */
#define STORE_SEGMENT_TEXT_MAX 20000

typedef struct store store_t;

typedef struct store_transcription {
    int64_t id;
    char title[STORE_TITLE_MAX_BYTES + 1];
    char created_at[40]; /* ISO 8601, microseconds, "+00:00" */
    /* Filled by store_transcription_list() only: */
    double duration;     /* end of the last segment, seconds */
    int segment_count;
    int speaker_count;   /* distinct non-null speakers */
    char preview[STORE_PREVIEW_BYTES + 1]; /* start of the first segment */
} store_transcription;

/* A display name given to a speaker label of one transcription. */
typedef struct store_speaker {
    char label[STORE_LABEL_MAX + 1]; /* "speaker_0" */
    char name[STORE_NAME_MAX + 1];   /* "Alice" */
} store_speaker;

typedef struct store_segment {
    int64_t id;
    int64_t transcription_id;
    char *text;
    char *speaker;    /* NULL when unknown */
    double start_time;
    double end_time;
    int is_final;
    char *words_json; /* JSON array of word timings, or NULL */
    char *voice;      /* the speaker statistics (diarize.h's voice_format),
                         or NULL */
} store_segment;

int store_open(const char *url, store_t **out, char *err, size_t errlen);
/* Claims the database for this process, for a server that must be its
 * only writer (a SQLite file: two servers on one file would both take
 * streams).  0 with *claim set (-1 when the backend needs no claim), or
 * VB_EBUSY with a message naming the process that holds it.  The claim
 * lasts until store_release_claim() or the process ends. */
int store_claim(const char *url, int *claim, char *err, size_t errlen);
void store_release_claim(int claim);
void store_close(store_t *store);
/* A short name of the backend for logs and /api/health ("sqlite" or
 * "postgresql"). */
const char *store_backend(const store_t *store);
/* Does the store answer (for /api/health)?  0, or a VB_E* code (also
 * VB_EUNSUPPORTED for a backend that cannot tell). */
int store_ping(store_t *store);

int store_transcription_create(store_t *store, const char *title,
                               store_transcription *out);
int store_transcription_get(store_t *store, int64_t id,
                            store_transcription *out);
/* Newest first, with the summary fields filled: at most limit of them
 * after skipping offset; *total gets how many there are in all (may be
 * NULL). */
int store_transcription_list(store_t *store, int limit, int offset,
                             store_transcription **out, size_t *count,
                             int64_t *total);
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
/* A page of the same list, for a reader that takes it in parts: the
 * segments after (after_start, after_id) in that order whose id is at most
 * max_id, at most limit of them. */
typedef struct store_page {
    int64_t max_id;
    double after_start;
    int64_t after_id;
    int limit;
} store_page;
int store_segment_page(store_t *store, int64_t transcription_id,
                       const store_page *page, store_segment **out,
                       size_t *count);
/* The largest segment id of the transcription (0 when it has none). */
int store_segment_last_id(store_t *store, int64_t transcription_id,
                          int64_t *out);
/* Replaces the text of segment segment_id of transcription tid (a person's
 * correction); the word timings are left (store_segment_set_words sets
 * them, format/realign.h makes them).  out gets the updated segment;
 * free its strings with store_segment_clear(). */
int store_segment_set_text(store_t *store, int64_t tid, int64_t segment_id,
                           const char *text, store_segment *out);
void store_segment_clear(store_segment *seg);
/* Segment segment_id of transcription tid; free with store_segment_clear(). */
int store_segment_get(store_t *store, int64_t tid, int64_t segment_id,
                      store_segment *out);
/* Replaces a segment's word timings (JSON, as store_segment.words_json). */
int store_segment_set_words(store_t *store, int64_t tid, int64_t segment_id,
                            const char *words_json);
/* Sets the speaker label of a segment (NULL: unknown); re-clustering. */
int store_segment_set_speaker(store_t *store, int64_t tid, int64_t segment_id,
                              const char *speaker);

/* The names given to speakers of a transcription, ordered by label. */
int store_speakers_get(store_t *store, int64_t tid, store_speaker **out,
                       size_t *count);
/* Names speaker `label`; an empty name removes the name. */
int store_speaker_set(store_t *store, int64_t tid, const char *label,
                      const char *name);
/* The words a transcription's sessions should hear, as keywords.h
 * writes them ("WORD:BOOST" lines; "" for none): *out malloc'd. */
int store_vocabulary_get(store_t *store, int64_t tid, char **out);
int store_vocabulary_set(store_t *store, int64_t tid, const char *text);

/* Full-text search (GET /api/search): what matched, best first, titles
 * before segments. */
typedef struct store_hit {
    int64_t transcription_id;
    int64_t segment_id;     /* 0: the title matched */
    char title[STORE_TITLE_MAX_BYTES + 1];
    double start_time, end_time;
    char speaker[STORE_LABEL_MAX + 1]; /* "" when unknown */
    char *snippet;          /* the matched text around the words found,
                               each between STORE_MARK_ON and _OFF */
} store_hit;
#define STORE_MARK_ON '\x02'
#define STORE_MARK_OFF '\x03'
/* The words of `query` (each a whole word but the last, which may be the
 * start of one; all of them must be in one segment or title): a page of
 * hits, and how many there are in all.  VB_EINVAL: no word in query. */
int store_search(store_t *store, const char *query, int limit, int offset,
                 store_hit **out, size_t *count, int64_t *total);
void store_hits_free(store_hit *hits, size_t count);

/* Kept audio (audio/keep.h's packet runs), stored a piece at a time as a
 * session hears it: piece seq of run `run` (the session's own name for
 * it) of transcription tid, the run starting at `offset` on the timeline
 * (VB_ENOTFOUND once the transcription is deleted).  A piece of a number
 * already stored replaces it (a failed piece is stored again, longer). */
int store_audio_append(store_t *store, int64_t tid, const char *run, int seq,
                       double offset, const uint8_t *data, size_t len);
typedef struct store_audio_run {
    double offset;      /* as its last piece was stored with */
    uint8_t *packets;   /* its pieces joined */
    size_t len;
} store_audio_run;
/* The transcription's runs by offset (then the order they began). */
int store_audio_runs(store_t *store, int64_t tid, store_audio_run **out,
                     size_t *count);
void store_audio_runs_free(store_audio_run *runs, size_t count);
/* Deletes the transcription's kept audio (VB_ENOTFOUND: no such
 * transcription). */
int store_audio_delete(store_t *store, int64_t tid);
/* Whether sessions and uploads of tid keep their audio (default 1), and
 * whether it has any kept (has may be NULL). */
int store_audio_keeping(store_t *store, int64_t tid, int *keep, int *has);
int store_audio_set_keeping(store_t *store, int64_t tid, int keep);

/* An upload's job (POST .../audio): kept in the store so that it outlives
 * the process that ran it and any instance can answer for it. */
typedef struct store_upload {
    int64_t id;
    int64_t transcription_id;
    char status[12];        /* "running", "done" or "failed" */
    int http_status;        /* a failed job's status (422, 415, 500...) */
    double progress;        /* 0..1 */
    double audio_seconds;   /* decoded so far */
    double time_offset;     /* where its segments start on the timeline */
    int segments;           /* finals stored */
    char format[128];       /* "" until known */
    char error[320];        /* "" unless failed */
    char created_at[40];    /* set by store_upload_create */
    double updated_at;      /* Unix time of the runner's last save: a
                               running job's heartbeat */
} store_upload;

/* Adds the job; sets u->id and u->created_at. */
int store_upload_create(store_t *store, store_upload *u);
/* Writes u's state over the row u->id (VB_ENOTFOUND once the
 * transcription, and so the job, is deleted). */
int store_upload_save(store_t *store, const store_upload *u);
/* Job `id` of transcription tid. */
int store_upload_get(store_t *store, int64_t tid, int64_t id,
                     store_upload *out);
/* The transcription's jobs, newest first (free with free()). */
int store_upload_list(store_t *store, int64_t tid, store_upload **out,
                      size_t *count);

/* An API key as the store keeps it: never the key itself. */
typedef struct store_key {
    char name[65];
    char scope[8];          /* "read", "write" or "admin" */
    char prefix[16];        /* the key's first characters */
    char hash[65];          /* its SHA-256, hex */
    char created_at[40];    /* set by store_key_create */
    char last_used_at[40];  /* "" when never used */
} store_key;

/* Adds the key (sets created_at); VB_EBUSY when the name is taken. */
int store_key_create(store_t *store, store_key *key);
/* Every key, by name. */
int store_key_list(store_t *store, store_key **out, size_t *count);
/* Removes key `name`: it no longer opens anything. */
int store_key_revoke(store_t *store, const char *name);
/* Records that the key with this hash was used now. */
int store_key_touch(store_t *store, const char *hash);

/* A browser's signed-in session (the web app's cookie): never the cookie
 * itself, only its SHA-256.  It opens what its key opens, until it
 * expires, it is ended, or the key is revoked (which ends it). */
typedef struct store_web_session {
    char hash[65];
    char key_name[65];
    int64_t created_at, expires_at; /* Unix seconds */
} store_web_session;

int store_session_add(store_t *store, const store_web_session *ws);
/* Ends the session with this hash; VB_ENOTFOUND when there is none. */
int store_session_end(store_t *store, const char *hash);
/* Every session that has not expired at `now` (and whose key exists);
 * the expired ones are deleted on the way. */
int store_session_list(store_t *store, int64_t now, store_web_session **out,
                       size_t *count);

/* Live-session leases, shared by every server on the database (the
 * transcription layer's claims are one process's): a transcription's row
 * names the run that holds its live session ("INSTANCE/RUN"), the resume
 * token, and when the lease lapses unless its holder renews it.  Times
 * are the database's own clock, so that servers on several machines
 * agree. */
typedef enum {
    STORE_LEASE_TAKEN,   /* nobody held it (or the lease had lapsed) */
    STORE_LEASE_RESUMED, /* resume was the holder's token: now holder's */
    STORE_LEASE_BUSY     /* a live lease of another token */
} store_lease_outcome;
typedef struct store_lease {
    store_lease_outcome outcome;
    char token[33];         /* TAKEN: the token given; RESUMED: the lease's */
    char previous[64];      /* RESUMED: the holder it was taken from */
    double lapses_in;       /* RESUMED: seconds until that holder's lease
                               would have lapsed (<= 0: already) */
} store_lease;
#define STORE_HOLDER_MAX 63
/* Takes tid's lease for holder with token, or (resume, may be NULL) the
 * live lease whose token that is; ttl seconds.  VB_ENOTFOUND: no such
 * transcription. */
int store_lease_take(store_t *store, int64_t tid, const char *holder,
                     const char *token, const char *resume, double ttl,
                     store_lease *out);
/* Renews every lease whose holder starts with "instance/" for ttl s. */
int store_lease_renew(store_t *store, const char *instance, double ttl);
/* Lets tid's lease go if holder still holds it. */
int store_lease_release(store_t *store, int64_t tid, const char *holder);

/* Copies every row of database from_url into to_url (either backend,
 * either way; `verbatim migrate`), ids kept, in one transaction of the
 * target; both schemas are first brought to the latest version.
 * progress (may be NULL) hears each table's name and row count as it is
 * done.  VB_EBUSY when the target already holds transcriptions or keys;
 * VB_EIO with the database's message in err. */
typedef void (*store_copy_progress)(void *ctx, const char *table,
                                    long long rows);
int store_copy(const char *from_url, const char *to_url,
               store_copy_progress progress, void *ctx, char *err,
               size_t errlen);

/* The operations of one backend; store.c dispatches to them. */
struct store_ops {
    const char *name;
    void (*close)(store_t *);
    int (*ping)(store_t *);
    int (*transcription_create)(store_t *, const char *, store_transcription *);
    int (*transcription_get)(store_t *, int64_t, store_transcription *);
    int (*transcription_list)(store_t *, int, int, store_transcription **,
                              size_t *, int64_t *);
    int (*transcription_rename)(store_t *, int64_t, const char *,
                                store_transcription *);
    int (*transcription_delete)(store_t *, int64_t);
    int (*transcription_end_time)(store_t *, int64_t, double *);
    int (*segment_add)(store_t *, store_segment *);
    int (*segment_list)(store_t *, int64_t, store_segment **, size_t *);
    int (*segment_page)(store_t *, int64_t, const store_page *, store_segment **,
                        size_t *);
    int (*segment_last_id)(store_t *, int64_t, int64_t *);
    int (*segment_set_text)(store_t *, int64_t, int64_t, const char *,
                            store_segment *);
    int (*segment_set_speaker)(store_t *, int64_t, int64_t, const char *);
    int (*segment_set_words)(store_t *, int64_t, int64_t, const char *);
    int (*segment_get)(store_t *, int64_t, int64_t, store_segment *);
    int (*speakers_get)(store_t *, int64_t, store_speaker **, size_t *);
    int (*speaker_set)(store_t *, int64_t, const char *, const char *);
    int (*vocabulary_get)(store_t *, int64_t, char **);
    int (*vocabulary_set)(store_t *, int64_t, const char *);
    int (*search)(store_t *, const char *, int, int, store_hit **, size_t *,
                  int64_t *);
    int (*audio_append)(store_t *, int64_t, const char *, int, double,
                        const uint8_t *, size_t);
    int (*audio_runs)(store_t *, int64_t, store_audio_run **, size_t *);
    int (*audio_delete)(store_t *, int64_t);
    int (*audio_keeping)(store_t *, int64_t, int *, int *);
    int (*audio_set_keeping)(store_t *, int64_t, int);
    int (*upload_create)(store_t *, store_upload *);
    int (*upload_save)(store_t *, const store_upload *);
    int (*upload_get)(store_t *, int64_t, int64_t, store_upload *);
    int (*upload_list)(store_t *, int64_t, store_upload **, size_t *);
    int (*key_create)(store_t *, store_key *);
    int (*key_list)(store_t *, store_key **, size_t *);
    int (*key_revoke)(store_t *, const char *);
    int (*key_touch)(store_t *, const char *);
    int (*session_add)(store_t *, const store_web_session *);
    int (*session_end)(store_t *, const char *);
    int (*session_list)(store_t *, int64_t, store_web_session **, size_t *);
    int (*lease_take)(store_t *, int64_t, const char *, const char *,
                      const char *, double, store_lease *);
    int (*lease_renew)(store_t *, const char *, double);
    int (*lease_release)(store_t *, int64_t, const char *);
};

/* Every backend's handle starts with this. */
struct store {
    const struct store_ops *ops;
};

int store_sqlite_open(const char *path, store_t **out, char *err,
                      size_t errlen);
int store_sqlite_claim(const char *path, int *claim, char *err, size_t errlen);
int store_pg_open(const char *url, store_t **out, char *err, size_t errlen);

#endif
