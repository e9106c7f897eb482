/*
 * copy.c - store_copy(): every row of one database into another, SQLite
 * or PostgreSQL either way (`verbatim migrate`).
 *
 * Both ends are first opened with store_open(), which brings their
 * schemas to the same, latest version; then each table's rows go across
 * with their ids, in one transaction of the target, so that links to
 * /transcriptions/{id} still work and a failed copy leaves the target as
 * it was.  The target must hold no transcription and no key: a copy
 * never mixes two databases.
 *
 * This is the one place that reads both backends' tables: the column
 * lists below are the schema at its latest version, and a migration that
 * adds a column adds it here.
 */
#include "store.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"

/* A table as copied: its columns, each with its kind (i integer, f real,
 * t text, b bytes), and the order its rows are read in ("rowid" is
 * replaced by "id" on PostgreSQL, whose audio table numbers its rows). */
typedef struct {
    const char *name;
    const char *columns;
    const char *kinds;
    const char *order;
    int serial;          /* its id column counts on a PostgreSQL sequence */
} copy_table;

/* Parents before children (the foreign keys hold at every row). */
static const copy_table tables[] = {
    {"transcriptions", "id, title, created_at, vocabulary, keep_audio",
     "ittti", "id", 1},
    {"segments", "id, transcription_id, text, speaker, start_time, end_time,"
     " is_final, words, voice", "iittffitt", "id", 1},
    {"speakers", "transcription_id, label, name", "itt",
     "transcription_id, label", 0},
    {"uploads", "id, transcription_id, status, http_status, progress,"
     " audio_seconds, time_offset, segments, format, error, created_at,"
     " updated_at", "iitifffitttf", "id", 1},
    {"audio", "transcription_id, run, seq, time_offset, packets", "itifb",
     "rowid", 0},
    {"api_keys", "name, scope, prefix, hash, created_at, last_used_at",
     "tttttt", "name", 0},
    {"web_sessions", "hash, key_name, created_at, expires_at", "ttii", "hash",
     0},
};

#define MAX_COLUMNS 12

/* One end of the copy: a raw connection to either backend. */
typedef struct {
    sqlite3 *lite;
    PGconn *pg;
} copy_end;

/* One row's values, as text (numbers printed) or bytes; NULL is SQL
 * NULL.  Owned by the reader until the next row. */
typedef struct {
    const char *value[MAX_COLUMNS];
    int length[MAX_COLUMNS];
    char number[MAX_COLUMNS][32];
    unsigned char *unescaped[MAX_COLUMNS];
} copy_row;

static int is_pg(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 ||
           strncmp(url, "postgresql://", 13) == 0;
}

static int end_open(const char *url, copy_end *end, char *err, size_t errlen)
{
    memset(end, 0, sizeof(*end));
    if (is_pg(url)) {
        end->pg = PQconnectdb(url);
        if (PQstatus(end->pg) == CONNECTION_OK)
            return 0;
        vb_seterr(err, errlen, "cannot connect to PostgreSQL: %s",
                  PQerrorMessage(end->pg));
        return VB_EIO;
    }
    const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
    if (sqlite3_open_v2(path, &end->lite, SQLITE_OPEN_READWRITE, NULL) ==
        SQLITE_OK) {
        sqlite3_busy_timeout(end->lite, 5000);
        return 0;
    }
    vb_seterr(err, errlen, "cannot open %s: %s", path,
              end->lite ? sqlite3_errmsg(end->lite) : "out of memory");
    return VB_EIO;
}

static void end_close(copy_end *end)
{
    sqlite3_close(end->lite);
    PQfinish(end->pg);
}

/* Runs sql (no parameters, no rows wanted) on end. */
static int end_exec(copy_end *end, const char *sql, char *err, size_t errlen)
{
    if (end->pg) {
        PGresult *r = PQexec(end->pg, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
                 PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            vb_seterr(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return ok ? 0 : VB_EIO;
    }
    char *msg = NULL;
    if (sqlite3_exec(end->lite, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    vb_seterr(err, errlen, "%s", msg ? msg : "unknown error");
    sqlite3_free(msg);
    return VB_EIO;
}

/* The first value of sql's first row, as a number (-1 after an error). */
static long long end_count(copy_end *end, const char *sql)
{
    long long n = -1;
    if (end->pg) {
        PGresult *r = PQexec(end->pg, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            n = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        return n;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(end->lite, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void row_reset(copy_row *row)
{
    for (int i = 0; i < MAX_COLUMNS; i++) {
        PQfreemem(row->unescaped[i]);
        row->unescaped[i] = NULL;
    }
}

/*
 * Copies one table: reads every row of `from` (SQLite: a statement
 * stepped; PostgreSQL: one result, which holds the table in memory, as
 * the copy of a table this program writes may) and inserts it into `to`.
 * *copied gets the count.
 */
static int copy_rows(copy_end *from, copy_end *to, const copy_table *t,
                     long long *copied, char *err, size_t errlen)
{
    int ncol = (int)strlen(t->kinds);
    char select[512], insert[512], marks[128] = "";
    const char *order = strcmp(t->order, "rowid") == 0 && from->pg ? "id"
                                                                   : t->order;
    snprintf(select, sizeof(select), "SELECT %s FROM %s ORDER BY %s",
             t->columns, t->name, order);
    for (int i = 0, n = 0; i < ncol; i++)
        n += snprintf(marks + n, sizeof(marks) - (size_t)n, "%s$%d",
                      i ? ", " : "", i + 1);
    snprintf(insert, sizeof(insert), "INSERT INTO %s (%s) VALUES (%s)",
             t->name, t->columns, marks); /* SQLite reads $N as ?N */

    sqlite3_stmt *read = NULL, *write = NULL;
    PGresult *rows = NULL;
    int count = 0, rc = 0;
    if (from->pg) {
        rows = PQexec(from->pg, select);
        if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
            vb_seterr(err, errlen, "reading %s: %s", t->name,
                      PQresultErrorMessage(rows));
            PQclear(rows);
            return VB_EIO;
        }
        count = PQntuples(rows);
    } else if (sqlite3_prepare_v2(from->lite, select, -1, &read, NULL) !=
               SQLITE_OK) {
        vb_seterr(err, errlen, "reading %s: %s", t->name,
                  sqlite3_errmsg(from->lite));
        return VB_EIO;
    }
    if (to->lite && sqlite3_prepare_v2(to->lite, insert, -1, &write, NULL) !=
                        SQLITE_OK) {
        vb_seterr(err, errlen, "writing %s: %s", t->name,
                  sqlite3_errmsg(to->lite));
        rc = VB_EIO;
    }
    copy_row row = {0};
    *copied = 0;
    for (int r = 0; rc == 0; r++) {
        /* The next row into `row`. */
        if (from->pg) {
            if (r >= count)
                break;
            for (int c = 0; c < ncol; c++) {
                row.value[c] = PQgetisnull(rows, r, c) ? NULL
                                                       : PQgetvalue(rows, r, c);
                row.length[c] = PQgetlength(rows, r, c);
                if (t->kinds[c] == 'b' && row.value[c]) {
                    size_t len = 0;
                    row.unescaped[c] = PQunescapeBytea(
                        (const unsigned char *)row.value[c], &len);
                    if (row.unescaped[c] == NULL) {
                        rc = VB_ENOMEM;
                        break;
                    }
                    row.value[c] = (const char *)row.unescaped[c];
                    row.length[c] = (int)len;
                }
            }
        } else {
            int step = sqlite3_step(read);
            if (step == SQLITE_DONE)
                break;
            if (step != SQLITE_ROW) {
                vb_seterr(err, errlen, "reading %s: %s", t->name,
                          sqlite3_errmsg(from->lite));
                rc = VB_EIO;
                break;
            }
            for (int c = 0; c < ncol; c++) {
                int type = sqlite3_column_type(read, c);
                row.length[c] = 0;
                if (type == SQLITE_NULL) {
                    row.value[c] = NULL;
                } else if (t->kinds[c] == 'f') {
                    snprintf(row.number[c], sizeof(row.number[c]), "%.17g",
                             sqlite3_column_double(read, c));
                    row.value[c] = row.number[c];
                } else if (t->kinds[c] == 'b') {
                    row.length[c] = sqlite3_column_bytes(read, c);
                    row.value[c] = sqlite3_column_blob(read, c);
                    if (row.value[c] == NULL)
                        row.value[c] = "";
                } else {
                    row.value[c] = (const char *)sqlite3_column_text(read, c);
                }
            }
        }
        if (rc != 0)
            break;
        /* ...and out. */
        if (to->pg) {
            int formats[MAX_COLUMNS];
            for (int c = 0; c < ncol; c++)
                formats[c] = t->kinds[c] == 'b';
            PGresult *done = PQexecParams(to->pg, insert, ncol, NULL,
                                          row.value, row.length, formats, 0);
            if (PQresultStatus(done) != PGRES_COMMAND_OK) {
                vb_seterr(err, errlen, "writing %s: %s", t->name,
                          PQresultErrorMessage(done));
                rc = VB_EIO;
            }
            PQclear(done);
        } else {
            sqlite3_reset(write);
            for (int c = 0; c < ncol; c++) {
                const char *v = row.value[c];
                if (v == NULL)
                    sqlite3_bind_null(write, c + 1);
                else if (t->kinds[c] == 'i')
                    sqlite3_bind_int64(write, c + 1, strtoll(v, NULL, 10));
                else if (t->kinds[c] == 'f')
                    sqlite3_bind_double(write, c + 1, strtod(v, NULL));
                else if (t->kinds[c] == 'b')
                    sqlite3_bind_blob(write, c + 1, v, row.length[c],
                                      SQLITE_TRANSIENT);
                else
                    sqlite3_bind_text(write, c + 1, v, -1, SQLITE_TRANSIENT);
            }
            if (sqlite3_step(write) != SQLITE_DONE) {
                vb_seterr(err, errlen, "writing %s: %s", t->name,
                          sqlite3_errmsg(to->lite));
                rc = VB_EIO;
            }
        }
        row_reset(&row);
        if (rc == 0)
            (*copied)++;
    }
    row_reset(&row);
    sqlite3_finalize(read);
    sqlite3_finalize(write);
    PQclear(rows);
    return rc;
}

/* Both schemas at the latest version: store_open() migrates. */
static int bring_up_to_date(const char *url, char *err, size_t errlen)
{
    store_t *s = NULL;
    int rc = store_open(url, &s, err, errlen);
    store_close(s);
    return rc;
}

int store_copy(const char *from_url, const char *to_url,
               store_copy_progress progress, void *ctx, char *err,
               size_t errlen)
{
    int rc = bring_up_to_date(from_url, err, errlen);
    if (rc == 0)
        rc = bring_up_to_date(to_url, err, errlen);
    if (rc != 0)
        return rc;
    copy_end from, to;
    if ((rc = end_open(from_url, &from, err, errlen)) != 0) {
        end_close(&from);
        return rc;
    }
    if ((rc = end_open(to_url, &to, err, errlen)) != 0) {
        end_close(&from);
        end_close(&to);
        return rc;
    }
    long long there = end_count(&to, "SELECT (SELECT COUNT(*) FROM"
                                " transcriptions) + (SELECT COUNT(*) FROM"
                                " api_keys)");
    if (there != 0) {
        if (there > 0)
            vb_seterr(err, errlen, "the target database already holds "
                      "transcriptions or keys; copy into an empty one");
        else
            vb_seterr(err, errlen, "cannot read the target database");
        end_close(&from);
        end_close(&to);
        return there > 0 ? VB_EBUSY : VB_EIO;
    }
    /* The source as of one moment (a server may still be writing it). */
    rc = end_exec(&from, from.pg ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                                 : "BEGIN", err, errlen);
    if (rc == 0)
        rc = end_exec(&to, "BEGIN", err, errlen);
    for (size_t i = 0; rc == 0 && i < sizeof(tables) / sizeof(tables[0]); i++) {
        long long copied = 0;
        rc = copy_rows(&from, &to, &tables[i], &copied, err, errlen);
        if (rc == 0 && to.pg && tables[i].serial) {
            /* The next id follows the copied ones. */
            char sql[256];
            snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence("
                     "'%s', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL)"
                     " FROM %s", tables[i].name, tables[i].name);
            rc = end_exec(&to, sql, err, errlen);
        }
        if (rc == 0 && progress)
            progress(ctx, tables[i].name, copied);
    }
    if (rc == 0)
        rc = end_exec(&to, "COMMIT", err, errlen);
    else
        end_exec(&to, "ROLLBACK", NULL, 0);
    end_exec(&from, "ROLLBACK", NULL, 0);
    end_close(&from);
    end_close(&to);
    return rc;
}
