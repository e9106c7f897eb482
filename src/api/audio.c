/*
 * audio.c - a transcription's kept audio (audio/keep.h):
 *   GET    /api/transcriptions/{id}/audio.ogg   the audio on the
 *          transcript's timeline as Ogg Opus, with byte ranges (a player
 *          seeks with them);
 *   DELETE /api/transcriptions/{id}/audio.ogg   forgets it;
 *   GET/PUT /api/transcriptions/{id}/keep-audio/ {"keep_audio": bool}:
 *          whether later sessions and uploads keep theirs.
 * The file is made from the stored packets on each request (about 1 MB per
 * 10 minutes, a few milliseconds to write).
 */
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audio/keep.h"
#include "../store/store.h"
#include "../util/log.h"
#include "../util/vb.h"
#include "routes.h"

/* A single "bytes=" range of a file of len bytes: 1 with [*from, *to]
 * (inclusive), 0 for the whole file (no header, or several ranges, which
 * a server may answer whole), -1 when it cannot be satisfied. */
static int byte_range(const char *header, size_t len, size_t *from, size_t *to)
{
    if (header == NULL || header[0] == '\0')
        return 0;
    if (strncmp(header, "bytes=", 6) != 0 || strchr(header, ',') != NULL)
        return 0;
    const char *p = header + 6;
    char *end;
    if (*p == '-') { /* the last n bytes */
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end != '\0' || n == 0 || len == 0)
            return -1;
        *from = n >= len ? 0 : len - (size_t)n;
        *to = len - 1;
        return 1;
    }
    unsigned long long a = strtoull(p, &end, 10);
    if (end == p || *end != '-')
        return -1;
    p = end + 1;
    unsigned long long b = len ? len - 1 : 0;
    if (*p != '\0') {
        b = strtoull(p, &end, 10);
        if (end == p || *end != '\0' || b < a)
            return -1;
    }
    if (a >= len)
        return -1;
    *from = (size_t)a;
    *to = b >= len ? len - 1 : (size_t)b;
    return 1;
}

void handle_audio_get(const route_call *call, api_response *out)
{
    store_audio_run *runs = NULL;
    size_t count = 0;
    int rc = store_audio_runs(call->ctx->store, call->id, &runs, &count);
    if (rc == 0 && count == 0) {
        int keep; /* which 404: no transcription, or no audio */
        rc = store_audio_keeping(call->ctx->store, call->id, &keep, NULL);
        if (rc == 0) {
            api_error_response(404, "this transcription has no kept audio",
                               out);
            return;
        }
    }
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    keep_run *list = malloc(count * sizeof(*list));
    size_t len = 0;
    uint8_t *ogg = NULL;
    if (list != NULL) {
        for (size_t i = 0; i < count; i++)
            list[i] = (keep_run){runs[i].packets, runs[i].len, runs[i].offset};
        ogg = keep_ogg(list, count, &len);
    }
    free(list);
    store_audio_runs_free(runs, count);
    if (ogg == NULL) {
        api_error_response(500, "Out of memory", out);
        return;
    }
    size_t from = 0, to = len - 1;
    int ranged = byte_range(call->req->range, len, &from, &to);
    out->accept_ranges = 1;
    if (ranged < 0) {
        free(ogg);
        snprintf(out->content_range, sizeof(out->content_range),
                 "bytes */%zu", len);
        api_error_response(416, "the range asked for is outside the audio",
                           out);
        return;
    }
    if (ranged > 0) {
        memmove(ogg, ogg + from, to - from + 1);
        snprintf(out->content_range, sizeof(out->content_range),
                 "bytes %zu-%zu/%zu", from, to, len);
    }
    out->status = ranged > 0 ? 206 : 200;
    out->body = (char *)ogg;
    out->body_len = to - from + 1;
    out->content_type = "audio/ogg";
}

void handle_audio_delete(const route_call *call, api_response *out)
{
    int rc = store_audio_delete(call->ctx->store, call->id);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    log_info("api", "transcription %lld: kept audio deleted",
             (long long)call->id);
    out->status = 204;
    out->body = NULL;
    out->body_len = 0;
    out->content_type = "application/json";
}

static void respond_keeping(api_response *out, int keep, int has)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddBoolToObject(json, "keep_audio", keep);
    cJSON_AddBoolToObject(json, "has_audio", has);
    route_respond_json(out, 200, json);
}

void handle_keep_audio_get(const route_call *call, api_response *out)
{
    int keep, has;
    int rc = store_audio_keeping(call->ctx->store, call->id, &keep, &has);
    if (rc != 0)
        route_store_error(out, rc);
    else
        respond_keeping(out, keep, has);
}

void handle_keep_audio_set(const route_call *call, api_response *out)
{
    cJSON *doc = route_object_body(call->req, out);
    if (doc == NULL)
        return;
    const cJSON *keep = cJSON_GetObjectItemCaseSensitive(doc, "keep_audio");
    if (!cJSON_IsBool(keep)) {
        route_invalid(out, keep ? "bool_type" : "missing", "body", "keep_audio",
                      keep ? "Input should be a valid boolean"
                           : "Field required", keep);
        cJSON_Delete(doc);
        return;
    }
    int on = cJSON_IsTrue(keep);
    cJSON_Delete(doc);
    int has = 0;
    int rc = store_audio_set_keeping(call->ctx->store, call->id, on);
    if (rc == 0)
        rc = store_audio_keeping(call->ctx->store, call->id, &on, &has);
    if (rc != 0)
        route_store_error(out, rc);
    else
        respond_keeping(out, on, has);
}
