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
#include "../util/strbuf.h"
#include "../util/utf8.h"
#include "../util/vb.h"
#include "../format/export.h"
#include "../format/realign.h"
#include "../format/wsproto.h"
#include "routes.h"

void api_response_free(api_response *res)
{
    free(res->body);
    res->body = NULL;
}

void route_respond_json(api_response *out, int status, cJSON *json)
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
    route_respond_json(out, status, json);
}

/* A 422 with one problem, FastAPI style.  input may be NULL. */
void route_invalid(api_response *out, const char *type,
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
    route_respond_json(out, 422, json);
}

void route_store_error(api_response *out, int rc)
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

/* A segment as the API shows it; with_words: its word timings too (the
 * words the recogniser heard, each with start, end and confidence). */
static cJSON *segment_words_json(const store_segment *seg, int with_words)
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
    if (with_words) {
        cJSON *words = seg->words_json ? cJSON_Parse(seg->words_json) : NULL;
        cJSON_AddItemToObject(json, "words", words ? words : cJSON_CreateArray());
    }
    return json;
}

static cJSON *segment_json(const store_segment *seg)
{
    return segment_words_json(seg, 0);
}

/* Does a valid JSON text hold the escape \u0000?  Every string the store
 * keeps is a C string, which would end at it and lose the rest, so such a
 * body is refused instead.  In valid JSON a backslash only ever starts an
 * escape inside a string. */
static int has_nul_escape(const char *body, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (body[i] != '\\')
            continue;
        if (body[i + 1] == 'u' && i + 5 < len &&
            memcmp(body + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* the escaped character, which may be another backslash */
    }
    return 0;
}

/* Does the text hold a raw control character inside a string, or a NUL
 * byte anywhere?  JSON allows neither (they must be escaped), but cJSON
 * takes them, and a NUL would cut the stored C string short. */
static int has_raw_control(const char *body, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c == 0 || (in_string && c < 0x20))
            return 1;
        if (in_string && c == '\\')
            i++; /* the escaped character */
        else if (c == '"')
            in_string = !in_string;
    }
    return 0;
}

/*
 * Parses a body that must be a JSON object.  Returns it, or NULL after
 * filling a 422 response.  The caller cJSON_Deletes the result.
 */
cJSON *route_object_body(const api_request *req, api_response *out)
{
    const char *end = NULL;
    cJSON *doc = NULL;
    /* Decoded as UTF-8 first, as the reference did: cJSON takes any bytes
     * in a string, and they would be stored, and echoed back in errors. */
    if (req->body != NULL && !utf8_valid(req->body, req->body_len)) {
        route_invalid(out, "json_invalid", "body", NULL,
                        "JSON decode error: the body is not valid UTF-8", NULL);
        return NULL;
    }
    if (req->body != NULL && has_raw_control(req->body, req->body_len)) {
        route_invalid(out, "json_invalid", "body", NULL,
                        "JSON decode error: a control character (such as a "
                        "NUL byte) is not escaped; write it as \\u00XX",
                        NULL);
        return NULL;
    }
    if (req->body != NULL && req->body_len > 0)
        doc = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    if (doc == NULL) {
        if (req->body_len == 0)
            route_invalid(out, "missing", "body", NULL,
                            "Field required: send a JSON object body", NULL);
        else
            route_invalid(out, "json_invalid", "body", NULL,
                            "JSON decode error: the body is not valid JSON",
                            NULL);
        return NULL;
    }
    for (; end && end < req->body + req->body_len; end++) {
        if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
            route_invalid(out, "json_invalid", "body", NULL,
                            "JSON decode error: extra data after the JSON "
                            "value", NULL);
            cJSON_Delete(doc);
            return NULL;
        }
    }
    if (!cJSON_IsObject(doc)) {
        route_invalid(out, "model_attributes_type", "body", NULL,
                        "Input should be a valid dictionary or object", doc);
        cJSON_Delete(doc);
        return NULL;
    }
    if (has_nul_escape(req->body, req->body_len)) {
        route_invalid(out, "value_error", "body", NULL,
                        "Value error, text may not contain the NUL character "
                        "(\\u0000)", NULL);
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* `item`, the field `name` of a body, as a string of at most max_chars
 * characters; NULL after filling a 422 response. */
static const char *string_value(const cJSON *item, const char *name,
                                size_t max_chars, api_response *out)
{
    if (!cJSON_IsString(item)) {
        route_invalid(out, "string_type", "body", name,
                        "Input should be a valid string", item);
        return NULL;
    }
    if (utf8_chars(item->valuestring, strlen(item->valuestring)) > max_chars) {
        char msg[96];
        snprintf(msg, sizeof(msg), "String should have at most %zu characters",
                 max_chars);
        route_invalid(out, "string_too_long", "body", name, msg, item);
        return NULL;
    }
    return item->valuestring;
}

/* The string field `name` of a body (the last of that name, as Python's
 * json module, the reference application's, takes it), as string_value. */
static const char *string_field(const cJSON *doc, const char *name,
                                size_t max_chars, api_response *out)
{
    const cJSON *item = NULL;
    for (const cJSON *it = doc->child; it; it = it->next)
        if (strcmp(it->string, name) == 0)
            item = it;
    if (item == NULL) {
        route_invalid(out, "missing", "body", name, "Field required", doc);
        return NULL;
    }
    return string_value(item, name, max_chars, out);
}

/* A body {"title": "..."}: the title, or NULL after a 422.  *doc must be
 * cJSON_Delete'd by the caller either way. */
static const char *parse_title_body(const api_request *req, cJSON **doc,
                                    api_response *out)
{
    *doc = route_object_body(req, out);
    return *doc ? string_field(*doc, "title", STORE_TITLE_MAX_CHARS, out) : NULL;
}

/* Is `value` given for `key` in the query string? */
static int query_has(const char *query, const char *key, const char *value)
{
    char want[96];
    snprintf(want, sizeof(want), "%s=%s", key, value);
    size_t n = strlen(want);
    for (const char *q = query; q && *q; q += strcspn(q, "&"), q += (*q == '&')) {
        if (strncmp(q, want, n) == 0 && (q[n] == '&' || q[n] == '\0'))
            return 1;
    }
    return 0;
}

static void handle_health(const route_call *call, api_response *out)
{
    api_health h = {0};
    if (call->ctx->health)
        call->ctx->health(call->ctx->health_ctx, &h);
    /* Asked on a reading connection of its own (API_ON_CHECK), so that a
     * store that cannot answer makes the server say it is not ready
     * (503) and a balancer sends its clients elsewhere, while many reads
     * keep the other reading connections busy do not slow the answer. */
    int store_rc = store_ping(call->ctx->store);
    if (store_rc != 0)
        log_warn("health", "the store does not answer: %s",
                 vb_strerror(store_rc));
    cJSON *json = cJSON_CreateObject();
    /* Without its store an instance loses what it is given; without its
     * bus its watchers miss other instances' sessions: either way a
     * balancer should send clients elsewhere. */
    int bus_down = h.bus != NULL && !h.bus_reachable;
    int down = store_rc != 0 || bus_down;
    cJSON_AddStringToObject(json, "status", down ? "unavailable" : "ok");
    cJSON_AddStringToObject(json, "version", call->ctx->version);
    cJSON_AddStringToObject(json, "store", store_backend(call->ctx->store));
    cJSON_AddBoolToObject(json, "store_reachable", store_rc == 0);
    if (h.bus != NULL) {
        cJSON_AddStringToObject(json, "bus", h.bus);
        cJSON_AddBoolToObject(json, "bus_reachable", h.bus_reachable);
    }
    cJSON_AddNumberToObject(json, "sessions", h.sessions);
    cJSON_AddNumberToObject(json, "max_sessions", h.max_sessions);
    cJSON_AddNumberToObject(json, "watchers", h.watchers);
    cJSON_AddNumberToObject(json, "workers", h.workers);
    cJSON_AddStringToObject(json, "recogniser", h.loading ? "loading" : "ready");
    cJSON_AddStringToObject(json, "engine", h.engine ? h.engine : "");
    if (h.fallback)
        cJSON_AddStringToObject(json, "engine_fallback", h.fallback);
    if (h.remote) { /* a service elsewhere: how it answers */
        cJSON *up = cJSON_AddObjectToObject(json, "upstream");
        cJSON_AddNumberToObject(up, "connections", h.upstream_open);
        if (h.upstream_latency_ms >= 0)
            cJSON_AddNumberToObject(up, "latency_ms",
                                    (double)(int)(h.upstream_latency_ms + 0.5));
        else
            cJSON_AddNullToObject(up, "latency_ms");
        cJSON_AddNumberToObject(up, "failures", (double)h.upstream_failures);
    }
    cJSON_AddNumberToObject(json, "decoders", h.decoders);
    cJSON_AddNumberToObject(json, "decoders_in_use", h.decoders_in_use);
    cJSON_AddNumberToObject(json, "decoders_waiting", h.decoders_waiting);
    cJSON_AddNumberToObject(json, "lag", (double)(int)(h.lag * 1000) / 1000);
    cJSON_AddNumberToObject(json, "load", (double)(int)(h.load * 10) / 10);
    cJSON_AddNumberToObject(json, "store_queue", h.store_queue);
    route_respond_json(out, down ? 503 : 200, json);
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

/* The integer value of key in the query string, within [min, max]: 0 with
 * *value set, 1 when absent, -1 after a 422. */
static int query_int(const char *query, const char *key, long min, long max,
                     long *value, api_response *out)
{
    size_t klen = strlen(key);
    for (const char *q = query; q && *q; q += strcspn(q, "&"), q += (*q == '&')) {
        if (strncmp(q, key, klen) != 0 || q[klen] != '=')
            continue;
        char text[32];
        size_t n = strcspn(q + klen + 1, "&");
        snprintf(text, sizeof(text), "%.*s", (int)(n < 31 ? n : 31), q + klen + 1);
        cJSON *input = cJSON_CreateString(utf8_valid(text, strlen(text)) ? text : "?");
        char *end;
        long v = strtol(text, &end, 10);
        char msg[96];
        if (text[0] == '\0' || *end != '\0' || n > 18) {
            route_invalid(out, "int_parsing", "query", key, "Input should be "
                            "a valid integer, unable to parse string as an "
                            "integer", input);
        } else if (v < min || v > max) {
            snprintf(msg, sizeof(msg), "Input should be %s %ld",
                     v < min ? "greater than or equal to" : "less than or "
                     "equal to", v < min ? min : max);
            route_invalid(out, v < min ? "greater_than_equal" : "less_than_equal",
                            "query", key, msg, input);
        } else {
            cJSON_Delete(input);
            *value = v;
            return 0;
        }
        cJSON_Delete(input);
        return -1;
    }
    return 1;
}

static void handle_list(const route_call *call, api_response *out)
{
    long limit = API_LIST_MAX, offset = 0;
    if (query_int(call->req->query, "limit", 1, API_LIST_MAX, &limit, out) < 0 ||
        query_int(call->req->query, "offset", 0, 1000000000L, &offset, out) < 0)
        return;
    store_transcription *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = store_transcription_list(call->ctx->store, (int)limit, (int)offset,
                                      &items, &n, &total);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    int summary = query_has(call->req->query, "summary", "true");
    cJSON *json = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *t = transcription_json(&items[i]);
        if (summary) { /* Verbatim's addition, for the web app's list */
            cJSON_AddNumberToObject(t, "duration", round_ms(items[i].duration));
            cJSON_AddNumberToObject(t, "segment_count", items[i].segment_count);
            cJSON_AddNumberToObject(t, "speaker_count", items[i].speaker_count);
            cJSON_AddStringToObject(t, "preview", items[i].preview);
        }
        cJSON_AddItemToArray(json, t);
    }
    free(items);
    route_respond_json(out, 200, json);
    out->has_total = 1;
    out->total_count = total;
    if (offset + (long)n < total)
        snprintf(out->next_link, sizeof(out->next_link),
                 "</api/transcriptions/?limit=%ld&offset=%ld%s>; rel=\"next\"",
                 limit, offset + (long)n, summary ? "&summary=true" : "");
}

static void handle_create(const route_call *call, api_response *out)
{
    cJSON *doc;
    const char *title = parse_title_body(call->req, &doc, out);
    if (title != NULL) {
        store_transcription t;
        int rc = store_transcription_create(call->ctx->store, title, &t);
        if (rc == 0) {
            log_info("api", "transcription %lld created", (long long)t.id);
            route_respond_json(out, 200, transcription_json(&t));
        } else {
            route_store_error(out, rc);
        }
    }
    cJSON_Delete(doc);
}

static void handle_get(const route_call *call, api_response *out)
{
    store_transcription t;
    int rc = store_transcription_get(call->ctx->store, call->id, &t);
    if (rc != 0)
        route_store_error(out, rc);
    else
        route_respond_json(out, 200, transcription_json(&t));
}

static void handle_rename(const route_call *call, api_response *out)
{
    cJSON *doc;
    const char *title = parse_title_body(call->req, &doc, out);
    if (title != NULL) {
        store_transcription t;
        int rc = store_transcription_rename(call->ctx->store, call->id, title,
                                            &t);
        if (rc != 0)
            route_store_error(out, rc);
        else
            route_respond_json(out, 200, transcription_json(&t));
    }
    cJSON_Delete(doc);
}

static void handle_delete(const route_call *call, api_response *out)
{
    int rc = store_transcription_delete(call->ctx->store, call->id);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    log_info("api", "transcription %lld deleted", (long long)call->id);
    if (call->ctx->deleted)
        call->ctx->deleted(call->ctx->deleted_ctx, call->id);
    out->status = 204;
    out->body = NULL;
    out->body_len = 0;
    out->content_type = "application/json";
}

/* The value of key in the query string (already %-decoded), or NULL. */
static const char *query_text(const char *query, const char *key, char *buf,
                              size_t len)
{
    size_t klen = strlen(key);
    for (const char *q = query; q && *q; q += strcspn(q, "&"), q += (*q == '&')) {
        if (strncmp(q, key, klen) == 0 && q[klen] == '=') {
            size_t n = strcspn(q + klen + 1, "&");
            snprintf(buf, len, "%.*s", (int)n, q + klen + 1);
            return buf;
        }
    }
    return NULL;
}

/* A snippet with the store's marks around matched words, as plain text
 * (marks dropped) or as HTML (escaped, marks as <mark>). */
static char *snippet_text(const char *s, int html)
{
    strbuf sb = {0};
    for (; *s; s++) {
        if (*s == STORE_MARK_ON || *s == STORE_MARK_OFF) {
            if (html)
                strbuf_puts(&sb, *s == STORE_MARK_ON ? "<mark>" : "</mark>");
        } else if (html && (*s == '<' || *s == '>' || *s == '&' || *s == '"')) {
            strbuf_puts(&sb, *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                             : *s == '&' ? "&amp;" : "&quot;");
        } else {
            strbuf_append(&sb, s, 1);
        }
    }
    return strbuf_take(&sb);
}

static void handle_search(const route_call *call, api_response *out)
{
    char q[512];
    long limit = 20, offset = 0;
    if (query_text(call->req->query, "q", q, sizeof(q)) == NULL) {
        route_invalid(out, "missing", "query", "q", "Field required", NULL);
        return;
    }
    if (query_int(call->req->query, "limit", 1, 100, &limit, out) < 0 ||
        query_int(call->req->query, "offset", 0, 1000000, &offset, out) < 0)
        return;
    store_hit *hits = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = store_search(call->ctx->store, q, (int)limit, (int)offset, &hits,
                          &n, &total);
    if (rc == VB_EINVAL) {
        cJSON *input = cJSON_CreateString(utf8_valid(q, strlen(q)) ? q : "?");
        route_invalid(out, "string_too_short", "query", "q",
                      "The search needs at least one word (letters or digits)",
                      input);
        cJSON_Delete(input);
        return;
    }
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "query", utf8_valid(q, strlen(q)) ? q : "");
    cJSON_AddNumberToObject(json, "total", (double)total);
    cJSON *results = cJSON_AddArrayToObject(json, "results");
    for (size_t i = 0; i < n; i++) {
        const store_hit *h = &hits[i];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "transcription_id", (double)h->transcription_id);
        cJSON_AddStringToObject(r, "title", h->title);
        if (h->segment_id) {
            cJSON_AddNumberToObject(r, "segment_id", (double)h->segment_id);
            cJSON_AddNumberToObject(r, "start_time", round_ms(h->start_time));
            cJSON_AddNumberToObject(r, "end_time", round_ms(h->end_time));
        } else { /* the title matched */
            cJSON_AddNullToObject(r, "segment_id");
            cJSON_AddNullToObject(r, "start_time");
            cJSON_AddNullToObject(r, "end_time");
        }
        if (h->speaker[0])
            cJSON_AddStringToObject(r, "speaker", h->speaker);
        else
            cJSON_AddNullToObject(r, "speaker");
        char *plain = snippet_text(h->snippet, 0), *html = snippet_text(h->snippet, 1);
        cJSON_AddStringToObject(r, "snippet", plain ? plain : "");
        cJSON_AddStringToObject(r, "snippet_html", html ? html : "");
        free(plain);
        free(html);
        cJSON_AddItemToArray(results, r);
    }
    store_hits_free(hits, n);
    route_respond_json(out, 200, json);
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
        route_store_error(out, rc);
        return;
    }
    int words = query_has(call->req->query, "words", "true");
    cJSON *json = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(json, segment_words_json(&segs[i], words));
    store_segments_free(segs, n);
    route_respond_json(out, 200, json);
}

/* A person's edit reaches the transcription's watchers (message taken). */
static void tell_watchers(const route_call *call, char *message)
{
    if (message != NULL && call->ctx->edited != NULL)
        call->ctx->edited(call->ctx->edited_ctx, call->id, message);
    free(message);
}

/* The last item named `name` in doc, or NULL. */
static const cJSON *last_item(const cJSON *doc, const char *name)
{
    const cJSON *item = NULL;
    for (const cJSON *it = doc->child; it; it = it->next)
        if (strcmp(it->string, name) == 0)
            item = it;
    return item;
}

/* A speaker label as the recogniser writes them: "speaker_N". */
static int is_label(const char *s)
{
    if (strncmp(s, "speaker_", 8) != 0 || s[8] == '\0' || strlen(s) > 12)
        return 0;
    for (const char *p = s + 8; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/*
 * A person's edit of one segment: {"text": "..."} corrects its words (the
 * word timings follow: realign.h), {"speaker": "speaker_N" | null} moves
 * it to another speaker (or none); either or both.
 */
static void handle_segment_edit(const route_call *call, api_response *out)
{
    cJSON *doc = route_object_body(call->req, out);
    if (doc == NULL)
        return;
    const cJSON *speaker = last_item(doc, "speaker");
    const char *text = NULL;
    if (last_item(doc, "text") != NULL || speaker == NULL) {
        text = string_field(doc, "text", STORE_SEGMENT_TEXT_MAX, out);
        if (text == NULL) {
            cJSON_Delete(doc);
            return;
        }
    }
    if (speaker != NULL && !cJSON_IsNull(speaker) &&
        !(cJSON_IsString(speaker) && is_label(speaker->valuestring))) {
        route_invalid(out, cJSON_IsString(speaker) ? "label_invalid" : "string_type",
                      "body", "speaker",
                      "A speaker is a label as the segments have them, "
                      "\"speaker_0\" to \"speaker_9999\", or null",
                      speaker);
        cJSON_Delete(doc);
        return;
    }
    int rc = 0;
    if (speaker != NULL)
        rc = store_segment_set_speaker(call->ctx->store, call->id, call->sid,
                                       cJSON_IsNull(speaker) ? NULL
                                                             : speaker->valuestring);
    store_segment seg = {0};
    if (rc == 0 && text != NULL) {
        rc = store_segment_set_text(call->ctx->store, call->id, call->sid,
                                    text, &seg);
        /* The words follow the text (realign.h), for exports and the
         * player; the text alone is kept if they cannot. */
        char *words = rc == 0 ? realign_words(seg.words_json, text,
                                              seg.start_time, seg.end_time)
                              : NULL;
        if (words != NULL &&
            store_segment_set_words(call->ctx->store, call->id, call->sid,
                                    words) != 0) {
            log_warn("api", "segment %lld: the corrected words' times were "
                     "not stored", (long long)call->sid);
            free(words);
        } else if (words != NULL) { /* as stored, for watchers */
            free(seg.words_json);
            seg.words_json = words;
        }
    } else if (rc == 0) {
        rc = store_segment_get(call->ctx->store, call->id, call->sid, &seg);
    }
    if (rc != 0) {
        route_store_error(out, rc);
    } else {
        log_info("api", "segment %lld of transcription %lld %s",
                 (long long)call->sid, (long long)call->id,
                 text ? "corrected" : "moved to another speaker");
        tell_watchers(call, wsproto_segment_updated(&seg));
        route_respond_json(out, 200, segment_json(&seg));
    }
    store_segment_clear(&seg);
    cJSON_Delete(doc);
}

/* The names; changed: they were just set, and watchers are told. */
static void respond_speakers(const route_call *call, api_response *out,
                             int changed)
{
    store_speaker *names = NULL;
    size_t n = 0;
    int rc = store_speakers_get(call->ctx->store, call->id, &names, &n);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    if (changed)
        tell_watchers(call, wsproto_speakers_named(names, n));
    cJSON *json = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++)
        cJSON_AddStringToObject(json, names[i].label, names[i].name);
    free(names);
    route_respond_json(out, 200, json);
}

static void handle_speakers_get(const route_call *call, api_response *out)
{
    store_transcription t;
    int rc = store_transcription_get(call->ctx->store, call->id, &t);
    if (rc != 0)
        route_store_error(out, rc);
    else
        respond_speakers(call, out, 0);
}

/* {"speaker_0": "Alice", "speaker_1": null}: names (null or "" removes). */
static void handle_speakers_set(const route_call *call, api_response *out)
{
    store_transcription t;
    int rc = store_transcription_get(call->ctx->store, call->id, &t);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    cJSON *doc = route_object_body(call->req, out);
    if (doc == NULL)
        return;
    for (const cJSON *item = doc->child; item; item = item->next) {
        if (strlen(item->string) == 0 || strlen(item->string) > STORE_LABEL_MAX) {
            route_invalid(out, "string_too_long", "body", item->string,
                            "A speaker label has 1 to 64 characters", NULL);
            cJSON_Delete(doc);
            return;
        }
        if (!cJSON_IsNull(item) &&
            string_value(item, item->string, 100, out) == NULL) {
            cJSON_Delete(doc);
            return;
        }
    }
    for (const cJSON *item = doc->child; item && rc == 0; item = item->next)
        rc = store_speaker_set(call->ctx->store, call->id, item->string,
                               cJSON_IsNull(item) ? "" : item->valuestring);
    cJSON_Delete(doc);
    if (rc != 0)
        route_store_error(out, rc);
    else
        respond_speakers(call, out, 1);
}

/* "Weekly sync!" -> "weekly-sync" for a file name: letters and digits,
 * lower case, runs of anything else as one dash.  With keep_utf8, letters
 * beyond ASCII are kept whole ("Réunion" -> "réunion"); without, they
 * count as "anything else" ("r-union"). */
static void slug(const char *title, int keep_utf8, char *out, size_t len)
{
    size_t n = 0;
    int dash = 0;
    for (const unsigned char *c = (const unsigned char *)title; *c; c++) {
        size_t seq = *c < 0x80 ? 1 : *c >= 0xf0 ? 4 : *c >= 0xe0 ? 3 : 2;
        if (n + seq + 1 >= len)
            break;
        if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')) {
            out[n++] = (char)*c;
            dash = 0;
        } else if (*c >= 'A' && *c <= 'Z') {
            out[n++] = (char)(*c + 32);
            dash = 0;
        } else if (*c >= 0xc0 && keep_utf8) { /* a whole character */
            for (size_t k = 0; k < seq && c[k]; k++)
                out[n++] = (char)c[k];
            c += strnlen((const char *)c, seq) - 1;
            dash = 0;
        } else if (*c >= 0x80 && *c < 0xc0) {
            /* a continuation byte: part of a character already taken */
        } else if (!dash && n > 0) {
            out[n++] = '-';
            dash = 1;
        }
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
}

static void handle_export(const route_call *call, api_response *out)
{
    const char *ext = strrchr(call->route->pattern, '.') + 1;
    export_format fmt = (export_format)export_format_parse(ext);
    store_transcription t;
    store_segment *segs = NULL;
    store_speaker *names = NULL;
    size_t nsegs = 0, nnames = 0;
    int rc = store_transcription_get(call->ctx->store, call->id, &t);
    if (rc == 0)
        rc = store_segment_list(call->ctx->store, call->id, &segs, &nsegs);
    if (rc == 0)
        rc = store_speakers_get(call->ctx->store, call->id, &names, &nnames);
    if (rc != 0) {
        store_segments_free(segs, nsegs);
        route_store_error(out, rc);
        return;
    }
    export_doc doc = {&t, segs, nsegs, names, nnames};
    out->body = export_render(&doc, fmt);
    store_segments_free(segs, nsegs);
    free(names);
    if (out->body == NULL) {
        api_error_response(500, "Out of memory", out);
        return;
    }
    out->status = 200;
    out->body_len = strlen(out->body);
    out->content_type = export_content_type(fmt);
    char name[96];
    slug(t.title, 0, name, sizeof(name));
    snprintf(out->filename, sizeof(out->filename), "%s.%s",
             name[0] ? name : "transcript", ext);
    slug(t.title, 1, name, sizeof(name));
    if (name[0])
        snprintf(out->filename_utf8, sizeof(out->filename_utf8), "%s.%s",
                 name, ext);
}

static const route_param search_query[] = {
    {"q", "string", "the words to find (required): every word must be in "
     "one segment or title; the last may be the start of a word, as typed "
     "so far; case and accents do not matter"},
    {"limit", "integer", "at most this many results, 1-100 (default 20)"},
    {"offset", "integer", "skip this many (default 0)"},
    {NULL, NULL, NULL},
};

static const route_param segments_query[] = {
    {"words", "boolean", "true: each segment also has `words`, the words the "
     "recogniser heard: [{word, start, end, confidence}], times on the "
     "transcript's timeline (as the kept audio's)"},
    {NULL, NULL, NULL},
};

static const route_param list_query[] = {
    {"summary", "boolean", "true: add duration, segment_count, "
     "speaker_count and preview"},
    {"limit", "integer", "at most this many, 1-1000 (default 1000); the "
     "X-Total-Count header says how many there are, and a Link header "
     "(rel=\"next\") where the next page is"},
    {"offset", "integer", "skip this many of the newest first (default 0)"},
    {NULL, NULL, NULL},
};

/* Taught words, on every stream route (asr/keywords.h). */
#define KEYWORDS_QUERY                                                      \
    {"keywords", "string", "WORD or WORD:BOOST, a word to hear (a name, a " \
     "product, jargon), written as given; BOOST -10 to 10, default 1, "     \
     "exponential as Deepgram's; repeatable (at most 100); added to the "   \
     "transcription's vocabulary"}

/* A stream's options, in a socket's URL or an upload's (net/options.c). */
#define STREAM_QUERY                                                        \
    {"encoding", "string", "raw PCM only: linear16, linear32 or mulaw"},    \
    {"sample_rate", "integer", "raw PCM only: 8000-48000"},                 \
    {"channels", "integer", "raw PCM only: 1-8"},                           \
    {"punctuate", "boolean", "false: the recogniser's raw words"},          \
    {"diarize", "boolean", "false: no speaker labels"},                     \
    {"min_speakers", "integer", "at least this many speakers (1-32)"},      \
    {"max_speakers", "integer", "at most this many speakers (1-32)"},      \
    {"smart_format", "boolean", "true: numbers, money, percentages, dates, " \
     "times, phone numbers and addresses written (\"$5\", \"10%\", "       \
     "\"3:30 p.m.\"); the words keep what was said"},                      \
    {"engine", "string", "one of the server's engines by name (its --engine " \
     "or --engine-fallback, as /api/health names them)"},                  \
    KEYWORDS_QUERY

/* Deepgram's parameters, on both /v1/listen routes (net/dglisten.c). */
#define DG_QUERY                                                            \
    {"model", "string", "reported back; this server has one recogniser"},   \
    {"encoding", "string", "raw PCM only: linear16, linear32 or mulaw"},    \
    {"sample_rate", "integer", "raw PCM only: 8000-48000"},                 \
    {"channels", "integer", "raw PCM only: 1-8"},                           \
    {"punctuate", "boolean", "sentences (default false, as Deepgram)"},     \
    {"smart_format", "boolean", "punctuation, paragraphs and written "      \
     "numbers, dates, times and amounts"},                                  \
    {"diarize", "boolean", "speaker per word (default false)"},             \
    {"tag", "string", "the stored transcription's title; repeatable"},     \
    KEYWORDS_QUERY

static const route_param dg_prerecorded_query[] = {
    DG_QUERY,
    {"utterances", "boolean", "results.utterances"},
    {"paragraphs", "boolean", "paragraphs in the alternative"},
    {"callback", "string", "http:// URL the answer is sent to; the request "
     "is answered at once with its request_id (hosts allowed by "
     "--callback-hosts only)"},
    {"callback_method", "string", "post (default) or put"},
    {NULL, NULL, NULL},
};

static const route_param dg_live_query[] = {
    DG_QUERY,
    {"interim_results", "boolean", "interim Results while words come"},
    {"endpointing", "string", "ms of silence that end an utterance, or false"},
    {"utterance_end_ms", "integer", "send UtteranceEnd (1000-5000)"},
    {"vad_events", "boolean", "send SpeechStarted"},
    {NULL, NULL, NULL},
};

static const route_param upload_query[] = {
    {"wait", "integer", "seconds to wait for the result, 0-300 (default 5)"},
    STREAM_QUERY,
    {NULL, NULL, NULL},
};

static const route_param socket_query[] = {
    STREAM_QUERY,
    {"resume", "string", "the resume_token of this transcription's open "
     "session, to take it over (docs/protocol.md 2.8)"},
    {NULL, NULL, NULL},
};

static const route_reply upload_replies[] = {
    {202, "Still running: poll the job's url (also in Location)", "UploadJob"},
    {413, "Over --max-upload-mb", "HTTPError"},
    {415, "A format or codec that cannot be decoded", "HTTPError"},
    {422, "Empty, a bad parameter, or damaged part way (the segments "
          "before the damage are stored)", "HTTPError"},
    {503, "At the session limit", "HTTPError"},
    {0, NULL, NULL},
};

static const route_reply health_replies[] = {
    {503, "The store does not answer (status \"unavailable\")", "Health"},
    {0, NULL, NULL},
};

static const route_reply socket_replies[] = {
    {426, "Not a WebSocket handshake", "HTTPError"},
    {0, NULL, NULL},
};

#define EXPORT(ext, type, text)                                             \
    {.method = "GET", .pattern = "/api/transcriptions/{id}/export." #ext,   \
     .kind = API_ROUTE_REST, .handler = handle_export,                      \
     .place = API_ON_READER, .operation_id = "export_" #ext,                \
     .summary = text, .status = 200, .response_type = type,                 \
     .not_found = 1, .invalid = 1}

const route api_routes[] = {
    {.method = "GET", .pattern = "/api/health", .kind = API_ROUTE_REST,
     .handler = handle_health, .place = API_ON_CHECK, .public_route = 1,
     .operation_id = "health",
     .summary = "Whether the server can take work, with its load and "
                "whether its store answers",
     .status = 200, .response_schema = "Health", .replies = health_replies},
    {.method = "GET", .pattern = "/metrics", .kind = API_ROUTE_REST,
     .handler = handle_metrics, .place = API_ON_ANY,
     .scope = API_SCOPE_ADMIN, .operation_id = "metrics",
     .summary = "Figures for Prometheus (its text format 0.0.4): sessions, "
                "audio, finals, decoders, latency, errors, requests",
     .status = 200, .response_type = API_METRICS_TYPE},
    {.method = "GET", .pattern = "/api/openapi.json", .kind = API_ROUTE_REST,
     .handler = handle_openapi, .place = API_ON_ANY, .public_route = 1,
     .operation_id = "openapi",
     .summary = "This document", .status = 200,
     .response_type = "application/json"},
    {.method = "GET", .pattern = "/api/session", .kind = API_ROUTE_REST,
     .handler = handle_session_get, .place = API_ON_ANY, .public_route = 1,
     .operation_id = "get_session",
     .summary = "Whether keys are required, and who the caller is signed in "
                "as (the web app asks before anything else)",
     .status = 200, .response_schema = "Session"},
    {.method = "POST", .pattern = "/api/session", .kind = API_ROUTE_REST,
     .handler = handle_session_create, .place = API_ON_WRITER,
     .scope = API_SCOPE_READ, .operation_id = "sign_in",
     .summary = "Sign in: trade the key sent in Authorization for a session "
                "cookie (HttpOnly, SameSite=Strict) that opens what the key "
                "opens for 12 hours, until sign-out or the key's revocation",
     .status = 200, .response_schema = "Session"},
    {.method = "DELETE", .pattern = "/api/session", .kind = API_ROUTE_REST,
     .handler = handle_session_end, .place = API_ON_WRITER, .public_route = 1,
     .operation_id = "sign_out",
     .summary = "Sign out: end the session of the cookie sent, and clear it",
     .status = 204},
    {.method = "GET", .pattern = "/api/transcriptions/", .kind = API_ROUTE_REST,
     .handler = handle_list, .place = API_ON_READER,
     .operation_id = "list_transcriptions",
     .summary = "All transcriptions, newest first", .status = 200,
     .response_schema = "[]Transcription", .query = list_query},
    {.method = "POST", .pattern = "/api/transcriptions/",
     .kind = API_ROUTE_REST, .handler = handle_create, .place = API_ON_WRITER,
     .operation_id = "create_transcription",
     .summary = "Create a transcription",
     .request_schema = "TranscriptionCreate", .status = 200,
     .response_schema = "Transcription", .invalid = 1},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/",
     .kind = API_ROUTE_REST, .handler = handle_get, .place = API_ON_READER,
     .operation_id = "get_transcription", .summary = "One transcription",
     .status = 200, .response_schema = "Transcription", .not_found = 1,
     .invalid = 1},
    {.method = "PATCH", .pattern = "/api/transcriptions/{id}/",
     .kind = API_ROUTE_REST, .handler = handle_rename, .place = API_ON_WRITER,
     .operation_id = "update_transcription",
     .summary = "Rename a transcription",
     .request_schema = "TranscriptionCreate", .status = 200,
     .response_schema = "Transcription", .not_found = 1, .invalid = 1},
    {.method = "DELETE", .pattern = "/api/transcriptions/{id}/",
     .kind = API_ROUTE_REST, .handler = handle_delete, .place = API_ON_WRITER,
     .operation_id = "delete_transcription",
     .summary = "Delete a transcription and its segments", .status = 204,
     .not_found = 1, .invalid = 1},
    {.method = "GET", .pattern = "/api/search", .kind = API_ROUTE_REST,
     .handler = handle_search, .place = API_ON_READER,
     .operation_id = "search",
     .summary = "Find words in every transcript's titles and segments: "
                "titles first, then segments, each newest first, with a "
                "snippet and its time",
     .status = 200, .response_schema = "SearchResults", .invalid = 1,
     .query = search_query},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/segments/",
     .kind = API_ROUTE_REST, .handler = handle_segments,
     .place = API_ON_READER, .operation_id = "list_segments",
     .summary = "The stored final segments, ordered by start time",
     .status = 200, .response_schema = "[]Segment", .not_found = 1,
     .invalid = 1, .query = segments_query},
    {.method = "PATCH", .pattern = "/api/transcriptions/{id}/segments/{sid}/",
     .kind = API_ROUTE_REST, .handler = handle_segment_edit,
     .place = API_ON_WRITER, .operation_id = "correct_segment",
     .summary = "Correct the text of a segment by hand, or move it to "
                "another speaker",
     .request_schema = "SegmentEdit", .status = 200,
     .response_schema = "Segment", .not_found = 1, .invalid = 1},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/speakers/",
     .kind = API_ROUTE_REST, .handler = handle_speakers_get,
     .place = API_ON_READER, .operation_id = "get_speaker_names",
     .summary = "The names given to the speakers", .status = 200,
     .response_schema = "SpeakerNames", .not_found = 1, .invalid = 1},
    {.method = "PATCH", .pattern = "/api/transcriptions/{id}/speakers/",
     .kind = API_ROUTE_REST, .handler = handle_speakers_set,
     .place = API_ON_WRITER, .operation_id = "set_speaker_names",
     .summary = "Name speakers (\"speaker_0\": \"Alice\"); null removes a "
                "name",
     .request_schema = "SpeakerNames", .status = 200,
     .response_schema = "SpeakerNames", .not_found = 1, .invalid = 1},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/vocabulary/",
     .kind = API_ROUTE_REST, .handler = handle_vocabulary_get,
     .place = API_ON_READER, .operation_id = "get_vocabulary",
     .summary = "The words the transcription's sessions and uploads are "
                "taught (names, products, jargon)",
     .status = 200, .response_schema = "Vocabulary", .not_found = 1,
     .invalid = 1},
    {.method = "PUT", .pattern = "/api/transcriptions/{id}/vocabulary/",
     .kind = API_ROUTE_REST, .handler = handle_vocabulary_set,
     .place = API_ON_WRITER, .operation_id = "set_vocabulary",
     .summary = "Replace the taught words; sessions and uploads that start "
                "afterwards hear them",
     .request_schema = "Vocabulary", .status = 200,
     .response_schema = "Vocabulary", .not_found = 1, .invalid = 1},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/audio.ogg",
     .kind = API_ROUTE_REST, .handler = handle_audio_get,
     .place = API_ON_READER, .operation_id = "get_audio",
     .summary = "The kept audio on the transcript's timeline (Ogg Opus); "
                "a Range header gets part of it (206)",
     .status = 200, .response_type = "audio/ogg",
     .not_found = 1},
    {.method = "DELETE", .pattern = "/api/transcriptions/{id}/audio.ogg",
     .kind = API_ROUTE_REST, .handler = handle_audio_delete,
     .place = API_ON_WRITER, .operation_id = "delete_audio",
     .summary = "Forget the kept audio (the transcript stays)",
     .status = 204, .not_found = 1},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/keep-audio/",
     .kind = API_ROUTE_REST, .handler = handle_keep_audio_get,
     .place = API_ON_READER, .operation_id = "get_keep_audio",
     .summary = "Whether the transcription's sessions and uploads keep "
                "their audio",
     .status = 200, .response_schema = "KeepAudio", .not_found = 1,
     .invalid = 1},
    {.method = "PUT", .pattern = "/api/transcriptions/{id}/keep-audio/",
     .kind = API_ROUTE_REST, .handler = handle_keep_audio_set,
     .place = API_ON_WRITER, .operation_id = "set_keep_audio",
     .summary = "Keep (or stop keeping) the audio of sessions and uploads "
                "that start afterwards",
     .request_schema = "KeepAudio", .status = 200,
     .response_schema = "KeepAudio", .not_found = 1, .invalid = 1},
    EXPORT(txt, "text/plain", "The transcript as plain text"),
    EXPORT(srt, "application/x-subrip", "The transcript as SubRip subtitles"),
    EXPORT(vtt, "text/vtt", "The transcript as WebVTT subtitles"),
    EXPORT(json, "application/json",
           "The transcript with speaker names and word timings"),
    EXPORT(rttm, "text/plain",
           "Who spoke when, as NIST RTTM (SPEAKER lines; file id "
           "verbatim_<id>), for diarization scorers"),
    /* POST is served by net/upload.c: a recording's body and its job
     * outlive one request.  The jobs are read from the store (uploads.c).
     * An id that is not a number answers 404 on these routes, which do
     * not declare 422. */
    {.method = "POST", .pattern = "/api/transcriptions/{id}/audio",
     .kind = API_ROUTE_UPLOAD, .operation_id = "upload_audio",
     .summary = "Transcribe a whole recording (WAV, FLAC, MP3, Ogg, WebM, "
                "M4A/AAC, ...) into the transcription, after its stored "
                "segments",
     .body_type = "application/octet-stream", .form = 1, .status = 200,
     .response_schema = "UploadJob", .not_found = 1,
     .query = upload_query, .replies = upload_replies},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/audio",
     .kind = API_ROUTE_REST, .handler = handle_upload_list,
     .place = API_ON_READER, .operation_id = "list_uploads",
     .summary = "The transcription's upload jobs, newest first",
     .status = 200, .response_schema = "[]UploadJob"},
    {.method = "GET", .pattern = "/api/transcriptions/{id}/audio/{job}",
     .kind = API_ROUTE_REST, .handler = handle_upload_get,
     .place = API_ON_READER, .operation_id = "get_upload",
     .summary = "An upload job's state", .status = 200,
     .response_schema = "UploadJob", .not_found = 1},
    /* Served by net/ws.c after the upgrade (docs/protocol.md). */
    {.method = "GET", .pattern = "/ws/transcribe/{id}",
     .kind = API_ROUTE_WEBSOCKET, .scope = API_SCOPE_WRITE,
     .operation_id = "transcribe_live",
     .summary = "Live transcription over a WebSocket: binary frames of "
                "audio in, JSON messages out",
     .status = 101, .query = socket_query, .replies = socket_replies},
    {.method = "POST", .pattern = "/v1/listen",
     .kind = API_ROUTE_UPLOAD, .scope = API_SCOPE_WRITE,
     .operation_id = "deepgram_listen_prerecorded",
     .summary = "Deepgram's prerecorded transcription API: a recording in, "
                "Deepgram's JSON (metadata, results with words, paragraphs "
                "and utterances) out; stored as a new transcription",
     .body_type = "application/octet-stream", .status = 200,
     .response_type = "application/json", .query = dg_prerecorded_query},
    {.method = "GET", .pattern = "/v1/listen",
     .kind = API_ROUTE_WEBSOCKET, .scope = API_SCOPE_WRITE,
     .operation_id = "deepgram_listen_live",
     .summary = "Deepgram's live transcription API (its query parameters, "
                "Results, SpeechStarted, UtteranceEnd and Metadata messages), "
                "for Deepgram's SDKs; each stream is stored as a new "
                "transcription",
     .status = 101, .query = dg_live_query, .replies = socket_replies},
    {.method = "GET", .pattern = "/ws/watch/{id}",
     .kind = API_ROUTE_WEBSOCKET, .operation_id = "watch_live",
     .summary = "Follow a transcription's live results over a WebSocket, "
                "read-only",
     .status = 101, .replies = socket_replies},
};
const int api_route_count = (int)(sizeof(api_routes) / sizeof(api_routes[0]));

/*
 * Matches path against pattern segment by segment, ignoring a trailing
 * slash on either.  A "{name}" segment matches any one non-empty segment;
 * up to two are captured into caps (64 bytes each).
 */
static int path_matches(const char *pattern, const char *path,
                        char caps[2][64], const char *names[2])
{
    int ncap = 0;
    for (;;) {
        while (*pattern == '/')
            pattern++;
        while (*path == '/')
            path++;
        if (*pattern == '\0' || *path == '\0')
            return *pattern == '\0' && *path == '\0';
        size_t plen = strcspn(pattern, "/");
        size_t slen = strcspn(path, "/");
        if (pattern[0] == '{' && pattern[plen - 1] == '}' && ncap < 2) {
            snprintf(caps[ncap], 64, "%.*s", (int)slen, path);
            if (names)
                names[ncap] = pattern;
            ncap++;
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
    return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

static int parse_id(const char *text, int64_t *out)
{
    if (*text == '\0' || strlen(text) > 19)
        return VB_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == ' ' || text[0] == '+')
        return VB_EINVAL;
    *out = v;
    return 0;
}

api_scope route_scope(const route *r)
{
    if (r->public_route)
        return API_SCOPE_PUBLIC;
    if (r->scope != 0)
        return r->scope;
    if (strcmp(r->method, "GET") == 0)
        return API_SCOPE_READ;
    return strcmp(r->method, "DELETE") == 0 ? API_SCOPE_ADMIN : API_SCOPE_WRITE;
}

void api_route_match(const char *method, const char *path, api_match *out)
{
    memset(out, 0, sizeof(*out));
    out->route_index = -1;
    out->place = API_ON_ANY; /* 404 and 405 touch no store */
    /* No route: under /api/ and /ws/ a caller without a key learns
     * nothing (not even 404 against 405); elsewhere are the web app's
     * files, which hold no data. */
    out->scope = api_owns_path(path) || strncmp(path, "/ws/", 4) == 0
                     ? API_SCOPE_READ : API_SCOPE_PUBLIC;
    for (int i = 0; i < api_route_count; i++) {
        const route *r = &api_routes[i];
        const char *names[2] = {NULL, NULL};
        char caps[2][64] = {"", ""};
        if (!path_matches(r->pattern, path, caps, names))
            continue;
        out->path_known = 1;
        if (strcmp(r->method, method) != 0)
            continue;
        out->kind = r->kind;
        out->place = r->place;
        out->scope = route_scope(r);
        out->operation_id = r->operation_id;
        out->route_index = i;
        memcpy(out->param, caps, sizeof(caps));
        out->params = (names[0] != NULL) + (names[1] != NULL);
        return;
    }
}

const char *api_route_label(int index, const char **method)
{
    if (index < 0 || index >= api_route_count)
        return NULL;
    *method = api_routes[index].method;
    return api_routes[index].pattern;
}

void api_handle(const api_context *ctx, const api_request *req,
                api_response *out)
{
    memset(out, 0, sizeof(*out));
    int path_known = 0;
    for (int i = 0; i < api_route_count; i++) {
        const route *r = &api_routes[i];
        char caps[2][64] = {"", ""};
        const char *names[2] = {NULL, NULL};
        if (!path_matches(r->pattern, req->path, caps, names))
            continue;
        path_known = 1;
        if (strcmp(r->method, req->method) != 0 || r->kind != API_ROUTE_REST)
            continue;
        route_call call = {ctx, req, r, 0, 0};
        for (int k = 0; k < 2 && names[k]; k++) {
            /* the second parameter: {sid} or {job} */
            int is_segment = strncmp(names[k], "{sid}", 5) == 0;
            if (parse_id(caps[k], k ? &call.sid : &call.id) != 0) {
                if (!r->invalid) {
                    api_error_response(404, "Not Found", out);
                    return;
                }
                /* Echoed in JSON, which must be UTF-8 (the URL may hold
                 * any bytes, and caps may have cut a character short). */
                if (!utf8_valid(caps[k], strlen(caps[k])))
                    for (char *c = caps[k]; *c; c++)
                        if ((unsigned char)*c >= 0x80)
                            *c = '?';
                cJSON *input = cJSON_CreateString(caps[k]);
                route_invalid(out, "int_parsing", "path",
                                is_segment ? "segment_id" : "transcription_id",
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
