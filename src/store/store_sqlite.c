/*
 * store_sqlite.c - the SQLite backend of store.h.
 *
 * One connection, used from one thread (the server's store runner).  The
 * database runs in WAL mode with synchronous=NORMAL: a committed segment
 * survives a crash of the process; only a power cut can lose the last few
 * commits.  The schema version lives in PRAGMA user_version and migrate()
 * brings an older file up to date.
 */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/utf8.h"
#include "../util/vb.h"

typedef struct {
    struct store base;
    sqlite3 *db;
    int has_file;       /* not a database in memory: */
    dev_t file_dev;     /* the file opened, to tell when another (or */
    ino_t file_ino;     /* none) is at its path (sq_ping) */
} sqlite_store;

static sqlite3 *db_of(store_t *s)
{
    return ((sqlite_store *)s)->db;
}

/* Each entry brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE transcriptions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  title TEXT NOT NULL,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE segments ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  transcription_id INTEGER NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  text TEXT NOT NULL,"
    "  speaker TEXT,"
    "  start_time REAL NOT NULL,"
    "  end_time REAL NOT NULL,"
    "  is_final INTEGER NOT NULL DEFAULT 1,"
    "  words TEXT);"
    "CREATE INDEX segments_by_time ON segments(transcription_id, start_time);",
    /* 2: names people give to speaker labels */
    "CREATE TABLE speakers ("
    "  transcription_id INTEGER NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  label TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  PRIMARY KEY (transcription_id, label));",
    /* 3: a segment's voice statistics, for re-clustering speakers */
    "ALTER TABLE segments ADD COLUMN voice TEXT;",
    /* 4: upload jobs, which outlive the process that ran them */
    "CREATE TABLE uploads ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  transcription_id INTEGER NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  status TEXT NOT NULL,"
    "  http_status INTEGER NOT NULL DEFAULT 0,"
    "  progress REAL NOT NULL DEFAULT 0,"
    "  audio_seconds REAL NOT NULL DEFAULT 0,"
    "  time_offset REAL NOT NULL DEFAULT 0,"
    "  segments INTEGER NOT NULL DEFAULT 0,"
    "  format TEXT NOT NULL DEFAULT '',"
    "  error TEXT NOT NULL DEFAULT '',"
    "  created_at TEXT NOT NULL,"
    "  updated_at REAL NOT NULL);"
    "CREATE INDEX uploads_by_transcription ON uploads(transcription_id, id);",
    /* 5: API keys, as hashes */
    "CREATE TABLE api_keys ("
    "  name TEXT PRIMARY KEY,"
    "  scope TEXT NOT NULL,"
    "  prefix TEXT NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL,"
    "  last_used_at TEXT NOT NULL DEFAULT '');",
    /* 6: the web app's signed-in sessions, as hashes */
    "CREATE TABLE web_sessions ("
    "  hash TEXT PRIMARY KEY,"
    "  key_name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL);"
    "CREATE INDEX web_sessions_by_key ON web_sessions(key_name);",
    /* 7: the words a transcription's sessions should hear (keywords.h) */
    "ALTER TABLE transcriptions ADD COLUMN vocabulary TEXT NOT NULL DEFAULT '';",
    /* 8: kept audio (audio/keep.h), a run's pieces in order */
    "CREATE TABLE audio ("
    "  transcription_id INTEGER NOT NULL"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  run TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_offset REAL NOT NULL,"
    "  packets BLOB NOT NULL,"
    "  PRIMARY KEY (transcription_id, run, seq));"
    "ALTER TABLE transcriptions ADD COLUMN keep_audio INTEGER NOT NULL DEFAULT 1;",
    /* 9: full-text search over segments and titles (FTS5 indexes of the
     * tables' own text, kept by triggers) */
    "CREATE VIRTUAL TABLE segments_fts USING fts5(text, content='segments',"
    "  content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
    "INSERT INTO segments_fts(segments_fts) VALUES ('rebuild');"
    "CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN"
    "  INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN"
    "  INSERT INTO segments_fts(segments_fts, rowid, text)"
    "  VALUES ('delete', old.id, old.text); END;"
    "CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN"
    "  INSERT INTO segments_fts(segments_fts, rowid, text)"
    "  VALUES ('delete', old.id, old.text);"
    "  INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE VIRTUAL TABLE titles_fts USING fts5(title, content='transcriptions',"
    "  content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
    "INSERT INTO titles_fts(titles_fts) VALUES ('rebuild');"
    "CREATE TRIGGER titles_fts_insert AFTER INSERT ON transcriptions BEGIN"
    "  INSERT INTO titles_fts(rowid, title) VALUES (new.id, new.title); END;"
    "CREATE TRIGGER titles_fts_delete AFTER DELETE ON transcriptions BEGIN"
    "  INSERT INTO titles_fts(titles_fts, rowid, title)"
    "  VALUES ('delete', old.id, old.title); END;"
    "CREATE TRIGGER titles_fts_update AFTER UPDATE OF title ON transcriptions BEGIN"
    "  INSERT INTO titles_fts(titles_fts, rowid, title)"
    "  VALUES ('delete', old.id, old.title);"
    "  INSERT INTO titles_fts(rowid, title) VALUES (new.id, new.title); END;",
    /* 10: live-session leases (store.h; one server per file, so they only
     * mirror its claims, but the schema is the same in both backends) */
    "CREATE TABLE live_claims ("
    "  transcription_id INTEGER PRIMARY KEY"
    "    REFERENCES transcriptions(id) ON DELETE CASCADE,"
    "  holder TEXT NOT NULL,"
    "  token TEXT NOT NULL,"
    "  lapses_at REAL NOT NULL);",
};

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));
    if (version > latest) {
        vb_seterr(err, errlen,
                  "database schema version %d is newer than this program "
                  "(%d); upgrade Verbatim", version, latest);
        return VB_EUNSUPPORTED;
    }
    for (; version < latest; version++) {
        char *msg = NULL;
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", version + 1);
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, migrations[version], NULL, NULL, &msg) !=
                SQLITE_OK ||
            sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            vb_seterr(err, errlen, "database migration to version %d failed: %s",
                      version + 1, msg ? msg : "unknown error");
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return VB_EIO;
        }
    }
    return 0;
}

/* Creates the folder that will hold the database file, if it is missing. */
static int make_parent_dir(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        vb_seterr(err, errlen, "cannot create folder %s: %s", dir,
                  strerror(errno));
        return VB_EIO;
    }
    return 0;
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

static int db_error(sqlite3 *db, const char *what)
{
    log_error("store", "%s: %s", what, sqlite3_errmsg(db));
    return VB_EIO;
}

/* src into dst[len]; cut short, at a character's start, never inside
 * one, so that what is cut is still UTF-8 (a preview is 200 characters,
 * which may be more than its 200 bytes). */
static void copy_text(char *dst, size_t len, const unsigned char *src)
{
    size_t n = src ? utf8_prefix((const char *)src, len - 1) : 0;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Room for item n of an array that grows by doubling: 0, or VB_ENOMEM
 * (the array is left as it was). */
static int make_room(void *items_p, size_t *cap, size_t n, size_t size,
                     size_t first)
{
    void **items = items_p;
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : first;
    void *grown = realloc(*items, want * size);
    if (grown == NULL)
        return VB_ENOMEM;
    *items = grown;
    *cap = want;
    return 0;
}

/* Steps st to its end, each row into a new item of item_size bytes filled
 * by fill(); finalizes st.  0 with *out (malloc'd) and *count, or a VB_E*
 * code (what: for the log). */
static int collect_rows(sqlite3 *db, sqlite3_stmt *st, size_t item_size,
                        void (*fill)(sqlite3_stmt *st, void *item),
                        void **out, size_t *count, const char *what)
{
    void *items = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (make_room(&items, &cap, n, item_size, 8) != 0) {
            free(items);
            sqlite3_finalize(st);
            return VB_ENOMEM;
        }
        fill(st, (char *)items + n++ * item_size);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(items);
        return db_error(db, what);
    }
    *out = items;
    *count = n;
    return 0;
}

static void row_to_transcription(sqlite3_stmt *st, store_transcription *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    copy_text(t->title, sizeof(t->title), sqlite3_column_text(st, 1));
    copy_text(t->created_at, sizeof(t->created_at), sqlite3_column_text(st, 2));
}

static int sq_transcription_get(store_t *s, int64_t id, store_transcription *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, title, created_at FROM transcriptions "
                           "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "get transcription");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW)
        row_to_transcription(st, out);
    else if (rc == SQLITE_DONE)
        result = VB_ENOTFOUND;
    else
        result = db_error(db, "get transcription");
    sqlite3_finalize(st);
    return result;
}

static int sq_transcription_create(store_t *s, const char *title,
                                   store_transcription *out)
{
    sqlite3 *db = db_of(s);
    char created[40];
    now_iso8601(created, sizeof(created));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO transcriptions (title, created_at) "
                           "VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "create transcription");
    sqlite3_bind_text(st, 1, title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, created, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "create transcription");
    out->id = sqlite3_last_insert_rowid(db);
    snprintf(out->title, sizeof(out->title), "%s", title);
    snprintf(out->created_at, sizeof(out->created_at), "%s", created);
    return 0;
}

/* A transcription with its summary (sq_transcription_list's columns). */
static void fill_summary(sqlite3_stmt *st, void *item)
{
    store_transcription *t = item;
    row_to_transcription(st, t);
    t->duration = sqlite3_column_double(st, 3);
    t->segment_count = sqlite3_column_int(st, 4);
    t->speaker_count = sqlite3_column_int(st, 5);
    copy_text(t->preview, sizeof(t->preview), sqlite3_column_text(st, 6));
}

static int sq_transcription_list(store_t *s, int limit, int offset,
                                 store_transcription **out, size_t *count,
                                 int64_t *total)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (total != NULL) {
        if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM transcriptions", -1,
                               &st, NULL) != SQLITE_OK)
            return db_error(db, "count transcriptions");
        int rc = sqlite3_step(st);
        *total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
            return db_error(db, "count transcriptions");
    }
    /* The page first, then the summaries of its rows only. */
    if (sqlite3_prepare_v2(
            db,
            "SELECT t.id, t.title, t.created_at,"
            " COALESCE(MAX(s.end_time), 0), COUNT(s.id),"
            " COUNT(DISTINCT s.speaker),"
            " (SELECT substr(f.text, 1, 200) FROM segments f"
            "  WHERE f.transcription_id = t.id"
            "  ORDER BY f.start_time, f.id LIMIT 1)"
            " FROM (SELECT * FROM transcriptions ORDER BY id DESC"
            "       LIMIT ? OFFSET ?) t"
            " LEFT JOIN segments s ON s.transcription_id = t.id"
            " GROUP BY t.id ORDER BY t.id DESC", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "list transcriptions");
    sqlite3_bind_int(st, 1, limit);
    sqlite3_bind_int(st, 2, offset);
    return collect_rows(db, st, sizeof(**out), fill_summary, (void **)out,
                        count, "list transcriptions");
}

static int sq_transcription_rename(store_t *s, int64_t id, const char *title,
                                   store_transcription *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE transcriptions SET title = ? WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "rename transcription");
    sqlite3_bind_text(st, 1, title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "rename transcription");
    if (sqlite3_changes(db) == 0)
        return VB_ENOTFOUND;
    return sq_transcription_get(s, id, out);
}

static int sq_transcription_delete(store_t *s, int64_t id)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM transcriptions WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(db, "delete transcription");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "delete transcription");
    return sqlite3_changes(db) == 0 ? VB_ENOTFOUND : 0;
}

static int sq_transcription_end_time(store_t *s, int64_t id, double *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT COALESCE(MAX(end_time), 0) FROM segments "
                           "WHERE transcription_id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(db, "transcription end time");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_error(db, "transcription end time");
}

static int sq_segment_add(store_t *s, store_segment *seg)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO segments (transcription_id, text, "
                           "speaker, start_time, end_time, is_final, words, "
                           "voice) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st,
                           NULL) !=
        SQLITE_OK)
        return db_error(db, "add segment");
    sqlite3_bind_int64(st, 1, seg->transcription_id);
    sqlite3_bind_text(st, 2, seg->text ? seg->text : "", -1, SQLITE_TRANSIENT);
    if (seg->speaker != NULL)
        sqlite3_bind_text(st, 3, seg->speaker, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_double(st, 4, seg->start_time);
    sqlite3_bind_double(st, 5, seg->end_time);
    sqlite3_bind_int(st, 6, seg->is_final ? 1 : 0);
    if (seg->words_json != NULL)
        sqlite3_bind_text(st, 7, seg->words_json, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 7);
    if (seg->voice != NULL)
        sqlite3_bind_text(st, 8, seg->voice, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 8);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return VB_ENOTFOUND; /* the transcription was deleted meanwhile */
    if (rc != SQLITE_DONE)
        return db_error(db, "add segment");
    seg->id = sqlite3_last_insert_rowid(db);
    return 0;
}

static char *column_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    return text ? strdup((const char *)text) : NULL;
}

static void row_to_segment(sqlite3_stmt *st, store_segment *seg)
{
    memset(seg, 0, sizeof(*seg));
    seg->id = sqlite3_column_int64(st, 0);
    seg->text = column_strdup(st, 1);
    seg->speaker = column_strdup(st, 2);
    seg->start_time = sqlite3_column_double(st, 3);
    seg->end_time = sqlite3_column_double(st, 4);
    seg->is_final = sqlite3_column_int(st, 5);
    seg->words_json = column_strdup(st, 6);
    if (sqlite3_column_count(st) > 7)
        seg->voice = column_strdup(st, 7);
}

/* The list, or a page of it (page NULL: all). */
static int sq_segment_page(store_t *s, int64_t tid, const store_page *page,
                           store_segment **out, size_t *count)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           page == NULL
                               ? "SELECT id, text, speaker, start_time, "
                                 "end_time, is_final, words, voice FROM "
                                 "segments WHERE transcription_id = ? "
                                 "ORDER BY start_time, id"
                               : "SELECT id, text, speaker, start_time, "
                                 "end_time, is_final, words, voice FROM "
                                 "segments WHERE transcription_id = ? "
                                 "AND id <= ? AND (start_time > ? OR "
                                 "(start_time = ? AND id > ?)) "
                                 "ORDER BY start_time, id LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "list segments");
    sqlite3_bind_int64(st, 1, tid);
    if (page != NULL) {
        sqlite3_bind_int64(st, 2, page->max_id);
        sqlite3_bind_double(st, 3, page->after_start);
        sqlite3_bind_double(st, 4, page->after_start);
        sqlite3_bind_int64(st, 5, page->after_id);
        sqlite3_bind_int(st, 6, page->limit);
    }
    store_segment *items = NULL;
    size_t n = 0, cap = 0;
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (make_room(&items, &cap, n, sizeof(*items), 32) != 0) {
            result = VB_ENOMEM;
            break;
        }
        store_segment *seg = &items[n++];
        row_to_segment(st, seg);
        seg->transcription_id = tid;
        if (seg->text == NULL) {
            result = VB_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (result == 0 && rc != SQLITE_DONE)
        result = db_error(db, "list segments");
    if (result != 0) {
        store_segments_free(items, n);
        return result;
    }
    *out = items;
    *count = n;
    return 0;
}

static int sq_segment_list(store_t *s, int64_t tid, store_segment **out,
                           size_t *count)
{
    return sq_segment_page(s, tid, NULL, out, count);
}

static int sq_segment_last_id(store_t *s, int64_t tid, int64_t *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) FROM segments "
                           "WHERE transcription_id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(db, "last segment");
    sqlite3_bind_int64(st, 1, tid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_error(db, "last segment");
}

/* Steps st, which yields at most one segment of tid, into out;
 * finalizes st (VB_ENOTFOUND without a row; what: for the log). */
static int one_segment(sqlite3 *db, sqlite3_stmt *st, int64_t tid,
                       store_segment *out, const char *what)
{
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW) {
        row_to_segment(st, out);
        out->transcription_id = tid;
        if (out->text == NULL)
            result = VB_ENOMEM;
    } else {
        result = rc == SQLITE_DONE ? VB_ENOTFOUND : db_error(db, what);
    }
    sqlite3_finalize(st);
    return result;
}

static int sq_segment_set_text(store_t *s, int64_t tid, int64_t segment_id,
                               const char *text, store_segment *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE segments SET text = ? "
                           "WHERE id = ? AND transcription_id = ? "
                           "RETURNING id, text, speaker, start_time, "
                           "end_time, is_final, words", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(db, "correct segment");
    sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, segment_id);
    sqlite3_bind_int64(st, 3, tid);
    return one_segment(db, st, tid, out, "correct segment");
}

static int sq_segment_get(store_t *s, int64_t tid, int64_t segment_id,
                          store_segment *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, text, speaker, start_time, end_time,"
                           " is_final, words FROM segments"
                           " WHERE id = ? AND transcription_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(db, "get segment");
    sqlite3_bind_int64(st, 1, segment_id);
    sqlite3_bind_int64(st, 2, tid);
    return one_segment(db, st, tid, out, "get segment");
}

/* UPDATE segments SET one column = value (NULL: null) of one segment
 * (sql names the column; what: for the log). */
static int set_segment_column(store_t *s, const char *sql, int64_t tid,
                              int64_t segment_id, const char *value,
                              const char *what)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, what);
    if (value != NULL)
        sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, segment_id);
    sqlite3_bind_int64(st, 3, tid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, what);
    return sqlite3_changes(db) == 1 ? 0 : VB_ENOTFOUND;
}

static int sq_segment_set_words(store_t *s, int64_t tid, int64_t segment_id,
                               const char *words_json)
{
    return set_segment_column(s, "UPDATE segments SET words = ? "
                              "WHERE id = ? AND transcription_id = ?",
                              tid, segment_id, words_json, "realign words");
}

static int sq_segment_set_speaker(store_t *s, int64_t tid, int64_t segment_id,
                                  const char *speaker)
{
    return set_segment_column(s, "UPDATE segments SET speaker = ? "
                              "WHERE id = ? AND transcription_id = ?",
                              tid, segment_id, speaker, "relabel segment");
}

static int sq_speakers_get(store_t *s, int64_t tid, store_speaker **out,
                           size_t *count)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT label, name FROM speakers "
                           "WHERE transcription_id = ? ORDER BY label", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(db, "speaker names");
    sqlite3_bind_int64(st, 1, tid);
    store_speaker *items = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (make_room(&items, &cap, n, sizeof(*items), 8) != 0) {
            free(items);
            sqlite3_finalize(st);
            return VB_ENOMEM;
        }
        copy_text(items[n].label, sizeof(items[n].label), sqlite3_column_text(st, 0));
        copy_text(items[n].name, sizeof(items[n].name), sqlite3_column_text(st, 1));
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(items);
        return db_error(db, "speaker names");
    }
    *out = items;
    *count = n;
    return 0;
}

static int sq_speaker_set(store_t *s, int64_t tid, const char *label,
                          const char *name)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    const char *sql = name[0] != '\0'
        ? "INSERT INTO speakers (transcription_id, label, name) VALUES (?, ?, ?)"
          " ON CONFLICT (transcription_id, label) DO UPDATE SET name = excluded.name"
        : "DELETE FROM speakers WHERE transcription_id = ? AND label = ?";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "name speaker");
    sqlite3_bind_int64(st, 1, tid);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_TRANSIENT);
    if (name[0] != '\0')
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return VB_ENOTFOUND;
    return rc == SQLITE_DONE ? 0 : db_error(db, "name speaker");
}

static int sq_vocabulary_get(store_t *s, int64_t tid, char **out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT vocabulary FROM transcriptions "
                           "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "vocabulary");
    sqlite3_bind_int64(st, 1, tid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        *out = strdup(text ? (const char *)text : "");
        rc = *out ? 0 : VB_ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? VB_ENOTFOUND : db_error(db, "vocabulary");
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_vocabulary_set(store_t *s, int64_t tid, const char *text)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE transcriptions SET vocabulary = ? "
                           "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "set vocabulary");
    sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, tid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "set vocabulary");
    return sqlite3_changes(db) == 1 ? 0 : VB_ENOTFOUND;
}

/* The query's words as an FTS5 expression (malloc'd): each quoted, the
 * last one a prefix, all of them required; NULL when it has no word (or
 * out of memory: *none says which).  Words are runs of letters, digits
 * and apostrophes, and any byte of a character beyond ASCII. */
static char *fts_query(const char *q, int *none)
{
    size_t len = strlen(q);
    char *out = malloc(len * 3 + 8), *o = out;
    *none = 0;
    if (out == NULL)
        return NULL;
    int words = 0;
    for (const unsigned char *p = (const unsigned char *)q; *p;) {
        while (*p && !(isalnum(*p) || *p == '\'' || *p >= 0x80))
            p++;
        if (!*p)
            break;
        if (words++)
            *o++ = ' ';
        *o++ = '"';
        while (*p && (isalnum(*p) || *p == '\'' || *p >= 0x80))
            *o++ = (char)*p++;
        *o++ = '"';
    }
    if (words == 0) {
        free(out);
        *none = 1;
        return NULL;
    }
    *o++ = '*'; /* the last word as typed so far */
    *o = '\0';
    return out;
}

/* COUNT(*) of one MATCH statement; -1 after an error. */
static int64_t count_matches(sqlite3 *db, const char *sql, const char *match)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

static void fill_hit(sqlite3_stmt *st, void *item)
{
    store_hit *h = item;
    memset(h, 0, sizeof(*h));
    h->transcription_id = sqlite3_column_int64(st, 0);
    copy_text(h->title, sizeof(h->title), sqlite3_column_text(st, 1));
    h->segment_id = sqlite3_column_int64(st, 2);
    h->start_time = sqlite3_column_double(st, 3);
    h->end_time = sqlite3_column_double(st, 4);
    copy_text(h->speaker, sizeof(h->speaker), sqlite3_column_text(st, 5));
    const unsigned char *snippet = sqlite3_column_text(st, 6);
    h->snippet = strdup(snippet ? (const char *)snippet : "");
}

/* One kind's page of hits (statement sql, its MATCH and page bound as
 * ?1-?3) appended to *hits. */
static int page_of_hits(sqlite3 *db, const char *sql, const char *match,
                        int limit, int64_t offset, store_hit **hits,
                        size_t *n, size_t *cap)
{
    sqlite3_stmt *st;
    if (limit <= 0)
        return 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "search");
    sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, limit);
    sqlite3_bind_int64(st, 3, offset);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (make_room(hits, cap, *n, sizeof(**hits), 16) != 0)
            break;
        fill_hit(st, &(*hits)[*n]);
        if ((*hits)[(*n)++].snippet == NULL)
            break;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? VB_ENOMEM : db_error(db, "search");
    return 0;
}

/*
 * Titles first, then segments, each newest first: in the index's own
 * order, so that a page costs its rows and not every match (ranking by
 * relevance scored all 100,000 matches of a common word: 0.65 s over
 * 5,000 transcripts; bench/NOTES.md, "Search").  Only the counts read
 * every match.
 */
static int sq_search(store_t *s, const char *query, int limit, int offset,
                     store_hit **out, size_t *count, int64_t *total)
{
    sqlite3 *db = db_of(s);
    int none;
    char *match = fts_query(query, &none);
    *out = NULL;
    *count = 0;
    *total = 0;
    if (match == NULL)
        return none ? VB_EINVAL : VB_ENOMEM;
    int64_t titles = count_matches(db, "SELECT COUNT(*) FROM titles_fts "
                                   "WHERE titles_fts MATCH ?1", match);
    int64_t segments = count_matches(db, "SELECT COUNT(*) FROM segments_fts "
                                     "WHERE segments_fts MATCH ?1", match);
    if (titles < 0 || segments < 0) {
        free(match);
        return db_error(db, "search");
    }
    store_hit *hits = NULL;
    size_t n = 0, cap = 0;
    int64_t from_titles = offset < titles ? titles - offset : 0;
    int want = from_titles < limit ? (int)from_titles : limit;
    int rc = page_of_hits(db,
        "SELECT f.rowid, highlight(titles_fts, 0, char(2), char(3)), 0, 0.0, 0.0,"
        " NULL, highlight(titles_fts, 0, char(2), char(3))"
        " FROM titles_fts f WHERE titles_fts MATCH ?1"
        " ORDER BY f.rowid DESC LIMIT ?2 OFFSET ?3",
        match, want, offset, &hits, &n, &cap);
    if (rc == 0)
        rc = page_of_hits(db,
            "SELECT s.transcription_id, t.title, s.id, s.start_time,"
            " s.end_time, s.speaker,"
            " snippet(segments_fts, 0, char(2), char(3), '…', 16)"
            " FROM segments_fts f CROSS JOIN segments s ON s.id = f.rowid"
            " CROSS JOIN transcriptions t ON t.id = s.transcription_id"
            " WHERE segments_fts MATCH ?1"
            " ORDER BY f.rowid DESC LIMIT ?2 OFFSET ?3",
            match, limit - want, offset > titles ? offset - titles : 0, &hits,
            &n, &cap);
    free(match);
    if (rc != 0) {
        store_hits_free(hits, n);
        return rc;
    }
    /* A title's hit shows the title with its marks; its plain text is
     * the title as stored. */
    for (size_t i = 0; i < n; i++)
        if (hits[i].segment_id == 0) {
            char *o = hits[i].title;
            for (const char *p = hits[i].title; *p; p++)
                if (*p != STORE_MARK_ON && *p != STORE_MARK_OFF)
                    *o++ = *p;
            *o = '\0';
        }
    *out = hits;
    *count = n;
    *total = titles + segments;
    return 0;
}

static int sq_audio_keeping(store_t *s, int64_t tid, int *keep, int *has)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT keep_audio, EXISTS (SELECT 1 FROM audio"
                           " WHERE transcription_id = t.id) FROM transcriptions t"
                           " WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "keep_audio");
    sqlite3_bind_int64(st, 1, tid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *keep = sqlite3_column_int(st, 0) != 0;
        *has = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? VB_ENOTFOUND : db_error(db, "keep_audio");
}

static int sq_audio_set_keeping(store_t *s, int64_t tid, int keep)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE transcriptions SET keep_audio = ? "
                           "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "set keep_audio");
    sqlite3_bind_int(st, 1, keep != 0);
    sqlite3_bind_int64(st, 2, tid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "set keep_audio");
    return sqlite3_changes(db) == 1 ? 0 : VB_ENOTFOUND;
}

static int sq_audio_append(store_t *s, int64_t tid, const char *run, int seq,
                           double offset, const uint8_t *data, size_t len)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO audio (transcription_id, run, seq,"
                           " time_offset, packets) VALUES (?, ?, ?, ?, ?)"
                           " ON CONFLICT (transcription_id, run, seq) DO UPDATE"
                           " SET time_offset = excluded.time_offset, packets ="
                           " excluded.packets", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "keep audio");
    sqlite3_bind_int64(st, 1, tid);
    sqlite3_bind_text(st, 2, run, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, seq);
    sqlite3_bind_double(st, 4, offset);
    sqlite3_bind_blob(st, 5, len ? data : (const void *)"", (int)len,
                      SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT) /* the transcription is gone */
        return VB_ENOTFOUND;
    return rc == SQLITE_DONE ? 0 : db_error(db, "keep audio");
}

static int sq_audio_runs(store_t *s, int64_t tid, store_audio_run **out,
                         size_t *count)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    *out = NULL;
    *count = 0;
    /* Each run's pieces in order, the runs in the order they began. */
    if (sqlite3_prepare_v2(db, "SELECT run, time_offset, packets FROM audio"
                           " WHERE transcription_id = ?"
                           " ORDER BY (SELECT MIN(rowid) FROM audio b"
                           "   WHERE b.transcription_id = audio.transcription_id"
                           "   AND b.run = audio.run), seq",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "read audio");
    sqlite3_bind_int64(st, 1, tid);
    store_audio_run *runs = NULL;
    size_t n = 0, cap = 0;
    char last[64] = "";
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *run = (const char *)sqlite3_column_text(st, 0);
        if (n == 0 || strcmp(run ? run : "", last) != 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                store_audio_run *grown = realloc(runs, cap * sizeof(*runs));
                if (grown == NULL)
                    break;
                runs = grown;
            }
            runs[n++] = (store_audio_run){0};
            snprintf(last, sizeof(last), "%s", run ? run : "");
        }
        store_audio_run *r = &runs[n - 1];
        r->offset = sqlite3_column_double(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        uint8_t *grown = realloc(r->packets, r->len + len + 1);
        if (grown == NULL)
            break;
        memcpy(grown + r->len, sqlite3_column_blob(st, 2), len);
        r->packets = grown;
        r->len += len;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        store_audio_runs_free(runs, n);
        return rc == SQLITE_ROW ? VB_ENOMEM : db_error(db, "read audio");
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

static int sq_audio_delete(store_t *s, int64_t tid)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    int keep, has;
    int rc = sq_audio_keeping(s, tid, &keep, &has); /* is there such a one */
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(db, "DELETE FROM audio WHERE transcription_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "delete audio");
    sqlite3_bind_int64(st, 1, tid);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_error(db, "delete audio");
}

#define UPLOAD_COLUMNS "id, transcription_id, status, http_status, progress, " \
    "audio_seconds, time_offset, segments, format, error, created_at, updated_at"

static void row_to_upload(sqlite3_stmt *st, store_upload *u)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, 0);
    u->transcription_id = sqlite3_column_int64(st, 1);
    copy_text(u->status, sizeof(u->status), sqlite3_column_text(st, 2));
    u->http_status = sqlite3_column_int(st, 3);
    u->progress = sqlite3_column_double(st, 4);
    u->audio_seconds = sqlite3_column_double(st, 5);
    u->time_offset = sqlite3_column_double(st, 6);
    u->segments = sqlite3_column_int(st, 7);
    copy_text(u->format, sizeof(u->format), sqlite3_column_text(st, 8));
    copy_text(u->error, sizeof(u->error), sqlite3_column_text(st, 9));
    copy_text(u->created_at, sizeof(u->created_at), sqlite3_column_text(st, 10));
    u->updated_at = sqlite3_column_double(st, 11);
}

/* The job's state into parameters first..first+8 of st. */
static void bind_upload_state(sqlite3_stmt *st, int first, const store_upload *u)
{
    sqlite3_bind_text(st, first, u->status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, first + 1, u->http_status);
    sqlite3_bind_double(st, first + 2, u->progress);
    sqlite3_bind_double(st, first + 3, u->audio_seconds);
    sqlite3_bind_double(st, first + 4, u->time_offset);
    sqlite3_bind_int(st, first + 5, u->segments);
    sqlite3_bind_text(st, first + 6, u->format, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, first + 7, u->error, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, first + 8, u->updated_at);
}

static int sq_upload_create(store_t *s, store_upload *u)
{
    sqlite3 *db = db_of(s);
    now_iso8601(u->created_at, sizeof(u->created_at));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO uploads (transcription_id, status, "
                           "http_status, progress, audio_seconds, time_offset, "
                           "segments, format, error, updated_at, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(db, "create upload");
    sqlite3_bind_int64(st, 1, u->transcription_id);
    bind_upload_state(st, 2, u);
    sqlite3_bind_text(st, 11, u->created_at, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return VB_ENOTFOUND; /* no such transcription (any more) */
    if (rc != SQLITE_DONE)
        return db_error(db, "create upload");
    u->id = sqlite3_last_insert_rowid(db);
    return 0;
}

static int sq_upload_save(store_t *s, const store_upload *u)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE uploads SET status = ?, http_status = ?, "
                           "progress = ?, audio_seconds = ?, time_offset = ?, "
                           "segments = ?, format = ?, error = ?, updated_at = ? "
                           "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "save upload");
    bind_upload_state(st, 1, u);
    sqlite3_bind_int64(st, 10, u->id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "save upload");
    return sqlite3_changes(db) == 0 ? VB_ENOTFOUND : 0;
}

static int sq_upload_get(store_t *s, int64_t tid, int64_t id, store_upload *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT " UPLOAD_COLUMNS " FROM uploads "
                           "WHERE transcription_id = ? AND id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(db, "get upload");
    sqlite3_bind_int64(st, 1, tid);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW)
        row_to_upload(st, out);
    else if (rc == SQLITE_DONE)
        result = VB_ENOTFOUND;
    else
        result = db_error(db, "get upload");
    sqlite3_finalize(st);
    return result;
}

static void fill_upload(sqlite3_stmt *st, void *item)
{
    row_to_upload(st, item);
}

static int sq_upload_list(store_t *s, int64_t tid, store_upload **out,
                          size_t *count)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT " UPLOAD_COLUMNS " FROM uploads "
                           "WHERE transcription_id = ? ORDER BY id DESC", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(db, "list uploads");
    sqlite3_bind_int64(st, 1, tid);
    return collect_rows(db, st, sizeof(**out), fill_upload, (void **)out,
                        count, "list uploads");
}

static int sq_key_create(store_t *s, store_key *key)
{
    sqlite3 *db = db_of(s);
    now_iso8601(key->created_at, sizeof(key->created_at));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO api_keys (name, scope, prefix, "
                           "hash, created_at) VALUES (?, ?, ?, ?, ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(db, "create key");
    sqlite3_bind_text(st, 1, key->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key->scope, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, key->prefix, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, key->hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, key->created_at, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return VB_EBUSY;
    return rc == SQLITE_DONE ? 0 : db_error(db, "create key");
}

static void fill_key(sqlite3_stmt *st, void *item)
{
    store_key *k = item;
    copy_text(k->name, sizeof(k->name), sqlite3_column_text(st, 0));
    copy_text(k->scope, sizeof(k->scope), sqlite3_column_text(st, 1));
    copy_text(k->prefix, sizeof(k->prefix), sqlite3_column_text(st, 2));
    copy_text(k->hash, sizeof(k->hash), sqlite3_column_text(st, 3));
    copy_text(k->created_at, sizeof(k->created_at), sqlite3_column_text(st, 4));
    copy_text(k->last_used_at, sizeof(k->last_used_at),
              sqlite3_column_text(st, 5));
}

static int sq_key_list(store_t *s, store_key **out, size_t *count)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT name, scope, prefix, hash, created_at, "
                           "last_used_at FROM api_keys ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(db, "list keys");
    return collect_rows(db, st, sizeof(**out), fill_key, (void **)out, count,
                        "list keys");
}

/* Runs sql with one text parameter; VB_ENOTFOUND when no row changed. */
static int exec_on_one(store_t *s, const char *sql, const char *value,
                       const char *what)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, what);
    sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(db, what);
    return sqlite3_changes(db) == 0 ? VB_ENOTFOUND : 0;
}

static int sq_key_revoke(store_t *s, const char *name)
{
    /* Its sessions first: a key made again under the same name must not
     * inherit them. */
    int rc = exec_on_one(s, "DELETE FROM web_sessions WHERE key_name = ?",
                         name, "revoke key");
    if (rc != 0 && rc != VB_ENOTFOUND)
        return rc;
    return exec_on_one(s, "DELETE FROM api_keys WHERE name = ?", name,
                       "revoke key");
}

static int sq_session_add(store_t *s, const store_web_session *ws)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO web_sessions (hash, key_name, "
                           "created_at, expires_at) VALUES (?, ?, ?, ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(db, "sign in");
    sqlite3_bind_text(st, 1, ws->hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ws->key_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, ws->created_at);
    sqlite3_bind_int64(st, 4, ws->expires_at);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_error(db, "sign in");
}

static int sq_session_end(store_t *s, const char *hash)
{
    return exec_on_one(s, "DELETE FROM web_sessions WHERE hash = ?", hash,
                       "sign out");
}

static void fill_session(sqlite3_stmt *st, void *item)
{
    store_web_session *w = item;
    copy_text(w->hash, sizeof(w->hash), sqlite3_column_text(st, 0));
    copy_text(w->key_name, sizeof(w->key_name), sqlite3_column_text(st, 1));
    w->created_at = sqlite3_column_int64(st, 2);
    w->expires_at = sqlite3_column_int64(st, 3);
}

static int sq_session_list(store_t *s, int64_t now, store_web_session **out,
                           size_t *count)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    char sql[200];
    snprintf(sql, sizeof(sql), "DELETE FROM web_sessions WHERE expires_at <= "
             "%lld", (long long)now);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        log_warn("store", "expired sessions not deleted: %s", sqlite3_errmsg(db));
    if (sqlite3_prepare_v2(db, "SELECT w.hash, w.key_name, w.created_at, "
                           "w.expires_at FROM web_sessions w JOIN api_keys k "
                           "ON k.name = w.key_name WHERE w.expires_at > ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "list sessions");
    sqlite3_bind_int64(st, 1, now);
    return collect_rows(db, st, sizeof(**out), fill_session, (void **)out,
                        count, "list sessions");
}

static int sq_key_touch(store_t *s, const char *hash)
{
    char now[40], sql[160];
    now_iso8601(now, sizeof(now));
    snprintf(sql, sizeof(sql), "UPDATE api_keys SET last_used_at = '%s' "
             "WHERE hash = ?", now);
    return exec_on_one(s, sql, hash, "key used");
}

/* ---- live-session leases ------------------------------------------- */

#define SQ_NOW "((julianday('now') - 2440587.5) * 86400.0)"

/* Runs st (bound) to its end and finalizes it; rows changed or -1. */
static int step_changes(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return -2; /* no such transcription */
    return rc == SQLITE_DONE ? sqlite3_changes(db) : -1;
}

/* As the PostgreSQL backend's, under SQLite's write lock. */
static int sq_lease_take(store_t *s, int64_t tid, const char *holder,
                         const char *token, const char *resume, double ttl,
                         store_lease *out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, "take lease");
    int live = 0, changed = 0;
    char held_token[33] = "";
    if (sqlite3_prepare_v2(db, "SELECT holder, token, lapses_at - " SQ_NOW
                           " FROM live_claims WHERE transcription_id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        goto failed;
    sqlite3_bind_int64(st, 1, tid);
    if (sqlite3_step(st) == SQLITE_ROW) {
        copy_text(out->previous, sizeof(out->previous), sqlite3_column_text(st, 0));
        copy_text(held_token, sizeof(held_token), sqlite3_column_text(st, 1));
        out->lapses_in = sqlite3_column_double(st, 2);
        live = out->lapses_in > 0;
    }
    sqlite3_finalize(st);
    if (!live) {
        if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO live_claims VALUES"
                               " (?, ?, ?, " SQ_NOW " + ?)", -1, &st, NULL) !=
            SQLITE_OK)
            goto failed;
        sqlite3_bind_text(st, 3, token, -1, SQLITE_TRANSIENT);
        out->outcome = STORE_LEASE_TAKEN;
        snprintf(out->token, sizeof(out->token), "%s", token);
        out->previous[0] = '\0';
        out->lapses_in = 0;
    } else if (resume != NULL && strcmp(resume, held_token) == 0) {
        if (sqlite3_prepare_v2(db, "UPDATE live_claims SET holder = ?2,"
                               " lapses_at = " SQ_NOW " + ?4 WHERE"
                               " transcription_id = ?1", -1, &st, NULL) !=
            SQLITE_OK)
            goto failed;
        out->outcome = STORE_LEASE_RESUMED;
        snprintf(out->token, sizeof(out->token), "%s", held_token);
    } else {
        out->outcome = STORE_LEASE_BUSY;
        st = NULL;
    }
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, tid);
        sqlite3_bind_text(st, 2, holder, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 4, ttl);
        changed = step_changes(db, st);
        if (changed == -2) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return VB_ENOTFOUND;
        }
        if (changed < 0)
            goto failed;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
failed:;
    int rc = db_error(db, "take lease");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sq_lease_renew(store_t *s, const char *instance, double ttl)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE live_claims SET lapses_at = " SQ_NOW
                           " + ?2 WHERE substr(holder, 1, length(?1) + 1) ="
                           " ?1 || '/'", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "renew leases");
    sqlite3_bind_text(st, 1, instance, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, ttl);
    return step_changes(db, st) < 0 ? db_error(db, "renew leases") : 0;
}

static int sq_lease_release(store_t *s, int64_t tid, const char *holder)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM live_claims WHERE"
                           " transcription_id = ? AND holder = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(db, "release lease");
    sqlite3_bind_int64(st, 1, tid);
    sqlite3_bind_text(st, 2, holder, -1, SQLITE_TRANSIENT);
    return step_changes(db, st) < 0 ? db_error(db, "release lease") : 0;
}

/* The database answers a read, and its file is still the one at its
 * path: a file deleted or replaced under a running server (a data folder
 * removed, a volume gone) would otherwise go on answering from the open
 * descriptor while nothing it stores survives. */
static int sq_ping(store_t *s)
{
    sqlite_store *sq = (sqlite_store *)s;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sq->db, "SELECT count(*) FROM sqlite_schema", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(sq->db, "ping");
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : db_error(sq->db, "ping");
    sqlite3_finalize(st);
    const char *path = sqlite3_db_filename(sq->db, "main");
    struct stat now;
    if (rc == 0 && sq->has_file && path != NULL && path[0] &&
        (stat(path, &now) != 0 || now.st_dev != sq->file_dev ||
         now.st_ino != sq->file_ino)) {
        log_error("store", "the database file %s is gone or was replaced", path);
        rc = VB_EIO;
    }
    return rc;
}

static void sq_close(store_t *s)
{
    sqlite3_close(db_of(s));
    free(s);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .ping = sq_ping,
    .transcription_create = sq_transcription_create,
    .transcription_get = sq_transcription_get,
    .transcription_list = sq_transcription_list,
    .transcription_rename = sq_transcription_rename,
    .transcription_delete = sq_transcription_delete,
    .transcription_end_time = sq_transcription_end_time,
    .segment_add = sq_segment_add,
    .segment_set_speaker = sq_segment_set_speaker,
    .segment_list = sq_segment_list,
    .segment_page = sq_segment_page,
    .segment_last_id = sq_segment_last_id,
    .segment_set_text = sq_segment_set_text,
    .segment_set_words = sq_segment_set_words,
    .segment_get = sq_segment_get,
    .speakers_get = sq_speakers_get,
    .speaker_set = sq_speaker_set,
    .vocabulary_get = sq_vocabulary_get,
    .vocabulary_set = sq_vocabulary_set,
    .search = sq_search,
    .audio_append = sq_audio_append,
    .audio_runs = sq_audio_runs,
    .audio_delete = sq_audio_delete,
    .audio_keeping = sq_audio_keeping,
    .audio_set_keeping = sq_audio_set_keeping,
    .upload_create = sq_upload_create,
    .upload_save = sq_upload_save,
    .upload_get = sq_upload_get,
    .upload_list = sq_upload_list,
    .key_create = sq_key_create,
    .key_list = sq_key_list,
    .key_revoke = sq_key_revoke,
    .key_touch = sq_key_touch,
    .session_add = sq_session_add,
    .session_end = sq_session_end,
    .session_list = sq_session_list,
    .lease_take = sq_lease_take,
    .lease_renew = sq_lease_renew,
    .lease_release = sq_lease_release,
};

int store_sqlite_open(const char *path, store_t **out, char *err,
                      size_t errlen)
{
    int rc = make_parent_dir(path, err, errlen);
    if (rc != 0)
        return rc;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                       SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        vb_seterr(err, errlen, "cannot open database %s: %s", path,
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return VB_EIO;
    }
    char *msg = NULL;
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                         "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        vb_seterr(err, errlen, "cannot use database %s: %s", path, msg);
        sqlite3_free(msg);
        sqlite3_close(db);
        return VB_EIO;
    }
    rc = migrate(db, err, errlen);
    if (rc != 0) {
        sqlite3_close(db);
        return rc;
    }
    sqlite_store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        sqlite3_close(db);
        return VB_ENOMEM;
    }
    s->base.ops = &sqlite_ops;
    s->db = db;
    const char *file = sqlite3_db_filename(db, "main");
    struct stat st;
    if (file != NULL && file[0] && stat(file, &st) == 0) {
        s->has_file = 1;
        s->file_dev = st.st_dev;
        s->file_ino = st.st_ino;
    }
    *out = &s->base;
    return 0;
}

/* A lock on PATH.lock (not on the database file, whose locks are
 * SQLite's), held by this process: another server started on the same
 * file sees who holds it. */
int store_sqlite_claim(const char *path, int *claim, char *err, size_t errlen)
{
    *claim = -1;
    if (strstr(path, ":memory:") != NULL || strstr(path, "mode=memory") != NULL)
        return 0;
    int rc = make_parent_dir(path, err, errlen);
    if (rc != 0)
        return rc;
    char lock_path[4200];
    snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        vb_seterr(err, errlen, "cannot create %s: %s", lock_path,
                  strerror(errno));
        return VB_EIO;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        long pid = fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK
                       ? (long)who.l_pid : 0;
        close(fd);
        if (pid > 0)
            vb_seterr(err, errlen, "the database %s is in use by another "
                      "Verbatim server (process %ld); stop it, or give this "
                      "one another --db", path, pid);
        else
            vb_seterr(err, errlen, "the database %s is in use by another "
                      "Verbatim server; stop it, or give this one another "
                      "--db", path);
        return VB_EBUSY;
    }
    *claim = fd;
    return 0;
}
