/*
 * test_metrics.c - GET /metrics and /api/health against the real server:
 * the page is Prometheus' text format (checked by a small parser below:
 * every sample belongs to a declared family, counters end in _total,
 * histogram buckets are cumulative and end at +Inf equal to _count), and
 * its numbers move with what clients do: a stream's audio seconds and
 * finals, requests by route pattern, refused sessions by reason.  Also
 * /metrics behind the admin scope, /api/health when the store's file is
 * gone, and X-Forwarded-For / -Proto believed only from --trusted-proxy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static tu_server srv; /* auth off, for the tests that share it */

/* ---- the format checker --------------------------------------------- */

#define MAX_FAMILIES 64

typedef struct family {
    char name[128], type[400];
    int has_help;
    double last_bucket; /* a histogram's: the last cumulative count seen */
    int bucket_seen, inf_seen;
    double inf_count;
} family;

/* The family a sample name belongs to (a histogram's _bucket, _sum and
 * _count are its own); NULL when none was declared. */
static family *family_of(family *fams, int n, const char *name,
                         const char **suffix)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(fams[i].name);
        if (strncmp(name, fams[i].name, len) != 0)
            continue;
        const char *rest = name + len;
        if (*rest == '\0' ||
            (strcmp(fams[i].type, "histogram") == 0 &&
             (strcmp(rest, "_bucket") == 0 || strcmp(rest, "_sum") == 0 ||
              strcmp(rest, "_count") == 0))) {
            *suffix = rest;
            return &fams[i];
        }
    }
    return NULL;
}

/* What is wrong, with the line (static text). */
static const char *bad(const char *what, const char *line)
{
    static char why[512];
    snprintf(why, sizeof(why), "%s: %.400s", what, line);
    return why;
}

/* Checks page; NULL when it is well formed, else what is wrong. */
static const char *check_exposition(const char *page)
{
    family fams[MAX_FAMILIES];
    int nfam = 0;
    for (const char *line = page; *line;) {
        size_t len = strcspn(line, "\n");
        char text[512];
        snprintf(text, sizeof(text), "%.*s", (int)(len < 511 ? len : 511), line);
        line += len + (line[len] == '\n');
        if (text[0] == '\0')
            continue;
        char name[128], rest[400];
        if (strncmp(text, "# HELP ", 7) == 0 || strncmp(text, "# TYPE ", 7) == 0) {
            if (sscanf(text + 7, "%127s %399[^\n]", name, rest) != 2)
                return bad("bad comment", text);
            family *f = NULL;
            for (int i = 0; i < nfam; i++)
                if (strcmp(fams[i].name, name) == 0)
                    f = &fams[i];
            if (f == NULL) {
                if (nfam == MAX_FAMILIES)
                    return "too many families";
                f = &fams[nfam++];
                memset(f, 0, sizeof(*f));
                snprintf(f->name, sizeof(f->name), "%s", name);
            }
            if (text[2] == 'H') {
                f->has_help = 1;
            } else {
                if (f->type[0])
                    return bad("two TYPEs", text);
                snprintf(f->type, sizeof(f->type), "%s", rest);
                if (strcmp(rest, "counter") && strcmp(rest, "gauge") &&
                    strcmp(rest, "histogram"))
                    return bad("type", text);
                if (strcmp(rest, "counter") == 0 &&
                    (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
                    return bad("counter without _total", text);
            }
            continue;
        }
        if (text[0] == '#')
            continue;
        size_t nlen = strcspn(text, "{ ");
        snprintf(name, sizeof(name), "%.*s", (int)nlen, text);
        char labels[300] = "";
        const char *after = text + nlen;
        if (*after == '{') {
            const char *close = after + 1; /* the brace outside quotes */
            for (int quoted = 0; *close && (quoted || *close != '}'); close++) {
                if (quoted && *close == '\\' && close[1])
                    close++;
                else if (*close == '"')
                    quoted = !quoted;
            }
            if (*close != '}')
                close = NULL;
            if (close == NULL)
                return bad("labels", text);
            snprintf(labels, sizeof(labels), "%.*s", (int)(close - after - 1),
                     after + 1);
            after = close + 1;
        }
        if (*after != ' ')
            return bad("no value", text);
        char *end;
        double value = strtod(after + 1, &end);
        if (end == after + 1 || *end != '\0')
            return bad("value", text);
        const char *suffix = NULL;
        family *f = family_of(fams, nfam, name, &suffix);
        if (f == NULL || !f->type[0] || !f->has_help)
            return bad("undeclared family", text);
        if (strcmp(f->type, "counter") == 0 && value < 0)
            return bad("negative counter", text);
        if (strcmp(suffix, "_bucket") == 0) {
            const char *le = strstr(labels, "le=\"");
            if (le == NULL)
                return bad("bucket without le", text);
            if (f->bucket_seen && value < f->last_bucket)
                return bad("not cumulative", text);
            f->bucket_seen = 1;
            f->last_bucket = value;
            if (strncmp(le + 4, "+Inf\"", 5) == 0) {
                f->inf_seen = 1;
                f->inf_count = value;
            }
        } else if (strcmp(suffix, "_count") == 0) {
            if (!f->inf_seen || f->inf_count != value)
                return bad("_count is not the +Inf bucket", text);
        }
    }
    for (int i = 0; i < nfam; i++)
        if (strcmp(fams[i].type, "histogram") == 0 && !fams[i].inf_seen)
            return bad("no +Inf bucket", fams[i].name);
    return NULL;
}

/* The value of the sample `name{labels}` (labels "" for none); -1 when
 * the page has no such line. */
static double sample(const char *page, const char *name, const char *labels)
{
    char want[400];
    int n = labels[0] ? snprintf(want, sizeof(want), "%s{%s} ", name, labels)
                      : snprintf(want, sizeof(want), "%s ", name);
    for (const char *p = page; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, want, (size_t)n) == 0)
            return strtod(p + n, NULL);
    return -1;
}

static char *metrics_page(const tu_server *s, const char *headers)
{
    char *body = NULL, *resp_headers = NULL;
    assert_int_equal(tu_http_full(s, "GET", "/metrics", headers, NULL, &body,
                                  &resp_headers), 200);
    assert_non_null(strcasestr(resp_headers, "content-type: text/plain; "
                                             "version=0.0.4; charset=utf-8"));
    free(resp_headers);
    const char *why = check_exposition(body);
    if (why != NULL)
        fail_msg("not the exposition format: %s", why);
    return body;
}

static double now_value(const char *name, const char *labels)
{
    char *page = metrics_page(&srv, NULL);
    double v = sample(page, name, labels);
    free(page);
    return v;
}

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

/* ---- the tests ------------------------------------------------------ */

/* The checker itself finds what it is there to find. */
static void test_checker_catches_bad_pages(void **state)
{
    assert_null(check_exposition("# HELP a_total x\n# TYPE a_total counter\n"
                                 "a_total 3\n"));
    assert_non_null(check_exposition("b 1\n"));
    assert_non_null(check_exposition("# HELP a x\n# TYPE a counter\na 1\n"));
    static const char hist[] =
        "# HELP h x\n# TYPE h histogram\n"
        "h_bucket{le=\"1\"} %d\nh_bucket{le=\"+Inf\"} %d\nh_sum 1\nh_count %d\n";
    char page[256];
    snprintf(page, sizeof(page), hist, 2, 3, 3);
    assert_null(check_exposition(page));
    snprintf(page, sizeof(page), hist, 4, 3, 3); /* not cumulative */
    assert_non_null(check_exposition(page));
    snprintf(page, sizeof(page), hist, 2, 3, 4); /* +Inf != _count */
    assert_non_null(check_exposition(page));
}

static void test_page_has_every_family(void **state)
{
    char *page = metrics_page(&srv, NULL);
    static const char *const families[] = {
        "verbatim_sessions_open", "verbatim_decoders",
        "verbatim_decoders_in_use", "verbatim_decoders_waiting",
        "verbatim_worker_lag_seconds", "verbatim_worker_load_ratio",
        "verbatim_build_info", "verbatim_process_start_time_seconds",
        "verbatim_sessions_refused_total",
        "verbatim_audio_received_seconds_total",
        "verbatim_audio_decoded_seconds_total", "verbatim_finals_stored_total",
        "verbatim_store_errors_total", "verbatim_bus_errors_total",
        "verbatim_http_requests_total", "verbatim_final_latency_seconds",
        "verbatim_interim_lag_seconds",
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char type[160];
        snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
        if (strstr(page, type) == NULL)
            fail_msg("no family %s", families[i]);
    }
    assert_true(sample(page, "verbatim_process_start_time_seconds", "") > 1.7e9);
    assert_int_equal(sample(page, "verbatim_sessions_open", "kind=\"live\""), 0);
    free(page);
}

/* Requests are counted under their route's pattern, never the raw path. */
static void test_http_by_route_pattern(void **state)
{
    static const char labels[] = "method=\"GET\",route=\"/api/transcriptions/"
                                 "{id}/\",status=\"200\"";
    static const char none[] = "method=\"\",route=\"(no route)\",status=\"404\"";
    double before = now_value("verbatim_http_requests_total", labels);
    double before_none = now_value("verbatim_http_requests_total", none);
    long long a = tu_create(&srv, "a"), b = tu_create(&srv, "b");
    char path[96], *body = NULL;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/api/transcriptions/%lld/", i ? a : b);
        assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
        free(body);
    }
    assert_int_equal(tu_http(&srv, "GET", "/no/such/thing-8812", NULL, &body), 404);
    free(body);
    char *page = metrics_page(&srv, NULL);
    assert_float_equal(sample(page, "verbatim_http_requests_total", labels),
                       (before < 0 ? 0 : before) + 3, 0.1);
    assert_float_equal(sample(page, "verbatim_http_requests_total", none),
                       (before_none < 0 ? 0 : before_none) + 1, 0.1);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/", a);
    assert_null(strstr(page, path));
    assert_null(strstr(page, "thing-8812"));
    free(page);
}

/* A stream's audio, finals and latencies are counted. */
static void test_stream_moves_the_counters(void **state)
{
    char *before = metrics_page(&srv, NULL);
    size_t n;
    int16_t *pcm = tu_padded_speech("Please open the window.", 300, 1200, &n);
    char path[96];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", tu_create(&srv, "s"));
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    const char *cs = "{\"type\": \"CloseStream\"}";
    assert_int_equal(wsclient_send(ws, WS_TEXT, cs, strlen(cs)), 0);
    tu_msg *msgs;
    int close_code;
    int count = tu_ws_collect(ws, 60000, &msgs, &close_code);
    wsclient_abort(ws);
    assert_int_equal(close_code, 1000);
    int finals = 0;
    for (int i = 0; i < count; i++)
        finals += msgs[i].text && strstr(msgs[i].text, "\"is_final\":true") != NULL;
    tu_msgs_free(msgs, count);
    assert_true(finals >= 1);

    char *after = metrics_page(&srv, NULL);
    double seconds = (double)n / 16000;
#define MOVED(name, labels) \
    (fmax(sample(after, name, labels), 0) - fmax(sample(before, name, labels), 0))
    assert_float_equal(MOVED("verbatim_audio_received_seconds_total", ""),
                       seconds, 0.02);
    assert_float_equal(MOVED("verbatim_audio_decoded_seconds_total", ""),
                       seconds, 0.02);
    assert_float_equal(MOVED("verbatim_finals_stored_total", ""), finals, 0.1);
    assert_float_equal(MOVED("verbatim_final_latency_seconds_count", ""),
                       finals, 0.1);
    assert_true(MOVED("verbatim_interim_lag_seconds_count", "") >= 1);
    assert_true(MOVED("verbatim_final_latency_seconds_sum", "") > 0);
    assert_float_equal(MOVED("verbatim_http_requests_total",
                             "method=\"GET\",route=\"/ws/transcribe/{id}\","
                             "status=\"101\""), 1, 0.1);
#undef MOVED
    assert_int_equal(sample(after, "verbatim_sessions_open", "kind=\"live\""), 0);
    free(before);
    free(after);
}

/* Sessions refused for a bad parameter, a bad id or a missing
 * transcription are counted under their reasons. */
static void test_refusals_by_reason(void **state)
{
    static const char bad[] = "reason=\"bad_request\"";
    static const char missing[] = "reason=\"not_found\"";
    static const char refused[] = "verbatim_sessions_refused_total";
    double bad_before = now_value(refused, bad);
    double missing_before = now_value(refused, missing);
    char path[128];
    long long id = tu_create(&srv, "r");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?encoding=nonsense", id);
    tu_msg *msgs;
    int close_code, count;
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    count = tu_ws_collect(ws, 10000, &msgs, &close_code);
    tu_msgs_free(msgs, count);
    wsclient_abort(ws);
    assert_int_equal(close_code, 1003);
    ws = tu_ws(&srv, "/ws/transcribe/x!y");
    assert_non_null(ws);
    count = tu_ws_collect(ws, 10000, &msgs, &close_code);
    tu_msgs_free(msgs, count);
    wsclient_abort(ws);
    assert_int_equal(close_code, 4001);
    ws = tu_ws(&srv, "/ws/watch/987654");
    assert_non_null(ws);
    count = tu_ws_collect(ws, 10000, &msgs, &close_code);
    tu_msgs_free(msgs, count);
    wsclient_abort(ws);
    assert_int_equal(close_code, 4004);
    char *body = NULL;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/audio?encoding=nonsense",
             id);
    assert_int_equal(tu_http(&srv, "POST", path, "RIFF", &body), 422);
    free(body);
    assert_int_equal(tu_http(&srv, "POST", "/api/transcriptions/abc/audio",
                             "RIFF", &body), 404);
    free(body);
    assert_float_equal(now_value(refused, bad), bad_before + 3, 0.1);
    assert_float_equal(now_value(refused, missing), missing_before + 2, 0.1);
}

/* Runs `verbatim keys create` on s's database: the key into key. */
static void make_key(const tu_server *s, const char *scope, char *key,
                     size_t len)
{
    const char *bin = getenv("VERBATIM_BIN");
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "%s keys create --name m-%s --scope %s --db "
             "%s/verbatim.db 2>/dev/null", bin ? bin : "build/asan/verbatim",
             scope, scope, s->dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(key, (int)len, p));
    assert_int_equal(pclose(p), 0);
    key[strcspn(key, "\n")] = '\0';
}

/* With keys: /metrics is the admin's (Bearer, as Prometheus sends it);
 * a handshake with a bad key is counted as refused for auth; and the
 * cookie is Secure when a trusted proxy says the client used TLS. */
static void test_auth_admin_scope(void **state)
{
    tu_server s;
    memset(&s, 0, sizeof(s));
    snprintf(s.dir, sizeof(s.dir), "/tmp/vbtest-XXXXXX");
    assert_non_null(mkdtemp(s.dir));
    char read_key[80], admin_key[80], hdr[200];
    make_key(&s, "read", read_key, sizeof(read_key));
    make_key(&s, "admin", admin_key, sizeof(admin_key));
    static const char *const flags[] = {"--auth", "required", "--trusted-proxy",
                                        "127.0.0.1", NULL};
    tu_server_restart(&s, flags);
    char *body = NULL;
    assert_int_equal(tu_http(&s, "GET", "/metrics", NULL, &body), 401);
    free(body);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", read_key);
    assert_int_equal(tu_http_full(&s, "GET", "/metrics", hdr, NULL, &body, NULL),
                     403);
    free(body);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", admin_key);
    char *page = metrics_page(&s, hdr);
    double before = sample(page, "verbatim_sessions_refused_total",
                           "reason=\"auth\"");
    free(page);

    char url[128], err[300];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/transcribe/1", s.port);
    wsclient *ws = NULL;
    assert_int_not_equal(wsclient_connect_with(url, "Authorization: Token "
                                               "vb_not_a_key\r\n", &ws, err,
                                               sizeof(err)), 0);
    assert_non_null(strstr(err, "401"));
    page = metrics_page(&s, hdr);
    assert_float_equal(sample(page, "verbatim_sessions_refused_total",
                              "reason=\"auth\""), before + 1, 0.1);
    assert_true(sample(page, "verbatim_http_requests_total",
                       "method=\"GET\",route=\"/metrics\",status=\"403\"") >= 1);
    free(page);

    char proxied[300], *headers = NULL;
    snprintf(proxied, sizeof(proxied), "Authorization: Token %s\r\n"
             "X-Forwarded-Proto: https\r\n", read_key);
    assert_int_equal(tu_http_full(&s, "POST", "/api/session", proxied, NULL,
                                  &body, &headers), 200);
    assert_non_null(strcasestr(headers, "; Secure"));
    free(body);
    free(headers);
    assert_int_equal(tu_server_stop(&s), 0);
}

/* The store's file taken away: /api/health answers 503 and says so;
 * back in place: 200 again.  The failed checks count as store errors. */
static void test_health_store_unreachable(void **state)
{
    tu_server s;
    tu_server_start(&s, NULL);
    char *body = NULL, db[300], moved[310];
    assert_int_equal(tu_http(&s, "GET", "/api/health", NULL, &body), 200);
    assert_non_null(strstr(body, "\"store\":\"sqlite\""));
    assert_non_null(strstr(body, "\"store_reachable\":true"));
    free(body);
    snprintf(db, sizeof(db), "%s/verbatim.db", s.dir);
    snprintf(moved, sizeof(moved), "%s.away", db);
    assert_int_equal(rename(db, moved), 0);
    assert_int_equal(tu_http(&s, "GET", "/api/health", NULL, &body), 503);
    assert_non_null(strstr(body, "\"status\":\"unavailable\""));
    assert_non_null(strstr(body, "\"store_reachable\":false"));
    free(body);
    char *page = metrics_page(&s, NULL);
    assert_true(sample(page, "verbatim_store_errors_total", "") >= 1);
    free(page);
    assert_int_equal(rename(moved, db), 0);
    assert_int_equal(tu_http(&s, "GET", "/api/health", NULL, &body), 200);
    free(body);
    assert_int_equal(tu_server_stop(&s), 0);
}

/* A GET of the list with X-Forwarded-For: xff (NULL: none); the status,
 * and the body in *why (freed by the caller). */
static int list_from(const tu_server *s, const char *xff, char **why)
{
    char hdr[200] = "";
    if (xff)
        snprintf(hdr, sizeof(hdr), "X-Forwarded-For: %s\r\n", xff);
    return tu_http_full(s, "GET", "/api/transcriptions/", hdr, NULL, why, NULL);
}

/* Without --trusted-proxy a forged X-Forwarded-For changes nothing: the
 * rate limit is the connection's address's.  From a trusted proxy each
 * client has its own, taken from the header's right end. */
static void test_forwarded_for_only_from_trusted_proxies(void **state)
{
    tu_server s;
    static const char *const plain[] = {"--rate-limit", "2", NULL};
    tu_server_start(&s, plain);
    char *body = NULL;
    assert_int_equal(list_from(&s, "198.51.100.1", &body), 200);
    free(body);
    assert_int_equal(list_from(&s, "198.51.100.2", &body), 200);
    free(body);
    assert_int_equal(list_from(&s, "198.51.100.3", &body), 429);
    assert_non_null(strstr(body, "127.0.0.1: at most")); /* maybe v4-mapped */
    free(body);
    assert_int_equal(tu_server_stop(&s), 0);

    static const char *const proxied[] = {"--rate-limit", "2",
                                          "--trusted-proxy", "::1, 127.0.0.1",
                                          NULL};
    tu_server_start(&s, proxied);
    for (int i = 0; i < 3; i++) { /* three clients, one request each */
        char client[32];
        snprintf(client, sizeof(client), "198.51.100.%d", i + 1);
        assert_int_equal(list_from(&s, client, &body), 200);
        free(body);
    }
    assert_int_equal(list_from(&s, "203.0.113.7", &body), 200);
    free(body);
    /* What the client put to the left proves nothing; the proxies' own
     * entries are passed over. */
    assert_int_equal(list_from(&s, "6.6.6.6, 203.0.113.7, 127.0.0.1", &body),
                     200);
    free(body);
    assert_int_equal(list_from(&s, "203.0.113.7", &body), 429);
    assert_non_null(strstr(body, "from 203.0.113.7"));
    free(body);
    /* An entry that is no address: none of it is believed. */
    assert_int_equal(list_from(&s, "not-an-address", &body), 200);
    free(body);
    assert_int_equal(tu_server_stop(&s), 0);
}

/* A --trusted-proxy that is not an IP address stops the server at once. */
static void test_trusted_proxy_must_be_an_address(void **state)
{
    const char *bin = getenv("VERBATIM_BIN");
    char cmd[600], out[600] = "";
    snprintf(cmd, sizeof(cmd), "%s serve --port 1 --db /dev/null/x.db "
             "--trusted-proxy 127.0.0.1,proxy.example 2>&1",
             bin ? bin : "build/asan/verbatim");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    assert_non_null(strstr(out, "\"proxy.example\" is not an IP address"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_catches_bad_pages),
        cmocka_unit_test(test_page_has_every_family),
        cmocka_unit_test(test_http_by_route_pattern),
        cmocka_unit_test(test_stream_moves_the_counters),
        cmocka_unit_test(test_refusals_by_reason),
        cmocka_unit_test(test_auth_admin_scope),
        cmocka_unit_test(test_health_store_unreachable),
        cmocka_unit_test(test_forwarded_for_only_from_trusted_proxies),
        cmocka_unit_test(test_trusted_proxy_must_be_an_address),
    };
    return cmocka_run_group_tests_name("metrics", tests, setup, teardown);
}
