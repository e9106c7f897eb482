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
#include "../util/meter.h"
#include "../util/pool.h"
#include "../util/runner.h"
#include "server.h"
#include "web.h"

struct http_req;
struct ws_conn;
typedef struct upload_job upload_job;

typedef struct server {
    server_config cfg;
    char origins[8][128];    /* allowed CORS origins */
    int origin_count;
    struct lws_context *lws;
    store_t *store;
    runner_t *runner;        /* the store's thread */
    pool_t *pool;            /* decoder workers */
    meter audio;             /* seconds of audio the workers decode, with
                                the memory of pool_busy() (admission) */
    asr_engine *engine;
    api_context api;
    web_files *web;          /* the browser app, in memory */
    bus_t *bus;              /* live messages, for watchers */

    pthread_mutex_t lock;    /* guards the three fields below */
    struct http_req *http_done; /* answered requests, for the I/O thread */
    int lws_alive;           /* net_wake() may call into lws */
    char fatal[1024];        /* why the server must stop, or "" */

    upload_job *jobs;        /* uploads (under lock) */
    long long next_job_id;   /* under lock */
    struct http_req *upload_waiters; /* I/O thread only: requests waiting
                                        for their upload job */

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
/* May a new session start?  0, or -1 with the reason for the client: the
 * server is at --max-sessions, or its workers are more than --max-lag-ms
 * behind (a new stream would slow every other one down): tasks wait that
 * long for a worker, or a live socket's audio waits that long to be
 * decoded.  I/O thread. */
int net_admit(server *srv, char *why, size_t len);

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

/* ws.c: tells the watchers of a transcription that it was deleted, and
 * closes their sockets with 4004 (api_context.deleted; runner thread). */
void net_transcription_deleted(void *srv, int64_t transcription_id);

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
/* The longest a live socket's audio has been waiting to be decoded
 * (seconds).  I/O thread. */
double ws_live_lag(server *srv);

/* Stores a final segment of transcription tid (its times shifted by
 * offset) and publishes its message to the transcription's watchers;
 * *message (when not NULL) gets the message text (malloc'd).  Runner
 * thread.  0 or the store's error. */
int net_store_final(server *srv, int64_t tid, double offset,
                    const session_event *ev, char **message);
/* Publishes text to tid's watchers and frees it. */
void net_publish(server *srv, int64_t tid, char *text);

/* speakers.c (runner thread) */
typedef struct speaker_seed {
    int speaker;
    voice_stats voice;
} speaker_seed;
/* The voices of tid's labelled speakers so far (malloc'd array). */
int net_speaker_seeds(server *srv, int64_t tid, speaker_seed **out,
                      size_t *count);
/* Re-clusters tid's speakers and stores the new labels; returns the
 * speakers_updated message (published to watchers; malloc'd) or NULL when
 * no label changed. */
char *net_refine_speakers(server *srv, int64_t tid, int min_speakers,
                          int max_speakers);

/* upload.c */
int upload_route(const char *path, int64_t *tid, long long *job_id);
/* Starts a job over data (taken, also on failure).  0 with *job set, or
 * -1 with res filled (422, 503, 500). */
int upload_start(server *srv, int64_t tid, const char *query, uint8_t *data,
                 size_t len, upload_job **job, int *wait_s, api_response *res);
int upload_finished(upload_job *job);
/* The job's state as a response: 200 done, 202 running, 4xx/5xx failed. */
void upload_respond(upload_job *job, api_response *res, char *location,
                    size_t location_len);
void upload_get(server *srv, int64_t tid, long long job_id, api_response *res);
void upload_shutdown(server *srv);

/* wsproto.c: the JSON texts of PROTOCOL section 1 (malloc'd). */
/* time_offset < 0: not sent. */
char *wsproto_status(const char *text, double time_offset);
/* The words of a final as stored: the same array its message carries. */
char *wsproto_words(const session_event *ev, double offset);
/* A stored final, for watchers catching up (with the segment's "id"). */
char *wsproto_stored_segment(const store_segment *seg);
char *wsproto_error(const char *text);
/* What a socket is told, before 4004, when its transcription is deleted;
 * and that error message as a whole, as watchers get it on the bus. */
#define WSPROTO_DELETED "this transcription was deleted"
extern const char wsproto_deleted[];
char *wsproto_event(const char *type);
/* {"type": "utterance_end", "end": seconds} on the timeline. */
char *wsproto_utterance_end(const session_event *ev, double offset);
/* An interim or final result; speaker NULL is sent as null. */
char *wsproto_segment(const session_event *ev, double offset,
                      const char *speaker);

#endif
