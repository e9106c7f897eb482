/*
 * openapi.c - the OpenAPI 3 document of the REST API, built from the same
 * route table that api.c routes with, so it cannot list a route that is
 * not served or miss one that is: the REST routes, the uploads (served by
 * net/upload.c) and the two WebSocket endpoints (net/ws.c).  The schemas
 * below describe the JSON that api.c and net/upload.c write; change them
 * together.
 */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "routes.h"

static const char *const schemas_json =
    "{"
    "\"Transcription\":{\"type\":\"object\","
    " \"required\":[\"id\",\"title\",\"created_at\"],"
    " \"properties\":{\"id\":{\"type\":\"integer\"},"
    "  \"title\":{\"type\":\"string\",\"maxLength\":255},"
    "  \"created_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},"
    "\"TranscriptionCreate\":{\"type\":\"object\",\"required\":[\"title\"],"
    " \"properties\":{\"title\":{\"type\":\"string\",\"maxLength\":255}}},"
    "\"Segment\":{\"type\":\"object\","
    " \"required\":[\"id\",\"text\",\"speaker\",\"start_time\",\"end_time\","
    "  \"is_final\"],"
    " \"properties\":{\"id\":{\"type\":\"integer\"},"
    "  \"text\":{\"type\":\"string\"},"
    "  \"speaker\":{\"type\":\"string\",\"nullable\":true,"
    "   \"description\":\"speaker_N, or null when unknown\"},"
    "  \"start_time\":{\"type\":\"number\",\"description\":\"seconds\"},"
    "  \"end_time\":{\"type\":\"number\",\"description\":\"seconds\"},"
    "  \"is_final\":{\"type\":\"boolean\"}}},"
    "\"SegmentEdit\":{\"type\":\"object\",\"description\":\"text, speaker "
    "or both\",\"anyOf\":[{\"required\":[\"text\"]},{\"required\":[\"speaker\"]}],"
    " \"properties\":{\"text\":{\"type\":\"string\",\"description\":\"the "
    "corrected text; the word timings follow it\"},"
    "  \"speaker\":{\"type\":\"string\",\"nullable\":true,\"pattern\":"
    "\"^speaker_[0-9]{1,4}$\",\"description\":\"move the segment to this "
    "speaker (null: none)\"}}},"
    "\"SpeakerNames\":{\"type\":\"object\","
    " \"description\":\"speaker label to display name\","
    " \"additionalProperties\":{\"type\":\"string\",\"nullable\":true}},"
    "\"Vocabulary\":{\"type\":\"object\",\"required\":[\"keywords\"],"
    " \"properties\":{\"keywords\":{\"type\":\"array\",\"maxItems\":100,"
    "  \"items\":{\"type\":\"object\",\"required\":[\"word\"],"
    "   \"properties\":{\"word\":{\"type\":\"string\",\"description\":"
    "\"letters, with ' or - inside; written as given when heard\"},"
    "    \"boost\":{\"type\":\"number\",\"minimum\":-10,\"maximum\":10,"
    "\"default\":1,\"description\":\"the word's language-model probability "
    "is multiplied by 10^boost (at most 10^3); 0 or less adds nothing\"}}}}}},"
    "\"SearchResults\":{\"type\":\"object\",\"required\":[\"query\",\"total\","
    "\"results\"],\"properties\":{\"query\":{\"type\":\"string\"},"
    " \"total\":{\"type\":\"integer\",\"description\":\"results in all\"},"
    " \"results\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "  \"properties\":{\"transcription_id\":{\"type\":\"integer\"},"
    "   \"title\":{\"type\":\"string\"},"
    "   \"segment_id\":{\"type\":\"integer\",\"nullable\":true,"
    "\"description\":\"null: the title matched\"},"
    "   \"start_time\":{\"type\":\"number\",\"nullable\":true},"
    "   \"end_time\":{\"type\":\"number\",\"nullable\":true},"
    "   \"speaker\":{\"type\":\"string\",\"nullable\":true},"
    "   \"snippet\":{\"type\":\"string\",\"description\":\"the text "
    "around the words found (a title: all of it)\"},"
    "   \"snippet_html\":{\"type\":\"string\",\"description\":\"the same, "
    "HTML-escaped, the words found in <mark>\"}}}}}},"
    "\"KeepAudio\":{\"type\":\"object\",\"required\":[\"keep_audio\"],"
    " \"properties\":{\"keep_audio\":{\"type\":\"boolean\",\"description\":"
    "\"sessions and uploads that start afterwards keep their audio (when the "
    "server does: --keep-audio)\"},"
    "  \"has_audio\":{\"type\":\"boolean\",\"readOnly\":true,\"description\":"
    "\"some audio is kept (GET .../audio.ogg answers 200)\"}}},"
    "\"Health\":{\"type\":\"object\",\"required\":[\"status\"],"
    " \"properties\":{\"status\":{\"type\":\"string\",\"enum\":[\"ok\","
    "\"unavailable\"],\"description\":\"unavailable (with 503): the store "
    "does not answer, or the configured bus is unreachable\"},"
    "  \"version\":{\"type\":\"string\"},\"store\":{\"type\":\"string\","
    "\"enum\":[\"sqlite\",\"postgresql\"],\"description\":\"the store's backend\"},"
    "  \"store_reachable\":{\"type\":\"boolean\"},"
    "  \"bus\":{\"type\":\"string\",\"enum\":[\"memory\",\"redis\"]},"
    "  \"bus_reachable\":{\"type\":\"boolean\"},"
    "  \"sessions\":{\"type\":\"integer\"},"
    "  \"max_sessions\":{\"type\":\"integer\"},"
    "  \"watchers\":{\"type\":\"integer\",\"description\":\"open "
    "/ws/watch sockets\"},"
    "  \"workers\":{\"type\":\"integer\"},"
    "  \"recogniser\":{\"type\":\"string\",\"enum\":[\"loading\",\"ready\"],"
    "\"description\":\"loading: its model is still being loaded (for a "
    "fraction of a second after start-up); streams that begin meanwhile "
    "wait for it\"},"
    "  \"engine\":{\"type\":\"string\",\"description\":\"the recogniser: "
    "pocketsphinx, or deepgram (a service elsewhere)\"},"
    "  \"upstream\":{\"type\":\"object\",\"description\":\"only with a "
    "service as engine\",\"properties\":{"
    "\"connections\":{\"type\":\"integer\"},"
    "\"latency_ms\":{\"type\":\"number\",\"nullable\":true,\"description\":"
    "\"mean time from an utterance's end to its final words, over the "
    "last 64\"},\"failures\":{\"type\":\"integer\",\"description\":"
    "\"connections dropped or refused since start\"}}},"
    "  \"decoders\":{\"type\":\"integer\"},"
    "  \"decoders_in_use\":{\"type\":\"integer\"},"
    "  \"decoders_waiting\":{\"type\":\"integer\"},"
    "  \"store_queue\":{\"type\":\"integer\"},"
    "  \"lag\":{\"type\":\"number\",\"description\":\"seconds the decoder "
    "workers are behind\"},"
    "  \"load\":{\"type\":\"number\",\"description\":\"percentage of the "
    "decoder workers' time spent decoding, over about the last ten "
    "seconds\"}}},"
    "\"UploadJob\":{\"type\":\"object\","
    " \"required\":[\"id\",\"transcription_id\",\"status\",\"progress\"],"
    " \"properties\":{\"id\":{\"type\":\"integer\"},"
    "  \"transcription_id\":{\"type\":\"integer\"},"
    "  \"status\":{\"type\":\"string\",\"enum\":[\"running\",\"done\",\"failed\"]},"
    "  \"progress\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
    "  \"audio_seconds\":{\"type\":\"number\"},"
    "  \"time_offset\":{\"type\":\"number\"},"
    "  \"segments\":{\"type\":\"integer\"},"
    "  \"format\":{\"type\":\"string\",\"nullable\":true},"
    "  \"error\":{\"type\":\"string\",\"nullable\":true},"
    "  \"detail\":{\"type\":\"string\",\"description\":\"a failed job's error\"},"
    "  \"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "  \"url\":{\"type\":\"string\"}}},"
    "\"Session\":{\"type\":\"object\","
    " \"required\":[\"auth\",\"signed_in\"],"
    " \"properties\":{\"auth\":{\"type\":\"string\","
    "   \"enum\":[\"required\",\"off\"]},"
    "  \"signed_in\":{\"type\":\"boolean\",\"description\":\"a valid key or "
    "session came with the request\"},"
    "  \"key\":{\"type\":\"string\",\"description\":\"the key's name\"},"
    "  \"scope\":{\"type\":\"string\",\"enum\":[\"read\",\"write\",\"admin\"]},"
    "  \"via\":{\"type\":\"string\",\"enum\":[\"key\",\"session\"]},"
    "  \"expires_at\":{\"type\":\"string\",\"format\":\"date-time\","
    "   \"description\":\"when a session made by this request ends\"}}},"
    "\"HTTPError\":{\"type\":\"object\",\"required\":[\"detail\"],"
    " \"properties\":{\"detail\":{\"type\":\"string\"}}},"
    "\"ValidationError\":{\"type\":\"object\","
    " \"required\":[\"type\",\"loc\",\"msg\"],"
    " \"properties\":{\"type\":{\"type\":\"string\"},"
    "  \"loc\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "  \"msg\":{\"type\":\"string\"},\"input\":{}}},"
    "\"HTTPValidationError\":{\"type\":\"object\",\"required\":[\"detail\"],"
    " \"properties\":{\"detail\":{\"type\":\"array\","
    "  \"items\":{\"$ref\":\"#/components/schemas/ValidationError\"}}}}"
    "}";

static const char *const websocket_doc =
    "Live transcription: open a WebSocket to /ws/transcribe/{id} (query "
    "parameters as listed there), send audio as "
    "binary frames and control messages ({\"type\": \"KeepAlive\" | "
    "\"Finalize\" | \"CloseStream\"}) as text frames; the server sends "
    "status, transcript_segment, event and error messages.  The messages "
    "are described in docs/protocol.md of Verbatim's repository.";

/* A security scheme of type apiKey. */
static void add_api_key_scheme(cJSON *schemes, const char *id, const char *in,
                               const char *name, const char *description)
{
    cJSON *s = cJSON_AddObjectToObject(schemes, id);
    cJSON_AddStringToObject(s, "type", "apiKey");
    cJSON_AddStringToObject(s, "in", in);
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddStringToObject(s, "description", description);
}

static cJSON *schema_ref(const char *name)
{
    char ref[128];
    cJSON *schema = cJSON_CreateObject();
    if (name[0] == '[' && name[1] == ']') {
        cJSON_AddStringToObject(schema, "type", "array");
        cJSON_AddItemToObject(schema, "items", schema_ref(name + 2));
        return schema;
    }
    snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
    cJSON_AddStringToObject(schema, "$ref", ref);
    return schema;
}

static cJSON *json_content(const char *type, cJSON *schema)
{
    cJSON *content = cJSON_CreateObject();
    cJSON *media = cJSON_AddObjectToObject(content, type);
    cJSON_AddItemToObject(media, "schema", schema);
    return content;
}

static void add_response(cJSON *responses, int status, const char *desc,
                         const char *type, cJSON *schema)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    cJSON *r = cJSON_AddObjectToObject(responses, code);
    cJSON_AddStringToObject(r, "description", desc);
    if (schema != NULL)
        cJSON_AddItemToObject(r, "content", json_content(type, schema));
}

static cJSON *path_parameter(const char *name)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "in", "path");
    cJSON_AddBoolToObject(p, "required", 1);
    cJSON *schema = cJSON_AddObjectToObject(p, "schema");
    cJSON_AddStringToObject(schema, "type", "integer");
    return p;
}

static cJSON *query_parameter(const route_param *q)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", q->name);
    cJSON_AddStringToObject(p, "in", "query");
    cJSON_AddStringToObject(p, "description", q->description);
    cJSON *schema = cJSON_AddObjectToObject(p, "schema");
    cJSON_AddStringToObject(schema, "type", q->type);
    return p;
}

static cJSON *operation(const route *r)
{
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "operationId", r->operation_id);
    cJSON_AddStringToObject(op, "summary", r->summary);
    if (r->kind == API_ROUTE_WEBSOCKET)
        cJSON_AddStringToObject(op, "description", "Open a WebSocket "
                                "here (a GET without the upgrade is answered "
                                "426).  The messages are described in "
                                "docs/protocol.md of Verbatim's repository.");
    cJSON *params = cJSON_AddArrayToObject(op, "parameters");
    if (strstr(r->pattern, "{id}"))
        cJSON_AddItemToArray(params, path_parameter("transcription_id"));
    if (strstr(r->pattern, "{sid}"))
        cJSON_AddItemToArray(params, path_parameter("segment_id"));
    if (strstr(r->pattern, "{job}"))
        cJSON_AddItemToArray(params, path_parameter("job_id"));
    for (const route_param *q = r->query; q && q->name; q++)
        cJSON_AddItemToArray(params, query_parameter(q));
    if (r->request_schema) {
        cJSON *body = cJSON_AddObjectToObject(op, "requestBody");
        cJSON_AddBoolToObject(body, "required", 1);
        cJSON_AddItemToObject(body, "content",
                              json_content("application/json",
                                           schema_ref(r->request_schema)));
    } else if (r->body_type) {
        cJSON *body = cJSON_AddObjectToObject(op, "requestBody");
        cJSON_AddBoolToObject(body, "required", 1);
        cJSON *schema = cJSON_CreateObject();
        cJSON_AddStringToObject(schema, "type", "string");
        cJSON_AddStringToObject(schema, "format", "binary");
        cJSON *content = json_content(r->body_type, schema);
        if (r->form) { /* the same file as a form's first file field */
            cJSON *form = cJSON_CreateObject();
            cJSON_AddStringToObject(form, "type", "object");
            cJSON_AddStringToObject(form, "description",
                                    "The recording as the form's first file "
                                    "field (any name); every other field is "
                                    "read as a query parameter");
            cJSON *props = cJSON_AddObjectToObject(form, "properties");
            cJSON_AddItemToObject(props, "file", cJSON_Duplicate(schema, 1));
            cJSON *required = cJSON_AddArrayToObject(form, "required");
            cJSON_AddItemToArray(required, cJSON_CreateString("file"));
            cJSON *media = cJSON_AddObjectToObject(content, "multipart/form-data");
            cJSON_AddItemToObject(media, "schema", form);
        }
        cJSON_AddItemToObject(body, "content", content);
    }
    api_scope scope = route_scope(r);
    if (scope != API_SCOPE_PUBLIC) {
        /* When the server requires keys (--auth required): which scope
         * this operation needs. */
        static const char *const names[] = {"", "read", "write", "admin"};
        cJSON *security = cJSON_AddArrayToObject(op, "security");
        cJSON *req = cJSON_CreateObject();
        cJSON_AddItemToObject(req, "token", cJSON_CreateArray());
        cJSON_AddItemToArray(security, req);
        if (r->handler != handle_session_create) { /* that one takes a key */
            cJSON *alt = cJSON_CreateObject();
            cJSON_AddItemToObject(alt, "session", cJSON_CreateArray());
            cJSON_AddItemToArray(security, alt);
        }
        cJSON_AddStringToObject(op, "x-verbatim-scope", names[scope]);
    }
    cJSON *responses = cJSON_AddObjectToObject(op, "responses");
    cJSON *schema = NULL;
    if (r->response_schema)
        schema = schema_ref(r->response_schema);
    else if (r->response_type)
        schema = cJSON_CreateObject();
    add_response(responses, r->status,
                 r->status == 204   ? "Done, no content"
                 : r->status == 101 ? "Switching to the WebSocket protocol"
                                    : "Success",
                 r->response_type ? r->response_type : "application/json",
                 schema);
    if (r->not_found)
        add_response(responses, 404,
                     strstr(r->pattern, "{job}") ? "No such transcription "
                                                   "or upload job"
                                                 : "No such transcription",
                     "application/json", schema_ref("HTTPError"));
    if (r->invalid)
        add_response(responses, 422, "Invalid input", "application/json",
                     schema_ref("HTTPValidationError"));
    for (const route_reply *e = r->replies; e && e->status; e++)
        add_response(responses, e->status, e->description, "application/json",
                     e->schema ? schema_ref(e->schema) : NULL);
    return op;
}

/* "/api/transcriptions/{id}/" is written with the parameters' real names. */
static void openapi_path(const char *pattern, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 20 < len; p++) {
        if (strncmp(p, "{id}", 4) == 0) {
            n += (size_t)snprintf(out + n, len - n, "{transcription_id}");
            p += 3;
        } else if (strncmp(p, "{sid}", 5) == 0) {
            n += (size_t)snprintf(out + n, len - n, "{segment_id}");
            p += 4;
        } else if (strncmp(p, "{job}", 5) == 0) {
            n += (size_t)snprintf(out + n, len - n, "{job_id}");
            p += 4;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

char *api_openapi_json(const char *version)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.0.3");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "Verbatim");
    cJSON_AddStringToObject(info, "version", version);
    cJSON_AddStringToObject(info, "description", websocket_doc);
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    for (int i = 0; i < api_route_count; i++) {
        const route *r = &api_routes[i];
        char path[256], method[16];
        openapi_path(r->pattern, path, sizeof(path));
        cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, path);
        if (item == NULL)
            item = cJSON_AddObjectToObject(paths, path);
        size_t n = strlen(r->method);
        for (size_t k = 0; k <= n && k < sizeof(method); k++)
            method[k] = (char)(r->method[k] >= 'A' && r->method[k] <= 'Z'
                                   ? r->method[k] + 32 : r->method[k]);
        cJSON_AddItemToObject(item, method, operation(r));
    }
    cJSON *components = cJSON_AddObjectToObject(doc, "components");
    cJSON_AddItemToObject(components, "schemas", cJSON_Parse(schemas_json));
    cJSON *schemes = cJSON_AddObjectToObject(components, "securitySchemes");
    add_api_key_scheme(schemes, "token", "header", "Authorization",
                       "\"Token KEY\" or \"Bearer KEY\", a key made with "
                       "`verbatim keys create`; needed when the server runs "
                       "with --auth required.  A WebSocket may send it as the "
                       "subprotocols \"token, KEY\" instead.");
    add_api_key_scheme(schemes, "session", "cookie", "verbatim_session",
                       "The web app's session, from POST /api/session; it "
                       "opens what its key opens.");
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}
