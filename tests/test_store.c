/* test_store.c - the SQLite store (store/store.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/vb.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/vbstore-XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* A folder that does not exist yet: the store creates it. */
    snprintf(path, sizeof(path), "%s/nested/folder/db.sqlite", dir);
    return 0;
}

static store_t *open_store(void)
{
    store_t *s = NULL;
    char err[256];
    int rc = store_open(path, &s, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return s;
}

static void add_segment(store_t *s, int64_t tid, const char *text, double start,
                        double end)
{
    store_segment seg = {0};
    seg.transcription_id = tid;
    seg.text = (char *)text;
    seg.start_time = start;
    seg.end_time = end;
    seg.is_final = 1;
    seg.words_json = (char *)"[]";
    assert_int_equal(store_segment_add(s, &seg), 0);
    assert_true(seg.id > 0);
}

static void test_transcriptions(void **state)
{
    store_t *s = open_store();
    assert_string_equal(store_backend(s), "sqlite");
    store_transcription a, b, got;
    assert_int_equal(store_transcription_create(s, "First", &a), 0);
    assert_int_equal(store_transcription_create(s, "Second", &b), 0);
    assert_true(b.id > a.id);
    assert_int_equal(store_transcription_get(s, a.id, &got), 0);
    assert_string_equal(got.title, "First");
    assert_string_equal(got.created_at, a.created_at);
    assert_int_equal(store_transcription_get(s, 9999, &got), VB_ENOTFOUND);

    store_transcription *list;
    size_t n;
    int64_t total = 0;
    assert_int_equal(store_transcription_list(s, 10, 0, &list, &n, &total), 0);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    assert_int_equal(list[0].id, b.id); /* newest first */
    free(list);
    /* Pages: the first, the second, past the end. */
    assert_int_equal(store_transcription_list(s, 1, 0, &list, &n, &total), 0);
    assert_true(n == 1 && list[0].id == b.id && total == 2);
    free(list);
    assert_int_equal(store_transcription_list(s, 1, 1, &list, &n, NULL), 0);
    assert_true(n == 1 && list[0].id == a.id);
    free(list);
    assert_int_equal(store_transcription_list(s, 1, 2, &list, &n, &total), 0);
    assert_true(n == 0 && total == 2);
    free(list);

    assert_int_equal(store_transcription_rename(s, a.id, "Renamed", &got), 0);
    assert_string_equal(got.title, "Renamed");
    assert_int_equal(store_transcription_rename(s, 9999, "x", &got), VB_ENOTFOUND);
    store_close(s);

    /* Reopened, the data is still there. */
    s = open_store();
    assert_int_equal(store_transcription_get(s, a.id, &got), 0);
    assert_string_equal(got.title, "Renamed");
    store_close(s);
}

static void test_segments(void **state)
{
    store_t *s = open_store();
    store_transcription t;
    assert_int_equal(store_transcription_create(s, "Segments", &t), 0);
    double end;
    assert_int_equal(store_transcription_end_time(s, t.id, &end), 0);
    assert_true(end == 0.0);
    add_segment(s, t.id, "second", 5.0, 7.5);
    add_segment(s, t.id, "first", 1.0, 2.0);
    store_segment *segs;
    size_t n;
    assert_int_equal(store_segment_list(s, t.id, &segs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(segs[0].text, "first"); /* by start time */
    assert_null(segs[0].speaker);
    assert_string_equal(segs[1].words_json, "[]");
    store_segments_free(segs, n);
    assert_int_equal(store_transcription_end_time(s, t.id, &end), 0);
    assert_true(end == 7.5);

    /* Deleting takes the segments along; adding to it is refused. */
    assert_int_equal(store_transcription_delete(s, t.id), 0);
    assert_int_equal(store_transcription_delete(s, t.id), VB_ENOTFOUND);
    assert_int_equal(store_segment_list(s, t.id, &segs, &n), 0);
    assert_int_equal(n, 0);
    store_segments_free(segs, n);
    store_segment seg = {0};
    seg.transcription_id = t.id;
    seg.text = (char *)"orphan";
    assert_int_equal(store_segment_add(s, &seg), VB_ENOTFOUND);
    store_close(s);
}

/* The list's preview is the first segment's first 200 characters, kept
 * to STORE_PREVIEW_BYTES: cut at a character's start, never inside one. */
static void test_preview_cut_whole(void **state)
{
    store_t *s = open_store();
    store_transcription t;
    assert_int_equal(store_transcription_create(s, "Accents", &t), 0);
    char text[600] = "a"; /* then 150 two-byte characters: 301 bytes */
    for (int i = 0; i < 150; i++)
        strcat(text, "\xc3\xa9");
    add_segment(s, t.id, text, 0.0, 1.0);
    store_transcription *list;
    size_t n;
    assert_int_equal(store_transcription_list(s, 100, 0, &list, &n, NULL), 0);
    const char *preview = NULL;
    for (size_t i = 0; i < n; i++)
        if (list[i].id == t.id)
            preview = list[i].preview;
    assert_non_null(preview);
    /* "a" and 99 whole characters: 199 bytes, where 200 would split one. */
    assert_int_equal(strlen(preview), 199);
    assert_memory_equal(preview, text, 199);
    free(list);
    store_close(s);
}

static void test_open_errors(void **state)
{
    store_t *s;
    char err[256];
    assert_int_equal(store_open("postgres://localhost/db", &s, err, sizeof(err)),
                     VB_EUNSUPPORTED);
    assert_non_null(strstr(err, "PostgreSQL"));
    assert_int_equal(store_open("", &s, err, sizeof(err)), VB_EINVAL);
    assert_int_not_equal(store_open("/proc/no/such/place/db", &s, err,
                                    sizeof(err)), 0);
    assert_true(strlen(err) > 0);

    /* A database from a newer Verbatim is not touched. */
    char newer[160];
    snprintf(newer, sizeof(newer), "%s/newer.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(newer, &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_open(newer, &s, err, sizeof(err)), VB_EUNSUPPORTED);
    assert_non_null(strstr(err, "newer"));
}

/* Upload jobs: created, saved over, read back one and all (newest
 * first), refused for a transcription that does not exist, and deleted
 * with their transcription. */
static void test_uploads(void **state)
{
    store_t *s = open_store();
    store_transcription t;
    assert_int_equal(store_transcription_create(s, "uploads", &t), 0);
    store_upload a = {.transcription_id = t.id, .status = "running",
                      .updated_at = 100};
    assert_int_equal(store_upload_create(s, &a), 0);
    assert_true(a.id > 0);
    assert_true(a.created_at[0] != '\0');
    store_upload b = a;
    assert_int_equal(store_upload_create(s, &b), 0);
    snprintf(a.status, sizeof(a.status), "failed");
    a.http_status = 422;
    a.progress = 0.5;
    a.segments = 3;
    a.updated_at = 200;
    snprintf(a.format, sizeof(a.format), "MP3");
    snprintf(a.error, sizeof(a.error), "damaged at 3.2 s");
    assert_int_equal(store_upload_save(s, &a), 0);
    store_upload got;
    assert_int_equal(store_upload_get(s, t.id, a.id, &got), 0);
    assert_string_equal(got.status, "failed");
    assert_int_equal(got.http_status, 422);
    assert_true(got.progress == 0.5 && got.segments == 3 && got.updated_at == 200);
    assert_string_equal(got.format, "MP3");
    assert_string_equal(got.error, "damaged at 3.2 s");
    assert_string_equal(got.created_at, a.created_at);
    /* Another transcription's id does not reach it. */
    assert_int_equal(store_upload_get(s, t.id + 1, a.id, &got), VB_ENOTFOUND);
    store_upload *list = NULL;
    size_t n = 0;
    assert_int_equal(store_upload_list(s, t.id, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_true(list[0].id == b.id && list[1].id == a.id);
    free(list);
    store_upload orphan = {.transcription_id = t.id + 100, .status = "running"};
    assert_int_equal(store_upload_create(s, &orphan), VB_ENOTFOUND);
    assert_int_equal(store_transcription_delete(s, t.id), 0);
    assert_int_equal(store_upload_get(s, t.id, a.id, &got), VB_ENOTFOUND);
    assert_int_equal(store_upload_save(s, &a), VB_ENOTFOUND);
    store_close(s);
}

/* Web sessions: listed while they last and their key exists; expired
 * ones are deleted when listed; revoking the key ends them. */
static void test_web_sessions(void **state)
{
    store_t *s = open_store();
    store_key k = {.name = "browser", .scope = "write", .prefix = "vb_abc",
                   .hash = "00"};
    assert_int_equal(store_key_create(s, &k), 0);
    store_web_session a = {.hash = "aa", .key_name = "browser",
                           .created_at = 100, .expires_at = 200};
    store_web_session b = {.hash = "bb", .key_name = "browser",
                           .created_at = 100, .expires_at = 300};
    store_web_session orphan = {.hash = "cc", .key_name = "nobody",
                                .created_at = 100, .expires_at = 300};
    assert_int_equal(store_session_add(s, &a), 0);
    assert_int_equal(store_session_add(s, &b), 0);
    assert_int_equal(store_session_add(s, &orphan), 0);
    assert_int_not_equal(store_session_add(s, &a), 0); /* one hash, once */
    store_web_session *list = NULL;
    size_t n = 0;
    assert_int_equal(store_session_list(s, 150, &list, &n), 0);
    assert_int_equal(n, 2); /* not the orphan: its key does not exist */
    free(list);
    assert_int_equal(store_session_list(s, 250, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].hash, "bb");
    assert_int_equal(list[0].expires_at, 300);
    free(list);
    /* a expired: deleted on the way, so ending it finds nothing */
    assert_int_equal(store_session_end(s, "aa"), VB_ENOTFOUND);
    assert_int_equal(store_key_revoke(s, "browser"), 0);
    assert_int_equal(store_session_end(s, "bb"), VB_ENOTFOUND);
    /* A key made again under the name does not inherit them. */
    assert_int_equal(store_key_create(s, &k), 0);
    assert_int_equal(store_session_list(s, 150, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcriptions),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_preview_cut_whole),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_uploads),
        cmocka_unit_test(test_web_sessions),
    };
    return cmocka_run_group_tests_name("store", tests, setup, NULL);
}
