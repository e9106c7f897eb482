/*
 * routes.h - the one table of the server's routes: the REST API, uploads
 * and the two WebSocket endpoints.  The router (api_route_match, used by
 * net/ for every request and handshake) and the OpenAPI document
 * (openapi.c) both read it, so the document lists exactly what is served.
 * Internal to the api module.
 */
#ifndef VB_API_ROUTES_H
#define VB_API_ROUTES_H

#include <cJSON.h>
#include <stdint.h>

#include "api.h"

typedef struct route_call {
    const api_context *ctx;
    const api_request *req;
    const struct route *route;
    int64_t id;  /* {id}: a transcription */
    int64_t sid; /* {sid}: a segment; {job}: an upload job */
} route_call;

typedef void (*route_handler)(const route_call *call, api_response *out);

/* A query parameter, for the document. */
typedef struct route_param {
    const char *name, *type, *description;
} route_param;

/* An answer beside the success, 404 and 422, for the document. */
typedef struct route_reply {
    int status;
    const char *description;
    const char *schema;         /* component name, or NULL */
} route_reply;

typedef struct route {
    const char *method;
    const char *pattern;        /* "{id}": a transcription id, "{sid}": a
                                   segment id, "{job}": an upload job id */
    api_route_kind kind;
    route_handler handler;      /* API_ROUTE_REST only; the others are
                                   served by net/ */
    api_place place;            /* API_ROUTE_REST: where it is answered */
    int public_route;           /* no key needed */
    api_scope scope;            /* the key's scope needed; 0 (and not
                                   public): by the method, GET read,
                                   DELETE admin, others write */
    const char *operation_id;
    const char *summary;
    const char *request_schema; /* component name of the JSON body, or NULL */
    const char *body_type;      /* a body that is not JSON (an upload's) */
    int form;                   /* ...also as a multipart/form-data file */
    int status;                 /* on success */
    const char *response_schema;/* component name, "[]Name" for an array,
                                   NULL for no body */
    const char *response_type;  /* when not application/json */
    int not_found, invalid;     /* may answer 404 / 422; without invalid,
                                   a path id that is not a number is
                                   answered 404 */
    const route_param *query;   /* ends with a NULL name; may be NULL */
    const route_reply *replies; /* ends with status 0; may be NULL */
} route;

extern const route api_routes[];
/* The scope a route needs (its own, or its method's). */
api_scope route_scope(const route *r);
/* json as the response's body (taken). */
void route_respond_json(api_response *out, int status, cJSON *json);
/* 404 for VB_ENOTFOUND, else 500 (the log has the cause). */
void route_store_error(api_response *out, int rc);
/* A 422 in FastAPI's shape: detail[{type, loc: [where, field], msg,
 * input}]. */
void route_invalid(api_response *out, const char *type, const char *where,
                   const char *field, const char *msg, const cJSON *input);
/* The body as a JSON object, or NULL after filling a 422 response. */
cJSON *route_object_body(const api_request *req, api_response *out);

/* session.c: the web app's sign-in */
void handle_session_get(const route_call *call, api_response *out);
void handle_session_create(const route_call *call, api_response *out);
void handle_session_end(const route_call *call, api_response *out);

/* uploads.c */
void handle_upload_list(const route_call *call, api_response *out);
void handle_upload_get(const route_call *call, api_response *out);

/* vocabulary.c: the words a transcription's sessions should hear */
void handle_vocabulary_get(const route_call *call, api_response *out);
void handle_vocabulary_set(const route_call *call, api_response *out);

/* audio.c: kept audio */
void handle_audio_get(const route_call *call, api_response *out);
void handle_audio_delete(const route_call *call, api_response *out);
void handle_keep_audio_get(const route_call *call, api_response *out);
void handle_keep_audio_set(const route_call *call, api_response *out);

/* exposition.c: GET /metrics */
void handle_metrics(const route_call *call, api_response *out);

extern const int api_route_count;

#endif
