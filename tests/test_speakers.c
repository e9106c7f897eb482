/*
 * test_speakers.c - speaker labels through the real server: a two-voice
 * conversation streamed live gets two labels with the turns in the right
 * places, stored and exported as RTTM; one voice gets one label;
 * diarize=false gives null; a later session keeps a known voice's label;
 * the end-of-session re-clustering relabels stored segments and says so
 * (speakers_updated), numbering speakers by first appearance with their
 * names following their voices (speakers_named); bad hints are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diarize/diarize.h"
#include "store/store.h"
#include "testutil.h"
#include "transcription/tx_internal.h"
#include "util/vb.h"

static tu_server srv;

static int setup(void **state)
{
    tu_server_start(&srv, NULL);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(tu_server_stop(&srv), 0);
    return 0;
}

static const char *const texts[] = {
    "Good morning everyone, thank you for joining the call today.",
    "Thanks. I have a few updates about the budget for next quarter.",
    "Great, please go ahead and share them with the whole team.",
    "We spent less than planned on travel but more on equipment.",
};

/* Turns of flite speech, 800 ms apart. */
static int16_t *conversation(const char *const *voices, int turns, size_t *len)
{
    int16_t *all = NULL;
    *len = 0;
    tu_append(&all, len, NULL, 0, 300);
    for (int i = 0; i < turns; i++) {
        size_t n;
        int16_t *speech = tu_flite(voices[i], texts[i % 4], &n);
        assert_non_null(speech);
        tu_append(&all, len, speech, n, 800);
        free(speech);
    }
    return all;
}

typedef struct {
    char speakers[8][32];  /* each final's, "null" when null */
    int finals, updates, close_code;
    char update[2048];     /* the speakers_updated message */
} outcome;

static void stream(long long id, const char *query, const int16_t *pcm,
                   size_t len, outcome *out)
{
    char path[256];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld%s", id, query ? query : "");
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    tu_ws_send_pcm(ws, pcm, len, 100);
    const char *cs = "{\"type\": \"CloseStream\"}";
    wsclient_send(ws, WS_TEXT, cs, strlen(cs));
    tu_msg *msgs;
    memset(out, 0, sizeof(*out));
    int n = tu_ws_collect(ws, 60000, &msgs, &out->close_code);
    for (int i = 0; i < n; i++) {
        cJSON *m = cJSON_Parse(msgs[i].text);
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "type"));
        cJSON *p = cJSON_GetObjectItem(m, "payload");
        if (strcmp(type, "transcript_segment") == 0 &&
            cJSON_IsTrue(cJSON_GetObjectItem(p, "is_final")) && out->finals < 8) {
            cJSON *who = cJSON_GetObjectItem(p, "speaker");
            snprintf(out->speakers[out->finals++], 32, "%s",
                     cJSON_IsString(who) ? who->valuestring : "null");
        }
        if (strcmp(type, "event") == 0 &&
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "type")),
                   "speakers_updated") == 0) {
            out->updates++;
            snprintf(out->update, sizeof(out->update), "%s", msgs[i].text);
        }
        cJSON_Delete(m);
    }
    tu_msgs_free(msgs, n);
    wsclient_abort(ws);
}

static cJSON *stored(long long id)
{
    char path[128], *body;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
    cJSON *segs = cJSON_Parse(body);
    free(body);
    return segs;
}

static const char *stored_speaker(cJSON *segs, int i)
{
    cJSON *who = cJSON_GetObjectItem(cJSON_GetArrayItem(segs, i), "speaker");
    return cJSON_IsString(who) ? who->valuestring : "null";
}

static void test_two_voices(void **state)
{
    static const char *const voices[] = {"slt", "rms", "slt", "rms"};
    size_t len;
    int16_t *pcm = conversation(voices, 4, &len);
    long long id = tu_create(&srv, "two voices");
    outcome out;
    stream(id, NULL, pcm, len, &out);
    assert_int_equal(out.close_code, 1000);
    assert_int_equal(out.finals, 4);
    assert_string_equal(out.speakers[0], "speaker_0");
    assert_string_equal(out.speakers[1], "speaker_1");
    assert_string_equal(out.speakers[2], "speaker_0");
    assert_string_equal(out.speakers[3], "speaker_1");
    cJSON *segs = stored(id);
    for (int i = 0; i < 4; i++)
        assert_string_equal(stored_speaker(segs, i), out.speakers[i]);
    cJSON_Delete(segs);

    /* As RTTM, for scorers. */
    char path[128], *body;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/export.rttm", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
    int lines = 0;
    char want[64];
    snprintf(want, sizeof(want), "SPEAKER verbatim_%lld 1 ", id);
    for (char *line = body; line && *line; line = strchr(line, '\n'), line += line != NULL) {
        assert_memory_equal(line, want, strlen(want));
        lines++;
    }
    assert_int_equal(lines, 4);
    assert_non_null(strstr(body, "<NA> <NA> speaker_1 <NA> <NA>\n"));
    free(body);

    /* A later session: rms speaks again and keeps its label. */
    size_t n;
    static const char *const rms[] = {"rms"};
    int16_t *again = conversation(rms, 1, &n);
    stream(id, NULL, again, n, &out);
    assert_int_equal(out.finals, 1);
    assert_string_equal(out.speakers[0], "speaker_1");
    free(again);

    /* A hint of one speaker: the re-clustering at the end merges them into
     * the label with the most speech, stores it and tells the client. */
    stream(id, "?max_speakers=1", pcm, len / 4, &out);
    assert_int_equal(out.updates, 1);
    segs = stored(id);
    char one[32];
    snprintf(one, sizeof(one), "%s", stored_speaker(segs, 0));
    for (int i = 0; i < cJSON_GetArraySize(segs); i++)
        assert_string_equal(stored_speaker(segs, i), one);
    char expect[64];
    snprintf(expect, sizeof(expect), "\"speaker\":\"%s\"", one);
    assert_non_null(strstr(out.update, expect));
    assert_non_null(strstr(out.update, "\"type\":\"speakers_updated\""));
    cJSON_Delete(segs);
    free(pcm);
}

static void test_one_voice_and_off(void **state)
{
    static const char *const voices[] = {"awb", "awb", "awb"};
    size_t len;
    int16_t *pcm = conversation(voices, 3, &len);
    outcome out;
    stream(tu_create(&srv, "one voice"), NULL, pcm, len, &out);
    assert_int_equal(out.finals, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(out.speakers[i], "speaker_0");
    assert_int_equal(out.updates, 0);

    long long id = tu_create(&srv, "no labels");
    stream(id, "?diarize=false", pcm, len, &out);
    assert_int_equal(out.finals, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(out.speakers[i], "null");
    cJSON *segs = stored(id);
    for (int i = 0; i < 3; i++)
        assert_string_equal(stored_speaker(segs, i), "null");
    cJSON_Delete(segs);
    free(pcm);
}

/* A voice of 600 frames around `centre`, the same each time for a seed. */
static voice_stats voice_of(double centre, unsigned seed)
{
    voice_stats v = {0};
    srand(seed);
    for (int i = 0; i < 600; i++) {
        float frame[DIARIZE_ROW] = {0};
        for (int d = 0; d < DIARIZE_DIMS; d++)
            frame[d] = (float)(centre * (d % 3 == 0 ? 1 : -1) +
                               (double)rand() / RAND_MAX * 4 - 2);
        voice_add_frame(&v, frame, 1);
    }
    return v;
}

/* Live labels 2, 0, 2 (the third voice of an earlier session, then a
 * newcomer, say) come out of re-clustering as 0, 1, 0: numbered by first
 * appearance, the name of label 2 going with its voice to label 0, label
 * 0's to 1, and a name on a label no voice holds left alone. */
static void test_numbered_by_first_appearance(void **state)
{
    char dir[] = "/tmp/vb-speakers-XXXXXX", url[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof(url), "%s/db.sqlite", dir);
    store_t *store = NULL;
    assert_int_equal(store_open(url, &store, err, sizeof(err)), 0);
    store_transcription t;
    assert_int_equal(store_transcription_create(store, "numbering", &t), 0);
    static const char *const live[] = {"speaker_2", "speaker_0", "speaker_2"};
    for (int i = 0; i < 3; i++) {
        char text[4096];
        voice_stats v = voice_of(i == 1 ? 6 : -6, 10 + (unsigned)i);
        assert_int_equal(voice_format(&v, text, sizeof(text)), 0);
        store_segment seg = {.transcription_id = t.id, .text = (char *)"words",
                             .speaker = (char *)live[i], .start_time = i * 5.0,
                             .end_time = i * 5.0 + 4, .is_final = 1,
                             .words_json = (char *)"[]", .voice = text};
        assert_int_equal(store_segment_add(store, &seg), 0);
    }
    assert_int_equal(store_speaker_set(store, t.id, "speaker_2", "Alice"), 0);
    assert_int_equal(store_speaker_set(store, t.id, "speaker_0", "Bob"), 0);
    assert_int_equal(store_speaker_set(store, t.id, "speaker_5", "Carol"), 0);

    tx_refine *job = tx_refine_read(store, t.id, 0, 0);
    assert_non_null(job);
    tx_refine_cluster(job);
    assert_int_equal(job->speakers, 2);
    char *named = NULL;
    char *updated = tx_refine_write(store, job, &named);
    tx_refine_free(job);
    assert_non_null(updated);
    assert_non_null(named);
    assert_non_null(strstr(updated, "\"type\":\"speakers_updated\""));
    assert_non_null(strstr(named, "\"type\":\"speakers_named\""));
    assert_non_null(strstr(named, "\"speaker_0\":\"Alice\""));
    assert_non_null(strstr(named, "\"speaker_1\":\"Bob\""));
    assert_null(strstr(named, "speaker_2"));
    free(updated);
    free(named);

    store_segment *segs;
    size_t n;
    assert_int_equal(store_segment_list(store, t.id, &segs, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(segs[0].speaker, "speaker_0");
    assert_string_equal(segs[1].speaker, "speaker_1");
    assert_string_equal(segs[2].speaker, "speaker_0");
    store_segments_free(segs, n);
    store_speaker *names;
    assert_int_equal(store_speakers_get(store, t.id, &names, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0].label, "speaker_0");
    assert_string_equal(names[0].name, "Alice");
    assert_string_equal(names[1].label, "speaker_1");
    assert_string_equal(names[1].name, "Bob");
    assert_string_equal(names[2].label, "speaker_5");
    assert_string_equal(names[2].name, "Carol");
    free(names);

    /* Again: nothing changes, so nothing is said. */
    job = tx_refine_read(store, t.id, 0, 0);
    tx_refine_cluster(job);
    updated = tx_refine_write(store, job, &named);
    tx_refine_free(job);
    assert_null(updated);
    assert_null(named);
    store_close(store);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_bad_hints(void **state)
{
    static const char *const queries[] = {"?max_speakers=0", "?min_speakers=x",
                                          "?min_speakers=3&max_speakers=2",
                                          "?max_speakers=33"};
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/ws/transcribe/%lld%s",
                 tu_create(&srv, "hints"), queries[i]);
        wsclient *ws = tu_ws(&srv, path);
        tu_msg *msgs;
        int code;
        int n = tu_ws_collect(ws, 5000, &msgs, &code);
        assert_int_equal(code, 1003);
        assert_true(n >= 1 && strstr(msgs[0].text, "speakers") != NULL);
        tu_msgs_free(msgs, n);
        wsclient_abort(ws);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_voices),
        cmocka_unit_test(test_one_voice_and_off),
        cmocka_unit_test(test_numbered_by_first_appearance),
        cmocka_unit_test(test_bad_hints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
