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
#include <pthread.h>
#include <stdatomic.h>

#include "../api/api.h"
#include "../bus/bus.h"
#include "../session/session.h"
#include "../store/store.h"
#include "../util/pool.h"
#include "../util/runner.h"
#include "server.h"
#include "web.h"

struct http_req;
struct ws_conn;

typedef struct server {
    server_config cfg;
    char origins[8][128];    /* allowed CORS origins */
    int origin_count;
    struct lws_context *lws;
    store_t *store;
    runner_t *runner;        /* the store's thread */
    pool_t *pool;            /* decoder workers */
    asr_engine *engine;
    api_context api;
    web_files *web;          /* the browser app, in memory */
    bus_t *bus;              /* live messages, for watchers */

    pthread_mutex_t lock;    /* guards the two fields below */
    struct http_req *http_done; /* answered requests, for the I/O thread */
    int lws_alive;           /* net_wake() may call into lws */

    struct ws_conn *conns;   /* I/O thread only: open sockets */
    atomic_int sessions;     /* sessions decoding (also after a disconnect) */
    atomic_int next_conn_id;
} server;

/* Per-connection storage that libwebsockets allocates for us. */
typedef struct net_pss {
    struct http_req *req;
    struct ws_conn *conn;
} net_pss;

void net_wake(server *srv);

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
void ws_shutdown(server *srv);

/* wsproto.c: the JSON texts of PROTOCOL section 1 (malloc'd). */
/* time_offset < 0: not sent. */
char *wsproto_status(const char *text, double time_offset);
/* The words of a final as stored: the same array its message carries. */
char *wsproto_words(const session_event *ev, double offset);
/* A stored final, for watchers catching up (with the segment's "id"). */
char *wsproto_stored_segment(const store_segment *seg);
char *wsproto_error(const char *text);
char *wsproto_event(const char *type);
/* An interim or final result; speaker NULL is sent as null. */
char *wsproto_segment(const session_event *ev, double offset,
                      const char *speaker);

#endif
