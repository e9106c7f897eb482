/*
 * test_instances.c - two servers on one PostgreSQL database and one Redis
 * (tests/postgres.sh runs it with a throwaway PostgreSQL; a redis-server
 * is started here): a session streamed through one is watched through the
 * other, every final once and in order; a second live session on the
 * other server is refused, and resumed there with the token; and a server
 * killed (SIGKILL) mid-utterance: its client resumes on the other one
 * with nothing lost or doubled, also through nginx running
 * deploy/nginx.conf, which an upload's job is POSTed through and read
 * from either server.  Skipped without PostgreSQL (run alone,
 * not by tests/postgres.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util/vb.h"

static tu_redis redis;
static tu_server a, b;
static char db[300];

typedef tu_seen seen;

static int collect(wsclient *ws, int timeout_ms, seen *s)
{
    return tu_collect(ws, timeout_ms, s);
}

/* Waits (at most timeout_ms) until s has n statuses. */
static void await_status(wsclient *ws, seen *s, int n, int timeout_ms)
{
    for (int waited = 0; s->statuses < n && waited < timeout_ms; waited += 100)
        assert_int_equal(collect(ws, 100, s), 0);
    assert_int_equal(s->statuses, n);
}

static void start_server(tu_server *srv)
{
    const char *flags[] = {"--db", db, "--bus", redis.url, NULL};
    tu_server_start(srv, flags);
}

static int setup(void **state)
{
    if (!tu_pg())
        return 0;
    tu_redis_start(&redis);
    tu_db_url("/tmp", db, sizeof(db));
    start_server(&a);
    start_server(&b);
    return 0;
}

static int teardown(void **state)
{
    if (!tu_pg())
        return 0;
    if (a.pid > 0)
        assert_int_equal(tu_server_stop(&a), 0);
    assert_int_equal(tu_server_stop(&b), 0);
    tu_redis_stop(&redis);
    return 0;
}

/* The stored segments' texts, in order, joined by " | ". */
static void stored_texts(const tu_server *srv, long long id, char *out,
                         size_t len)
{
    char path[96], *body;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(srv, "GET", path, NULL, &body), 200);
    cJSON *segs = cJSON_Parse(body);
    free(body);
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < cJSON_GetArraySize(segs); i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", i ? " | " : "",
                              cJSON_GetStringValue(cJSON_GetObjectItem(
                                  cJSON_GetArrayItem(segs, i), "text")));
    cJSON_Delete(segs);
}

static void send_sentence(wsclient *ws, const char *text, int tail_ms)
{
    size_t n;
    int16_t *pcm = tu_padded_speech(text, 200, tail_ms, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
}

static void close_stream(wsclient *ws)
{
    const char *cs = "{\"type\": \"CloseStream\"}";
    assert_int_equal(wsclient_send(ws, WS_TEXT, cs, strlen(cs)), 0);
}

static int words_in(const char *text, const char *word)
{
    int n = 0;
    for (const char *p = text; (p = strcasestr(p, word)) != NULL; p++)
        n++;
    return n;
}

/* A live session on `via` into transcription id: its status, then the
 * window sentence and its final. */
static wsclient *open_with_window(const tu_server *via, long long id, seen *s)
{
    char path[96];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(via, path);
    await_status(ws, s, 1, 5000);
    send_sentence(ws, "Please open the window.", 1000);
    for (int waited = 0; s->finals < 1 && waited < 10000; waited += 100)
        assert_int_equal(collect(ws, 100, s), 0);
    assert_int_equal(s->finals, 1);
    return ws;
}

/* Connects to `via` with the resume token and waits (at most 10 s) for
 * the status, into s; *waited gets how long that took. */
static wsclient *resume_on(const tu_server *via, long long id,
                           const char *token, seen *s, double *waited)
{
    char path[160];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?resume=%s", id, token);
    double t0 = vb_monotonic_s();
    wsclient *ws = tu_ws(via, path);
    await_status(ws, s, 1, 10000);
    *waited = vb_monotonic_s() - t0;
    /* The stored transcript ends after the window: the coffee is sent
     * again, whole. */
    assert_true(s->time_offset >= 1.0);
    return ws;
}

/* The resumed session sends the coffee sentence and ends; reader's
 * stored transcript has each sentence once. */
static void finish_with_coffee(wsclient *ws, seen *s, const tu_server *reader,
                               long long id)
{
    send_sentence(ws, "I would like a cup of coffee.", 1000);
    close_stream(ws);
    assert_int_equal(collect(ws, 20000, s), 1000);
    wsclient_abort(ws);
    char texts[512];
    stored_texts(reader, id, texts, sizeof(texts));
    printf("stored: %s\n", texts);
    assert_int_equal(words_in(texts, "window"), 1);
    assert_int_equal(words_in(texts, "coffee"), 1);
}

/* Streamed through A, watched through B (subscribed through Redis): every
 * final once, in order; a later watcher on B reads them from the store. */
static void test_watch_across(void **state)
{
    if (!tu_pg())
        skip(); /* needs tests/postgres.sh's database */
    long long id = tu_create(&a, "across");
    char path[96];
    snprintf(path, sizeof(path), "/ws/watch/%lld", id);
    wsclient *watcher = tu_ws(&b, path);
    assert_non_null(watcher);
    usleep(300000);
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(&a, path);
    assert_non_null(ws);
    const char *sentences[] = {"The weather is nice today.",
                               "Please open the window.",
                               "I would like a cup of coffee."};
    for (int i = 0; i < 3; i++)
        send_sentence(ws, sentences[i], 1000);
    close_stream(ws);
    seen streamed = {0}, watched = {0};
    assert_int_equal(collect(ws, 30000, &streamed), 1000);
    wsclient_abort(ws);
    assert_int_equal(collect(watcher, 2000, &watched), 0);
    wsclient_abort(watcher);
    assert_int_equal(streamed.finals, 3);
    assert_int_equal(watched.finals, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(watched.texts[i], streamed.texts[i]);
    /* A watcher that comes afterwards, to B, reads the same three. */
    snprintf(path, sizeof(path), "/ws/watch/%lld", id);
    watcher = tu_ws(&b, path);
    seen late = {0};
    assert_int_equal(collect(watcher, 2000, &late), 0);
    wsclient_abort(watcher);
    assert_int_equal(late.finals, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(late.texts[i], streamed.texts[i]);
        if (i > 0)
            assert_true(late.ids[i] > late.ids[i - 1]);
    }
}

/* A session on A: a second one on B is refused (4409, naming the other
 * server); B with A's token takes it over: A's input ends and its socket
 * closes with 4409 after its finals, and B's timeline starts after them. */
static void test_one_session_across(void **state)
{
    if (!tu_pg())
        skip();
    long long id = tu_create(&a, "one at a time");
    seen s1 = {0};
    wsclient *first = open_with_window(&a, id, &s1);
    assert_int_equal(strlen(s1.token), 32);
    char path[160];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);

    wsclient *second = tu_ws(&b, path);
    seen s2 = {0};
    assert_int_equal(collect(second, 5000, &s2), 4409);
    wsclient_abort(second);
    assert_non_null(strstr(s2.last_error, "already has a live session (on "
                                          "another server)"));

    double waited;
    seen s3 = {0};
    wsclient *resumed = resume_on(&b, id, s1.token, &s3, &waited);
    /* A answered the handover: no wait for its lease to lapse. */
    assert_true(waited < 3.0);
    assert_string_equal(s3.token, s1.token);
    assert_int_equal(collect(first, 3000, &s1), 4409);
    wsclient_abort(first);
    finish_with_coffee(resumed, &s3, &b, id);
    assert_int_equal(s3.finals, 1);
}

/* A is killed (SIGKILL) in the middle of an utterance.  Its client
 * reconnects to B with its token, gets a status once A's lease has
 * lapsed, whose time_offset is where the stored transcript ends, and
 * sends its audio again from there (as the web app does): every sentence
 * is stored once. */
static void test_killed_mid_utterance(void **state)
{
    if (!tu_pg())
        skip();
    long long id = tu_create(&a, "killed");
    seen s1 = {0};
    wsclient *ws = open_with_window(&a, id, &s1);
    /* Half an utterance, then the server dies. */
    send_sentence(ws, "I would like a cup of coffee.", 0);
    kill(a.pid, SIGKILL);
    waitpid(a.pid, NULL, 0);
    a.pid = 0;
    wsclient_abort(ws);
    double waited;
    seen s2 = {0};
    wsclient *again = resume_on(&b, id, s1.token, &s2, &waited);
    printf("resumed on the other server after %.2f s\n", waited);
    assert_true(waited < 7.0); /* the lease's 6 s at most */
    assert_string_equal(s2.token, s1.token);
    finish_with_coffee(again, &s2, &b, id);
}

/* A server stopped (SIGTERM, as systemctl stop) under a live session:
 * it stores what it received and releases the lease, so that its client
 * resuming on the other server is taken at once, not after the lease's
 * 6 s; every sentence is stored once. */
static void test_stopped_hands_over(void **state)
{
    if (!tu_pg())
        skip();
    if (a.pid <= 0)
        start_server(&a);
    long long id = tu_create(&a, "stopped");
    seen s1 = {0};
    wsclient *ws = open_with_window(&a, id, &s1);
    kill(a.pid, SIGTERM);
    int code = 0;
    for (int waited = 0; code == 0 && waited < 10000; waited += 100)
        code = collect(ws, 100, &s1);
    assert_int_equal(code, 1012); /* after its last finals */
    wsclient_abort(ws);
    double waited;
    seen s2 = {0};
    wsclient *again = resume_on(&b, id, s1.token, &s2, &waited);
    printf("resumed on the other server after %.2f s\n", waited);
    assert_true(waited < 2.0); /* released, not lapsed */
    /* The lease was let go, so this is a new one (a new token). */
    assert_true(strlen(s2.token) >= 16);
    finish_with_coffee(again, &s2, &b, id);
    int status;
    waitpid(a.pid, &status, 0);
    a.pid = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Sessions decoding on srv now (its /api/health). */
static int sessions_on(const tu_server *srv)
{
    char *resp;
    assert_int_equal(tu_http(srv, "GET", "/api/health", NULL, &resp), 200);
    cJSON *h = cJSON_Parse(resp);
    free(resp);
    int n = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(h, "sessions"));
    cJSON_Delete(h);
    return n;
}

/* The job's status read from srv straight. */
static void job_status(const tu_server *srv, const char *url, char *out,
                       size_t len)
{
    char *resp;
    int status = tu_http(srv, "GET", url, NULL, &resp);
    cJSON *job = cJSON_Parse(resp);
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(job, "status"));
    if (status != 200 || st == NULL)
        fail_msg("GET %s on :%d: %d %s", url, srv->port, status, resp);
    snprintf(out, len, "%s", st);
    cJSON_Delete(job);
    free(resp);
}

/*
 * Both servers behind nginx running deploy/nginx.conf.  An upload POSTed
 * through nginx over HTTPS is polled on each server straight.  A client
 * streaming through nginx loses its server (SIGKILL) mid-utterance,
 * connects through nginx again with its token, lands on the other one
 * and sends its audio again from the status's time_offset: every
 * sentence stored once.
 */
static void test_killed_behind_nginx(void **state)
{
    if (!tu_pg())
        skip();
    if (a.pid <= 0) /* killed by the test before */
        start_server(&a);
    tu_nginx nginx;
    int ports[] = {a.port, b.port};
    tu_nginx_start(&nginx, ports, 2);

    /* An upload through nginx, its job read on either server. */
    long long up = tu_create(&nginx.via, "uploaded");
    char cmd[512], out[2048];
    snprintf(cmd, sizeof(cmd),
             "curl -sS -k --data-binary @%s/long.mp3 "
             "'https://127.0.0.1:%d/api/transcriptions/%lld/audio?wait=0'",
             getenv("VB_FIXTURES") ? getenv("VB_FIXTURES") : "build/fixtures",
             nginx.tls_port, up);
    FILE *curl = popen(cmd, "r");
    size_t got = fread(out, 1, sizeof(out) - 1, curl);
    out[got] = '\0';
    assert_int_equal(pclose(curl), 0);
    cJSON *job = cJSON_Parse(out);
    assert_non_null(job);
    char url[128], on_a[16], on_b[16];
    snprintf(url, sizeof(url), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(job, "url")));
    cJSON_Delete(job);
    int polls = 0;
    do {
        usleep(200000);
        job_status(&a, url, on_a, sizeof(on_a));
        job_status(&b, url, on_b, sizeof(on_b));
        polls++;
    } while ((strcmp(on_a, "running") == 0 || strcmp(on_b, "running") == 0) &&
             polls < 300);
    assert_string_equal(on_a, "done");
    assert_string_equal(on_b, "done");
    assert_true(polls > 1); /* seen running first */

    /* A live session through nginx; the server running it is killed. */
    long long id = tu_create(&nginx.via, "behind nginx");
    seen s1 = {0};
    wsclient *ws = open_with_window(&nginx.via, id, &s1);
    tu_server *holder = sessions_on(&a) > 0 ? &a : &b;
    tu_server *other = holder == &a ? &b : &a;
    assert_int_equal(sessions_on(holder), 1);
    assert_int_equal(sessions_on(other), 0);
    send_sentence(ws, "I would like a cup of coffee.", 0);
    kill(holder->pid, SIGKILL);
    waitpid(holder->pid, NULL, 0);
    holder->pid = 0;
    /* The client sees its connection end (nginx closes it), and
     * connects again through nginx. */
    seen lost = {0};
    int code = 0;
    for (int waited = 0; code == 0 && waited < 5000; waited += 100)
        code = collect(ws, 100, &lost);
    assert_int_not_equal(code, 0);
    wsclient_abort(ws);
    double waited;
    seen s2 = {0};
    wsclient *again = resume_on(&nginx.via, id, s1.token, &s2, &waited);
    printf("resumed through nginx after %.2f s\n", waited);
    assert_int_equal(sessions_on(other), 1);
    assert_string_equal(s2.token, s1.token);
    finish_with_coffee(again, &s2, other, id);
    tu_nginx_stop(&nginx);
    if (holder == &b) /* teardown stops b */
        start_server(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_across),
        cmocka_unit_test(test_one_session_across),
        cmocka_unit_test(test_killed_mid_utterance),
        cmocka_unit_test(test_stopped_hands_over),
        cmocka_unit_test(test_killed_behind_nginx),
    };
    return cmocka_run_group_tests_name("instances", tests, setup, teardown);
}
