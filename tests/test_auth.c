/*
 * test_auth.c - API keys against the real server with --auth required:
 * keys made with `verbatim keys`, every route of the route table (read
 * from the OpenAPI document the server generates from it) refused without
 * a key (401), with a key of too small a scope (403), and served with
 * one that suffices; the header forms, sockets with the "token"
 * subprotocol, revocation, last use, and no key in the log.
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
#include "util/vb.h"

static tu_server srv;
static char keys[4][64]; /* by scope: [1] read, [2] write, [3] admin */
static const char *const scope_names[] = {"", "read", "write", "admin"};

static const char *bin(void)
{
    const char *b = getenv("VERBATIM_BIN");
    return b ? b : "build/asan/verbatim";
}

/* Runs `verbatim keys ARGS --db` on the server's database; its stdout
 * into out (may be NULL), its exit status returned. */
static int keys_cli(const char *args, char *out, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s keys %s --db '%s' 2>/dev/null", bin(), args,
             srv.db);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = 0;
    char buf[512];
    while (fgets(buf, sizeof(buf), p))
        if (out && n + strlen(buf) < len)
            n += (size_t)snprintf(out + n, len - n, "%s", buf);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int setup(void **state)
{
    memset(&srv, 0, sizeof(srv));
    snprintf(srv.dir, sizeof(srv.dir), "/tmp/vbtest-XXXXXX");
    assert_non_null(mkdtemp(srv.dir));
    tu_db_url(srv.dir, srv.db, sizeof(srv.db));
    for (int s = 1; s <= 3; s++) {
        char args[64];
        snprintf(args, sizeof(args), "create --name k-%s --scope %s",
                 scope_names[s], scope_names[s]);
        assert_int_equal(keys_cli(args, keys[s], sizeof(keys[s])), 0);
        keys[s][strcspn(keys[s], "\n")] = '\0';
        assert_int_equal(strncmp(keys[s], "vb_", 3), 0);
        assert_int_equal(strlen(keys[s]), 46);
    }
    /* A name is a key's once. */
    assert_int_equal(keys_cli("create --name k-read --scope read", NULL, 0), 1);
    static const char *const flags[] = {"--auth", "required", NULL};
    tu_server_restart(&srv, flags); /* starts it: nothing runs yet */
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(tu_server_stop(&srv), 0);
    return 0;
}

static int http_as(int scope, const char *method, const char *path,
                   const char *body, char **headers)
{
    char auth[128] = "", *resp = NULL;
    if (scope > 0)
        snprintf(auth, sizeof(auth), "Authorization: Token %s\r\n", keys[scope]);
    int status = tu_http_full(&srv, method, path, auth, body, &resp, headers);
    free(resp);
    return status;
}

/* A handshake with the key in the subprotocols, as a browser sends it:
 * 101, or the refusal's status. */
static int socket_as(int scope, const char *path)
{
    char url[256], hdr[160] = "", err[300];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", srv.port, path);
    if (scope > 0)
        snprintf(hdr, sizeof(hdr), "Sec-WebSocket-Protocol: token, %s\r\n",
                 keys[scope]);
    wsclient *ws = NULL;
    if (wsclient_connect_with(url, hdr, &ws, err, sizeof(err)) == 0) {
        wsclient_close(ws, 1000);
        return 101;
    }
    int status = 0;
    const char *s = strstr(err, "HTTP ");
    if (s)
        status = atoi(s + 5);
    return status;
}

/* Every operation the document lists needs the scope it states: 401
 * without a key, 403 with the scope below, served with its own. */
static void test_every_route_needs_its_scope(void **state)
{
    assert_int_equal(http_as(2, "POST", "/api/transcriptions/",
                             "{\"title\": \"t\"}", NULL), 200);
    char *body = NULL;
    assert_int_equal(tu_http(&srv, "GET", "/api/openapi.json", NULL, &body), 200);
    cJSON *doc = cJSON_Parse(body);
    free(body);
    const cJSON *paths = cJSON_GetObjectItem(doc, "paths"), *item;
    int checked = 0, deletes = 0;
    for (int pass = 0; pass < 2; pass++) { /* deletions last */
        cJSON_ArrayForEach(item, paths) {
            char path[256], method[8];
            const cJSON *op;
            cJSON_ArrayForEach(op, item) {
                tu_openapi_request(item->string, op->string, path,
                                   sizeof(path), method);
                if ((strcmp(method, "DELETE") == 0) != pass)
                    continue;
                const char *want = cJSON_GetStringValue(
                    cJSON_GetObjectItem(op, "x-verbatim-scope"));
                if (want == NULL) { /* public: health, the document */
                    assert_int_not_equal(http_as(0, method, path, NULL, NULL), 401);
                    continue;
                }
                int scope = 0;
                for (int s = 1; s <= 3; s++)
                    if (strcmp(want, scope_names[s]) == 0)
                        scope = s;
                assert_true(scope > 0);
                assert_non_null(cJSON_GetObjectItem(op, "security"));
                /* A WebSocket endpoint answers 101 (/ws/..., /v1/listen). */
                int is_ws = cJSON_GetObjectItem(cJSON_GetObjectItem(op, "responses"),
                                                "101") != NULL;
                const char *b = strcmp(method, "GET") ? "{}" : NULL;
                int none = is_ws ? socket_as(0, path) : http_as(0, method, path, b, NULL);
                int below = scope > 1 ? (is_ws ? socket_as(scope - 1, path)
                                               : http_as(scope - 1, method, path, b, NULL))
                                      : 403;
                int enough = is_ws ? socket_as(scope, path)
                                   : http_as(scope, method, path, b, NULL);
                if (none != 401 || below != 403 || enough == 401 || enough == 403)
                    fail_msg("%s %s (%s): no key %d, below %d, enough %d",
                             method, path, want, none, below, enough);
                checked++;
                deletes += pass;
            }
        }
    }
    assert_true(checked >= 19);
    assert_true(deletes >= 1);
    cJSON_Delete(doc);
}

/* Both header forms; a wrong key and no key are told how to authenticate. */
static void test_key_forms(void **state)
{
    char auth[128], *resp, *headers;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", keys[1]);
    assert_int_equal(tu_http_full(&srv, "GET", "/api/transcriptions/", auth,
                                  NULL, &resp, &headers), 200);
    free(resp);
    free(headers);
    snprintf(auth, sizeof(auth), "Authorization: token %s\r\n", keys[1]);
    assert_int_equal(tu_http_full(&srv, "GET", "/api/transcriptions/", auth,
                                  NULL, &resp, &headers), 200);
    free(resp);
    free(headers);
    const char *wrong[] = {"Authorization: Token vb_not-a-key\r\n",
                           "Authorization: Basic dXNlcjpwYXNz\r\n", ""};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_int_equal(tu_http_full(&srv, "GET", "/api/transcriptions/",
                                      wrong[i], NULL, &resp, &headers), 401);
        assert_non_null(strcasestr(headers, "www-authenticate: Token"));
        assert_non_null(strstr(resp, "\"detail\""));
        free(resp);
        free(headers);
    }
    /* The web app's files hold no data, health is for load balancers. */
    assert_int_equal(http_as(0, "GET", "/", NULL, NULL), 200);
    assert_int_equal(http_as(0, "GET", "/api/health", NULL, NULL), 200);
    /* Paths without a route tell a stranger nothing. */
    assert_int_equal(http_as(0, "GET", "/api/nothing", NULL, NULL), 401);
    assert_int_equal(http_as(1, "GET", "/api/nothing", NULL, NULL), 404);
}

/* The cookie's value from a response's Set-Cookie header, in out. */
static void session_cookie(const char *headers, char *out, size_t len)
{
    const char *c = strcasestr(headers, "set-cookie: verbatim_session=");
    assert_non_null(c);
    c += strlen("set-cookie: verbatim_session=");
    snprintf(out, len, "%.*s", (int)strcspn(c, ";\r\n"), c);
}

/* A request with the cookie (and any other headers) as a browser sends it. */
static int http_cookie(const char *cookie, const char *method, const char *path,
                       const char *extra, char **body)
{
    char hdr[512], *resp = NULL, *headers = NULL;
    snprintf(hdr, sizeof(hdr), "Cookie: theme=dark; verbatim_session=%s\r\n%s",
             cookie, extra ? extra : "");
    int status = tu_http_full(&srv, method, path, hdr, NULL, &resp, &headers);
    free(headers);
    if (body)
        *body = resp;
    else
        free(resp);
    return status;
}

/* Waits (up to 8 s, past a keys refresh) for the cookie to stop working. */
static int cookie_refused_within(const char *cookie)
{
    for (int i = 0; i < 80; i++) {
        if (http_cookie(cookie, "GET", "/api/transcriptions/", NULL, NULL) == 401)
            return 1;
        usleep(100000);
    }
    return 0;
}

/* The web app signs in: a key traded for a session cookie that opens what
 * the key opens, from the server's own pages only, until sign-out, the
 * key's revocation; it survives a restart. */
static void test_web_sign_in(void **state)
{
    char *body = NULL, *headers = NULL, auth[256], cookie[128];
    /* Nobody yet: the page is told to ask for a key. */
    assert_int_equal(tu_http(&srv, "GET", "/api/session", NULL, &body), 200);
    assert_non_null(strstr(body, "\"auth\":\"required\""));
    assert_non_null(strstr(body, "\"signed_in\":false"));
    free(body);

    /* From another site's page: refused, key or not. */
    snprintf(auth, sizeof(auth), "Authorization: Token %s\r\n"
             "Origin: http://evil.example\r\n", keys[2]);
    assert_int_equal(tu_http_full(&srv, "POST", "/api/session", auth, NULL,
                                  &body, &headers), 403);
    assert_null(strcasestr(headers, "set-cookie"));
    free(body);
    free(headers);
    /* Without a key, or with a wrong one: 401. */
    assert_int_equal(tu_http_full(&srv, "POST", "/api/session",
                                  "Authorization: Token vb_wrong\r\n", NULL,
                                  &body, &headers), 401);
    assert_null(strcasestr(headers, "set-cookie"));
    free(body);
    free(headers);

    char origin[96];
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", srv.port);
    snprintf(auth, sizeof(auth), "Authorization: Token %s\r\nOrigin: %s\r\n",
             keys[2], origin);
    assert_int_equal(tu_http_full(&srv, "POST", "/api/session", auth, NULL,
                                  &body, &headers), 200);
    assert_non_null(strstr(body, "\"key\":\"k-write\""));
    assert_non_null(strstr(body, "\"via\":\"session\""));
    assert_non_null(strstr(body, "\"expires_at\""));
    assert_non_null(strcasestr(headers, "HttpOnly"));
    assert_non_null(strcasestr(headers, "SameSite=Strict"));
    assert_non_null(strcasestr(headers, "Max-Age=43200"));
    assert_non_null(strcasestr(headers, "Path=/"));
    assert_null(strcasestr(headers, "Secure")); /* plain HTTP here */
    session_cookie(headers, cookie, sizeof(cookie));
    assert_int_equal(strncmp(cookie, "vbs_", 4), 0);
    assert_int_equal(strlen(cookie), 47);
    free(body);
    free(headers);
    /* X-Forwarded-Proto is believed only from a --trusted-proxy (none
     * here; test_metrics has one, whose https makes the cookie Secure). */
    char proxied[400];
    snprintf(proxied, sizeof(proxied), "%sX-Forwarded-Proto: https\r\n", auth);
    assert_int_equal(tu_http_full(&srv, "POST", "/api/session", proxied, NULL,
                                  &body, &headers), 200);
    assert_null(strcasestr(headers, "; Secure"));
    free(body);
    free(headers);

    /* The cookie opens what k-write opens, and no more. */
    assert_int_equal(http_cookie(cookie, "GET", "/api/session", NULL, &body), 200);
    assert_non_null(strstr(body, "\"signed_in\":true"));
    assert_non_null(strstr(body, "\"scope\":\"write\""));
    free(body);
    assert_int_equal(http_cookie(cookie, "GET", "/api/transcriptions/", NULL,
                                 NULL), 200);
    char extra[160], hdr[400];
    snprintf(hdr, sizeof(hdr), "Cookie: verbatim_session=%s\r\nOrigin: %s\r\n",
             cookie, origin);
    assert_int_equal(tu_http_full(&srv, "POST", "/api/transcriptions/", hdr,
                                  "{\"title\":\"by cookie\"}", &body, &headers),
                     200);
    long long id = atoll(strstr(body, "\"id\":") + 5);
    free(body);
    free(headers);
    char path[96];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/", id);
    assert_int_equal(tu_http_full(&srv, "DELETE", path, hdr, NULL, &body,
                                  &headers), 403); /* admin's */
    free(body);
    free(headers);
    /* Another site's page cannot ride it: the browser sends the cookie
     * only to its own site, and a forged Origin is refused anyway. */
    snprintf(hdr, sizeof(hdr), "Cookie: verbatim_session=%s\r\n"
             "Origin: http://evil.example\r\n", cookie);
    assert_int_equal(tu_http_full(&srv, "POST", "/api/transcriptions/", hdr,
                                  "{\"title\":\"forged\"}", &body, &headers),
                     403);
    free(body);
    free(headers);
    /* A session cannot make another. */
    assert_int_equal(http_cookie(cookie, "POST", "/api/session", NULL, NULL), 401);

    /* The WebSockets take it too (a browser sends cookies on handshakes). */
    char url[128], err[300];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/watch/%lld", srv.port, id);
    snprintf(hdr, sizeof(hdr), "Cookie: verbatim_session=%s\r\nOrigin: %s\r\n",
             cookie, origin);
    wsclient *ws = NULL;
    assert_int_equal(wsclient_connect_with(url, hdr, &ws, err, sizeof(err)), 0);
    wsclient_close(ws, 1000);

    /* It outlives a restart: sessions are rows in the store. */
    static const char *const flags[] = {"--auth", "required", NULL};
    tu_server_restart(&srv, flags);
    assert_int_equal(http_cookie(cookie, "GET", "/api/transcriptions/", NULL,
                                 NULL), 200);

    /* Sign-out ends it at once and clears the cookie. */
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", srv.port);
    snprintf(extra, sizeof(extra), "Origin: %s\r\n", origin);
    snprintf(hdr, sizeof(hdr), "Cookie: verbatim_session=%s\r\n%s", cookie,
             extra);
    assert_int_equal(tu_http_full(&srv, "DELETE", "/api/session", hdr, NULL,
                                  &body, &headers), 204);
    assert_non_null(strcasestr(headers, "set-cookie: verbatim_session=;"));
    assert_non_null(strcasestr(headers, "Max-Age=0"));
    free(body);
    free(headers);
    assert_int_equal(http_cookie(cookie, "GET", "/api/transcriptions/", NULL,
                                 &body), 401);
    assert_non_null(strstr(body, "sign in again"));
    free(body);

    /* Revoking the key ends its sessions, on every instance within the
     * keys' refresh. */
    char temp[64];
    assert_int_equal(keys_cli("create --name k-temp --scope admin", temp,
                              sizeof(temp)), 0);
    temp[strcspn(temp, "\n")] = '\0';
    int status = 401;
    for (int i = 0; i < 80 && status != 200; i++) { /* the key counts */
        usleep(100000);
        snprintf(auth, sizeof(auth), "Authorization: Token %s\r\nOrigin: %s\r\n",
                 temp, origin);
        status = tu_http_full(&srv, "POST", "/api/session", auth, NULL, &body,
                              &headers);
        if (status == 200)
            session_cookie(headers, cookie, sizeof(cookie));
        free(body);
        free(headers);
    }
    assert_int_equal(status, 200);
    assert_int_equal(http_cookie(cookie, "GET", "/api/transcriptions/", NULL,
                                 NULL), 200);
    assert_int_equal(keys_cli("revoke k-temp", NULL, 0), 0);
    assert_true(cookie_refused_within(cookie));
}

/* A key made while the server runs opens its first request at once (a
 * key the server does not know has the store read again before it is
 * refused), not after the next refresh; a made-up key is still refused. */
static void test_new_key_at_once(void **state)
{
    char key[64];
    assert_int_equal(keys_cli("create --name k-new --scope read", key,
                              sizeof(key)), 0);
    key[strcspn(key, "\n")] = '\0';
    char auth[128], *resp = NULL;
    snprintf(auth, sizeof(auth), "Authorization: Token %s\r\n", key);
    double t0 = vb_monotonic_s();
    int status = tu_http_full(&srv, "GET", "/api/transcriptions/", auth, NULL,
                              &resp, NULL);
    free(resp);
    double took = vb_monotonic_s() - t0;
    assert_int_equal(status, 200);
    assert_true(took < 1.0);
    /* Made-up keys: refused, and a burst of them answered promptly. */
    snprintf(auth, sizeof(auth), "Authorization: Token vb_%043d\r\n", 7);
    t0 = vb_monotonic_s();
    for (int i = 0; i < 20; i++) {
        assert_int_equal(tu_http_full(&srv, "GET", "/api/transcriptions/", auth,
                                      NULL, &resp, NULL), 401);
        free(resp);
    }
    took = vb_monotonic_s() - t0;
    printf("20 made-up keys answered in %.2f s\n", took);
    assert_true(took < 5.0);
    assert_int_equal(keys_cli("revoke k-new", NULL, 0), 0);
}

/* With PostgreSQL: a browser signed in through one server (behind a
 * proxy) whose next request reaches another server is let in at once. */
static void test_signed_in_elsewhere(void **state)
{
    if (!tu_pg())
        skip(); /* SQLite is one server's */
    tu_server other;
    const char *flags[] = {"--db", srv.db, "--auth", "required", NULL};
    tu_server_start(&other, flags);
    char auth[128], *resp = NULL, *headers = NULL, cookie[128];
    snprintf(auth, sizeof(auth), "Authorization: Token %s\r\n", keys[2]);
    assert_int_equal(tu_http_full(&srv, "POST", "/api/session", auth, NULL,
                                  &resp, &headers), 200);
    free(resp);
    session_cookie(headers, cookie, sizeof(cookie));
    free(headers);
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Cookie: verbatim_session=%s\r\n", cookie);
    assert_int_equal(tu_http_full(&other, "GET", "/api/transcriptions/", hdr,
                                  NULL, &resp, NULL), 200);
    free(resp);
    /* Signed out through the first: the other refuses it within a
     * refresh. */
    char out[300];
    snprintf(out, sizeof(out), "%sOrigin: http://127.0.0.1:%d\r\n", hdr,
             srv.port);
    assert_int_equal(tu_http_full(&srv, "DELETE", "/api/session", out, NULL,
                                  &resp, NULL), 204);
    free(resp);
    int status = 200;
    for (int i = 0; i < 80 && status == 200; i++) {
        usleep(100000);
        status = tu_http_full(&other, "GET", "/api/transcriptions/", hdr, NULL,
                              &resp, NULL);
        free(resp);
    }
    assert_int_equal(status, 401);
    assert_int_equal(tu_server_stop(&other), 0);
}

/* A revoked key stops working within the refresh time; a used one shows
 * when; no key is ever written to the log. */
static void test_revoke_and_log(void **state)
{
    assert_int_equal(http_as(1, "GET", "/api/transcriptions/", NULL, NULL), 200);
    assert_int_equal(keys_cli("revoke k-read", NULL, 0), 0);
    assert_int_equal(keys_cli("revoke k-read", NULL, 0), 1); /* gone */
    int status = 200;
    for (int i = 0; i < 80 && status == 200; i++) {
        usleep(100000);
        status = http_as(1, "GET", "/api/transcriptions/", NULL, NULL);
    }
    assert_int_equal(status, 401);
    char list[2048] = "";
    assert_int_equal(keys_cli("list", list, sizeof(list)), 0);
    assert_null(strstr(list, "k-read"));
    /* k-write was used above and its use written since */
    char *w = strstr(list, "k-write");
    assert_non_null(w);
    w[strcspn(w, "\n")] = '\0';
    assert_null(strstr(w, "never"));
    for (int s = 1; s <= 3; s++)
        assert_null(strstr(list, keys[s]));

    FILE *f = fopen(srv.log_path, "r");
    assert_non_null(f);
    char line[2048];
    while (fgets(line, sizeof(line), f)) {
        for (int s = 1; s <= 3; s++)
            if (strstr(line, keys[s] + 3) != NULL)
                fail_msg("a key in the log: %s", line);
        if (strstr(line, "vbs_") != NULL)
            fail_msg("a session cookie in the log: %s", line);
    }
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_needs_its_scope),
        cmocka_unit_test(test_key_forms),
        cmocka_unit_test(test_web_sign_in),
        cmocka_unit_test(test_new_key_at_once),
        cmocka_unit_test(test_signed_in_elsewhere),
        cmocka_unit_test(test_revoke_and_log),
    };
    return cmocka_run_group_tests_name("auth", tests, setup, teardown);
}
