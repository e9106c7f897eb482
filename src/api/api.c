/*
 * api.c - routing, validation and the handlers of the REST API (api.h).
 *
 * Validation errors mirror the reference application, which was built on
 * FastAPI: status 422 with {"detail": [{"type", "loc", "msg", "input"}]},
 * one entry per problem, so its clients can show them unchanged.
 */
#include "api.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "routes.h"

void api_response_free(api_response *res)
{
    free(res->body);
    res->body = NULL;
}

static void respond_json(api_response *out, int status, cJSON *json)
{
    out->status = status;
    out->content_type = "application/json";
    out->body = json ? cJSON_PrintUnformatted(json) : NULL;
    out->body_len = out->body ? strlen(out->body) : 0;
    cJSON_Delete(json);
    if (json != NULL && out->body == NULL) {
        out->status = 500;
        out->body = strdup("{\"detail\":\"Out of memory\"}");
        out->body_len = out->body ? strlen(out->body) : 0;
    }
}

void api_error_response(int status, const char *message, api_response *out)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "detail", message);
    respond_json(out, status, json);
}

/* A 422 with one problem, FastAPI style.  input may be NULL. */
static void respond_invalid(api_response *out, const char *type,
                            const char *where, const char *field,
                            const char *msg, const cJSON *input)
{
    cJSON *json = cJSON_CreateObject();
    cJSON *detail = cJSON_AddArrayToObject(json, "detail");
    cJSON *problem = cJSON_CreateObject();
    cJSON_AddItemToArray(detail, problem);
    cJSON_AddStringToObject(problem, "type", type);
    cJSON *loc = cJSON_AddArrayToObject(problem, "loc");
    cJSON_AddItemToArray(loc, cJSON_CreateString(where));
    if (field != NULL)
        cJSON_AddItemToArray(loc, cJSON_CreateString(field));
    cJSON_AddStringToObject(problem, "msg", msg);
    cJSON_AddItemToObject(problem, "input",
                          input ? cJSON_Duplicate(input, 1) : cJSON_CreateNull());
    respond_json(out, 422, json);
}

static void respond_store_error(api_response *out, int rc)
{
    if (rc == VB_ENOTFOUND)
        api_error_response(404, "Not Found", out);
    else
        api_error_response(500, "The database failed; see the server log", out);
}

static double round_ms(double seconds)
{
    return round(seconds * 1000.0) / 1000.0;
}

static cJSON *transcription_json(const store_transcription *t)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "id", (double)t->id);
    cJSON_AddStringToObject(json, "title", t->title);
    cJSON_AddStringToObject(json, "created_at", t->created_at);
    return json;
}

static cJSON *segment_json(const store_segment *seg)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "id", (double)seg->id);
    cJSON_AddStringToObject(json, "text", seg->text);
    if (seg->speaker)
        cJSON_AddStringToObject(json, "speaker", seg->speaker);
    else
        cJSON_AddNullToObject(json, "speaker");
    cJSON_AddNumberToObject(json, "start_time", round_ms(seg->start_time));
    cJSON_AddNumberToObject(json, "end_time", round_ms(seg->end_time));
    cJSON_AddBoolToObject(json, "is_final", seg->is_final);
    return json;
}

/* Counts UTF-8 characters (bytes that do not continue a sequence). */
static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/*
 * Parses a body that must be a JSON object with a string "title".
 * Returns the title item, or NULL after filling a 422 response.
 * *doc must be cJSON_Delete'd by the caller either way.
 */
static const cJSON *parse_title_body(const api_request *req, cJSON **doc,
                                     api_response *out)
{
    *doc = NULL;
    const char *end = NULL;
    if (req->body != NULL && req->body_len > 0)
        *doc = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    if (*doc == NULL) {
        if (req->body_len == 0)
            respond_invalid(out, "missing", "body", NULL,
                            "Field required: send a JSON body such as "
                            "{\"title\": \"Weekly sync\"}", NULL);
        else
            respond_invalid(out, "json_invalid", "body", NULL,
                            "JSON decode error: the body is not valid JSON",
                            NULL);
        return NULL;
    }
    for (; end && end < req->body + req->body_len; end++) {
        if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
            respond_invalid(out, "json_invalid", "body", NULL,
                            "JSON decode error: extra data after the JSON "
                            "value", NULL);
            return NULL;
        }
    }
    if (!cJSON_IsObject(*doc)) {
        respond_invalid(out, "model_attributes_type", "body", NULL,
                        "Input should be a valid dictionary or object", *doc);
        return NULL;
    }
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(*doc, "title");
    if (title == NULL) {
        respond_invalid(out, "missing", "body", "title", "Field required",
                        *doc);
        return NULL;
    }
    if (!cJSON_IsString(title)) {
        respond_invalid(out, "string_type", "body", "title",
                        "Input should be a valid string", title);
        return NULL;
    }
    if (utf8_length(title->valuestring) > STORE_TITLE_MAX_CHARS) {
        respond_invalid(out, "string_too_long", "body", "title",
                        "String should have at most 255 characters", title);
        return NULL;
    }
    return title;
}

static void handle_health(const route_call *call, api_response *out)
{
    api_health h = {0};
    if (call->ctx->health)
        call->ctx->health(call->ctx->health_ctx, &h);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "status", "ok");
    cJSON_AddStringToObject(json, "version", call->ctx->version);
    cJSON_AddStringToObject(json, "store", store_backend(call->ctx->store));
    cJSON_AddNumberToObject(json, "sessions", h.sessions);
    cJSON_AddNumberToObject(json, "max_sessions", h.max_sessions);
    cJSON_AddNumberToObject(json, "workers", h.workers);
    cJSON_AddNumberToObject(json, "decoders", h.decoders);
    cJSON_AddNumberToObject(json, "decoders_in_use", h.decoders_in_use);
    cJSON_AddNumberToObject(json, "store_queue", h.store_queue);
    respond_json(out, 200, json);
}

static void handle_openapi(const route_call *call, api_response *out)
{
    out->status = 200;
    out->content_type = "application/json";
    out->body = api_openapi_json(call->ctx->version);
    out->body_len = out->body ? strlen(out->body) : 0;
    if (out->body == NULL)
        api_error_response(500, "Out of memory", out);
}

static void handle_list(const route_call *call, api_response *out)
{
    store_transcription *items = NULL;
    size_t n = 0;
    int rc = store_transcription_list(call->ctx->store, &items, &n);
    if (rc != 0) {
        respond_store_error(out, rc);
        return;
    }
    cJSON *json = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(json, transcription_json(&items[i]));
    free(items);
    respond_json(out, 200, json);
}

static void handle_create(const route_call *call, api_response *out)
{
    cJSON *doc;
    const cJSON *title = parse_title_body(call->req, &doc, out);
    if (title != NULL) {
        store_transcription t;
        int rc = store_transcription_create(call->ctx->store,
                                            title->valuestring, &t);
        if (rc == 0) {
            log_info("api", "transcription %lld created", (long long)t.id);
            respond_json(out, 200, transcription_json(&t));
        } else {
            respond_store_error(out, rc);
        }
    }
    cJSON_Delete(doc);
}

static void handle_get(const route_call *call, api_response *out)
{
    store_transcription t;
    int rc = store_transcription_get(call->ctx->store, call->id, &t);
    if (rc != 0)
        respond_store_error(out, rc);
    else
        respond_json(out, 200, transcription_json(&t));
}

static void handle_rename(const route_call *call, api_response *out)
{
    cJSON *doc;
    const cJSON *title = parse_title_body(call->req, &doc, out);
    if (title != NULL) {
        store_transcription t;
        int rc = store_transcription_rename(call->ctx->store, call->id,
                                            title->valuestring, &t);
        if (rc != 0)
            respond_store_error(out, rc);
        else
            respond_json(out, 200, transcription_json(&t));
    }
    cJSON_Delete(doc);
}

static void handle_delete(const route_call *call, api_response *out)
{
    int rc = store_transcription_delete(call->ctx->store, call->id);
    if (rc != 0) {
        respond_store_error(out, rc);
        return;
    }
    log_info("api", "transcription %lld deleted", (long long)call->id);
    out->status = 204;
    out->body = NULL;
    out->body_len = 0;
    out->content_type = "application/json";
}

static void handle_segments(const route_call *call, api_response *out)
{
    store_transcription t;
    int rc = store_transcription_get(call->ctx->store, call->id, &t);
    store_segment *segs = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = store_segment_list(call->ctx->store, call->id, &segs, &n);
    if (rc != 0) {
        respond_store_error(out, rc);
        return;
    }
    cJSON *json = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(json, segment_json(&segs[i]));
    store_segments_free(segs, n);
    respond_json(out, 200, json);
}

const route api_routes[] = {
    {"GET", "/api/health", handle_health, "health",
     "Whether the server can take work, with its load", NULL, 200, "Health",
     NULL, 0, 0},
    {"GET", "/api/openapi.json", handle_openapi, "openapi",
     "This document", NULL, 200, NULL, "application/json", 0, 0},
    {"GET", "/api/transcriptions/", handle_list, "list_transcriptions",
     "All transcriptions, newest first", NULL, 200, "[]Transcription", NULL,
     0, 0},
    {"POST", "/api/transcriptions/", handle_create, "create_transcription",
     "Create a transcription", "TranscriptionCreate", 200, "Transcription",
     NULL, 0, 1},
    {"GET", "/api/transcriptions/{id}/", handle_get, "get_transcription",
     "One transcription", NULL, 200, "Transcription", NULL, 1, 1},
    {"PATCH", "/api/transcriptions/{id}/", handle_rename,
     "update_transcription", "Rename a transcription", "TranscriptionCreate",
     200, "Transcription", NULL, 1, 1},
    {"DELETE", "/api/transcriptions/{id}/", handle_delete,
     "delete_transcription", "Delete a transcription and its segments", NULL,
     204, NULL, NULL, 1, 1},
    {"GET", "/api/transcriptions/{id}/segments/", handle_segments,
     "list_segments", "The stored final segments, ordered by start time",
     NULL, 200, "[]Segment", NULL, 1, 1},
};
const int api_route_count = (int)(sizeof(api_routes) / sizeof(api_routes[0]));

/*
 * Matches path against pattern segment by segment, ignoring a trailing
 * slash on either.  "{id}" matches any one non-empty segment, returned in
 * id (up to idlen bytes).
 */
static int path_matches(const char *pattern, const char *path, char *id,
                        size_t idlen)
{
    for (;;) {
        while (*pattern == '/')
            pattern++;
        while (*path == '/')
            path++;
        if (*pattern == '\0' || *path == '\0')
            return *pattern == '\0' && *path == '\0';
        size_t plen = strcspn(pattern, "/");
        size_t slen = strcspn(path, "/");
        if (plen == 4 && memcmp(pattern, "{id}", 4) == 0) {
            snprintf(id, idlen, "%.*s", (int)slen, path);
        } else if (plen != slen || memcmp(pattern, path, plen) != 0) {
            return 0;
        }
        pattern += plen;
        path += slen;
        /* "a//b" must not match "a/b": a doubled slash is a different path */
        if (*path == '/' && path[1] == '/')
            return 0;
    }
}

int api_owns_path(const char *path)
{
    char id[64];
    for (int i = 0; i < api_route_count; i++)
        if (path_matches(api_routes[i].pattern, path, id, sizeof(id)))
            return 1;
    return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

static int parse_id(const char *text, int64_t *out)
{
    if (*text == '\0')
        return VB_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == ' ' || text[0] == '+')
        return VB_EINVAL;
    *out = v;
    return 0;
}

void api_handle(const api_context *ctx, const api_request *req,
                api_response *out)
{
    memset(out, 0, sizeof(*out));
    int path_known = 0;
    for (int i = 0; i < api_route_count; i++) {
        const route *r = &api_routes[i];
        char id[256] = "";
        if (!path_matches(r->pattern, req->path, id, sizeof(id)))
            continue;
        path_known = 1;
        if (strcmp(r->method, req->method) != 0)
            continue;
        route_call call = {ctx, req, NULL, 0};
        if (strstr(r->pattern, "{id}") != NULL) {
            call.id_text = id;
            if (parse_id(id, &call.id) != 0) {
                cJSON *input = cJSON_CreateString(id);
                respond_invalid(out, "int_parsing", "path", "transcription_id",
                                "Input should be a valid integer, unable to "
                                "parse string as an integer", input);
                cJSON_Delete(input);
                return;
            }
        }
        r->handler(&call, out);
        return;
    }
    if (path_known)
        api_error_response(405, "Method Not Allowed", out);
    else
        api_error_response(404, "Not Found", out);
}
