/*
 * test_overload.c - a server whose decoders fall behind refuses new
 * sessions (1013 on the socket, 503 for uploads) with a message saying so,
 * reports its lag in /api/health, and takes new sessions again once it
 * has caught up.  One worker and --max-lag-ms 200 make the overload easy
 * to reach: two streams that send half a minute of speech at once.
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

static int setup(void **state)
{
    static const char *const flags[] = {"--workers", "1", "--max-lag-ms", "200",
                                        NULL};
    tu_server_start(&srv, flags);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(tu_server_stop(&srv), 0);
    return 0;
}

static double health_lag(void)
{
    char *body;
    assert_int_equal(tu_http(&srv, "GET", "/api/health", NULL, &body), 200);
    cJSON *h = cJSON_Parse(body);
    double lag = cJSON_GetNumberValue(cJSON_GetObjectItem(h, "lag"));
    cJSON_Delete(h);
    free(body);
    return lag;
}

/* Opens a stream; returns the socket after its first message, with the
 * first message's type in type and the close code (0: open) in code. */
static wsclient *open_stream(char *type, size_t len, int *code)
{
    char path[64];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", tu_create(&srv, "load"));
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    tu_msg *msgs;
    int n = tu_ws_collect(ws, 1500, &msgs, code);
    assert_true(n >= 1);
    tu_msg_type(msgs[0].text, type, len);
    tu_msgs_free(msgs, n);
    return ws;
}

static void test_refuses_when_behind_and_recovers(void **state)
{
    assert_true(health_lag() == 0);
    /* Half a minute of speech, sent at once by two streams. */
    int16_t *speech = NULL;
    size_t n = 0;
    for (int i = 0; i < 6; i++) {
        size_t k;
        int16_t *pcm = tu_padded_speech("The quick brown fox jumps over the "
                                        "lazy dog near the river bank.",
                                        200, 600, &k);
        tu_append(&speech, &n, pcm, k, 0);
        free(pcm);
    }
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
    for (int i = 0; i < 2; i++) {
        const char *cs = "{\"type\": \"CloseStream\"}";
        wsclient_send(busy[i], WS_TEXT, cs, strlen(cs));
        tu_msg *msgs;
        int count = tu_ws_collect(busy[i], 120000, &msgs, &code);
        assert_int_equal(code, 1000);
        int finals = 0;
        for (int m = 0; m < count; m++)
            finals += strstr(msgs[m].text, "\"is_final\":true") != NULL;
        assert_int_equal(finals, 6);
        tu_msgs_free(msgs, count);
        wsclient_abort(busy[i]);
    }
    /* ...and then the server takes new sessions again. */
    assert_true(health_lag() == 0);
    wsclient *later = open_stream(type, sizeof(type), &code);
    assert_string_equal(type, "status");
    assert_int_equal(code, 0);
    wsclient_abort(later);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_when_behind_and_recovers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
