/*
 * net_internal.h - what the pieces of the net module share: the server
 * state, the HTTP side (http.c), the WebSocket side (ws.c) and the message
 * texts (wsproto.c).  Not for use outside src/net/.
 *
 * Threads: everything that touches a `struct lws *` runs on the I/O thread
 * (the libwebsockets service loop).  Other threads hand results over by
 * queueing them under a lock and calling net_wake(), which makes the loop
 * run net_on_wake() on the I/O thread.
 */
#ifndef VB_NET_INTERNAL_H
#define VB_NET_INTERNAL_H

#include <libwebsockets.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../api/api.h"
#include "../auth/auth.h"
#include "../bus/bus.h"
#include "../format/wsproto.h"
#include "../session/session.h"
#include "../store/store.h"
#include "../transcription/transcription.h"
#include "../util/meter.h"
#include "../util/pool.h"
#include "../util/runner.h"
#include "server.h"
#include "web.h"

struct http_req;
struct ws_conn;
typedef struct upload_job upload_job;

/* A reading connection to the store with its own thread: REST reads run
 * here, never behind the writer's finals. */
typedef struct net_reader {
    runner_t *runner;
    store_t *store;
    api_context api;         /* the server's, with this store */
} net_reader;
#define NET_READERS 2

typedef struct server {
    server_config cfg;
    char origins[8][128];    /* other pages' origins allowed (CORS) */
    int origin_count;
    char hosts[32][128];     /* Host names answered (request.c) */
    int host_count;
    int any_host;            /* --allowed-hosts '*' */
    struct in6_addr proxies[16]; /* --trusted-proxy, IPv4 as mapped */
    int proxy_count;
    auth_keys *keys;         /* NULL when keys are not required */
    struct lws_context *lws;
    store_t *store;          /* the writing connection */
    int db_claim;            /* store_claim()'s, or -1 */
    runner_t *runner;        /* the store's writer thread */
    runner_t *slow;          /* slow work: re-clustering */
    tx_service *tx;          /* transcriptions' runs */
    net_reader readers[NET_READERS];
    net_reader checker;      /* the health check's (API_ON_CHECK) */
    int reader_count;        /* 0 for a store in memory: reads go to the
                                writer */
    pool_t *pool;            /* decoder workers */
    meter audio;             /* seconds of audio the workers decode, with
                                the memory of pool_busy() (admission) */
    asr_engine *engine;
    asr_engine *fallback;    /* --engine-fallback, or NULL */
    api_context api;
    web_files *web;          /* the browser app, in memory */
    bus_t *bus;              /* live messages, for watchers */
    int draining;            /* stopping: sessions finish, nothing new is
                                taken (I/O thread only) */

    pthread_mutex_t lock;    /* guards the three fields below */
    struct http_req *http_done; /* answered requests, for the I/O thread */
    int lws_alive;           /* net_wake() may call into lws */
    char fatal[1024];        /* why the server must stop, or "" */

    upload_job *jobs;        /* uploads (under lock) */
    struct http_req *upload_waiters; /* I/O thread only: requests waiting
                                        for their upload job */

    struct ws_conn *conns;   /* I/O thread only: open sockets */
    atomic_int sessions;     /* sessions decoding (also after a disconnect) */
    atomic_int watchers;     /* /ws/watch sockets open */
    atomic_size_t http_queued; /* bytes of HTTP answers not yet written */
    struct rate_limiter *limiter; /* --rate-limit; NULL: none */
    atomic_int next_conn_id;
} server;

/* request.c: a request as the router sees it, before any handler runs:
 * an HTTP request or a WebSocket handshake.  Every request passes
 * net_request_read() and net_request_check(); the handlers then serve
 * req->route. */
typedef struct net_request {
    struct lws *wsi;       /* for headers not copied here (I/O thread) */
    int websocket;         /* a WebSocket handshake */
    char method[8];
    char path[1024];       /* without the query */
    char query[1024];      /* "a=1&b=2", as sent */
    char origin[256];      /* "" without */
    char host[256];
    char peer[64];         /* the client's address: the connection's, or
                              from X-Forwarded-For when the connection
                              is a --trusted-proxy's */
    int via_proxy;         /* the connection is a trusted proxy's */
    api_match route;
    /* Who is asking, set by the access check: the key's name and scope
     * (AUTH_NONE and "" when keys are not required, or for a public
     * route). */
    char principal[65];
    auth_scope scope;
    /* The web app's session cookie as sent ("" without), and whether it
     * (not a key) was the credential. */
    char session_token[64];
    char range[64];           /* the Range header, or "" */
    int via_session;
    int secure;            /* came over TLS (here, or at a proxy that says
                              so with X-Forwarded-Proto) */
    int retry_after;       /* seconds, with a 429 */
    int refusal;           /* with a status from net_request_check(): its
                              metrics_refusal */
} net_request;

/* The origins, host names and proxies the server trusts, from its
 * config and its own addresses.  At start-up: 0, or VB_EINVAL with why
 * in err (a --trusted-proxy that is not an IP address). */
int net_access_init(server *srv, char *err, size_t errlen);
/* Is origin one of --cors-origins (or are they "*")? */
int net_origin_listed(const server *srv, const char *origin);
void net_request_read(const server *srv, struct lws *wsi, int websocket,
                      net_request *out);
/* The access check, before any handler: 0 to go on, or an HTTP status
 * with why (for the client):
 *   421  a Host the server does not answer for (DNS rebinding);
 *   403  a handshake, or a request that changes something, from a web
 *        page of another origin (not the server's own, not listed);
 *   404  a handshake on a path that is not a WebSocket endpoint;
 *   426  a plain HTTP request to a WebSocket endpoint;
 *   401  keys are required and none valid was given (the answer needs
 *        WWW-Authenticate: net_add_security_headers adds it);
 *   429  the client's address is over --rate-limit (req->retry_after
 *        says when to come back);
 *   403  the key's scope is too small for the route.
 * req->refusal says which, for metrics. */
int net_request_check(server *srv, net_request *req, char *why, size_t len);
/* Answers a refused WebSocket handshake with status and why as JSON,
 * before the upgrade (LWS_CALLBACK_HTTP_CONFIRM_UPGRADE).  Returns 1, the
 * value that callback must return then. */
int net_refuse_upgrade(struct lws *wsi, int status, const char *why,
                       int retry_after);
/* The headers every answer carries: what the browser may load and run
 * (Content-Security-Policy), no sniffing, no referrer; and Retry-After
 * when retry_after > 0. */
int net_add_security_headers(struct lws *wsi, int status, int retry_after,
                             unsigned char **p, unsigned char *end);
/* A value from the client quoted in a message: its first 60 bytes, each
 * byte that is not printable ASCII as '?' (messages must be UTF-8). */
const char *net_shown(const char *value, char *buf, size_t len);
/* A path segment ("{id}", "{job}") as a positive id: 0, or -1. */
int net_path_id(const char *segment, int64_t *out);

/* Per-connection storage that libwebsockets allocates for us. */
typedef struct net_pss {
    struct http_req *req;
    struct ws_conn *conn;
} net_pss;

void net_wake(server *srv);
/* May a new session start?  0, or -1 with the reason for the client: the
 * server is at --max-sessions, or its workers are more than --max-lag-ms
 * behind (a new stream would slow every other one down): tasks wait that
 * long for a worker, or a live socket's audio waits that long to be
 * decoded.  I/O thread. */
int net_admit(server *srv, char *why, size_t len);
/* The engine a session asked for by name ("" or NULL: the server's
 * own), or NULL with why in err when the server has no such engine. */
asr_engine *net_engine(server *srv, const char *name, char *err,
                       size_t errlen);

/* options.c: one key=value of a stream's URL (a socket's or an upload's)
 * into p: encoding, sample_rate, channels (each sets *format_given),
 * punctuate, diarize, min_speakers, max_speakers.  1 when taken, 0 when
 * the key is none of these, VB_EINVAL with a message for the client. */
int net_stream_option(session_params *p, int *format_given, const char *key,
                      const char *value, char *err, size_t errlen);
/* After the last option: 0, or VB_EINVAL when the speaker hints disagree. */
int net_stream_options_check(const session_params *p, char *err, size_t errlen);
/* value as a whole number from min to max into *out; -1 otherwise (not a
 * number, out of range, or beyond what a long holds).  Also for a query's
 * other numbers (an upload's wait). */
int net_whole_number(const char *value, long min, long max, int *out);

/* http.c */
int http_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason,
                  net_pss *pss, void *in, size_t len);
void http_on_wake(server *srv);
int http_add_cors(server *srv, struct lws *wsi, unsigned char **p,
                  unsigned char *end);

/* ws.c */
int ws_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason,
                net_pss *pss, void *in, size_t len);
void ws_on_wake(server *srv);
/* The server is stopping (I/O thread): every live session's input ends
 * as on CloseStream and its socket is closed with 1012 once its last
 * finals are sent; watchers are closed with 1012 now.  Returns the
 * sockets open. */
int ws_drain(server *srv);
/* Sockets whose close frame has not been written yet. */
int ws_open_count(const server *srv);
void ws_shutdown(server *srv);
/* The longest a live socket's audio has been waiting to be decoded
 * (seconds).  I/O thread. */
double ws_live_lag(server *srv);

/* server.c: deletes transcription tid on the writer (--dg-store false:
 * a Deepgram stream's, once answered).  Any thread. */
void net_forget_transcription(server *srv, int64_t tid);

/* upload.c */
/* A recording's bytes: in memory (malloc'd), or a spooled file mapped
 * read-only (mapped: its length, to unmap). */
typedef struct upload_body {
    uint8_t *data;
    size_t len;
    int mapped;
} upload_body;
void upload_body_release(upload_body *body);
/* Would an upload with this query be taken now?  Asked on the headers,
 * before the body is read: 0, or -1 with res filled (422, 503). */
int upload_admit(server *srv, int deepgram, const char *query,
                 api_response *res);
/* Starts a job over body (taken, also on failure).  0 with *job set, or
 * -1 with res filled (422, 503, 500).  tid 0: POST /v1/listen, which
 * makes a transcription of its own and answers as Deepgram does.
 * boundary: the body is multipart/form-data (multipart.h); NULL if not. */
int upload_start(server *srv, int64_t tid, const char *query,
                 const char *boundary, upload_body body, upload_job **job,
                 int *wait_s, api_response *res);
/* May the request waiting for job be answered: the job is over, or its
 * wait is and the job has its id (for the 202's Location). */
int upload_answerable(upload_job *job, int wait_over);
/* The job's state as a response: 200 done, 202 running, 4xx/5xx failed. */
void upload_respond(upload_job *job, api_response *res, char *location,
                    size_t location_len);
void upload_shutdown(server *srv);

#endif
