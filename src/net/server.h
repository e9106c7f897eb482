/*
 * server.h - `verbatim serve`: HTTP and WebSocket on one port.
 *
 * server_run() builds everything (store, store runner, decoder pool,
 * recogniser), serves until SIGINT or SIGTERM, then shuts down without
 * losing audio: open sessions decode what they received and their finals
 * are stored before it returns.
 */
#ifndef VB_SERVER_H
#define VB_SERVER_H

#include <stddef.h>

#include "../asr/engine.h"

typedef struct server_config {
    const char *host;        /* address to listen on */
    int port;
    const char *db;          /* store URL or SQLite path */
    const char *bus;         /* bus URL (bus.h): NULL for in-process */
    int workers;             /* decoder threads */
    int max_sessions;        /* live transcription sockets at once */
    int max_lag_ms;          /* refuse new sessions while the workers are
                                further behind than this; 0: never */
    int max_load;            /* ... or when one more real-time stream would
                                take the workers past this percentage of
                                their time, at what a second of audio has
                                cost them lately; 0: never */
    int max_watchers;        /* /ws/watch sockets at once */
    int dg_store;            /* keep /v1/listen's transcriptions (1) or
                                delete each once answered (0) */
    int keep_audio;          /* keep what sessions hear (1, default) */
    const char *callback_hosts; /* hosts /v1/listen's callback= may name,
                                comma-separated, or "*"; NULL: none */
    int rate_limit;          /* requests a minute per client address; 0:
                                no limit */
    size_t ws_queue;         /* bytes a WebSocket client may leave unread */
    size_t http_queue;       /* bytes of HTTP answers waiting, in all */
    size_t max_frame;        /* bytes in one WebSocket message */
    size_t max_upload;       /* bytes in one uploaded recording */
    int upload_parts;        /* the most parts of one upload decoded at
                                once; 0: one per free worker (upload.c) */
    int idle_timeout;        /* seconds without a message before a live
                                socket is closed; 0: never */
    const char *cors_origins;/* other pages' origins, comma-separated, or
                                "*"; NULL: none */
    const char *allowed_hosts;/* Host names answered beside the server's
                                own addresses and localhost; "*": any */
    const char *trusted_proxies; /* addresses, comma-separated, whose
                                X-Forwarded-For and X-Forwarded-Proto
                                are believed; NULL: none */
    const char *web_dir;     /* the browser app; NULL: web/ by the program */
    int auth;                /* SERVER_AUTH_* */
    const char *engine;      /* the recogniser by name (asr_engine_create());
                                NULL: the default */
    const char *const *engine_options; /* its KEY=VALUE settings, NULL-
                                terminated; NULL: none */
    const char *engine_fallback; /* a second engine, or NULL: sessions may
                                ask for it, and the first goes on with it
                                when it cannot (asr_params.fallback) */
    const char *const *fallback_options;
    asr_params asr;
} server_config;

/* Whether requests need an API key. */
enum {
    SERVER_AUTH_DEFAULT = 0, /* off on a loopback address, else required */
    SERVER_AUTH_REQUIRED,
    SERVER_AUTH_OFF
};

server_config server_default_config(void);
/* Returns 0 after a clean shutdown, or a negative VB_E* code with a
 * message in err when it could not start. */
int server_run(const server_config *cfg, char *err, size_t errlen);

#endif
