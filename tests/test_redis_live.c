/*
 * test_redis_live.c - the real server with --bus redis:// against a real
 * redis-server started here: /api/health names the bus and says whether
 * it is reachable (503 when not); a watcher sees every final of a live
 * session once and in order, through Redis; Redis restarted mid-session:
 * the session goes on, every final is stored, the watcher is closed with
 * 1012 and a new one reads them all.  Also a malformed --bus refused at
 * start, and a server started while Redis is down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util/vb.h"

static const char *const sentences[] = {
    "The weather is nice today.",
    "Please open the window.",
    "I would like a cup of coffee.",
};

typedef tu_seen seen;

static int collect(wsclient *ws, int timeout_ms, seen *s)
{
    return tu_collect(ws, timeout_ms, s);
}

/* Collects until s has finals finals (at most 30 s). */
static void await_finals(wsclient *ws, seen *s, int finals)
{
    for (int i = 0; i < 60 && s->finals < finals; i++)
        assert_int_equal(collect(ws, 500, s), 0);
    assert_int_equal(s->finals, finals);
}

static int health(const tu_server *srv, cJSON **json)
{
    char *body = NULL;
    int status = tu_http(srv, "GET", "/api/health", NULL, &body);
    *json = body ? cJSON_Parse(body) : NULL;
    free(body);
    return status;
}

/* Polls /api/health until it answers want (at most 10 s). */
static void await_health(const tu_server *srv, int want, int reachable)
{
    int status = 0;
    cJSON *json = NULL;
    for (int i = 0; i < 200; i++) {
        cJSON_Delete(json);
        status = health(srv, &json);
        if (status == want)
            break;
        usleep(50000);
    }
    assert_int_equal(status, want);
    assert_non_null(json);
    assert_string_equal(cJSON_GetObjectItem(json, "bus")->valuestring, "redis");
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(json, "bus_reachable")),
                     reachable);
    assert_string_equal(cJSON_GetObjectItem(json, "status")->valuestring,
                        reachable ? "ok" : "unavailable");
    cJSON_Delete(json);
}

static int16_t *sentence(int i, size_t *n)
{
    return tu_padded_speech(sentences[i], 300, 1500, n);
}

static wsclient *open_socket(const tu_server *srv, const char *kind,
                             long long id)
{
    char path[96];
    snprintf(path, sizeof(path), "/ws/%s/%lld", kind, id);
    wsclient *ws = tu_ws(srv, path);
    assert_non_null(ws);
    return ws;
}

static void close_stream(wsclient *ws)
{
    const char *cs = "{\"type\": \"CloseStream\"}";
    assert_int_equal(wsclient_send(ws, WS_TEXT, cs, strlen(cs)), 0);
}

/* The stored segments' ids, by start time; returns how many. */
static int stored_ids(const tu_server *srv, long long id, long long *ids)
{
    char path[96], *body = NULL;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(srv, "GET", path, NULL, &body), 200);
    cJSON *list = cJSON_Parse(body);
    free(body);
    int n = cJSON_GetArraySize(list);
    for (int i = 0; i < n && i < 8; i++)
        ids[i] = (long long)cJSON_GetObjectItem(cJSON_GetArrayItem(list, i),
                                                "id")->valuedouble;
    cJSON_Delete(list);
    return n;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* One server on Redis: a watcher sees each final once, in order, as the
 * session's own client does and as they are stored. */
static void test_a_watcher_sees_every_final_through_redis(void **state)
{
    (void)state;
    tu_redis redis;
    tu_redis_start(&redis);
    const char *flags[] = {"--bus", redis.url, NULL};
    tu_server srv;
    tu_server_start(&srv, flags);
    await_health(&srv, 200, 1);
    long long id = tu_create(&srv, "watched through redis");
    wsclient *watcher = open_socket(&srv, "watch", id);
    seen w = {0}, c = {0};
    assert_int_equal(collect(watcher, 500, &w), 0);
    wsclient *client = open_socket(&srv, "transcribe", id);
    for (int i = 0; i < 3; i++) {
        size_t n;
        int16_t *pcm = sentence(i, &n);
        tu_ws_send_pcm(client, pcm, n, 100);
        free(pcm);
    }
    close_stream(client);
    for (int i = 0; i < 120; i++) {
        int code = collect(client, 500, &c);
        if (code != 0) {
            assert_int_equal(code, 1000);
            break;
        }
    }
    wsclient_abort(client);
    await_finals(watcher, &w, c.finals);
    assert_int_equal(collect(watcher, 1000, &w), 0); /* and no more */
    assert_true(c.finals >= 3);
    assert_int_equal(w.finals, c.finals);
    assert_true(w.interims >= 1);
    long long ids[8];
    assert_int_equal(stored_ids(&srv, id, ids), c.finals);
    for (int i = 0; i < c.finals; i++) {
        assert_string_equal(w.texts[i], c.texts[i]);
        if (w.ids[i] != 0)
            assert_int_equal(w.ids[i], ids[i]);
    }
    wsclient_abort(watcher);
    assert_int_equal(tu_server_stop(&srv), 0);
    tu_redis_stop(&redis);
}

/* Redis killed between two sentences and started again before the third:
 * the session goes on and stores all three; health says 503 meanwhile;
 * the watcher is told and closed with 1012; a new one reads all three. */
static void test_redis_restarted_mid_session(void **state)
{
    (void)state;
    tu_redis redis;
    tu_redis_start(&redis);
    const char *flags[] = {"--bus", redis.url, NULL};
    tu_server srv;
    tu_server_start(&srv, flags);
    long long id = tu_create(&srv, "redis restarted");
    wsclient *watcher = open_socket(&srv, "watch", id);
    wsclient *client = open_socket(&srv, "transcribe", id);
    seen w = {0}, c = {0};
    for (int i = 0; i < 3; i++) {
        if (i == 1) {
            tu_redis_kill(&redis);
            await_health(&srv, 503, 0);
            seen after = {0};
            assert_int_equal(collect(watcher, 3000, &after), 1012);
            assert_int_equal(after.errors, 1);
            assert_non_null(strstr(after.last_error, "connect again"));
            wsclient_abort(watcher);
        }
        if (i == 2) {
            tu_redis_start_again(&redis);
            await_health(&srv, 200, 1);
        }
        size_t n;
        int16_t *pcm = sentence(i, &n);
        tu_ws_send_pcm(client, pcm, n, 100);
        free(pcm);
        await_finals(client, &c, i + 1);
        if (i == 0)
            await_finals(watcher, &w, 1);
    }
    close_stream(client);
    assert_int_equal(collect(client, 30000, &c), 1000);
    wsclient_abort(client);
    long long ids[8];
    assert_int_equal(stored_ids(&srv, id, ids), 3);
    seen again = {0};
    wsclient *second = open_socket(&srv, "watch", id);
    await_finals(second, &again, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(again.texts[i], c.texts[i]);
        assert_int_equal(again.ids[i], ids[i]);
    }
    wsclient_abort(second);
    assert_int_equal(tu_server_stop(&srv), 0);
    char log[800];
    snprintf(log, sizeof(log), "grep -q 'lost the connection to Redis' %s && "
             "grep -q 'connected to Redis at .* again' %s", srv.log_path,
             srv.log_path);
    assert_int_equal(system(log), 0);
    tu_redis_stop(&redis);
}

/* Started while Redis is down: the server serves, health says 503 until
 * Redis answers.  A malformed --bus stops it at start with the reason. */
static void test_start_without_redis_and_bad_urls(void **state)
{
    (void)state;
    tu_redis redis;
    tu_redis_start(&redis);
    tu_redis_kill(&redis);
    /* tu_server_start waits for a 200: Redis comes up while it waits. */
    const char *flags[] = {"--bus", redis.url, NULL};
    tu_server srv;
    pid_t starter = fork();
    assert_true(starter >= 0);
    if (starter == 0) {
        usleep(1500 * 1000);
        char log[96];
        snprintf(log, sizeof(log), "%s/redis.log", redis.dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("redis-server", "redis-server", "--port",
               strrchr(redis.url, ':') + 1, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", redis.dir, (char *)NULL);
        _exit(127);
    }
    tu_server_start(&srv, flags);
    redis.pid = starter; /* the one that answers now */
    await_health(&srv, 200, 1);
    assert_int_equal(tu_server_stop(&srv), 0);
    char grep[800];
    snprintf(grep, sizeof(grep), "grep -q 'cannot reach Redis at %s' %s",
             redis.url, srv.log_path);
    assert_int_equal(system(grep), 0);
    tu_redis_stop(&redis);

    const char *bin = getenv("VERBATIM_BIN") ? getenv("VERBATIM_BIN")
                                             : "build/asan/verbatim";
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s serve --port %d --db $(mktemp -d)/x.db "
             "--bus redis://nowhere:99999 2>&1 | grep -q "
             "'expected redis://'", bin, free_port());
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "VERBATIM_BUS=rabbit://x %s serve --port %d "
             "--db $(mktemp -d)/x.db 2>&1 | grep -q 'not a bus'", bin,
             free_port());
    assert_int_equal(system(cmd), 0);
}

/* Redis with a password (requirepass): the URL's is sent (AUTH) and the
 * bus works; a wrong or missing one leaves the bus unreachable with
 * Redis's reason in the log; the password is in no log line. */
static void test_password(void **state)
{
    (void)state;
    tu_redis redis;
    tu_redis_start_password(&redis, "s3cret-bus-pw");
    const char *flags[] = {"--bus", redis.url, NULL};
    tu_server srv;
    tu_server_start(&srv, flags);
    await_health(&srv, 200, 1);
    assert_int_equal(tu_server_stop(&srv), 0);
    char grep[800];
    snprintf(grep, sizeof(grep), "grep -q 'redis://:\\*\\*\\*@127.0.0.1:%d' %s "
             "&& ! grep -q s3cret %s", redis.port, srv.log_path, srv.log_path);
    assert_int_equal(system(grep), 0);

    char wrong[128];
    snprintf(wrong, sizeof(wrong), "redis://:not-it@127.0.0.1:%d", redis.port);
    const char *bad[] = {"--bus", wrong, NULL};
    tu_server_unhealthy = 1;
    tu_server_start(&srv, bad);
    await_health(&srv, 503, 0);
    assert_int_equal(tu_server_stop(&srv), 0);
    snprintf(grep, sizeof(grep), "grep -q 'WRONGPASS' %s && ! grep -q not-it %s",
             srv.log_path, srv.log_path);
    assert_int_equal(system(grep), 0);

    char none[96];
    snprintf(none, sizeof(none), "redis://127.0.0.1:%d", redis.port);
    const char *missing[] = {"--bus", none, NULL};
    tu_server_start(&srv, missing);
    await_health(&srv, 503, 0);
    assert_int_equal(tu_server_stop(&srv), 0);
    tu_server_unhealthy = 0;
    snprintf(grep, sizeof(grep), "grep -q 'NOAUTH' %s", srv.log_path);
    assert_int_equal(system(grep), 0);
    tu_redis_stop(&redis);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_watcher_sees_every_final_through_redis),
        cmocka_unit_test(test_redis_restarted_mid_session),
        cmocka_unit_test(test_start_without_redis_and_bad_urls),
        cmocka_unit_test(test_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
