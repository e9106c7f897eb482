/* fuzz_api.c - the REST API (api/api.c) behind the HTTP parser: routes,
 * ids, query strings and JSON bodies, on a store of its own holding one
 * transcription with segments, word timings and speaker names.
 *
 * An input is up to four requests, each ended by a NUL byte:
 *   byte 0      the method (GET, POST, PATCH, DELETE, PUT, OPTIONS), and
 *               in what is left above them (byte / 6): keys required
 *               (bit 0), the caller's scope (bits 1-2), signed in by
 *               cookie (bit 3; the query is the cookie), and bit 4: the
 *               body is also read as "AUTHORIZATION\nPROTOCOLS" headers
 *               by auth_key_from_headers()
 *   byte 1      one of the API's paths for transcription 1 (or, past the
 *               list, the path is the first line of what follows)
 *   the rest    "QUERY\nBODY" (no newline: all body, no query)
 * so that a request can change what the next one reads: a corrected text
 * then its subtitles, a deletion then its segments.  Every answer must
 * have a real status and a body that is UTF-8. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "util/log.h"
#include "util/utf8.h"

static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT",
                                      "OPTIONS"};
static const char *const paths[] = {
    "/api/health", "/api/openapi.json", "/api/transcriptions/",
    "/api/transcriptions/1/", "/api/transcriptions/1/segments/",
    "/api/transcriptions/1/segments/1/", "/api/transcriptions/1/segments/2/",
    "/api/transcriptions/1/speakers/", "/api/transcriptions/1/export.txt",
    "/api/transcriptions/1/export.srt", "/api/transcriptions/1/export.vtt",
    "/api/transcriptions/1/export.json", "/api/transcriptions/1/export.rttm",
    "/api/session", "/api/transcriptions/?limit=2&offset=1",
};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))
#define N_PATHS (sizeof(paths) / sizeof(paths[0]))

static void add_segment(store_t *store, const char *text, const char *speaker,
                        double start, double end, const char *words)
{
    store_segment seg = {.transcription_id = 1, .text = (char *)text,
                         .speaker = (char *)speaker, .start_time = start,
                         .end_time = end, .is_final = 1,
                         .words_json = (char *)words};
    store_segment_add(store, &seg);
}

static store_t *seeded_store(void)
{
    store_t *store;
    char err[256];
    if (store_open(":memory:", &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_api: %s\n", err);
        abort();
    }
    store_transcription t;
    store_transcription_create(store, "Weekly sync", &t);
    add_segment(store, "Please open the window.", "speaker_0", 0.5, 2.1,
                "[{\"word\":\"please\",\"start\":0.5,\"end\":0.8},"
                "{\"word\":\"open\",\"start\":0.8,\"end\":1.1},"
                "{\"word\":\"the\",\"start\":1.1,\"end\":1.3},"
                "{\"word\":\"window\",\"start\":1.3,\"end\":2.1}]");
    add_segment(store, "I would like a cup of coffee and a very long sentence "
                "that needs more than one subtitle line to be shown.",
                "speaker_1", 2.5, 12.0, NULL);
    store_speaker_set(store, 1, "speaker_0", "Alice");
    return store;
}

static void one_request(const api_context *ctx, const uint8_t *data, size_t len)
{
    if (len < 2)
        return;
    unsigned flags = data[0] / N_METHODS;
    api_request req = {.method = methods[data[0] % N_METHODS],
                       .auth_required = flags & 1,
                       .scope = (int)(flags >> 1) & 3,
                       .via_session = (flags >> 3) & 1};
    req.principal = req.auth_required && req.scope > 0 ? "fuzz-key" : "";
    char *rest = strndup((const char *)data + 2, len - 2);
    char *path = NULL;
    char *cursor = rest;
    if (data[1] % (N_PATHS + 1) < N_PATHS) {
        req.path = paths[data[1] % (N_PATHS + 1)];
    } else {
        path = strsep(&cursor, "\n");
        req.path = path;
    }
    char *newline = cursor ? strchr(cursor, '\n') : NULL;
    if (newline != NULL) {
        *newline = '\0';
        req.query = cursor;
        cursor = newline + 1;
    }
    req.body = cursor;
    req.body_len = cursor ? strlen(cursor) : 0;
    req.session_token = req.via_session && req.query ? req.query : "";
    if ((flags & 16) && cursor != NULL) { /* the credentials' parser */
        char *headers = strdup(cursor), *protocols = strchr(headers, '\n');
        if (protocols != NULL)
            *protocols++ = '\0';
        char key[64];
        if (auth_key_from_headers(headers, protocols, key, sizeof(key)) == 0 &&
            (key[0] == '\0' || strpbrk(key, " ,") != NULL ||
             (strstr(headers, key) == NULL &&
              (protocols == NULL || strstr(protocols, key) == NULL))))
            abort(); /* a key is a non-empty word of what was sent */
        free(headers);
    }
    api_response res;
    api_handle(ctx, &req, &res);
    if (res.status < 200 || res.status > 599)
        abort(); /* every request gets a real status */
    if (res.body != NULL && !utf8_valid(res.body, res.body_len))
        abort(); /* JSON and the exports are UTF-8, whatever came in */
    api_response_free(&res);
    free(rest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static int quiet;
    if (!quiet) {
        log_set_level(LOG_ERROR);
        quiet = 1;
    }
    store_t *store = seeded_store();
    api_context ctx = {.store = store, .version = "fuzz"};
    for (int i = 0; i < 4 && len > 0; i++) {
        const uint8_t *end = memchr(data, 0, len);
        size_t n = end ? (size_t)(end - data) : len;
        one_request(&ctx, data, n);
        data += n + (end != NULL);
        len -= n + (end != NULL);
    }
    store_close(store);
    return 0;
}
