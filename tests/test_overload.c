/*
 * test_overload.c - a server whose decoders fall behind refuses new
 * sessions (1013 on the socket, 503 for uploads) with a message saying so,
 * reports its lag in /api/health, and takes new sessions again once it
 * has caught up.  One worker and --max-lag-ms 200 make the overload easy
 * to reach: two streams that send half a minute of speech at once.  So
 * does one that would take the workers past --max-load.
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

#include "testutil.h"

static tu_server srv;

/* A figure of /api/health. */
static double health(const char *name)
{
    char *body;
    assert_int_equal(tu_http(&srv, "GET", "/api/health", NULL, &body), 200);
    cJSON *h = cJSON_Parse(body);
    cJSON *item = cJSON_GetObjectItem(h, name);
    assert_true(cJSON_IsNumber(item));
    double value = cJSON_GetNumberValue(item);
    cJSON_Delete(h);
    free(body);
    return value;
}

static double health_lag(void)
{
    return health("lag");
}

/* Opens a stream; returns the socket after its first message, with the
 * first message's type in type, its text in text (if not NULL) and the
 * close code (0: open) in code. */
static wsclient *open_stream_saying(char *type, size_t len, char *text,
                                    size_t text_len, int *code)
{
    char path[64];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", tu_create(&srv, "load"));
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    tu_msg *msgs;
    int n = tu_ws_collect(ws, 1500, &msgs, code);
    assert_true(n >= 1);
    tu_msg_type(msgs[0].text, type, len);
    if (text)
        snprintf(text, text_len, "%s", msgs[0].text);
    tu_msgs_free(msgs, n);
    return ws;
}

static wsclient *open_stream(char *type, size_t len, int *code)
{
    return open_stream_saying(type, len, NULL, 0, code);
}

/* Half a minute of speech. */
static int16_t *half_a_minute(size_t *count)
{
    int16_t *speech = NULL;
    *count = 0;
    for (int i = 0; i < 6; i++) {
        size_t k;
        int16_t *pcm = tu_padded_speech("The quick brown fox jumps over the "
                                        "lazy dog near the river bank.",
                                        200, 600, &k);
        tu_append(&speech, count, pcm, k, 0);
        free(pcm);
    }
    return speech;
}

/* Asks a stream to finish and waits for its close; returns its finals. */
static int close_stream(wsclient *ws)
{
    const char *cs = "{\"type\": \"CloseStream\"}";
    wsclient_send(ws, WS_TEXT, cs, strlen(cs));
    tu_msg *msgs;
    int code;
    int count = tu_ws_collect(ws, 120000, &msgs, &code);
    assert_int_equal(code, 1000);
    int finals = 0;
    for (int m = 0; m < count; m++)
        finals += strstr(msgs[m].text, "\"is_final\":true") != NULL;
    tu_msgs_free(msgs, count);
    wsclient_abort(ws);
    return finals;
}

static void test_refuses_when_behind_and_recovers(void **state)
{
    static const char *const flags[] = {"--workers", "1", "--max-lag-ms", "200",
                                        "--max-load", "0", NULL};
    tu_server_start(&srv, flags);
    assert_true(health_lag() == 0);
    /* Half a minute of speech, sent at once by two streams. */
    size_t n;
    int16_t *speech = half_a_minute(&n);
    char type[32];
    int code;
    wsclient *busy[2];
    for (int i = 0; i < 2; i++) {
        busy[i] = open_stream(type, sizeof(type), &code);
        assert_string_equal(type, "status");
        tu_ws_send_pcm(busy[i], speech, n, 1000);
    }
    free(speech);
    /* (Once each has a decoder: building one takes a moment.) */
    double lag = 0;
    for (int i = 0; i < 100 && lag <= 0.3; i++) {
        usleep(100000);
        lag = health_lag();
    }
    assert_true(lag > 0.3);

    /* A third stream is refused, saying why; so is an upload. */
    wsclient *third = open_stream(type, sizeof(type), &code);
    assert_string_equal(type, "error");
    assert_int_equal(code, 1013);
    wsclient_abort(third);
    char url[128], err[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/transcriptions/1/audio"
             "?encoding=linear16", srv.port);
    http_result res;
    static const int16_t quiet[1600];
    assert_int_equal(http_fetch(url, "POST", "application/octet-stream", NULL,
                                quiet, sizeof(quiet), &res, err, sizeof(err)), 0);
    assert_int_equal(res.status, 503);
    assert_non_null(strstr(res.body, "overloaded"));
    http_result_free(&res);

    /* The two finish everything they sent... */
    for (int i = 0; i < 2; i++)
        assert_int_equal(close_stream(busy[i]), 6);
    /* ...and then the server takes new sessions again (once the last
     * slices queued behind the closes have run: on a loaded machine that
     * can take a moment after the last final). */
    lag = health_lag();
    for (int i = 0; i < 50 && lag != 0; i++) {
        usleep(100000);
        lag = health_lag();
    }
    assert_true(lag == 0);
    wsclient *later = open_stream(type, sizeof(type), &code);
    assert_string_equal(type, "status");
    assert_int_equal(code, 0);
    wsclient_abort(later);
    assert_int_equal(tu_server_stop(&srv), 0);
}

/* The lag rule off, the load rule on: a stream decoding speech as fast as
 * it comes keeps the one worker busy, so a second one would need more
 * than 10 % of the worker's time and is refused, saying so, whatever the
 * machine's speed (a second of audio costs the worker well over 0.05 s);
 * the first stream is not disturbed, and with it gone the server takes a
 * session again (the first is always let in). */
static void test_refuses_at_capacity(void **state)
{
    static const char *const flags[] = {"--workers", "1", "--max-lag-ms", "0",
                                        "--max-load", "10", NULL};
    tu_server_start(&srv, flags);
    assert_true(health("load") == 0);
    size_t n;
    int16_t *speech = half_a_minute(&n);
    char type[32], text[512];
    int code;
    wsclient *first = open_stream(type, sizeof(type), &code);
    assert_string_equal(type, "status");
    tu_ws_send_pcm(first, speech, n, 1000);
    free(speech);
    double load = 0;
    for (int i = 0; i < 100 && load < 5; i++) {
        usleep(100000);
        load = health("load");
    }
    assert_true(load >= 5);

    wsclient *second = open_stream_saying(type, sizeof(type), text, sizeof(text),
                                          &code);
    assert_string_equal(type, "error");
    assert_int_equal(code, 1013);
    assert_non_null(strstr(text, "at its capacity"));
    assert_non_null(strstr(text, "limit of 10 %"));
    wsclient_abort(second);

    assert_int_equal(close_stream(first), 6);
    wsclient *later = open_stream(type, sizeof(type), &code);
    assert_string_equal(type, "status");
    assert_int_equal(code, 0);
    wsclient_abort(later);
    assert_int_equal(tu_server_stop(&srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_when_behind_and_recovers),
        cmocka_unit_test(test_refuses_at_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
