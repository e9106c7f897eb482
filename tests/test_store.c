/* test_store.c - the store (store/store.h): SQLite, or PostgreSQL when
 * tests/postgres.sh runs it (testutil.h's tu_pg()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "testutil.h"
#include "util/vb.h"

static char dir[64];
static char path[300];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/vbstore-XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* A folder that does not exist yet: the store creates it. */
    snprintf(path, sizeof(path), "%s/nested/folder/db.sqlite", dir);
    if (tu_pg())
        tu_db_url(dir, path, sizeof(path));
    return 0;
}

static store_t *open_store_at(const char *url)
{
    store_t *s = NULL;
    char err[256];
    int rc = store_open(url, &s, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return s;
}

static store_t *open_store(void)
{
    return open_store_at(path);
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
    assert_string_equal(store_backend(s), tu_pg() ? "postgresql" : "sqlite");
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
    /* Nothing listens on port 1: said at once, naming the server. */
    assert_int_equal(store_open("postgresql://verbatim@127.0.0.1:1/db", &s, err,
                                sizeof(err)), VB_EIO);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_non_null(strstr(err, "127.0.0.1"));
    assert_int_equal(store_open("", &s, err, sizeof(err)), VB_EINVAL);
    assert_int_not_equal(store_open("/proc/no/such/place/db", &s, err,
                                    sizeof(err)), 0);
    assert_true(strlen(err) > 0);

    /* A database from a newer Verbatim is not touched. */
    char newer[300];
    if (tu_pg()) {
        tu_db_url(dir, newer, sizeof(newer));
        store_close(open_store_at(newer));
        assert_int_equal(tu_sql(newer, "UPDATE schema_version SET version = 99"),
                         0);
    } else {
        snprintf(newer, sizeof(newer), "%s/newer.db", dir);
        assert_int_equal(tu_sql(newer, "PRAGMA user_version = 99"), 0);
    }
    assert_int_equal(store_open(newer, &s, err, sizeof(err)), VB_EUNSUPPORTED);
    assert_non_null(strstr(err, "newer"));
}

/* The schema's version is kept where each backend keeps it, and opening
 * a database already up to date changes nothing. */
static void test_schema_version(void **state)
{
    char url[300];
    tu_db_url(dir, url, sizeof(url));
    if (!tu_pg())
        snprintf(url, sizeof(url), "%s/versioned.db", dir);
    store_close(open_store_at(url));
    store_t *s = open_store_at(url); /* again: nothing to migrate */
    store_transcription t;
    assert_int_equal(store_transcription_create(s, "kept", &t), 0);
    store_close(s);
    /* Both at the latest version, the same number in both backends. */
    assert_int_equal(tu_sql(url, tu_pg()
        ? "DO $$ BEGIN IF (SELECT version FROM schema_version) <> 10 THEN"
          " RAISE EXCEPTION 'version'; END IF; END $$"
        : "CREATE TABLE check_version (v INTEGER CHECK (v = 10));"
          "INSERT INTO check_version SELECT user_version FROM"
          " pragma_user_version"), 0);
}

static int tables_copied;

static void count_table(void *ctx, const char *table, long long rows)
{
    (void)ctx;
    (void)table;
    assert_true(rows >= 0);
    tables_copied++;
}

/* A database with one of everything (and a gap in the ids), filled
 * through the store. */
static void fill_everything(const char *url)
{
    store_t *s = open_store_at(url);
    store_transcription a, gone, b;
    assert_int_equal(store_transcription_create(s, "Café meeting", &a), 0);
    assert_int_equal(store_transcription_create(s, "gone", &gone), 0);
    assert_int_equal(store_transcription_create(s, "Second", &b), 0);
    assert_int_equal(store_transcription_delete(s, gone.id), 0);
    store_segment seg = {.transcription_id = a.id, .text = "hello there",
                         .speaker = "speaker_0", .start_time = 0.1 + 0.2,
                         .end_time = 1.0 / 3.0, .is_final = 1,
                         .words_json = "[{\"w\":1}]", .voice = "v1 2 3"};
    assert_int_equal(store_segment_add(s, &seg), 0);
    seg.text = "general kenobi";
    seg.speaker = NULL;
    seg.voice = NULL;
    seg.start_time = 2;
    seg.end_time = 3;
    assert_int_equal(store_segment_add(s, &seg), 0);
    assert_int_equal(store_speaker_set(s, a.id, "speaker_0", "Ada"), 0);
    assert_int_equal(store_vocabulary_set(s, a.id, "Kenobi:2"), 0);
    assert_int_equal(store_audio_set_keeping(s, b.id, 0), 0);
    const uint8_t bytes[] = {0, 1, 2, 255, 0, 7};
    assert_int_equal(store_audio_append(s, a.id, "run-b", 0, 5.0, bytes, 3), 0);
    assert_int_equal(store_audio_append(s, a.id, "run-a", 0, 0.0, bytes, 3), 0);
    assert_int_equal(store_audio_append(s, a.id, "run-b", 1, 5.0, bytes + 3, 3),
                     0);
    store_upload u = {.transcription_id = b.id, .status = "done",
                      .progress = 1, .audio_seconds = 12.5, .segments = 4,
                      .format = "mp3", .updated_at = 1234.5};
    assert_int_equal(store_upload_create(s, &u), 0);
    store_key k = {.name = "ops", .scope = "admin", .prefix = "vb_abc",
                   .hash = "00ff"};
    assert_int_equal(store_key_create(s, &k), 0);
    store_web_session w = {.hash = "aa11", .key_name = "ops",
                           .created_at = 100, .expires_at = 4000000000LL};
    assert_int_equal(store_session_add(s, &w), 0);
    store_close(s);
}

/* What fill_everything() made, read back through the store. */
static void expect_everything(const char *url)
{
    store_t *s = open_store_at(url);
    store_transcription t;
    assert_int_equal(store_transcription_get(s, 1, &t), 0);
    assert_string_equal(t.title, "Café meeting");
    assert_int_equal(store_transcription_get(s, 2, &t), VB_ENOTFOUND);
    assert_int_equal(store_transcription_get(s, 3, &t), 0);
    store_segment *segs;
    size_t n;
    assert_int_equal(store_segment_list(s, 1, &segs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(segs[0].text, "hello there");
    assert_string_equal(segs[0].speaker, "speaker_0");
    assert_true(segs[0].start_time == 0.1 + 0.2); /* every bit kept */
    assert_true(segs[0].end_time == 1.0 / 3.0);
    assert_string_equal(segs[0].words_json, "[{\"w\":1}]");
    assert_string_equal(segs[0].voice, "v1 2 3");
    assert_null(segs[1].speaker);
    assert_null(segs[1].voice);
    assert_true(segs[1].id > segs[0].id);
    store_segments_free(segs, n);
    store_speaker *names;
    assert_int_equal(store_speakers_get(s, 1, &names, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0].name, "Ada");
    free(names);
    char *vocabulary;
    assert_int_equal(store_vocabulary_get(s, 1, &vocabulary), 0);
    assert_string_equal(vocabulary, "Kenobi:2");
    free(vocabulary);
    int keep, has;
    assert_int_equal(store_audio_keeping(s, 3, &keep, &has), 0);
    assert_int_equal(keep, 0);
    assert_int_equal(store_audio_keeping(s, 1, &keep, &has), 0);
    assert_int_equal(keep, 1);
    assert_int_equal(has, 1);
    store_audio_run *runs;
    assert_int_equal(store_audio_runs(s, 1, &runs, &n), 0);
    assert_int_equal(n, 2);
    const uint8_t bytes[] = {0, 1, 2, 255, 0, 7};
    assert_true(runs[0].offset == 0.0 && runs[0].len == 3);
    assert_memory_equal(runs[0].packets, bytes, 3);
    assert_true(runs[1].offset == 5.0 && runs[1].len == 6);
    assert_memory_equal(runs[1].packets, bytes, 6);
    store_audio_runs_free(runs, n);
    store_upload *ups;
    assert_int_equal(store_upload_list(s, 3, &ups, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ups[0].format, "mp3");
    assert_true(ups[0].audio_seconds == 12.5 && ups[0].updated_at == 1234.5);
    free(ups);
    store_key *keys;
    assert_int_equal(store_key_list(s, &keys, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].hash, "00ff");
    free(keys);
    store_web_session *ws;
    assert_int_equal(store_session_list(s, 200, &ws, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ws[0].key_name, "ops");
    free(ws);
    store_hit *hits;
    int64_t total;
    assert_int_equal(store_search(s, "keno", 10, 0, &hits, &n, &total), 0);
    assert_int_equal(total, 1);
    store_hits_free(hits, n);
    /* New rows take ids after the copied ones. */
    store_transcription next;
    assert_int_equal(store_transcription_create(s, "next", &next), 0);
    assert_int_equal(next.id, 4);
    store_close(s);
}

/* `verbatim migrate`: a SQLite database copied into an empty one
 * (PostgreSQL when the tests have one), ids, bytes and times kept; and
 * back from there into SQLite.  A target that holds anything is refused,
 * and so is one that cannot be reached, leaving it as it was. */
/* A database URL as the log shows it: no password. */
static void test_url_redacted(void **state)
{
    (void)state;
    static const char *cases[][2] = {
        {"postgresql://verbatim:s3cret@db.internal:5432/verbatim",
         "postgresql://verbatim:***@db.internal:5432/verbatim"},
        {"postgresql://u:p@ss:w@rd@h/db", "postgresql://u:***@h/db"},
        {"postgresql://verbatim@db/verbatim?sslmode=require&password=s3cret",
         "postgresql://verbatim@db/verbatim?sslmode=require&password=***"},
        {"host=db user=v password=s3cret dbname=v",
         "host=db user=v password=*** dbname=v"},
        {"postgresql://verbatim@db/verbatim", "postgresql://verbatim@db/verbatim"},
        {"data/verbatim.db", "data/verbatim.db"},
        {"file:x.db?mode=memory", "file:x.db?mode=memory"},
        {"postgresql://h/db?mypassword=x", "postgresql://h/db?mypassword=x"},
        {"redis://user:@host:6379", "redis://user:***@host:6379"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vb_url_redacted(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    vb_url_redacted("postgresql://u:secretsecret@h/db", out, 12);
    assert_string_equal(out, "postgresql:"); /* cut, never overrun */
}

static void test_copy(void **state)
{
    char from[300], to[300], back[300], err[512];
    snprintf(from, sizeof(from), "%s/copy-from.db", dir);
    snprintf(back, sizeof(back), "%s/copy-back.db", dir);
    tu_db_url(dir, to, sizeof(to));
    if (!tu_pg())
        snprintf(to, sizeof(to), "%s/copy-to.db", dir);
    fill_everything(from);
    tables_copied = 0;
    assert_int_equal(store_copy(from, to, count_table, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(tables_copied, 7);
    assert_int_equal(store_copy(to, back, NULL, NULL, err, sizeof(err)), 0);
    expect_everything(to);
    expect_everything(back);

    /* Not into a database that holds something. */
    assert_int_equal(store_copy(from, to, NULL, NULL, err, sizeof(err)),
                     VB_EBUSY);
    assert_non_null(strstr(err, "empty"));
    assert_int_not_equal(store_copy(from, "postgresql://verbatim@127.0.0.1:1/x",
                                    NULL, NULL, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "cannot connect"));
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
        cmocka_unit_test(test_schema_version),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_url_redacted),
        cmocka_unit_test(test_uploads),
        cmocka_unit_test(test_web_sessions),
    };
    return cmocka_run_group_tests_name("store", tests, setup, NULL);
}
