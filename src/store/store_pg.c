/*
 * store_pg.c - the PostgreSQL backend of store.h (libpq).
 *
 * One connection per store_t, used from one thread, like the SQLite
 * backend; several Verbatim instances share the database.  The schema
 * version lives in the table schema_version and migrate() brings an older
 * database up to date under an advisory lock, so that instances started
 * together migrate once.  The migrations carry the SQLite backend's
 * numbers: version N means the same tables in both.
 *
 * A lost connection (a restarted or failed-over server) is opened again
 * at the next call; that call fails if it cannot be, and the caller's own
 * retry (run.c retries finals) tries again later.  A segment whose INSERT
 * was cut off may have been committed without our hearing it: the first
 * segment_add after a lost connection looks for it before inserting, so
 * that a retried final is stored once.
 */
#include "store.h"

#include <assert.h>
#include <ctype.h>
#include <endian.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../util/log.h"
#include "../util/utf8.h"
#include "../util/vb.h"

typedef struct {
    struct store base;
    PGconn *conn;
    int lost;        /* the connection broke since the last segment_add */
} pg_store;

static pg_store *pg_of(store_t *s)
{
    return (pg_store *)s;
}

/* Each entry brings the schema from version i to i + 1, as the SQLite
 * backend's entry i does. */
static const char *const migrations[] = {
    "CREATE TABLE transcriptions ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  title TEXT NOT NULL,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE segments ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  transcription_id BIGINT NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  text TEXT NOT NULL,"
    "  speaker TEXT,"
    "  start_time DOUBLE PRECISION NOT NULL,"
    "  end_time DOUBLE PRECISION NOT NULL,"
    "  is_final INTEGER NOT NULL DEFAULT 1,"
    "  words TEXT);"
    "CREATE INDEX segments_by_time ON segments(transcription_id, start_time);",
    /* 2 */
    "CREATE TABLE speakers ("
    "  transcription_id BIGINT NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  label TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  PRIMARY KEY (transcription_id, label));",
    /* 3 */
    "ALTER TABLE segments ADD COLUMN voice TEXT;",
    /* 4 */
    "CREATE TABLE uploads ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  transcription_id BIGINT NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  status TEXT NOT NULL,"
    "  http_status INTEGER NOT NULL DEFAULT 0,"
    "  progress DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  audio_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  time_offset DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  segments INTEGER NOT NULL DEFAULT 0,"
    "  format TEXT NOT NULL DEFAULT '',"
    "  error TEXT NOT NULL DEFAULT '',"
    "  created_at TEXT NOT NULL,"
    "  updated_at DOUBLE PRECISION NOT NULL);"
    "CREATE INDEX uploads_by_transcription ON uploads(transcription_id, id);",
    /* 5 */
    "CREATE TABLE api_keys ("
    "  name TEXT PRIMARY KEY,"
    "  scope TEXT NOT NULL,"
    "  prefix TEXT NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL,"
    "  last_used_at TEXT NOT NULL DEFAULT '');",
    /* 6 */
    "CREATE TABLE web_sessions ("
    "  hash TEXT PRIMARY KEY,"
    "  key_name TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL);"
    "CREATE INDEX web_sessions_by_key ON web_sessions(key_name);",
    /* 7 */
    "ALTER TABLE transcriptions ADD COLUMN vocabulary TEXT NOT NULL DEFAULT '';",
    /* 8: the id orders a transcription's runs as they began (SQLite's
     * rowid does it there) */
    "CREATE TABLE audio ("
    "  id BIGSERIAL,"
    "  transcription_id BIGINT NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  run TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_offset DOUBLE PRECISION NOT NULL,"
    "  packets BYTEA NOT NULL,"
    "  PRIMARY KEY (transcription_id, run, seq));"
    "ALTER TABLE transcriptions ADD COLUMN keep_audio INTEGER NOT NULL DEFAULT 1;",
    /* 9: full-text search.  The configuration folds case, and accents too
     * where the unaccent extension can be had (it ships with PostgreSQL,
     * and a database owner may create it); without it, search still works
     * but "cafe" does not find "café". */
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS unaccent;"
    " EXCEPTION WHEN OTHERS THEN"
    "  RAISE WARNING 'search will not ignore accents: %', SQLERRM; END $$;"
    "CREATE TEXT SEARCH CONFIGURATION verbatim_search (COPY = simple);"
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension"
    "  WHERE extname = 'unaccent') THEN"
    "  ALTER TEXT SEARCH CONFIGURATION verbatim_search ALTER MAPPING FOR"
    "   word, hword, hword_part, asciiword, asciihword, hword_asciipart,"
    "   numword, numhword, hword_numpart WITH unaccent, simple;"
    " END IF; END $$;"
    "ALTER TABLE segments ADD COLUMN search tsvector GENERATED ALWAYS AS"
    "  (to_tsvector('verbatim_search', text)) STORED;"
    "CREATE INDEX segments_search ON segments USING gin(search);"
    "ALTER TABLE transcriptions ADD COLUMN search tsvector GENERATED ALWAYS AS"
    "  (to_tsvector('verbatim_search', title)) STORED;"
    "CREATE INDEX transcriptions_search ON transcriptions USING gin(search);",
    /* 10: live-session leases (store.h) */
    "CREATE TABLE live_claims ("
    "  transcription_id BIGINT PRIMARY KEY"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  holder TEXT NOT NULL,"
    "  token TEXT NOT NULL,"
    "  lapses_at DOUBLE PRECISION NOT NULL);",
};

#define LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- parameters and queries ------------------------------------------ */

#define PG_MAX_PARAMS 12

/* A query's parameters, as libpq takes them: text, except blobs. */
typedef struct {
    const char *value[PG_MAX_PARAMS];
    int length[PG_MAX_PARAMS];
    int format[PG_MAX_PARAMS];
    char number[PG_MAX_PARAMS][32];
    int n;
} pg_params;

/* Every query here has fewer parameters than PG_MAX_PARAMS. */
static void p_text(pg_params *p, const char *text)
{
    assert(p->n < PG_MAX_PARAMS);
    p->value[p->n] = text; /* NULL is SQL NULL */
    p->length[p->n] = 0;
    p->format[p->n] = 0;
    p->n++;
}

static void p_i64(pg_params *p, int64_t v)
{
    assert(p->n < PG_MAX_PARAMS);
    snprintf(p->number[p->n], sizeof(p->number[0]), "%lld", (long long)v);
    p_text(p, p->number[p->n]);
}

static void p_f64(pg_params *p, double v)
{
    assert(p->n < PG_MAX_PARAMS);
    snprintf(p->number[p->n], sizeof(p->number[0]), "%.17g", v);
    p_text(p, p->number[p->n]);
}

static void p_blob(pg_params *p, const uint8_t *data, size_t len)
{
    assert(p->n < PG_MAX_PARAMS);
    p->value[p->n] = len ? (const char *)data : "";
    p->length[p->n] = (int)len;
    p->format[p->n] = 1;
    p->n++;
}

static int connection_lost(pg_store *s)
{
    return PQstatus(s->conn) != CONNECTION_OK;
}

/* Opens the connection again when it was lost; 0 when it is up. */
static int reconnect(pg_store *s)
{
    if (!connection_lost(s))
        return 0;
    s->lost = 1;
    PQreset(s->conn);
    if (connection_lost(s)) {
        log_warn("store", "PostgreSQL is unreachable: %s",
                 PQerrorMessage(s->conn));
        return VB_EIO;
    }
    log_info("store", "PostgreSQL connection opened again");
    return 0;
}

/* The SQLSTATE of a failed result ("" when there is none). */
static const char *sqlstate(const PGresult *r)
{
    const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return code ? code : "";
}

/*
 * Runs sql with p's parameters (p may be NULL); *out gets the result when
 * it is rows or a command's success, else NULL and a VB_E* code:
 * VB_ENOTFOUND for a foreign key (the transcription is gone), VB_EBUSY for
 * a unique key, VB_EIO for anything else (logged with `what`).  A
 * statement that may safely run twice (reads, idempotent writes) is run
 * once more when the connection was found broken.
 */
static int query(pg_store *s, const char *sql, const pg_params *p,
                 int binary_result, int idempotent, const char *what,
                 PGresult **out)
{
    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (reconnect(s) != 0)
            return VB_EIO;
        PGresult *r = PQexecParams(s->conn, sql, p ? p->n : 0, NULL,
                                   p ? p->value : NULL, p ? p->length : NULL,
                                   p ? p->format : NULL, binary_result);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            *out = r;
            return 0;
        }
        const char *code = sqlstate(r);
        if (strcmp(code, "23503") == 0) {
            PQclear(r);
            return VB_ENOTFOUND;
        }
        if (strcmp(code, "23505") == 0) {
            PQclear(r);
            return VB_EBUSY;
        }
        int broken = connection_lost(s);
        log_error("store", "%s: %s", what,
                  r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
        PQclear(r);
        if (broken)
            s->lost = 1;
        if (!broken || !idempotent)
            return VB_EIO;
    }
    return VB_EIO;
}

/* A statement run for its effect: VB_ENOTFOUND when it changed no row. */
static int exec_changed(pg_store *s, const char *sql, const pg_params *p,
                        const char *what)
{
    PGresult *r;
    int rc = query(s, sql, p, 0, 0, what, &r);
    if (rc != 0)
        return rc;
    rc = strcmp(PQcmdTuples(r), "0") == 0 ? VB_ENOTFOUND : 0;
    PQclear(r);
    return rc;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0
                                    : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double col_f64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

/* A text column into dst[len], cut at a character's start. */
static void col_copy(char *dst, size_t len, const PGresult *r, int row, int col)
{
    const char *src = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
    size_t n = utf8_prefix(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A text column, malloc'd (NULL for SQL NULL; *oom set when out of
 * memory). */
static char *col_dup(const PGresult *r, int row, int col, int *oom)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    char *copy = strdup(PQgetvalue(r, row, col));
    if (copy == NULL)
        *oom = 1;
    return copy;
}

static void now_iso8601(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06ld+00:00", (long)tv.tv_usec);
}

/* An array of count items of `size` bytes, each filled from row i of r
 * by fill(); *out is NULL for no rows. */
static int collect(const PGresult *r, size_t size,
                   void (*fill)(const PGresult *r, int row, void *item),
                   void **out, size_t *count)
{
    int rows = PQntuples(r);
    *out = NULL;
    *count = 0;
    if (rows == 0)
        return 0;
    char *items = calloc((size_t)rows, size);
    if (items == NULL)
        return VB_ENOMEM;
    for (int i = 0; i < rows; i++)
        fill(r, i, items + (size_t)i * size);
    *out = items;
    *count = (size_t)rows;
    return 0;
}

/* ---- transcriptions -------------------------------------------------- */

static void fill_transcription(const PGresult *r, int row, void *item)
{
    store_transcription *t = item;
    memset(t, 0, sizeof(*t));
    t->id = col_i64(r, row, 0);
    col_copy(t->title, sizeof(t->title), r, row, 1);
    col_copy(t->created_at, sizeof(t->created_at), r, row, 2);
    if (PQnfields(r) > 3) {
        t->duration = col_f64(r, row, 3);
        t->segment_count = (int)col_i64(r, row, 4);
        t->speaker_count = (int)col_i64(r, row, 5);
        col_copy(t->preview, sizeof(t->preview), r, row, 6);
    }
}

/* The single row of r, or VB_ENOTFOUND; r is cleared. */
static int one_row(PGresult *r, void (*fill)(const PGresult *, int, void *),
                   void *item)
{
    int rc = PQntuples(r) > 0 ? 0 : VB_ENOTFOUND;
    if (rc == 0)
        fill(r, 0, item);
    PQclear(r);
    return rc;
}

static int pg_transcription_get(store_t *s, int64_t id, store_transcription *out)
{
    pg_params p = {0};
    p_i64(&p, id);
    PGresult *r;
    int rc = query(pg_of(s), "SELECT id, title, created_at FROM transcriptions"
                   " WHERE id = $1", &p, 0, 1, "get transcription", &r);
    return rc != 0 ? rc : one_row(r, fill_transcription, out);
}

static int pg_transcription_create(store_t *s, const char *title,
                                   store_transcription *out)
{
    char created[40];
    now_iso8601(created, sizeof(created));
    pg_params p = {0};
    p_text(&p, title);
    p_text(&p, created);
    PGresult *r;
    int rc = query(pg_of(s), "INSERT INTO transcriptions (title, created_at)"
                   " VALUES ($1, $2) RETURNING id, title, created_at", &p, 0,
                   0, "create transcription", &r);
    return rc != 0 ? rc : one_row(r, fill_transcription, out);
}

static int pg_transcription_list(store_t *s, int limit, int offset,
                                 store_transcription **out, size_t *count,
                                 int64_t *total)
{
    pg_store *pg = pg_of(s);
    PGresult *r;
    int rc;
    if (total != NULL) {
        rc = query(pg, "SELECT COUNT(*) FROM transcriptions", NULL, 0, 1,
                   "count transcriptions", &r);
        if (rc != 0)
            return rc;
        *total = col_i64(r, 0, 0);
        PQclear(r);
    }
    pg_params p = {0};
    p_i64(&p, limit);
    p_i64(&p, offset);
    /* The page first, then the summaries of its rows only. */
    rc = query(pg,
               "SELECT t.id, t.title, t.created_at, COALESCE(a.duration, 0),"
               " a.segments, a.speakers,"
               " (SELECT substr(f.text, 1, 200) FROM segments f"
               "  WHERE f.transcription_id = t.id"
               "  ORDER BY f.start_time, f.id LIMIT 1)"
               " FROM (SELECT id, title, created_at FROM transcriptions"
               "       ORDER BY id DESC LIMIT $1 OFFSET $2) t"
               " CROSS JOIN LATERAL (SELECT MAX(end_time) AS duration,"
               "  COUNT(*) AS segments, COUNT(DISTINCT speaker) AS speakers"
               "  FROM segments s WHERE s.transcription_id = t.id) a"
               " ORDER BY t.id DESC", &p, 0, 1, "list transcriptions", &r);
    if (rc != 0)
        return rc;
    rc = collect(r, sizeof(**out), fill_transcription, (void **)out, count);
    PQclear(r);
    return rc;
}

static int pg_transcription_rename(store_t *s, int64_t id, const char *title,
                                   store_transcription *out)
{
    pg_params p = {0};
    p_text(&p, title);
    p_i64(&p, id);
    PGresult *r;
    int rc = query(pg_of(s), "UPDATE transcriptions SET title = $1"
                   " WHERE id = $2 RETURNING id, title, created_at", &p, 0, 1,
                   "rename transcription", &r);
    return rc != 0 ? rc : one_row(r, fill_transcription, out);
}

static int pg_transcription_delete(store_t *s, int64_t id)
{
    pg_params p = {0};
    p_i64(&p, id);
    return exec_changed(pg_of(s), "DELETE FROM transcriptions WHERE id = $1",
                        &p, "delete transcription");
}

/* The first column of the first row of a one-value query. */
static int one_value(pg_store *s, const char *sql, const pg_params *p,
                     const char *what, PGresult **out)
{
    int rc = query(s, sql, p, 0, 1, what, out);
    if (rc == 0 && PQntuples(*out) == 0) {
        PQclear(*out);
        *out = NULL;
        return VB_ENOTFOUND;
    }
    return rc;
}

static int pg_transcription_end_time(store_t *s, int64_t id, double *out)
{
    pg_params p = {0};
    p_i64(&p, id);
    PGresult *r;
    int rc = one_value(pg_of(s), "SELECT COALESCE(MAX(end_time), 0) FROM"
                       " segments WHERE transcription_id = $1", &p,
                       "transcription end time", &r);
    if (rc == 0) {
        *out = col_f64(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

/* ---- segments -------------------------------------------------------- */

#define SEGMENT_COLUMNS "id, text, speaker, start_time, end_time, is_final, " \
    "words, voice"

static int pg_segment_add(store_t *s, store_segment *seg)
{
    pg_store *pg = pg_of(s);
    pg_params p = {0};
    p_i64(&p, seg->transcription_id);
    p_text(&p, seg->text ? seg->text : "");
    p_text(&p, seg->speaker);
    p_f64(&p, seg->start_time);
    p_f64(&p, seg->end_time);
    p_i64(&p, seg->is_final ? 1 : 0);
    p_text(&p, seg->words_json);
    p_text(&p, seg->voice);
    PGresult *r;
    int rc;
    if (pg->lost) {
        /* Was it committed by the attempt the broken connection cut off? */
        rc = query(pg, "SELECT id FROM segments WHERE transcription_id = $1"
                   " AND text = $2 AND start_time = $4 AND end_time = $5"
                   " AND ($3::text IS NULL OR speaker = $3) AND is_final = $6"
                   " AND ($7::text IS NULL OR words = $7)"
                   " AND ($8::text IS NULL OR voice = $8)", &p, 0, 1,
                   "add segment", &r);
        if (rc != 0)
            return rc;
        pg->lost = 0;
        if (PQntuples(r) > 0) {
            seg->id = col_i64(r, 0, 0);
            PQclear(r);
            log_info("store", "segment %lld was stored before the connection "
                     "broke; not stored twice", (long long)seg->id);
            return 0;
        }
        PQclear(r);
    }
    rc = query(pg, "INSERT INTO segments (transcription_id, text, speaker,"
               " start_time, end_time, is_final, words, voice)"
               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id", &p, 0,
               0, "add segment", &r);
    if (rc != 0)
        return rc;
    seg->id = col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

/* Row `row` of r (SEGMENT_COLUMNS) into seg; VB_ENOMEM leaves what was
 * copied for store_segment_clear(). */
static int row_to_segment(const PGresult *r, int row, int64_t tid,
                          store_segment *seg)
{
    int oom = 0;
    memset(seg, 0, sizeof(*seg));
    seg->id = col_i64(r, row, 0);
    seg->transcription_id = tid;
    seg->text = col_dup(r, row, 1, &oom);
    seg->speaker = col_dup(r, row, 2, &oom);
    seg->start_time = col_f64(r, row, 3);
    seg->end_time = col_f64(r, row, 4);
    seg->is_final = (int)col_i64(r, row, 5);
    seg->words_json = col_dup(r, row, 6, &oom);
    seg->voice = col_dup(r, row, 7, &oom);
    return oom || seg->text == NULL ? VB_ENOMEM : 0;
}

static int pg_segment_page(store_t *s, int64_t tid, const store_page *page,
                           store_segment **out, size_t *count)
{
    pg_params p = {0};
    p_i64(&p, tid);
    if (page != NULL) {
        p_i64(&p, page->max_id);
        p_f64(&p, page->after_start);
        p_i64(&p, page->after_id);
        p_i64(&p, page->limit);
    }
    PGresult *r;
    int rc = query(pg_of(s), page == NULL
        ? "SELECT " SEGMENT_COLUMNS " FROM segments WHERE transcription_id = $1"
          " ORDER BY start_time, id"
        : "SELECT " SEGMENT_COLUMNS " FROM segments WHERE transcription_id = $1"
          " AND id <= $2 AND (start_time > $3 OR (start_time = $3 AND id > $4))"
          " ORDER BY start_time, id LIMIT $5", &p, 0, 1, "list segments", &r);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    store_segment *items = rows ? calloc((size_t)rows, sizeof(*items)) : NULL;
    if (rows && items == NULL) {
        PQclear(r);
        return VB_ENOMEM;
    }
    for (int i = 0; i < rows && rc == 0; i++)
        rc = row_to_segment(r, i, tid, &items[i]);
    PQclear(r);
    if (rc != 0) {
        store_segments_free(items, (size_t)rows);
        return rc;
    }
    *out = items;
    *count = (size_t)rows;
    return 0;
}

static int pg_segment_list(store_t *s, int64_t tid, store_segment **out,
                           size_t *count)
{
    return pg_segment_page(s, tid, NULL, out, count);
}

static int pg_segment_last_id(store_t *s, int64_t tid, int64_t *out)
{
    pg_params p = {0};
    p_i64(&p, tid);
    PGresult *r;
    int rc = one_value(pg_of(s), "SELECT COALESCE(MAX(id), 0) FROM segments"
                       " WHERE transcription_id = $1", &p, "last segment", &r);
    if (rc == 0) {
        *out = col_i64(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

/* The segment sql returns (SEGMENT_COLUMNS; $1 the segment, $2 tid and
 * $3 a value), or VB_ENOTFOUND. */
static int segment_query(store_t *s, const char *sql, int64_t tid,
                         int64_t segment_id, const char *value,
                         store_segment *out, const char *what)
{
    pg_params p = {0};
    p_i64(&p, segment_id);
    p_i64(&p, tid);
    if (value != NULL)
        p_text(&p, value);
    PGresult *r;
    int rc = query(pg_of(s), sql, &p, 0, 1, what, &r);
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0)
        rc = VB_ENOTFOUND;
    else if ((rc = row_to_segment(r, 0, tid, out)) != 0)
        store_segment_clear(out);
    PQclear(r);
    return rc;
}

static int pg_segment_set_text(store_t *s, int64_t tid, int64_t segment_id,
                               const char *text, store_segment *out)
{
    return segment_query(s, "UPDATE segments SET text = $3 WHERE id = $1"
                         " AND transcription_id = $2 RETURNING "
                         SEGMENT_COLUMNS, tid, segment_id, text, out,
                         "correct segment");
}

static int pg_segment_get(store_t *s, int64_t tid, int64_t segment_id,
                          store_segment *out)
{
    return segment_query(s, "SELECT " SEGMENT_COLUMNS " FROM segments"
                         " WHERE id = $1 AND transcription_id = $2", tid,
                         segment_id, NULL, out, "get segment");
}

/* Sets one column of one segment (value NULL: null). */
static int set_segment_column(store_t *s, const char *sql, int64_t tid,
                              int64_t segment_id, const char *value,
                              const char *what)
{
    pg_params p = {0};
    p_text(&p, value);
    p_i64(&p, segment_id);
    p_i64(&p, tid);
    return exec_changed(pg_of(s), sql, &p, what);
}

static int pg_segment_set_words(store_t *s, int64_t tid, int64_t segment_id,
                                const char *words_json)
{
    return set_segment_column(s, "UPDATE segments SET words = $1"
                              " WHERE id = $2 AND transcription_id = $3",
                              tid, segment_id, words_json, "realign words");
}

static int pg_segment_set_speaker(store_t *s, int64_t tid, int64_t segment_id,
                                  const char *speaker)
{
    return set_segment_column(s, "UPDATE segments SET speaker = $1"
                              " WHERE id = $2 AND transcription_id = $3",
                              tid, segment_id, speaker, "relabel segment");
}

/* ---- speakers and vocabulary ----------------------------------------- */

static void fill_speaker(const PGresult *r, int row, void *item)
{
    store_speaker *sp = item;
    col_copy(sp->label, sizeof(sp->label), r, row, 0);
    col_copy(sp->name, sizeof(sp->name), r, row, 1);
}

static int pg_speakers_get(store_t *s, int64_t tid, store_speaker **out,
                           size_t *count)
{
    pg_params p = {0};
    p_i64(&p, tid);
    PGresult *r;
    /* COLLATE "C": the byte order SQLite sorts by. */
    int rc = query(pg_of(s), "SELECT label, name FROM speakers"
                   " WHERE transcription_id = $1 ORDER BY label COLLATE \"C\"",
                   &p, 0, 1, "speaker names", &r);
    if (rc != 0)
        return rc;
    rc = collect(r, sizeof(**out), fill_speaker, (void **)out, count);
    PQclear(r);
    return rc;
}

static int pg_speaker_set(store_t *s, int64_t tid, const char *label,
                          const char *name)
{
    pg_params p = {0};
    p_i64(&p, tid);
    p_text(&p, label);
    if (name[0] == '\0') {
        int rc = exec_changed(pg_of(s), "DELETE FROM speakers WHERE"
                              " transcription_id = $1 AND label = $2", &p,
                              "name speaker");
        return rc == VB_ENOTFOUND ? 0 : rc;
    }
    p_text(&p, name);
    PGresult *r;
    int rc = query(pg_of(s), "INSERT INTO speakers (transcription_id, label,"
                   " name) VALUES ($1, $2, $3) ON CONFLICT (transcription_id,"
                   " label) DO UPDATE SET name = excluded.name", &p, 0, 1,
                   "name speaker", &r);
    PQclear(r);
    return rc;
}

static int pg_vocabulary_get(store_t *s, int64_t tid, char **out)
{
    pg_params p = {0};
    p_i64(&p, tid);
    PGresult *r;
    *out = NULL;
    int rc = one_value(pg_of(s), "SELECT vocabulary FROM transcriptions"
                       " WHERE id = $1", &p, "vocabulary", &r);
    if (rc != 0)
        return rc;
    *out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return *out ? 0 : VB_ENOMEM;
}

static int pg_vocabulary_set(store_t *s, int64_t tid, const char *text)
{
    pg_params p = {0};
    p_text(&p, text);
    p_i64(&p, tid);
    return exec_changed(pg_of(s), "UPDATE transcriptions SET vocabulary = $1"
                        " WHERE id = $2", &p, "set vocabulary");
}

/* ---- search ---------------------------------------------------------- */

/* The query's words as a to_tsquery() expression (malloc'd): all
 * required, the last one a prefix; NULL when it has no word (*none) or
 * out of memory.  Words are runs of letters and digits and any byte
 * beyond ASCII: the characters the "simple" parser keeps together, so
 * that nothing in the expression is an operator. */
static char *ts_query(const char *q, int *none)
{
    size_t len = strlen(q);
    char *out = malloc(len * 4 + 8), *o = out;
    *none = 0;
    if (out == NULL)
        return NULL;
    int words = 0;
    for (const unsigned char *p = (const unsigned char *)q; *p;) {
        while (*p && !(isalnum(*p) || *p >= 0x80))
            p++;
        if (!*p)
            break;
        if (words++)
            o += sprintf(o, " & ");
        while (*p && (isalnum(*p) || *p >= 0x80))
            *o++ = (char)*p++;
    }
    if (words == 0) {
        free(out);
        *none = 1;
        return NULL;
    }
    strcpy(o, ":*"); /* the last word as typed so far */
    return out;
}

static void fill_hit(const PGresult *r, int row, void *item)
{
    store_hit *h = item;
    memset(h, 0, sizeof(*h));
    h->transcription_id = col_i64(r, row, 0);
    col_copy(h->title, sizeof(h->title), r, row, 1);
    h->segment_id = col_i64(r, row, 2);
    h->start_time = col_f64(r, row, 3);
    h->end_time = col_f64(r, row, 4);
    col_copy(h->speaker, sizeof(h->speaker), r, row, 5);
    h->snippet = strdup(PQgetvalue(r, row, 6));
}

/* The marked-up headline of a segment with "…" where it leaves out the
 * text's start or end (SQLite's snippet() does the same). */
static char *with_ellipses(const char *headline, const char *text)
{
    char plain[STORE_SEGMENT_TEXT_MAX + 1];
    size_t n = 0;
    for (const char *p = headline; *p && n < sizeof(plain) - 1; p++)
        if (*p != STORE_MARK_ON && *p != STORE_MARK_OFF)
            plain[n++] = *p;
    plain[n] = '\0';
    const char *first = plain;
    while (*first == ' ')
        first++;
    size_t flen = strlen(first);
    while (flen > 0 && first[flen - 1] == ' ')
        flen--;
    int cut_start = strncmp(text, first, flen) != 0;
    size_t tlen = strlen(text);
    int cut_end = flen > tlen || strncmp(text + tlen - flen, first, flen) != 0;
    if (!cut_start && !cut_end)
        return strdup(headline);
    size_t hlen = strlen(headline);
    char *out = malloc(hlen + 8);
    if (out == NULL)
        return NULL;
    snprintf(out, hlen + 8, "%s%s%s", cut_start ? "…" : "", headline,
             cut_end ? "…" : "");
    return out;
}

/* One kind's page of hits: sql has the tsquery as $1, LIMIT $2 OFFSET $3
 * and fill_hit's columns, then (for segments) the text as column 7. */
static int page_of_hits(pg_store *s, const char *sql, const char *match,
                        int limit, int64_t offset, store_hit **hits, size_t *n)
{
    if (limit <= 0)
        return 0;
    pg_params p = {0};
    p_text(&p, match);
    p_i64(&p, limit);
    p_i64(&p, offset);
    PGresult *r;
    int rc = query(s, sql, &p, 0, 1, "search", &r);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    store_hit *grown = realloc(*hits, (*n + (size_t)rows + 1) * sizeof(**hits));
    if (grown == NULL) {
        PQclear(r);
        return VB_ENOMEM;
    }
    *hits = grown;
    for (int i = 0; i < rows; i++) {
        store_hit *h = &(*hits)[(*n)++];
        fill_hit(r, i, h);
        if (h->snippet != NULL && PQnfields(r) > 7) {
            char *marked = with_ellipses(h->snippet, PQgetvalue(r, i, 7));
            free(h->snippet);
            h->snippet = marked;
        }
        if (h->snippet == NULL) {
            rc = VB_ENOMEM;
            break;
        }
    }
    PQclear(r);
    return rc;
}

static int64_t count_hits(pg_store *s, const char *sql, const char *match)
{
    pg_params p = {0};
    p_text(&p, match);
    PGresult *r;
    if (query(s, sql, &p, 0, 1, "search", &r) != 0)
        return -1;
    int64_t n = col_i64(r, 0, 0);
    PQclear(r);
    return n;
}

#define HEADLINE_MARKS "StartSel=\x02, StopSel=\x03"

/* As the SQLite backend: titles first, then segments, newest first. */
static int pg_search(store_t *s, const char *query_text, int limit, int offset,
                     store_hit **out, size_t *count, int64_t *total)
{
    pg_store *pg = pg_of(s);
    int none;
    char *match = ts_query(query_text, &none);
    *out = NULL;
    *count = 0;
    *total = 0;
    if (match == NULL)
        return none ? VB_EINVAL : VB_ENOMEM;
    int64_t titles = count_hits(pg, "SELECT COUNT(*) FROM transcriptions"
                                " WHERE search @@ to_tsquery('verbatim_search',"
                                " $1)", match);
    int64_t segments = count_hits(pg, "SELECT COUNT(*) FROM segments"
                                  " WHERE search @@ to_tsquery("
                                  "'verbatim_search', $1)", match);
    if (titles < 0 || segments < 0) {
        free(match);
        return VB_EIO;
    }
    store_hit *hits = NULL;
    size_t n = 0;
    int64_t from_titles = offset < titles ? titles - offset : 0;
    int want = from_titles < limit ? (int)from_titles : limit;
    int rc = page_of_hits(pg,
        "SELECT t.id, t.title, 0, 0.0, 0.0, NULL,"
        " ts_headline('verbatim_search', t.title, q, '" HEADLINE_MARKS
        ", HighlightAll=true')"
        " FROM transcriptions t, to_tsquery('verbatim_search', $1) q"
        " WHERE t.search @@ q ORDER BY t.id DESC LIMIT $2 OFFSET $3",
        match, want, offset, &hits, &n);
    if (rc == 0)
        rc = page_of_hits(pg,
            "SELECT s.transcription_id, t.title, s.id, s.start_time,"
            " s.end_time, s.speaker,"
            " ts_headline('verbatim_search', s.text, q, '" HEADLINE_MARKS
            ", MaxWords=16, MinWords=6, ShortWord=0'), s.text"
            " FROM segments s JOIN transcriptions t"
            " ON t.id = s.transcription_id,"
            " to_tsquery('verbatim_search', $1) q"
            " WHERE s.search @@ q ORDER BY s.id DESC LIMIT $2 OFFSET $3",
            match, limit - want, offset > titles ? offset - titles : 0, &hits,
            &n);
    free(match);
    if (rc != 0) {
        store_hits_free(hits, n);
        return rc;
    }
    *out = hits;
    *count = n;
    *total = titles + segments;
    return 0;
}

/* The server answers a query (reconnecting first when the connection was
 * lost, within connect_timeout). */
static int pg_ping(store_t *s)
{
    PGresult *r;
    int rc = query(pg_of(s), "SELECT 1", NULL, 0, 1, "ping", &r);
    PQclear(r);
    return rc;
}

/* ---- kept audio ------------------------------------------------------ */

static int pg_audio_keeping(store_t *s, int64_t tid, int *keep, int *has)
{
    pg_params p = {0};
    p_i64(&p, tid);
    PGresult *r;
    int rc = one_value(pg_of(s), "SELECT keep_audio, EXISTS (SELECT 1 FROM"
                       " audio WHERE transcription_id = t.id)::int FROM"
                       " transcriptions t WHERE id = $1", &p, "keep_audio", &r);
    if (rc != 0)
        return rc;
    *keep = col_i64(r, 0, 0) != 0;
    *has = col_i64(r, 0, 1) != 0;
    PQclear(r);
    return 0;
}

static int pg_audio_set_keeping(store_t *s, int64_t tid, int keep)
{
    pg_params p = {0};
    p_i64(&p, keep != 0);
    p_i64(&p, tid);
    return exec_changed(pg_of(s), "UPDATE transcriptions SET keep_audio = $1"
                        " WHERE id = $2", &p, "set keep_audio");
}

static int pg_audio_append(store_t *s, int64_t tid, const char *run, int seq,
                           double offset, const uint8_t *data, size_t len)
{
    pg_params p = {0};
    p_i64(&p, tid);
    p_text(&p, run);
    p_i64(&p, seq);
    p_f64(&p, offset);
    p_blob(&p, data, len);
    PGresult *r;
    /* A piece stored before a broken connection's answer is not stored
     * again: the key (tid, run, seq) is the piece. */
    int rc = query(pg_of(s), "INSERT INTO audio (transcription_id, run, seq,"
                   " time_offset, packets) VALUES ($1, $2, $3, $4, $5)"
                   " ON CONFLICT (transcription_id, run, seq) DO UPDATE SET"
                   " time_offset = excluded.time_offset, packets ="
                   " excluded.packets", &p, 0, 1, "keep audio", &r);
    PQclear(r);
    return rc;
}

/* A float8 column of a binary result. */
static double binary_f64(const PGresult *r, int row, int col)
{
    uint64_t bits;
    memcpy(&bits, PQgetvalue(r, row, col), sizeof(bits));
    bits = be64toh(bits);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static int pg_audio_runs(store_t *s, int64_t tid, store_audio_run **out,
                         size_t *count)
{
    pg_params p = {0};
    p_i64(&p, tid);
    PGresult *r;
    *out = NULL;
    *count = 0;
    /* Binary: the packets as they are, not hex (twice the bytes). */
    int rc = query(pg_of(s), "SELECT run, time_offset, packets FROM audio"
                   " WHERE transcription_id = $1 ORDER BY MIN(id) OVER"
                   " (PARTITION BY run), seq", &p, 1, 1, "read audio", &r);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    store_audio_run *runs = NULL;
    size_t n = 0;
    for (int i = 0; i < rows && rc == 0; i++) {
        int new_run = i == 0 || PQgetlength(r, i, 0) != PQgetlength(r, i - 1, 0) ||
            memcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0),
                   (size_t)PQgetlength(r, i, 0)) != 0;
        if (new_run) {
            store_audio_run *grown = realloc(runs, (n + 1) * sizeof(*runs));
            if (grown == NULL) {
                rc = VB_ENOMEM;
                break;
            }
            runs = grown;
            runs[n++] = (store_audio_run){0};
        }
        store_audio_run *run = &runs[n - 1];
        run->offset = binary_f64(r, i, 1);
        size_t len = (size_t)PQgetlength(r, i, 2);
        uint8_t *grown = realloc(run->packets, run->len + len + 1);
        if (grown == NULL) {
            rc = VB_ENOMEM;
            break;
        }
        memcpy(grown + run->len, PQgetvalue(r, i, 2), len);
        run->packets = grown;
        run->len += len;
    }
    PQclear(r);
    if (rc != 0) {
        store_audio_runs_free(runs, n);
        return rc;
    }
    /* By offset; a stable insertion sort keeps the order they began. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && runs[j - 1].offset > runs[j].offset; j--) {
            store_audio_run tmp = runs[j];
            runs[j] = runs[j - 1];
            runs[j - 1] = tmp;
        }
    *out = runs;
    *count = n;
    return 0;
}

static int pg_audio_delete(store_t *s, int64_t tid)
{
    int keep, has;
    int rc = pg_audio_keeping(s, tid, &keep, &has); /* is there such a one */
    if (rc != 0)
        return rc;
    pg_params p = {0};
    p_i64(&p, tid);
    rc = exec_changed(pg_of(s), "DELETE FROM audio WHERE transcription_id = $1",
                      &p, "delete audio");
    return rc == VB_ENOTFOUND ? 0 : rc;
}

/* ---- upload jobs ----------------------------------------------------- */

#define UPLOAD_COLUMNS "id, transcription_id, status, http_status, progress, " \
    "audio_seconds, time_offset, segments, format, error, created_at, updated_at"

static void fill_upload(const PGresult *r, int row, void *item)
{
    store_upload *u = item;
    memset(u, 0, sizeof(*u));
    u->id = col_i64(r, row, 0);
    u->transcription_id = col_i64(r, row, 1);
    col_copy(u->status, sizeof(u->status), r, row, 2);
    u->http_status = (int)col_i64(r, row, 3);
    u->progress = col_f64(r, row, 4);
    u->audio_seconds = col_f64(r, row, 5);
    u->time_offset = col_f64(r, row, 6);
    u->segments = (int)col_i64(r, row, 7);
    col_copy(u->format, sizeof(u->format), r, row, 8);
    col_copy(u->error, sizeof(u->error), r, row, 9);
    col_copy(u->created_at, sizeof(u->created_at), r, row, 10);
    u->updated_at = col_f64(r, row, 11);
}

/* The job's state as parameters, in UPLOAD_COLUMNS' order from status. */
static void p_upload_state(pg_params *p, const store_upload *u)
{
    p_text(p, u->status);
    p_i64(p, u->http_status);
    p_f64(p, u->progress);
    p_f64(p, u->audio_seconds);
    p_f64(p, u->time_offset);
    p_i64(p, u->segments);
    p_text(p, u->format);
    p_text(p, u->error);
    p_f64(p, u->updated_at);
}

static int pg_upload_create(store_t *s, store_upload *u)
{
    now_iso8601(u->created_at, sizeof(u->created_at));
    pg_params p = {0};
    p_upload_state(&p, u);
    p_i64(&p, u->transcription_id);
    p_text(&p, u->created_at);
    PGresult *r;
    int rc = query(pg_of(s), "INSERT INTO uploads (status, http_status,"
                   " progress, audio_seconds, time_offset, segments, format,"
                   " error, updated_at, transcription_id, created_at) VALUES"
                   " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                   " RETURNING id", &p, 0, 0, "create upload", &r);
    if (rc != 0)
        return rc;
    u->id = col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int pg_upload_save(store_t *s, const store_upload *u)
{
    pg_params p = {0};
    p_upload_state(&p, u);
    p_i64(&p, u->id);
    return exec_changed(pg_of(s), "UPDATE uploads SET status = $1,"
                        " http_status = $2, progress = $3, audio_seconds = $4,"
                        " time_offset = $5, segments = $6, format = $7,"
                        " error = $8, updated_at = $9 WHERE id = $10", &p,
                        "save upload");
}

static int pg_upload_get(store_t *s, int64_t tid, int64_t id, store_upload *out)
{
    pg_params p = {0};
    p_i64(&p, tid);
    p_i64(&p, id);
    PGresult *r;
    int rc = query(pg_of(s), "SELECT " UPLOAD_COLUMNS " FROM uploads"
                   " WHERE transcription_id = $1 AND id = $2", &p, 0, 1,
                   "get upload", &r);
    return rc != 0 ? rc : one_row(r, fill_upload, out);
}

static int pg_upload_list(store_t *s, int64_t tid, store_upload **out,
                          size_t *count)
{
    pg_params p = {0};
    p_i64(&p, tid);
    PGresult *r;
    int rc = query(pg_of(s), "SELECT " UPLOAD_COLUMNS " FROM uploads"
                   " WHERE transcription_id = $1 ORDER BY id DESC", &p, 0, 1,
                   "list uploads", &r);
    if (rc != 0)
        return rc;
    rc = collect(r, sizeof(**out), fill_upload, (void **)out, count);
    PQclear(r);
    return rc;
}

/* ---- keys and signed-in sessions ------------------------------------- */

static int pg_key_create(store_t *s, store_key *key)
{
    now_iso8601(key->created_at, sizeof(key->created_at));
    pg_params p = {0};
    p_text(&p, key->name);
    p_text(&p, key->scope);
    p_text(&p, key->prefix);
    p_text(&p, key->hash);
    p_text(&p, key->created_at);
    PGresult *r;
    int rc = query(pg_of(s), "INSERT INTO api_keys (name, scope, prefix, hash,"
                   " created_at) VALUES ($1, $2, $3, $4, $5)", &p, 0, 0,
                   "create key", &r);
    PQclear(r);
    return rc;
}

static void fill_key(const PGresult *r, int row, void *item)
{
    store_key *k = item;
    col_copy(k->name, sizeof(k->name), r, row, 0);
    col_copy(k->scope, sizeof(k->scope), r, row, 1);
    col_copy(k->prefix, sizeof(k->prefix), r, row, 2);
    col_copy(k->hash, sizeof(k->hash), r, row, 3);
    col_copy(k->created_at, sizeof(k->created_at), r, row, 4);
    col_copy(k->last_used_at, sizeof(k->last_used_at), r, row, 5);
}

static int pg_key_list(store_t *s, store_key **out, size_t *count)
{
    PGresult *r;
    int rc = query(pg_of(s), "SELECT name, scope, prefix, hash, created_at,"
                   " last_used_at FROM api_keys ORDER BY name COLLATE \"C\"",
                   NULL, 0, 1, "list keys", &r);
    if (rc != 0)
        return rc;
    rc = collect(r, sizeof(**out), fill_key, (void **)out, count);
    PQclear(r);
    return rc;
}

static int pg_key_revoke(store_t *s, const char *name)
{
    pg_params p = {0};
    p_text(&p, name);
    /* Its sessions with it, in one statement: a key made again under the
     * same name must not inherit them. */
    return exec_changed(pg_of(s), "WITH gone AS (DELETE FROM web_sessions"
                        " WHERE key_name = $1) DELETE FROM api_keys"
                        " WHERE name = $1", &p, "revoke key");
}

static int pg_key_touch(store_t *s, const char *hash)
{
    char now[40];
    now_iso8601(now, sizeof(now));
    pg_params p = {0};
    p_text(&p, now);
    p_text(&p, hash);
    return exec_changed(pg_of(s), "UPDATE api_keys SET last_used_at = $1"
                        " WHERE hash = $2", &p, "key used");
}

static int pg_session_add(store_t *s, const store_web_session *ws)
{
    pg_params p = {0};
    p_text(&p, ws->hash);
    p_text(&p, ws->key_name);
    p_i64(&p, ws->created_at);
    p_i64(&p, ws->expires_at);
    PGresult *r;
    int rc = query(pg_of(s), "INSERT INTO web_sessions (hash, key_name,"
                   " created_at, expires_at) VALUES ($1, $2, $3, $4)", &p, 0,
                   0, "sign in", &r);
    PQclear(r);
    return rc;
}

static int pg_session_end(store_t *s, const char *hash)
{
    pg_params p = {0};
    p_text(&p, hash);
    return exec_changed(pg_of(s), "DELETE FROM web_sessions WHERE hash = $1",
                        &p, "sign out");
}

static void fill_session(const PGresult *r, int row, void *item)
{
    store_web_session *w = item;
    col_copy(w->hash, sizeof(w->hash), r, row, 0);
    col_copy(w->key_name, sizeof(w->key_name), r, row, 1);
    w->created_at = col_i64(r, row, 2);
    w->expires_at = col_i64(r, row, 3);
}

static int pg_session_list(store_t *s, int64_t now, store_web_session **out,
                           size_t *count)
{
    pg_params p = {0};
    p_i64(&p, now);
    PGresult *r;
    int rc = query(pg_of(s), "DELETE FROM web_sessions WHERE expires_at <= $1",
                   &p, 0, 1, "delete expired sessions", &r);
    if (rc != 0)
        log_warn("store", "expired sessions not deleted");
    PQclear(r);
    rc = query(pg_of(s), "SELECT w.hash, w.key_name, w.created_at,"
               " w.expires_at FROM web_sessions w JOIN api_keys k"
               " ON k.name = w.key_name WHERE w.expires_at > $1", &p, 0, 1,
               "list sessions", &r);
    if (rc != 0)
        return rc;
    rc = collect(r, sizeof(**out), fill_session, (void **)out, count);
    PQclear(r);
    return rc;
}

/* ---- live-session leases ------------------------------------------- */

#define PG_NOW "extract(epoch from clock_timestamp())"

/*
 * In one transaction: the row locked, then taken if it is free or has
 * lapsed, or handed over if resume is its token.  Two servers that both
 * find no row both insert; the second's insert does nothing (the WHERE
 * of its conflict clause), so it is told BUSY.
 */
static int pg_lease_take(store_t *s, int64_t tid, const char *holder,
                         const char *token, const char *resume, double ttl,
                         store_lease *out)
{
    pg_store *pg = pg_of(s);
    PGresult *r;
    int rc = query(pg, "BEGIN", NULL, 0, 0, "take lease", &r);
    PQclear(r);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    p_i64(&p, tid);
    rc = query(pg, "SELECT holder, token, lapses_at - " PG_NOW " FROM"
               " live_claims WHERE transcription_id = $1 FOR UPDATE", &p, 0, 0,
               "take lease", &r);
    int live = 0;
    char held_token[33] = "";
    if (rc == 0 && PQntuples(r) == 1) {
        col_copy(out->previous, sizeof(out->previous), r, 0, 0);
        col_copy(held_token, sizeof(held_token), r, 0, 1);
        out->lapses_in = col_f64(r, 0, 2);
        live = out->lapses_in > 0;
    }
    PQclear(r);
    pg_params q = {0};
    p_i64(&q, tid);
    p_text(&q, holder);
    p_f64(&q, ttl);
    if (rc == 0 && !live) {
        p_text(&q, token);
        rc = query(pg, "INSERT INTO live_claims VALUES ($1, $2, $4, " PG_NOW
                   " + $3) ON CONFLICT (transcription_id) DO UPDATE SET"
                   " holder = excluded.holder, token = excluded.token,"
                   " lapses_at = excluded.lapses_at"
                   " WHERE live_claims.lapses_at <= " PG_NOW, &q, 0, 0,
                   "take lease", &r);
        if (rc == 0) {
            int taken = strcmp(PQcmdTuples(r), "1") == 0;
            out->outcome = taken ? STORE_LEASE_TAKEN : STORE_LEASE_BUSY;
            snprintf(out->token, sizeof(out->token), "%s", taken ? token : "");
            out->previous[0] = '\0';
            out->lapses_in = 0;
        }
        PQclear(r);
    } else if (rc == 0 && resume != NULL && strcmp(resume, held_token) == 0) {
        rc = query(pg, "UPDATE live_claims SET holder = $2, lapses_at = "
                   PG_NOW " + $3 WHERE transcription_id = $1", &q, 0, 0,
                   "take lease", &r);
        PQclear(r);
        out->outcome = STORE_LEASE_RESUMED;
        snprintf(out->token, sizeof(out->token), "%s", held_token);
    } else if (rc == 0) {
        out->outcome = STORE_LEASE_BUSY;
    }
    rc = rc == 0 ? query(pg, "COMMIT", NULL, 0, 0, "take lease", &r) : rc;
    if (rc == 0) {
        PQclear(r);
        return 0;
    }
    if (!connection_lost(pg))
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    return rc;
}

static int pg_lease_renew(store_t *s, const char *instance, double ttl)
{
    pg_params p = {0};
    p_text(&p, instance);
    p_f64(&p, ttl);
    PGresult *r;
    int rc = query(pg_of(s), "UPDATE live_claims SET lapses_at = " PG_NOW
                   " + $2 WHERE starts_with(holder, $1 || '/')", &p, 0, 1,
                   "renew leases", &r);
    PQclear(r);
    return rc;
}

static int pg_lease_release(store_t *s, int64_t tid, const char *holder)
{
    pg_params p = {0};
    p_i64(&p, tid);
    p_text(&p, holder);
    int rc = exec_changed(pg_of(s), "DELETE FROM live_claims WHERE"
                          " transcription_id = $1 AND holder = $2", &p,
                          "release lease");
    return rc == VB_ENOTFOUND ? 0 : rc;
}

static void pg_close(store_t *s)
{
    PQfinish(pg_of(s)->conn);
    free(s);
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .ping = pg_ping,
    .transcription_create = pg_transcription_create,
    .transcription_get = pg_transcription_get,
    .transcription_list = pg_transcription_list,
    .transcription_rename = pg_transcription_rename,
    .transcription_delete = pg_transcription_delete,
    .transcription_end_time = pg_transcription_end_time,
    .segment_add = pg_segment_add,
    .segment_set_speaker = pg_segment_set_speaker,
    .segment_list = pg_segment_list,
    .segment_page = pg_segment_page,
    .segment_last_id = pg_segment_last_id,
    .segment_set_text = pg_segment_set_text,
    .segment_set_words = pg_segment_set_words,
    .segment_get = pg_segment_get,
    .speakers_get = pg_speakers_get,
    .speaker_set = pg_speaker_set,
    .vocabulary_get = pg_vocabulary_get,
    .vocabulary_set = pg_vocabulary_set,
    .search = pg_search,
    .audio_append = pg_audio_append,
    .audio_runs = pg_audio_runs,
    .audio_delete = pg_audio_delete,
    .audio_keeping = pg_audio_keeping,
    .audio_set_keeping = pg_audio_set_keeping,
    .upload_create = pg_upload_create,
    .upload_save = pg_upload_save,
    .upload_get = pg_upload_get,
    .upload_list = pg_upload_list,
    .key_create = pg_key_create,
    .key_list = pg_key_list,
    .key_revoke = pg_key_revoke,
    .key_touch = pg_key_touch,
    .session_add = pg_session_add,
    .session_end = pg_session_end,
    .session_list = pg_session_list,
    .lease_take = pg_lease_take,
    .lease_renew = pg_lease_renew,
    .lease_release = pg_lease_release,
};

/* ---- opening and migrating ------------------------------------------- */

/* Runs sql (no parameters) for migrate(); the server's message into err. */
static int run_sql(PGconn *conn, const char *sql, char *err, size_t errlen,
                   const char *what)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        vb_seterr(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : VB_EIO;
}

/*
 * Brings the schema to LATEST, each step in its own transaction with the
 * version row.  The advisory lock (a number of our own, held until the
 * transaction ends) makes instances started together take turns: the
 * second finds the work done.
 */
static int migrate(PGconn *conn, char *err, size_t errlen)
{
    int from = -1;
    int rc = run_sql(conn, "CREATE TABLE IF NOT EXISTS schema_version ("
                     " version INTEGER NOT NULL)", err, errlen,
                     "cannot create the schema_version table");
    for (;;) {
        if (rc != 0)
            return rc;
        rc = run_sql(conn, "BEGIN; SELECT pg_advisory_xact_lock(7346528)",
                     err, errlen, "cannot lock the schema for migration");
        if (rc != 0)
            return rc;
        PGresult *r = PQexec(conn, "SELECT COALESCE(MAX(version), 0) FROM"
                             " schema_version");
        int version = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                          ? atoi(PQgetvalue(r, 0, 0)) : -1;
        if (version < 0)
            vb_seterr(err, errlen, "cannot read the schema version: %s",
                      PQresultErrorMessage(r));
        PQclear(r);
        if (version < 0 || version >= LATEST) {
            run_sql(conn, "ROLLBACK", err, 0, "");
            if (from >= 0 && version == LATEST)
                log_info("store", "PostgreSQL schema migrated from version "
                         "%d to %d", from, LATEST);
            if (version > LATEST) {
                vb_seterr(err, errlen, "database schema version %d is newer "
                          "than this program (%d); upgrade Verbatim", version,
                          LATEST);
                return VB_EUNSUPPORTED;
            }
            return version < 0 ? VB_EIO : 0;
        }
        if (from < 0)
            from = version;
        char what[64], bump[96];
        snprintf(what, sizeof(what), "database migration to version %d failed",
                 version + 1);
        snprintf(bump, sizeof(bump), "DELETE FROM schema_version; INSERT INTO"
                 " schema_version VALUES (%d); COMMIT", version + 1);
        rc = run_sql(conn, migrations[version], err, errlen, what);
        if (rc == 0)
            rc = run_sql(conn, bump, err, errlen, what);
        if (rc != 0) {
            run_sql(conn, "ROLLBACK", NULL, 0, "");
            return rc;
        }
    }
}

/* Notices (a migration's RAISE WARNING) go to the log, not stderr. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    log_warn("store", "PostgreSQL: %.*s", (int)(n && message[n - 1] == '\n'
                                                    ? n - 1 : n), message);
}

int store_pg_open(const char *url, store_t **out, char *err, size_t errlen)
{
    /* A server that does not answer must not hang start-up or a request
     * for libpq's default (forever): 5 s, unless the URL says otherwise. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name",
                          NULL};
    const char *values[] = {url, "5", "verbatim", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL)
        return VB_ENOMEM;
    if (PQstatus(conn) != CONNECTION_OK) {
        /* libpq's message names the host and the reason, not the
         * password. */
        char message[512];
        snprintf(message, sizeof(message), "%s", PQerrorMessage(conn));
        message[strcspn(message, "\n")] = '\0';
        vb_seterr(err, errlen, "cannot connect to PostgreSQL: %s", message);
        PQfinish(conn);
        return VB_EIO;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    int rc = run_sql(conn, "SET client_min_messages = warning", err, errlen,
                     "cannot use PostgreSQL");
    if (rc == 0)
        rc = migrate(conn, err, errlen);
    if (rc != 0) {
        PQfinish(conn);
        return rc;
    }
    pg_store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        PQfinish(conn);
        return VB_ENOMEM;
    }
    s->base.ops = &pg_ops;
    s->conn = conn;
    *out = &s->base;
    return 0;
}
