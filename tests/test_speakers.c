/*
 * test_speakers.c - speaker labels through the real server: a two-voice
 * conversation streamed live gets two labels with the turns in the right
 * places, stored and exported as RTTM; one voice gets one label;
 * diarize=false gives null; a later session keeps a known voice's label;
 * the end-of-session re-clustering relabels stored segments and says so
 * (speakers_updated); bad hints are refused.
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

#include "testutil.h"

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
        cmocka_unit_test(test_bad_hints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
