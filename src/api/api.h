/*
 * api.h - the REST API: a parsed request in, a JSON response out.
 *
 * Knows the routes of docs/protocol.md (1 and 2.3), validates input with the
 * reference application's error shapes (422 {"detail": [...]} listing each
 * problem, 404 {"detail": "Not Found"}), calls the store and renders the
 * result.  It knows nothing about sockets: net/ parses HTTP, hands the
 * request to api_handle() on the thread api_route_match() names, and
 * writes the response.
 *
 * The same route table produces /api/openapi.json, so the document lists
 * exactly the routes that are served.
 */
#ifndef VB_API_H
#define VB_API_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"

#define API_MAX_BODY (1024 * 1024)
/* The list of transcriptions comes in pages of at most this many (also
 * without ?limit=, for the reference application's clients, which read
 * one array). */
#define API_LIST_MAX 1000

typedef struct api_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    const char *query;  /* "a=1&b=2" (no '?'), or NULL */
    const char *body;   /* may be NULL */
    size_t body_len;
    /* Who asks, as net's access check found (for /api/session). */
    int auth_required;         /* the server wants keys */
    const char *principal;     /* the key's name, or "" */
    int scope;                 /* api_scope of the key; 0 without */
    int via_session;           /* the credential was the session cookie */
    const char *session_token; /* the cookie's value as sent, or "" */
    int secure;                /* over TLS (the cookie gets Secure) */
    const char *range;         /* the Range header, or NULL */
} api_request;

typedef struct api_response {
    int status;
    char *body;               /* malloc'd; may be NULL (204) */
    size_t body_len;
    const char *content_type; /* static string */
    char filename[128];       /* set: send as a download with this name */
    char filename_utf8[128];  /* the same with the title's letters beyond
                                 ASCII kept (RFC 6266 filename*), or "" */
    char set_cookie[256];     /* a Set-Cookie header's value, or "" */
    int has_total;            /* a list page: send X-Total-Count */
    int64_t total_count;
    char next_link[320];      /* a Link header's rel="next" target, or "" */
    int accept_ranges;        /* send Accept-Ranges: bytes */
    char content_range[64];   /* a Content-Range header's value, or "" */
} api_response;

/* What /api/health reports beside the store; filled on request. */
typedef struct api_health {
    int sessions, max_sessions, watchers, workers, decoders, decoders_in_use;
    int decoders_waiting;
    int loading;          /* the recogniser's model is still loading */
    int store_queue;
    double lag;           /* seconds the decoder workers are behind */
    double load;          /* % of the workers' time busy, lately */
    const char *engine;   /* the recogniser's name */
    const char *fallback; /* the second engine's, or NULL */
    int remote;           /* it is a service elsewhere (asr_stats) */
    int upstream_open;
    double upstream_latency_ms;
    long upstream_failures;
    const char *bus;      /* "memory" or "redis" (bus.h) */
    int bus_reachable;    /* 0: /api/health answers 503 */
} api_health;

/* The exposition format's content type (GET /metrics). */
#define API_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct api_context {
    store_t *store;
    void (*health)(void *ctx, api_health *out);
    void *health_ctx;
    /* Called (on the store's thread) once a transcription is deleted, so
     * that its watchers can be told; may be NULL. */
    void (*deleted)(void *ctx, int64_t transcription_id);
    void *deleted_ctx;
    /* Called (on the store's thread) after a person's edit of transcription
     * tid, with the message its watchers should get (format/wsproto.h's
     * segment_updated or speakers_named); may be NULL. */
    void (*edited)(void *ctx, int64_t transcription_id, const char *message);
    void *edited_ctx;
    /* Called (on the store's thread) once a web session is stored
     * (expires_at > 0) or ended (0), so that it counts at once; may be
     * NULL.  hash: the cookie value's SHA-256 in hex. */
    void (*session_changed)(void *ctx, const char *hash, const char *key_name,
                            int64_t expires_at);
    void *session_ctx;
    const char *version;
} api_context;

/* Where a request may be answered.  Reads never wait behind the writes
 * of finals: they go to connections of their own. */
typedef enum {
    API_ON_WRITER = 0, /* changes the store: the writing connection */
    API_ON_READER,     /* reads only: any reading connection */
    API_ON_ANY,        /* touches no store: any thread, at once */
    API_ON_CHECK       /* the health check: a reading connection of its
                          own, never behind other reads */
} api_place;

/* What serves a route of the one route table (routes.h). */
typedef enum {
    API_ROUTE_NONE = 0,   /* no route */
    API_ROUTE_REST,       /* api_handle() */
    API_ROUTE_UPLOAD,     /* POST a recording (net/upload.c) */
    API_ROUTE_WEBSOCKET   /* /ws/transcribe/{id}, /ws/watch/{id} (net/ws.c) */
} api_route_kind;

/* What a caller's key must allow for a route (auth.h's scopes, with the
 * same values). */
typedef enum {
    API_SCOPE_PUBLIC = 0, /* no key: health, this document */
    API_SCOPE_READ = 1,
    API_SCOPE_WRITE = 2,
    API_SCOPE_ADMIN = 3
} api_scope;

typedef struct api_match {
    api_route_kind kind;  /* the route of this method and path */
    api_place place;      /* where a REST route is answered */
    api_scope scope;      /* what the caller's key must allow; READ for a
                             path without a route (so that a caller
                             without a key learns nothing) */
    int path_known;       /* some route has this path (another method:
                             405, not 404) */
    const char *operation_id; /* for logs; NULL without a route */
    int route_index;      /* the route's place in the table (for metrics:
                             api_route_label()); -1 without a route */
    /* The path's "{...}" segments as sent ({id}, then {sid} or {job}),
     * unparsed: each route kind answers a malformed one its own way. */
    char param[2][64];
    int params;
} api_match;

/* The route of a request (method and path without the query).  Any
 * thread. */
void api_route_match(const char *method, const char *path, api_match *out);

/* Runs on the thread that owns ctx->store (which may be a reading
 * connection for a route placed API_ON_READER).  Always fills out. */
void api_handle(const api_context *ctx, const api_request *req,
                api_response *out);
void api_response_free(api_response *res);

/* A ready response for errors found before the request reaches the API
 * (body too large, ...): {"detail": message}. */
void api_error_response(int status, const char *message, api_response *out);

/* A running upload job whose runner has not saved it for this long has
 * lost it (the server running it stopped): it is shown as failed.  The
 * runner saves at least every UPLOAD_HEARTBEAT_S. */
#define API_UPLOAD_HEARTBEAT_S 1
#define API_UPLOAD_STALE_S 30

/* An upload job as its JSON (docs/api.md) with `status`; detail: a
 * failed job's error is also given as "detail", as FastAPI's errors are
 * (for the answer to the POST).  now: Unix time, for the staleness. */
void api_upload_response(const store_upload *u, double now, int detail,
                         int status, api_response *out);

/* Route `index` of the table: its pattern, and its method in *method;
 * NULL past the end.  For metrics' labels.  Any thread. */
const char *api_route_label(int index, const char **method);

/* Where an answered request is counted in verbatim_http_requests_total
 * (metrics.h's slot): its route's, else the web app's files (web_file:
 * it was one), else the slot of requests without a route. */
int api_metrics_slot(const api_match *match, int web_file);

/* The OpenAPI 3 document (malloc'd JSON text). */
char *api_openapi_json(const char *version);

/* Is `path` one the API serves (with any method)?  For routing. */
int api_owns_path(const char *path);

#endif
