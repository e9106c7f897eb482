/*
 * test_rest.c - the REST API of docs/protocol.md, against the real server:
 * every route, its JSON shape, and every error it can answer.
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
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

static tu_server srv;

static int setup(void **state)
{
    static const char *const flags[] = {"--cors-origins", "http://app.example",
                                        NULL};
    tu_server_start(&srv, flags);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(tu_server_stop(&srv), 0);
    return 0;
}

/* Sends a request, checks the status, returns the parsed body. */
static cJSON *call(const char *method, const char *path, const char *body,
                   int expect)
{
    char *resp = NULL;
    int status = tu_http(&srv, method, path, body, &resp);
    if (status != expect)
        fprintf(stderr, "%s %s: %d %s\n", method, path, status, resp);
    assert_int_equal(status, expect);
    cJSON *json = resp && *resp ? cJSON_Parse(resp) : NULL;
    free(resp);
    return json;
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static double num(const cJSON *obj, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* The first problem of a 422 body: its type and last loc entry. */
static void assert_invalid(cJSON *json, const char *type, const char *field)
{
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(json, "detail");
    assert_true(cJSON_IsArray(detail));
    const cJSON *first = cJSON_GetArrayItem(detail, 0);
    assert_string_equal(str(first, "type"), type);
    assert_non_null(str(first, "msg"));
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(first, "loc");
    int n = cJSON_GetArraySize(loc);
    assert_true(n >= 1);
    if (field)
        assert_string_equal(cJSON_GetArrayItem(loc, n - 1)->valuestring, field);
    cJSON_Delete(json);
}

static void test_health(void **state)
{
    cJSON *json = call("GET", "/api/health", NULL, 200);
    assert_string_equal(str(json, "status"), "ok");
    assert_string_equal(str(json, "store"), tu_pg() ? "postgresql" : "sqlite");
    cJSON_Delete(json);
}

static void test_create_get_list(void **state)
{
    cJSON *a = call("POST", "/api/transcriptions/", "{\"title\": \"Weekly sync\"}",
                    200);
    assert_string_equal(str(a, "title"), "Weekly sync");
    const char *created = str(a, "created_at");
    assert_non_null(created);
    /* 2026-11-23T22:01:05.123456+00:00 */
    assert_int_equal(strlen(created), 32);
    assert_string_equal(created + 26, "+00:00");
    assert_int_equal(created[10], 'T');
    int id = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "id"));
    assert_true(id > 0);
    assert_int_equal(cJSON_GetArraySize(a), 3);

    cJSON *b = call("POST", "/api/transcriptions/", "{\"title\": \"Second\"}", 200);
    int id_b = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(b, "id"));

    char path[64];
    snprintf(path, sizeof(path), "/api/transcriptions/%d/", id);
    cJSON *got = call("GET", path, NULL, 200);
    assert_true(cJSON_Compare(a, got, 1));
    cJSON_Delete(got);
    /* Without the trailing slash too. */
    snprintf(path, sizeof(path), "/api/transcriptions/%d", id);
    cJSON_Delete(call("GET", path, NULL, 200));

    cJSON *list = call("GET", "/api/transcriptions/", NULL, 200);
    assert_true(cJSON_IsArray(list));
    int newest = (int)cJSON_GetNumberValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id"));
    assert_int_equal(newest, id_b); /* newest first */
    cJSON_Delete(list);

    snprintf(path, sizeof(path), "/api/transcriptions/%d/segments/", id);
    cJSON *segs = call("GET", path, NULL, 200);
    assert_true(cJSON_IsArray(segs));
    assert_int_equal(cJSON_GetArraySize(segs), 0);
    cJSON_Delete(segs);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_not_found(void **state)
{
    cJSON *json = call("GET", "/api/transcriptions/999999/", NULL, 404);
    assert_string_equal(str(json, "detail"), "Not Found");
    cJSON_Delete(json);
    cJSON_Delete(call("GET", "/api/transcriptions/999999/segments/", NULL, 404));
    cJSON_Delete(call("PATCH", "/api/transcriptions/999999/", "{\"title\":\"x\"}",
                      404));
    cJSON_Delete(call("DELETE", "/api/transcriptions/999999/", NULL, 404));
    json = call("GET", "/api/nothing-here", NULL, 404);
    assert_string_equal(str(json, "detail"), "Not Found");
    cJSON_Delete(json);
    json = call("GET", "/no/such/page", NULL, 404);
    cJSON_Delete(json);
}

static void test_bad_id(void **state)
{
    assert_invalid(call("GET", "/api/transcriptions/abc/", NULL, 422),
                   "int_parsing", "transcription_id");
    assert_invalid(call("GET", "/api/transcriptions/1.5/segments/", NULL, 422),
                   "int_parsing", "transcription_id");
    assert_invalid(call("GET", "/api/transcriptions/99999999999999999999999/",
                        NULL, 422), "int_parsing", "transcription_id");
    /* Bytes of the URL that are not UTF-8 are echoed as '?' (the answer is
     * JSON, and must be UTF-8). */
    cJSON *json = call("GET", "/api/transcriptions/a%FFb/", NULL, 422);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(json, "detail"), 0);
    assert_string_equal(str(first, "input"), "a?b");
    cJSON_Delete(json);
}

static void test_invalid_bodies(void **state)
{
    const char *path = "/api/transcriptions/";
    assert_invalid(call("POST", path, "{\"title\": ", 422), "json_invalid", NULL);
    assert_invalid(call("POST", path, "{\"title\": \"a\"} junk", 422),
                   "json_invalid", NULL);
    assert_invalid(call("POST", path, NULL, 422), "missing", NULL);
    assert_invalid(call("POST", path, "{}", 422), "missing", "title");
    assert_invalid(call("POST", path, "{\"name\": \"x\"}", 422), "missing",
                   "title");
    assert_invalid(call("POST", path, "{\"title\": 42}", 422), "string_type",
                   "title");
    assert_invalid(call("POST", path, "{\"title\": null}", 422), "string_type",
                   "title");
    assert_invalid(call("POST", path, "[\"title\"]", 422),
                   "model_attributes_type", NULL);
    /* The store keeps C strings: a NUL would cut the text short, so a body
     * with one is refused, in a value or a name.  An escaped backslash
     * before "u0000" is text like any other. */
    assert_invalid(call("POST", path, "{\"title\": \"a\\u0000b\"}", 422),
                   "value_error", NULL);
    assert_invalid(call("POST", path, "{\"title\": \"a\", \"x\\u0000\": 1}", 422),
                   "value_error", NULL);
    cJSON *literal = call("POST", path, "{\"title\": \"a\\\\u0000b\"}", 200);
    assert_string_equal(str(literal, "title"), "a\\u0000b");
    cJSON_Delete(literal);
    /* A raw NUL byte (which would cut the title short) or a raw control
     * character in a string is not JSON: 422. */
    static const struct {
        const char *body;
        size_t len;
    } raw[] = {{"{\"title\": \"a\0b\"}", 16}, {"{\"title\": \"a\nb\"}", 16},
               {"{\"title\": \"ab\"}\0", 16}};
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        char head[160];
        snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: localhost\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n", path,
                 raw[i].len);
        const tu_piece pieces[] = {{head, 0}, {raw[i].body, raw[i].len}};
        char *reply = NULL;
        tu_raw_http(&srv, pieces, 2, &reply);
        if (strstr(reply, " 422 ") == NULL || strstr(reply, "control character") == NULL)
            fail_msg("raw body %zu: %s", i, reply);
        free(reply);
    }
    /* Bytes that are not UTF-8 (a title stored with them would make the
     * list unreadable to strict clients): a stray byte, a cut-off
     * character, an overlong form, a surrogate, past U+10FFFF. */
    static const char *const not_utf8[] = {
        "{\"title\": \"bad \xff\"}", "{\"title\": \"cut \xe6\x97\"}",
        "{\"title\": \"long \xc0\xaf\"}", "{\"title\": \"half \xed\xa0\x80\"}",
        "{\"title\": \"far \xf4\x90\x80\x80\"}", "{\"title\": \"end \xe6\"}"};
    for (int i = 0; i < 6; i++)
        assert_invalid(call("POST", path, not_utf8[i], 422), "json_invalid", NULL);
    cJSON *utf8 = call("POST", path, "{\"title\": \"caf\xc3\xa9 \xe6\x97\xa5 "
                       "\xf0\x9f\x8e\x99\"}", 200);
    assert_string_equal(str(utf8, "title"), "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\x99");
    cJSON_Delete(utf8);
    /* A name given twice: the last counts, as in Python's json module. */
    cJSON *twice = call("POST", path, "{\"title\": \"x\", \"title\": \"y\"}", 200);
    assert_string_equal(str(twice, "title"), "y");
    cJSON_Delete(twice);

    /* 255 characters are fine, even when each takes two bytes; 256 are not. */
    char body[1024];
    char title[600] = "";
    for (int i = 0; i < 255; i++)
        strcat(title, "\xc3\xa9");
    snprintf(body, sizeof(body), "{\"title\": \"%s\"}", title);
    cJSON *ok = call("POST", path, body, 200);
    assert_string_equal(str(ok, "title"), title);
    cJSON_Delete(ok);
    strcat(title, "x");
    snprintf(body, sizeof(body), "{\"title\": \"%s\"}", title);
    assert_invalid(call("POST", path, body, 422), "string_too_long", "title");
}

static void test_body_too_large(void **state)
{
    size_t n = 2 * 1024 * 1024;
    char *body = malloc(n + 32);
    memcpy(body, "{\"title\": \"", 11);
    memset(body + 11, 'a', n);
    strcpy(body + 11 + n, "\"}");
    cJSON *json = call("POST", "/api/transcriptions/", body, 413);
    assert_non_null(strstr(str(json, "detail"), "limit"));
    cJSON_Delete(json);
    free(body);
    /* The server is still fine. */
    cJSON_Delete(call("GET", "/api/health", NULL, 200));
}

/* A request written as it is, its pieces arriving apart: the answer has
 * status_line and part, and the server closes the connection. */
static void expect_raw(const tu_piece *pieces, int count, const char *status_line,
                       const char *part)
{
    char *reply;
    int closed = tu_raw_http(&srv, pieces, count, &reply);
    if (strstr(reply, status_line) == NULL || strstr(reply, part) == NULL)
        fail_msg("got \"%s\"; want %s with \"%s\"", reply, status_line, part);
    assert_int_equal(closed, 1); /* where such a body ends, only it knew */
    free(reply);
}

/* Bodies in the chunked transfer coding (libwebsockets hands them on as
 * they came): decoded, refused when malformed or too large. */
static void test_chunked_bodies(void **state)
{
    static const char head[] = "POST /api/transcriptions/ HTTP/1.1\r\nHost: localhost\r\n"
                               "Content-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    /* {"title": "Chunked"} as 5 + 15 bytes, an extension, a trailer. */
    const tu_piece ok[] = {{head, 0}, {"5;ext=1\r\n{\"tit", 0},
                           {"\r\nf\r\nle\": \"Chunked\"}\r\n0\r\n", 0},
                           {"X-Trailer: 1\r\n\r\n", 0}};
    expect_raw(ok, 4, "HTTP/1.1 200", "\"title\":\"Chunked\"");
    const tu_piece bad_size[] = {{head, 0}, {"zz\r\n{}\r\n0\r\n\r\n", 0}};
    expect_raw(bad_size, 2, "HTTP/1.1 400", "malformed: a chunk does not begin "
               "with its size in hex");
    const tu_piece too_long[] = {{head, 0}, {"2\r\n{}}\r\n0\r\n\r\n", 0}};
    expect_raw(too_long, 2, "HTTP/1.1 400", "longer than its size says");
    /* With a Content-Length as well, libwebsockets ends the body by it. */
    const tu_piece both[] = {{"POST /api/transcriptions/ HTTP/1.1\r\nHost: localhost\r\n"
                              "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"
                              "\r\n5\r\n{\"ti", 0}};
    expect_raw(both, 1, "HTTP/1.1 400", "ended before its last chunk");
    const tu_piece gzip[] = {{"POST /api/transcriptions/ HTTP/1.1\r\nHost: localhost\r\n"
                              "Transfer-Encoding: gzip\r\n\r\nxx", 0}};
    expect_raw(gzip, 1, "HTTP/1.1 501", "Transfer-Encoding \\\"gzip\\\" is not "
               "supported");
    /* A coding that is not UTF-8 is quoted with '?' (answers are UTF-8). */
    const tu_piece odd[] = {{"POST /api/transcriptions/ HTTP/1.1\r\nHost: localhost\r\n"
                             "Transfer-Encoding: g\xffz\r\n\r\nxx", 0}};
    expect_raw(odd, 1, "HTTP/1.1 501", "Transfer-Encoding \\\"g?z\\\" is not");
    /* Over the 1 MiB limit, whatever the chunks say. */
    size_t n = (1u << 20) + 16;
    char *big = malloc(n);
    memset(big, 'a', n);
    const tu_piece over[] = {{head, 0}, {"100010\r\n", 0}, {big, n}};
    expect_raw(over, 3, "HTTP/1.1 413", "over the size limit");
    free(big);
    cJSON_Delete(call("GET", "/api/health", NULL, 200));
}

static void test_method_not_allowed(void **state)
{
    cJSON *json = call("PUT", "/api/transcriptions/", "{}", 405);
    assert_string_equal(str(json, "detail"), "Method Not Allowed");
    cJSON_Delete(json);
    cJSON_Delete(call("DELETE", "/api/health", NULL, 405));
}

static void test_rename_and_delete(void **state)
{
    long long id = tu_create(&srv, "Old name");
    char path[64];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/", id);
    cJSON *json = call("PATCH", path, "{\"title\": \"New name\"}", 200);
    assert_string_equal(str(json, "title"), "New name");
    cJSON_Delete(json);
    assert_invalid(call("PATCH", path, "{\"title\": 1}", 422), "string_type",
                   "title");
    json = call("GET", path, NULL, 200);
    assert_string_equal(str(json, "title"), "New name");
    cJSON_Delete(json);
    assert_null(call("DELETE", path, NULL, 204));
    cJSON_Delete(call("GET", path, NULL, 404));
}

static void test_openapi(void **state)
{
    cJSON *doc = call("GET", "/api/openapi.json", NULL, 200);
    assert_non_null(doc);
    assert_int_equal(strncmp(str(doc, "openapi"), "3.", 2), 0);
    const cJSON *paths = cJSON_GetObjectItem(doc, "paths");
    const char *expected[][2] = {
        {"/api/health", "get"},
        {"/api/transcriptions/", "get"},
        {"/api/transcriptions/", "post"},
        {"/api/transcriptions/{transcription_id}/", "get"},
        {"/api/transcriptions/{transcription_id}/", "patch"},
        {"/api/transcriptions/{transcription_id}/", "delete"},
        {"/api/transcriptions/{transcription_id}/segments/", "get"},
        {"/api/transcriptions/{transcription_id}/segments/{segment_id}/", "patch"},
        {"/api/transcriptions/{transcription_id}/speakers/", "get"},
        {"/api/transcriptions/{transcription_id}/speakers/", "patch"},
        {"/api/transcriptions/{transcription_id}/vocabulary/", "get"},
        {"/api/transcriptions/{transcription_id}/vocabulary/", "put"},
        {"/api/transcriptions/{transcription_id}/export.txt", "get"},
        {"/api/transcriptions/{transcription_id}/export.srt", "get"},
        {"/api/transcriptions/{transcription_id}/export.vtt", "get"},
        {"/api/transcriptions/{transcription_id}/export.json", "get"},
        {"/api/transcriptions/{transcription_id}/audio", "post"},
        {"/api/transcriptions/{transcription_id}/audio", "get"},
        {"/api/transcriptions/{transcription_id}/audio/{job_id}", "get"},
        {"/ws/transcribe/{transcription_id}", "get"},
        {"/ws/watch/{transcription_id}", "get"},
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, expected[i][0]);
        assert_non_null(item);
        assert_non_null(cJSON_GetObjectItemCaseSensitive(item, expected[i][1]));
    }
    /* The upload's and the socket's URL options are listed with the rest. */
    const char *upload_params[] = {"wait", "encoding", "diarize",
                                   "max_speakers", "keywords"};
    const cJSON *upload = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            paths, "/api/transcriptions/{transcription_id}/audio"), "post");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(upload, "parameters");
    for (size_t i = 0; i < sizeof(upload_params) / sizeof(upload_params[0]); i++) {
        int found = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, params)
            found |= strcmp(str(p, "name"), upload_params[i]) == 0;
        assert_true(found);
    }

    /* Every operation in the document is served (405 or the router's
     * plain 404 would mean it is not), and a method it does not list is
     * refused: the document and the router are one table. */
    cJSON_Delete(call("POST", "/api/transcriptions/", "{\"title\": \"doc\"}",
                      200));
    const cJSON *item;
    cJSON_ArrayForEach(item, paths) {
        char path[256], method[8];
        const cJSON *op;
        cJSON_ArrayForEach(op, item) {
            tu_openapi_request(item->string, op->string, path, sizeof(path),
                               method);
            /* Deleting would take id 1 from the routes after it. */
            if (strcmp(method, "DELETE") == 0)
                continue;
            char *body = NULL;
            int status = tu_http(&srv, method, path,
                                 strcmp(method, "GET") ? "{}" : NULL, &body);
            if (status == 405 || (status == 404 && body &&
                                  strstr(body, "\"Not Found\"") &&
                                  strstr(path, "/audio/") == NULL))
                fprintf(stderr, "%s %s: %d %s\n", method, path, status, body);
            assert_int_not_equal(status, 405);
            if (strncmp(path, "/ws/", 4) == 0)
                assert_int_equal(status, 426); /* served, after an upgrade */
            free(body);
        }
        /* A method the path does not have (PUT, where it has it: POST). */
        char *body = NULL;
        const char *other = cJSON_GetObjectItem(item, "put") ? "POST" : "PUT";
        assert_int_equal(tu_http(&srv, other, path, "{}", &body), 405);
        free(body);
    }
    const cJSON *schemas =
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "components"), "schemas");
    assert_non_null(cJSON_GetObjectItem(schemas, "Segment"));
    assert_non_null(cJSON_GetObjectItem(schemas, "Transcription"));
    assert_non_null(cJSON_GetObjectItem(schemas, "UploadJob"));
    cJSON_Delete(doc);
}

/* A WebSocket endpoint asked for without the upgrade says how to reach
 * it; an upload's id that is not a number is no transcription of ours. */
static void test_route_errors(void **state)
{
    cJSON *json = call("GET", "/ws/transcribe/1", NULL, 426);
    assert_non_null(strstr(str(json, "detail"), "WebSocket"));
    cJSON_Delete(json);
    cJSON_Delete(call("GET", "/ws/watch/1", NULL, 426));
    json = call("GET", "/api/transcriptions/abc/audio", NULL, 404);
    assert_string_equal(str(json, "detail"), "Not Found");
    cJSON_Delete(json);
    cJSON_Delete(call("GET", "/api/transcriptions/1/audio/x", NULL, 404));
    cJSON_Delete(call("GET", "/api/transcriptions/1/audio/0", NULL, 404));
    cJSON_Delete(call("DELETE", "/api/transcriptions/1/audio", NULL, 405));
    cJSON_Delete(call("POST", "/api/transcriptions/1/audio/3", NULL, 405));
}

static int transcription_count(void);

/* Answers waiting for clients that do not read them are held, in all, to
 * --http-queue-mb: one big answer always goes (nothing else waits), the
 * next that would pass the limit gets 503 with Retry-After, and once the
 * first client has gone the next request is answered again. */
static void test_http_queue(void **state)
{
    tu_server server;
    static const char *const flags[] = {"--http-queue-mb", "16", NULL};
    tu_server_start(&server, flags);
    char *body, *headers;
    assert_int_equal(tu_http(&server, "POST", "/api/transcriptions/",
                             "{\"title\": \"long\"}", &body), 200);
    free(body);
    /* 3,000 segments of 3 KB: an export of about 9 MB. */
    char sql[400];
    snprintf(sql, sizeof(sql),
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 3000) INSERT INTO segments (transcription_id, text, "
        "speaker, start_time, end_time, is_final, words) SELECT 1, %s, "
        "'speaker_0', i, i + 0.5, 1, '[]' FROM n",
        tu_pg() ? "repeat('a', 3000)" : "printf('%.3000c', 'a')");
    assert_int_equal(tu_sql(server.db, sql), 0);
    static const char request[] = "GET /api/transcriptions/1/export.json "
                                  "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    int stuck = tu_connect(&server, 1024);
    assert_int_equal(send(stuck, request, sizeof(request) - 1, 0),
                     (ssize_t)sizeof(request) - 1);
    char first[64] = "";
    assert_true(recv(stuck, first, sizeof(first) - 1, 0) > 0);
    assert_non_null(strstr(first, "HTTP/1.1 200"));
    sleep(1); /* what the kernel takes of it is taken */
    assert_int_equal(tu_http_full(&server, "GET",
                                  "/api/transcriptions/1/export.json", "", NULL,
                                  &body, &headers), 503);
    assert_non_null(strstr(body, "--http-queue-mb"));
    assert_non_null(strcasestr(headers, "retry-after: 2"));
    free(body);
    free(headers);
    close(stuck);
    int status = 503;
    for (int i = 0; i < 50 && status != 200; i++) {
        usleep(100000);
        status = tu_http(&server, "GET", "/api/transcriptions/1/export.json",
                         NULL, &body);
        free(body);
    }
    assert_int_equal(status, 200);
    assert_int_equal(tu_server_stop(&server), 0);
}

/* --rate-limit: a minute's worth at once, then 429 with Retry-After (for
 * requests and handshakes alike) until a token comes back; /api/health
 * (for load balancers) and the web app's files are not counted. */
static void test_rate_limit(void **state)
{
    tu_server limited;
    static const char *const flags[] = {"--rate-limit", "30", NULL};
    tu_server_start(&limited, flags);
    char *body, *headers;
    for (int i = 0; i < 30; i++) {
        assert_int_equal(tu_http(&limited, "GET", "/api/transcriptions/", NULL,
                                 &body), 200);
        free(body);
    }
    assert_int_equal(tu_http_full(&limited, "GET", "/api/transcriptions/", "",
                                  NULL, &body, &headers), 429);
    assert_non_null(strstr(body, "at most 30 a minute"));
    /* The bucket refills at one token per 2 s from the first request on:
     * 2 s to wait, or 1 where the 31 requests took over a second (a
     * clean-clone CI run on a busy machine). */
    const char *retry = strcasestr(headers, "retry-after: ");
    assert_non_null(retry);
    int wait_s = atoi(retry + strlen("retry-after: "));
    assert_true(wait_s == 1 || wait_s == 2);
    free(body);
    free(headers);
    assert_int_equal(tu_http(&limited, "POST", "/v1/listen", "x", &body), 429);
    free(body);
    assert_int_equal(tu_http(&limited, "GET", "/api/health", NULL, &body), 200);
    free(body);
    assert_int_equal(tu_http(&limited, "GET", "/", NULL, &body), 200);
    free(body);
    char url[96], err[300];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/watch/1", limited.port);
    wsclient *ws = NULL;
    assert_int_not_equal(wsclient_connect_with(url, "", &ws, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "429"));
    sleep(2);
    assert_int_equal(tu_http(&limited, "GET", "/api/transcriptions/", NULL,
                             &body), 200);
    free(body);
    assert_int_equal(tu_server_stop(&limited), 0);
}

/* The list comes in pages: limit and offset, X-Total-Count, a Link to the
 * next page; without limit, up to 1,000 (the reference's clients read one
 * array); bad values get 422 naming the parameter. */
static void test_list_pages(void **state)
{
    for (int i = 0; i < 5; i++)
        cJSON_Delete(call("POST", "/api/transcriptions/", "{\"title\": \"paged\"}",
                          200));
    int total = transcription_count();
    assert_true(total >= 5);
    char *body, *headers, want[64];
    assert_int_equal(tu_http_full(&srv, "GET", "/api/transcriptions/?limit=2",
                                  "", NULL, &body, &headers), 200);
    cJSON *page = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(page), 2);
    int first = (int)cJSON_GetNumberValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(page, 1), "id"));
    cJSON_Delete(page);
    snprintf(want, sizeof(want), "x-total-count: %d\r\n", total);
    assert_non_null(strcasestr(headers, want));
    assert_non_null(strcasestr(headers, "link: </api/transcriptions/?limit=2&"
                                        "offset=2>; rel=\"next\""));
    free(body);
    free(headers);
    /* The next page starts where the first ended; the last has no next. */
    assert_int_equal(tu_http_full(&srv, "GET", "/api/transcriptions/?limit=2&"
                                  "offset=2&summary=true", "", NULL, &body,
                                  &headers), 200);
    page = cJSON_Parse(body);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(
                         cJSON_GetArrayItem(page, 0), "id")), first - 1);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(page, 0), "preview"));
    cJSON_Delete(page);
    assert_non_null(strcasestr(headers, "offset=4&summary=true>"));
    free(body);
    free(headers);
    char path[96];
    snprintf(path, sizeof(path), "/api/transcriptions/?offset=%d", total - 1);
    assert_int_equal(tu_http_full(&srv, "GET", path, "", NULL, &body, &headers),
                     200);
    page = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(page), 1);
    cJSON_Delete(page);
    assert_null(strcasestr(headers, "\r\nlink:"));
    free(body);
    free(headers);
    static const char *const bad[][2] = {
        {"limit=0", "greater than or equal to 1"},
        {"limit=1001", "less than or equal to 1000"},
        {"limit=ten", "valid integer"},
        {"offset=-1", "greater than or equal to 0"},
        {"limit=", "valid integer"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "/api/transcriptions/?%s", bad[i][0]);
        cJSON *err = call("GET", path, NULL, 422);
        char *text = cJSON_PrintUnformatted(err);
        assert_non_null(strstr(text, bad[i][1]));
        assert_non_null(strstr(text, "\"query\""));
        free(text);
        cJSON_Delete(err);
    }
}

static void test_cors(void **state)
{
    char *body, *headers;
    int status = tu_http_full(&srv, "GET", "/api/transcriptions/",
                              "Origin: http://app.example\r\n", NULL, &body,
                              &headers);
    assert_int_equal(status, 200);
    assert_non_null(strcasestr(headers, "access-control-allow-origin: "
                                        "http://app.example"));
    free(body);
    free(headers);
    status = tu_http_full(&srv, "GET", "/api/transcriptions/",
                          "Origin: http://evil.example\r\n", NULL, &body,
                          &headers);
    assert_int_equal(status, 200);
    assert_null(strcasestr(headers, "access-control-allow-origin"));
    free(body);
    free(headers);
    status = tu_http_full(&srv, "OPTIONS", "/api/transcriptions/",
                          "Origin: http://app.example\r\n"
                          "Access-Control-Request-Method: POST\r\n", NULL,
                          &body, &headers);
    assert_int_equal(status, 204);
    assert_non_null(strcasestr(headers, "access-control-allow-methods:"));
    free(body);
    free(headers);
}

/* The number of transcriptions in the list. */
static int transcription_count(void)
{
    cJSON *list = call("GET", "/api/transcriptions/", NULL, 200);
    int n = cJSON_GetArraySize(list);
    cJSON_Delete(list);
    return n;
}

/* A web page of another origin cannot change anything through the
 * user's browser, whatever its Content-Type, nor open a socket; the
 * server's own pages and listed origins can.  A Host the server does not
 * answer for (DNS rebinding) is refused before anything else. */
static void test_same_origin(void **state)
{
    char own[64], *body, *headers;
    snprintf(own, sizeof(own), "Origin: http://127.0.0.1:%d\r\n", srv.port);
    const struct {
        const char *origin_header; /* NULL: our own */
        int status;
    } posts[] = {
        {"Origin: http://evil.example\r\nContent-Type: text/plain\r\n", 403},
        {"Origin: null\r\n", 403},
        /* the reference front end's address is trusted only when listed */
        {"Origin: http://localhost:3000\r\n", 403},
        {"Origin: http://app.example\r\n", 200},
        {NULL, 200},
    };
    for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
        int before = transcription_count();
        const char *h = posts[i].origin_header ? posts[i].origin_header : own;
        int status = tu_http_full(&srv, "POST", "/api/transcriptions/", h,
                                  "{\"title\": \"from a page\"}", &body,
                                  &headers);
        if (status != posts[i].status)
            fprintf(stderr, "%s: %d %s\n", h, status, body);
        assert_int_equal(status, posts[i].status);
        if (status == 403)
            assert_non_null(strstr(body, "--cors-origins"));
        assert_int_equal(transcription_count(), before + (status == 200));
        free(body);
        free(headers);
    }
    /* No Origin (curl, SDKs, other servers): not a browser page. */
    cJSON_Delete(call("POST", "/api/transcriptions/", "{\"title\": \"cli\"}",
                      200));
    assert_int_equal(tu_http_full(&srv, "DELETE", "/api/transcriptions/1/",
                                  "Origin: http://evil.example\r\n", NULL,
                                  &body, &headers), 403);
    free(body);
    free(headers);

    /* Handshakes: refused with a status and a reason before the
     * upgrade. */
    long long id = tu_create(&srv, "socket");
    const struct {
        const char *path_fmt, *headers;
        const char *want;
    } shakes[] = {
        {"/ws/transcribe/%lld", "Origin: http://evil.example\r\n", " 403 "},
        {"/ws/watch/%lld", "Origin: http://evil.example\r\n", " 403 "},
        {"/ws/watch/%lld", "Host: rebind.example:8000\r\n", " 421 "},
        {"/ws/other/%lld", "", " 404 "},
    };
    for (size_t i = 0; i < sizeof(shakes) / sizeof(shakes[0]); i++) {
        char path[64], req[512];
        snprintf(path, sizeof(path), shakes[i].path_fmt, id);
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\n%s%s"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                 path, strstr(shakes[i].headers, "Host:") ? "" : "Host: 127.0.0.1\r\n",
                 shakes[i].headers);
        tu_piece piece = {req, 0};
        char *reply = NULL;
        tu_raw_http(&srv, &piece, 1, &reply);
        if (strstr(reply, shakes[i].want) == NULL)
            fprintf(stderr, "%s %s-> %s\n", path, shakes[i].headers, reply);
        assert_non_null(strstr(reply, shakes[i].want));
        assert_non_null(strstr(reply, "\"detail\""));
        assert_null(strstr(reply, " 101 "));
        free(reply);
    }

    /* A rebinding Host gets 421 on any request; our names are answered. */
    const struct {
        const char *host;
        const char *want;
    } hosts[] = {
        {"rebind.example:8000", " 421 "},
        {"localhost", " 200 "},
        {"LOCALHOST.:1234", " 200 "},
        {"[::1]:8000", " 200 "},
        {"127.0.0.1", " 200 "},
    };
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET /api/transcriptions/ HTTP/1.1\r\n"
                 "Host: %s\r\nConnection: close\r\n\r\n", hosts[i].host);
        tu_piece piece = {req, 0};
        char *reply = NULL;
        tu_raw_http(&srv, &piece, 1, &reply);
        if (strstr(reply, hosts[i].want) == NULL)
            fprintf(stderr, "Host %s -> %s\n", hosts[i].host, reply);
        assert_non_null(strstr(reply, hosts[i].want));
        free(reply);
    }
}

/* Every answer says what a browser may load and run. */
static void test_security_headers(void **state)
{
    const char *paths[] = {"/", "/static/app.js", "/api/transcriptions/",
                           "/api/nothing", "/api/docs"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *body, *headers;
        tu_http_full(&srv, "GET", paths[i], NULL, NULL, &body, &headers);
        assert_non_null(strcasestr(headers, "content-security-policy: "
                                            "default-src 'self'"));
        assert_non_null(strcasestr(headers, "frame-ancestors 'none'"));
        assert_non_null(strcasestr(headers, "x-content-type-options: nosniff"));
        assert_non_null(strcasestr(headers, "referrer-policy: no-referrer"));
        free(body);
        free(headers);
    }
}

/* Adds a segment the way a session does, through the live socket. */
static long long transcription_with_speech(void)
{
    long long id = tu_create(&srv, "Exported: notes #1");
    size_t len;
    int16_t *all = tu_padded_speech("Please open the window.", 300, 800, &len);
    char path[64];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(&srv, path);
    tu_ws_send_pcm(ws, all, len, 100);
    free(all);
    const char *cs = "{\"type\": \"CloseStream\"}";
    wsclient_send(ws, WS_TEXT, cs, strlen(cs));
    tu_msg *msgs;
    int code;
    int count = tu_ws_collect(ws, 30000, &msgs, &code);
    tu_msgs_free(msgs, count);
    wsclient_abort(ws);
    assert_int_equal(code, 1000);
    return id;
}

static void test_exports(void **state)
{
    long long id = transcription_with_speech();
    static const char *const formats[][2] = {
        {"txt", "text/plain"}, {"srt", "application/x-subrip"},
        {"vtt", "text/vtt"}, {"json", "application/json"}};
    for (int i = 0; i < 4; i++) {
        char path[96], *body, *headers, want[96];
        snprintf(path, sizeof(path), "/api/transcriptions/%lld/export.%s", id,
                 formats[i][0]);
        assert_int_equal(tu_http_full(&srv, "GET", path, NULL, NULL, &body,
                                      &headers), 200);
        snprintf(want, sizeof(want), "content-type: %s", formats[i][1]);
        assert_non_null(strcasestr(headers, want));
        snprintf(want, sizeof(want), "filename=\"exported-notes-1.%s\"",
                 formats[i][0]);
        assert_non_null(strstr(headers, want));
        assert_non_null(strcasestr(body, "window"));
        free(headers);
        free(body);
    }
    char path[96], *body;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/export.srt", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
    assert_int_equal(strncmp(body, "1\n00:00:00,", 11), 0);
    assert_non_null(strstr(body, " --> 00:00:0"));
    free(body);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/export.vtt", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
    assert_int_equal(strncmp(body, "WEBVTT\n\n00:00:00.", 17), 0);
    free(body);
    cJSON_Delete(call("GET", "/api/transcriptions/999999/export.txt", NULL, 404));
    cJSON_Delete(call("GET", "/api/transcriptions/1/export.doc", NULL, 404));
    assert_invalid(call("GET", "/api/transcriptions/x/export.json", NULL, 422),
                   "int_parsing", "transcription_id");

    /* The list's summary, when asked for. */
    cJSON *list = call("GET", "/api/transcriptions/?summary=true", NULL, 200);
    const cJSON *first = cJSON_GetArrayItem(list, 0);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "duration")) > 1.0);
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "segment_count")), 1);
    assert_non_null(strstr(str(first, "preview"), "window"));
    cJSON_Delete(list);
    list = call("GET", "/api/transcriptions/", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetArrayItem(list, 0)), 3);
    cJSON_Delete(list);

    /* A title with letters beyond ASCII: an ASCII name, and the UTF-8 one
     * as filename* (RFC 6266), whole characters, percent-encoded. */
    static const char *const titles[][3] = {
        {"R\xc3\xa9union d'\xc3\xa9quipe \xe6\x97\xa5\xe6\x9c\xac",
         "filename=\"r-union-d-quipe.txt\"",
         "filename*=UTF-8''r%C3%A9union-d-%C3%A9quipe-%E6%97%A5%E6%9C%AC.txt"},
        {"\xe6\x97\xa5\xe6\x9c\xac", "filename=\"transcript.txt\"",
         "filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"},
    };
    for (int i = 0; i < 2; i++) {
        char *headers;
        snprintf(path, sizeof(path), "/api/transcriptions/%lld/export.txt",
                 tu_create(&srv, titles[i][0]));
        assert_int_equal(tu_http_full(&srv, "GET", path, NULL, NULL, &body,
                                      &headers), 200);
        if (!strstr(headers, titles[i][1]) || !strstr(headers, titles[i][2]))
            fail_msg("%s: %s", titles[i][0], headers);
        free(headers);
        free(body);
    }
    /* An ASCII title has no filename*. */
    char *headers;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/export.txt", id);
    assert_int_equal(tu_http_full(&srv, "GET", path, NULL, NULL, &body, &headers),
                     200);
    assert_null(strstr(headers, "filename*"));
    free(headers);
    free(body);
}

static void test_segment_correction(void **state)
{
    long long id = transcription_with_speech();
    char path[96];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    cJSON *segs = call("GET", path, NULL, 200);
    int sid = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(segs, 0), "id"));
    cJSON_Delete(segs);
    char words_path[128];
    snprintf(words_path, sizeof(words_path),
             "/api/transcriptions/%lld/segments/?words=true", id);
    segs = call("GET", words_path, NULL, 200);
    cJSON *before = cJSON_Duplicate(
        cJSON_GetObjectItem(cJSON_GetArrayItem(segs, 0), "words"), 1);
    cJSON_Delete(segs);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/%d/", id, sid);
    cJSON *seg = call("PATCH", path, "{\"text\": \"Please open the door.\"}", 200);
    assert_string_equal(str(seg, "text"), "Please open the door.");
    assert_int_equal(cJSON_GetArraySize(seg), 6);
    cJSON_Delete(seg);
    /* The words follow the text: the same three keep their times, the
     * new one takes the replaced word's. */
    segs = call("GET", words_path, NULL, 200);
    const cJSON *after = cJSON_GetObjectItem(cJSON_GetArrayItem(segs, 0), "words");
    int n = cJSON_GetArraySize(before);
    assert_int_equal(n, 4); /* please open the window */
    assert_int_equal(cJSON_GetArraySize(after), 4);
    for (int i = 0; i < 4; i++) {
        const cJSON *a = cJSON_GetArrayItem(before, i), *b = cJSON_GetArrayItem(after, i);
        assert_string_equal(str(b, "word"), i < 3 ? str(a, "word") : "door");
        assert_float_equal(num(b, "start"), num(a, "start"), 0.0011);
        assert_float_equal(num(b, "end"), num(a, "end"), 0.0011);
    }
    cJSON_Delete(before);
    cJSON_Delete(segs);
    assert_invalid(call("PATCH", path, "{\"text\": 5}", 422), "string_type", "text");
    assert_invalid(call("PATCH", path, "{}", 422), "missing", "text");
    /* Moved to another speaker, the text kept; to none; both at once. */
    seg = call("PATCH", path, "{\"speaker\": \"speaker_3\"}", 200);
    assert_string_equal(str(seg, "speaker"), "speaker_3");
    assert_string_equal(str(seg, "text"), "Please open the door.");
    cJSON_Delete(seg);
    seg = call("PATCH", path, "{\"speaker\": null}", 200);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(seg, "speaker")));
    cJSON_Delete(seg);
    seg = call("PATCH", path, "{\"text\": \"Please open the door now.\", "
                              "\"speaker\": \"speaker_0\"}", 200);
    assert_string_equal(str(seg, "speaker"), "speaker_0");
    assert_string_equal(str(seg, "text"), "Please open the door now.");
    cJSON_Delete(seg);
    assert_invalid(call("PATCH", path, "{\"speaker\": \"Bob\"}", 422),
                   "label_invalid", "speaker");
    assert_invalid(call("PATCH", path, "{\"speaker\": 5}", 422), "string_type",
                   "speaker");
    cJSON_Delete(call("PATCH", path, "{\"text\": \"Please open the door.\"}", 200));
    /* Another transcription's segment, and no such segment. */
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/%d/", id + 1000, sid);
    cJSON_Delete(call("PATCH", path, "{\"text\": \"x\"}", 404));
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/99999/", id);
    cJSON_Delete(call("PATCH", path, "{\"text\": \"x\"}", 404));
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/abc/", id);
    assert_invalid(call("PATCH", path, "{\"text\": \"x\"}", 422), "int_parsing",
                   "segment_id");
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/export.txt", id);
    char *body;
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
    assert_non_null(strstr(body, "Please open the door."));
    free(body);
}

/* GET /api/search?q=... (q URL-encoded already): its total. */
static int search_total(const char *q)
{
    char path[200];
    snprintf(path, sizeof(path), "/api/search?q=%s&limit=100", q);
    cJSON *r = call("GET", path, NULL, 200);
    int total = (int)num(r, "total");
    cJSON_Delete(r);
    return total;
}

/* The hit for transcription id in a search's results, or NULL. */
static const cJSON *hit_of(const cJSON *r, long long id)
{
    const cJSON *hit;
    cJSON_ArrayForEach(hit, cJSON_GetObjectItem(r, "results"))
        if ((long long)num(hit, "transcription_id") == id)
            return hit;
    return NULL;
}

/*
 * Search: a title's words and a segment's, prefixes as typed, case and
 * accents ignored; a correction and a deletion are found (or not) at
 * once; snippets mark the words, escaped for HTML; bad queries are 422.
 * (Other tests' transcripts say "Please open the window." too: counts
 * are taken before and after.)
 */
static void test_search(void **state)
{
    int windows = search_total("window"), hatches = search_total("hatch");
    long long id = transcription_with_speech();
    char path[160];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/", id);
    cJSON_Delete(call("PATCH", path, "{\"title\": \"Café <b>planning</b> & notes\"}", 200));
    assert_int_equal(search_total("window"), windows + 1);
    cJSON *r = call("GET", "/api/search?q=WIND&limit=100", NULL, 200);
    const cJSON *hit = hit_of(r, id);
    assert_non_null(hit);
    assert_true(num(hit, "segment_id") > 0);
    assert_true(num(hit, "start_time") >= 0 && num(hit, "end_time") > num(hit, "start_time"));
    assert_non_null(strstr(str(hit, "snippet_html"), "<mark>window</mark>"));
    assert_null(strstr(str(hit, "snippet"), "<mark>"));
    cJSON_Delete(r);
    /* The title, accents aside, escaped for HTML. */
    r = call("GET", "/api/search?q=cafe+planning", NULL, 200);
    assert_int_equal(num(r, "total"), 1);
    hit = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "results"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(hit, "segment_id")));
    assert_string_equal(str(hit, "snippet"), "Café <b>planning</b> & notes");
    assert_string_equal(str(hit, "snippet_html"),
                        "<mark>Café</mark> &lt;b&gt;<mark>planning</mark>&lt;/b&gt; &amp; notes");
    cJSON_Delete(r);
    /* Every word must be there. */
    assert_int_equal(search_total("window+elephant"), 0);
    /* A correction is found at once, the old words no longer. */
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    cJSON *segs = call("GET", path, NULL, 200);
    int sid = (int)num(cJSON_GetArrayItem(segs, 0), "id");
    cJSON_Delete(segs);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/%d/", id, sid);
    cJSON_Delete(call("PATCH", path, "{\"text\": \"Please open the hatch.\"}", 200));
    assert_int_equal(search_total("hatch"), hatches + 1);
    assert_int_equal(search_total("window"), windows);
    /* Pages: limit and offset, the total the same on each. */
    int total = search_total("please");
    assert_true(total >= 1);
    r = call("GET", "/api/search?q=please&limit=1", NULL, 200);
    assert_int_equal(num(r, "total"), total);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "results")), 1);
    cJSON_Delete(r);
    r = call("GET", "/api/search?q=please&limit=1&offset=100000", NULL, 200);
    assert_int_equal(num(r, "total"), total);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "results")), 0);
    cJSON_Delete(r);
    /* Deleted: gone from the results. */
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/", id);
    cJSON_Delete(call("DELETE", path, NULL, 204));
    assert_int_equal(search_total("hatch"), hatches);
    assert_int_equal(search_total("cafe+planning"), 0);
    assert_invalid(call("GET", "/api/search", NULL, 422), "missing", "q");
    assert_invalid(call("GET", "/api/search?q=%22%2A%28", NULL, 422),
                   "string_too_short", "q");
    assert_invalid(call("GET", "/api/search?q=a&limit=0", NULL, 422),
                   "greater_than_equal", "limit");
}

/* What a watcher gets within timeout_ms: its messages joined by '\n'. */
static char *watcher_gets(wsclient *ws, int timeout_ms)
{
    tu_msg *msgs;
    int close_code;
    int n = tu_ws_collect(ws, timeout_ms, &msgs, &close_code);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(msgs[i].text ? msgs[i].text : "") + 1;
    char *all = calloc(1, len);
    for (int i = 0; i < n; i++) {
        strcat(all, msgs[i].text ? msgs[i].text : "");
        strcat(all, "\n");
    }
    tu_msgs_free(msgs, n);
    return all;
}

/* A person's edits reach the transcription's watchers as they happen:
 * the corrected or moved segment, and the speakers' names. */
static void test_edits_reach_watchers(void **state)
{
    long long id = transcription_with_speech();
    char path[128];
    snprintf(path, sizeof(path), "/ws/watch/%lld", id);
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    free(watcher_gets(ws, 1000)); /* the status and the stored finals */
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    cJSON *segs = call("GET", path, NULL, 200);
    int sid = (int)num(cJSON_GetArrayItem(segs, 0), "id");
    cJSON_Delete(segs);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/%d/", id, sid);
    cJSON_Delete(call("PATCH", path, "{\"text\": \"Please shut the window.\", "
                                     "\"speaker\": \"speaker_2\"}", 200));
    char *got = watcher_gets(ws, 1000);
    cJSON *msg = cJSON_Parse(got);
    assert_non_null(msg);
    const cJSON *payload = cJSON_GetObjectItem(msg, "payload");
    assert_string_equal(str(payload, "type"), "segment_updated");
    const cJSON *seg = cJSON_GetObjectItem(payload, "segment");
    assert_int_equal(num(seg, "id"), sid);
    assert_string_equal(str(seg, "text"), "Please shut the window.");
    assert_string_equal(str(seg, "speaker"), "speaker_2");
    /* Its words as realigned: "shut" where "open" was. */
    const cJSON *words = cJSON_GetObjectItem(seg, "words");
    assert_string_equal(str(cJSON_GetArrayItem(words, 1), "word"), "shut");
    cJSON_Delete(msg);
    free(got);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/speakers/", id);
    cJSON_Delete(call("PATCH", path, "{\"speaker_2\": \"Dana\"}", 200));
    got = watcher_gets(ws, 1000);
    assert_non_null(strstr(got, "\"type\":\"speakers_named\",\"names\":{\"speaker_2\":\"Dana\"}"));
    free(got);
    wsclient_abort(ws);
}

static void test_speaker_names(void **state)
{
    long long id = tu_create(&srv, "speakers");
    char path[96];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/speakers/", id);
    cJSON *names = call("GET", path, NULL, 200);
    assert_int_equal(cJSON_GetArraySize(names), 0);
    cJSON_Delete(names);
    names = call("PATCH", path, "{\"speaker_0\": \"Alice\", \"speaker_1\": \"Bob\"}", 200);
    assert_string_equal(str(names, "speaker_0"), "Alice");
    assert_string_equal(str(names, "speaker_1"), "Bob");
    cJSON_Delete(names);
    names = call("PATCH", path, "{\"speaker_1\": null, \"speaker_0\": \"Alicia\"}", 200);
    assert_int_equal(cJSON_GetArraySize(names), 1);
    assert_string_equal(str(names, "speaker_0"), "Alicia");
    cJSON_Delete(names);
    assert_invalid(call("PATCH", path, "{\"speaker_0\": 3}", 422), "string_type",
                   "speaker_0");
    assert_invalid(call("PATCH", path, "[]", 422), "model_attributes_type", NULL);
    /* A name given twice: every value is checked (a number after a string
     * once crashed the server), and the last one counts. */
    assert_invalid(call("PATCH", path, "{\"speaker_0\": \"A\", \"speaker_0\": 5}",
                        422), "string_type", "speaker_0");
    names = call("PATCH", path, "{\"speaker_0\": \"A\", \"speaker_0\": \"B\"}", 200);
    assert_string_equal(str(names, "speaker_0"), "B");
    cJSON_Delete(names);
    char body[400] = "{\"speaker_0\": \"";
    for (int i = 0; i < 101; i++)
        strcat(body, "a");
    strcat(body, "\"}");
    assert_invalid(call("PATCH", path, body, 422), "string_too_long", "speaker_0");
    cJSON_Delete(call("GET", "/api/transcriptions/999999/speakers/", NULL, 404));
    cJSON_Delete(call("PATCH", "/api/transcriptions/999999/speakers/",
                      "{\"speaker_0\": \"x\"}", 404));
}

/* The words a transcription's sessions are taught: Deepgram's
 * "WORD:BOOST" or objects in, objects out; refusals say why. */
static void test_vocabulary(void **state)
{
    long long id = tu_create(&srv, "vocabulary");
    char path[96];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/vocabulary", id);
    cJSON *v = call("GET", path, NULL, 200);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(v, "keywords");
    assert_true(cJSON_IsArray(list));
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(v);
    v = call("PUT", path, "{\"keywords\": [\"Zentrix:2\", {\"word\": "
             "\"O'Brien\"}, {\"word\": \"Wi-Fi\", \"boost\": 1.5}, "
             "\"zentrix:3\"]}", 200);
    list = cJSON_GetObjectItemCaseSensitive(v, "keywords");
    assert_int_equal(cJSON_GetArraySize(list), 3);
    const cJSON *first = cJSON_GetArrayItem(list, 0);
    assert_string_equal(str(first, "word"), "zentrix");
    assert_true(cJSON_GetObjectItem(first, "boost")->valuedouble == 3);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "boost")
                    ->valuedouble == 1);
    cJSON_Delete(v);
    char *stored = NULL;
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &stored), 200);
    assert_non_null(strstr(stored, "\"Wi-Fi\",\"boost\":1.5"));
    free(stored);

    assert_invalid(call("PUT", path, "{\"keywords\": [\"two words\"]}", 422),
                   "keyword_invalid", "keywords");
    assert_invalid(call("PUT", path, "{\"keywords\": [{\"word\": \"x\", "
                        "\"boost\": 12}]}", 422), "keyword_invalid", "keywords");
    assert_invalid(call("PUT", path, "{\"keywords\": [{\"word\": \"x\", "
                        "\"boost\": \"high\"}]}", 422), "keyword_type", "keywords");
    assert_invalid(call("PUT", path, "{\"keywords\": [\"a,b\"]}", 422),
                   "keyword_type", "keywords");
    /* Too long, as a string or an object: the same reason either way. */
    char body[4096];
    snprintf(body, sizeof(body), "{\"keywords\": [\"%0200d\"]}", 0);
    memset(strchr(body, '0'), 'a', 200);
    cJSON *json = call("PUT", path, body, 422);
    char *printed = cJSON_PrintUnformatted(json);
    assert_non_null(strstr(printed, "longer than 47"));
    free(printed);
    assert_invalid(json, "keyword_invalid", "keywords");
    snprintf(body, sizeof(body), "{\"keywords\": [{\"word\": \"%0200d\"}]}", 0);
    memset(strchr(body, '0'), 'a', 200);
    assert_invalid(call("PUT", path, body, 422), "keyword_invalid", "keywords");
    assert_invalid(call("PUT", path, "{\"keywords\": \"Zentrix\"}", 422),
                   "list_type", "keywords");
    assert_invalid(call("PUT", path, "{}", 422), "list_type", "keywords");
    strcpy(body, "{\"keywords\": [");
    for (int i = 0; i < 101; i++)
        sprintf(body + strlen(body), "%s\"w%c%c\"", i ? "," : "", 'a' + i / 26,
                'a' + i % 26);
    strcat(body, "]}");
    assert_invalid(call("PUT", path, body, 422), "keyword_invalid", "keywords");
    /* A refused list changes nothing. */
    v = call("GET", path, NULL, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "keywords")), 3);
    cJSON_Delete(v);
    v = call("PUT", path, "{\"keywords\": []}", 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "keywords")), 0);
    cJSON_Delete(v);
    cJSON_Delete(call("GET", "/api/transcriptions/999999/vocabulary", NULL, 404));
    cJSON_Delete(call("PUT", "/api/transcriptions/999999/vocabulary",
                      "{\"keywords\": []}", 404));
}

static void test_web_app_served(void **state)
{
    char *body, *headers;
    assert_int_equal(tu_http_full(&srv, "GET", "/", NULL, NULL, &body, &headers), 200);
    assert_non_null(strcasestr(headers, "content-type: text/html"));
    assert_non_null(strstr(body, "/static/app.js"));
    free(body);
    free(headers);
    assert_int_equal(tu_http(&srv, "GET", "/t/42", NULL, &body), 200);
    assert_non_null(strstr(body, "/static/app.js"));
    free(body);
    assert_int_equal(tu_http_full(&srv, "GET", "/static/app.js", NULL, NULL, &body,
                                  &headers), 200);
    assert_non_null(strcasestr(headers, "content-type: text/javascript"));
    free(body);
    free(headers);
    assert_int_equal(tu_http(&srv, "GET", "/api/docs", NULL, &body), 200);
    assert_non_null(strstr(body, "/static/docs.js"));
    free(body);
    assert_int_equal(tu_http(&srv, "GET", "/static/../../etc/passwd", NULL, &body), 404);
    free(body);
    assert_int_equal(tu_http(&srv, "GET", "/static/missing.js", NULL, &body), 404);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_create_get_list),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_bad_id),
        cmocka_unit_test(test_invalid_bodies),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_chunked_bodies),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_rename_and_delete),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_route_errors),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_http_queue),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_same_origin),
        cmocka_unit_test(test_security_headers),
        cmocka_unit_test(test_exports),
        cmocka_unit_test(test_segment_correction),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_edits_reach_watchers),
        cmocka_unit_test(test_speaker_names),
        cmocka_unit_test(test_vocabulary),
        cmocka_unit_test(test_web_app_served),
    };
    return cmocka_run_group_tests_name("rest", tests, setup, teardown);
}
