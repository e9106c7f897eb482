/*
 * ws.c - the live transcription socket, /ws/transcribe/{id}.
 *
 * One ws_conn per socket.  It is shared by three threads and lives until
 * the last of them lets go (refs):
 *   - the I/O thread, from ESTABLISHED to CLOSED: feeds audio and control
 *     messages to the session and writes queued messages to the socket;
 *   - the store's runner thread: looks the transcription up (open_job),
 *     then receives every session event in order (event_job), stores each
 *     final segment, and only then queues its message: a final the client
 *     sees is always already stored;
 *   - the session, through its sink, until it emits SESSION_DONE.
 *
 * The session is created at once, before the transcription is looked up,
 * so that audio sent early is not lost.  Its times start at 0; the runner
 * adds the transcription's time offset, which open_job has set before any
 * event job runs (the runner is first in, first out).
 *
 * Messages for the client wait in `out` (under lock) and are written by
 * the I/O thread, one per writable callback.  A queued close is written
 * after the messages before it.
 *
 * The same connection type serves /ws/watch/{id}, read-only: watch_job
 * (on the runner) sends the stored finals and then subscribes the
 * connection to the transcription's topic on the bus, which every
 * session's event_job publishes to.  Both run on the runner thread, so a
 * watcher sees each final exactly once: stored, or live.
 */
#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "net_internal.h"

#define TEXT_LIMIT 65536

typedef struct out_msg {
    char *text;        /* NULL for a close */
    int close_code;
    char reason[124];
    struct out_msg *next;
} out_msg;

typedef struct ws_conn {
    server *srv;
    atomic_int refs;
    int id;
    char tag[48];

    /* I/O thread only */
    struct lws *wsi;
    session_t *session;
    size_t msg_bytes;       /* size of the message being received */
    char *text;             /* a text message being received */
    size_t text_len;
    int paused, stream_closed;
    struct ws_conn *next;

    int watch;              /* a /ws/watch/ socket */

    /* runner thread only */
    int64_t transcription_id;
    double time_offset;
    int unknown;            /* no such transcription: drop results */
    int close_when_done;    /* CloseStream: close with 1000 after DONE */
    int diarize, min_speakers, max_speakers; /* set before the runner runs */
    session_t *seed_session; /* a reference for open_job: known voices */
    char *audio_error;      /* the client's audio failed: sent with close
                               1003 after the finals before the damage */

    pthread_mutex_t lock;   /* guards the fields below */
    out_msg *out_head, *out_tail;
    int gone;               /* the socket is closed */
    int want_resume;
    int close_requested;    /* CloseStream seen (set on I/O, read on runner) */
    int want_stop;          /* the runner asks the I/O thread to end input */
    bus_sub *sub;           /* a watcher's subscription */
} ws_conn;

static void conn_unref(ws_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (out_msg *m = c->out_head, *next; m; m = next) {
        next = m->next;
        free(m->text);
        free(m);
    }
    free(c->text);
    free(c->audio_error);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Queues a text (taking it) or, with text NULL, a close.  Any thread. */
static void conn_send(ws_conn *c, char *text, int close_code,
                      const char *reason)
{
    out_msg *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        free(text);
        return;
    }
    m->text = text;
    m->close_code = close_code;
    snprintf(m->reason, sizeof(m->reason), "%s", reason ? reason : "");
    pthread_mutex_lock(&c->lock);
    if (c->gone) {
        pthread_mutex_unlock(&c->lock);
        free(m->text);
        free(m);
        return;
    }
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
}

static void conn_error(ws_conn *c, int close_code, const char *message)
{
    conn_send(c, wsproto_error(message), 0, NULL);
    conn_send(c, NULL, close_code, message);
}

/* ---- runner thread ------------------------------------------------- */

/* Sends text to the transcribing client and to the transcription's
 * watchers; takes text. */
static void conn_publish(ws_conn *c, char *text)
{
    if (text != NULL)
        bus_publish(c->srv->bus, c->transcription_id, text);
    conn_send(c, text, 0, NULL);
}

typedef struct {
    ws_conn *conn;
    session_event *ev;
} event_job;

int net_store_final(server *srv, int64_t tid, double offset,
                    const session_event *ev, char **message)
{
    store_segment seg = {0};
    seg.transcription_id = tid;
    seg.text = ev->text;
    seg.speaker = ev->speaker;
    seg.voice = ev->voice;
    seg.start_time = ev->start + offset;
    seg.end_time = ev->end + offset;
    seg.is_final = 1;
    seg.words_json = wsproto_words(ev, offset);
    int rc = store_segment_add(srv->store, &seg);
    free(seg.words_json);
    if (rc != 0)
        return rc;
    char *text = wsproto_segment(ev, offset, ev->speaker);
    if (text != NULL)
        bus_publish(srv->bus, tid, text);
    if (message != NULL)
        *message = text;
    else
        free(text);
    return 0;
}

void net_publish(server *srv, int64_t tid, char *text)
{
    if (text != NULL)
        bus_publish(srv->bus, tid, text);
    free(text);
}

static void store_final(ws_conn *c, session_event *ev)
{
    char *message = NULL;
    int rc = net_store_final(c->srv, c->transcription_id, c->time_offset, ev,
                             &message);
    if (rc == 0) {
        conn_send(c, message, 0, NULL);
        return;
    }
    if (rc == VB_ENOTFOUND) {
        log_warn(c->tag, "transcription was deleted; the session ends");
        c->unknown = 1;
        conn_error(c, 4004, WSPROTO_DELETED);
    } else {
        log_error(c->tag, "a final segment could not be stored");
        conn_error(c, 1011, "the server could not store the transcript; "
                            "see its log");
    }
}

static void event_on_runner(void *arg)
{
    event_job *job = arg;
    ws_conn *c = job->conn;
    session_event *ev = job->ev;
    switch (ev->kind) {
    case SESSION_FINAL:
        if (!c->unknown)
            store_final(c, ev);
        break;
    case SESSION_INTERIM:
        if (!c->unknown)
            conn_publish(c, wsproto_segment(ev, c->time_offset, ev->speaker));
        break;
    case SESSION_SPEECH_STARTED:
        if (!c->unknown)
            conn_publish(c, wsproto_event("speech_started"));
        break;
    case SESSION_UTTERANCE_END:
        if (!c->unknown)
            conn_publish(c, wsproto_utterance_end(ev, c->time_offset));
        break;
    case SESSION_ERROR:
        if (ev->close_code != 1003) {
            conn_error(c, ev->close_code, ev->text ? ev->text : "error");
            break;
        }
        /* Bad audio: end the input, let the session settle what came
         * before the damage, and say why only after those finals. */
        if (c->audio_error == NULL)
            c->audio_error = strdup(ev->text ? ev->text : "bad audio");
        pthread_mutex_lock(&c->lock);
        c->want_stop = 1;
        pthread_mutex_unlock(&c->lock);
        net_wake(c->srv);
        break;
    case SESSION_DONE:
        atomic_fetch_sub(&c->srv->sessions, 1);
        log_info(c->tag, "session ended");
        if (c->diarize && !c->unknown) {
            char *update = net_refine_speakers(c->srv, c->transcription_id,
                                               c->min_speakers, c->max_speakers);
            if (update != NULL)
                conn_send(c, update, 0, NULL);
        }
        pthread_mutex_lock(&c->lock);
        int close_now = c->close_requested;
        pthread_mutex_unlock(&c->lock);
        if (c->audio_error != NULL)
            conn_error(c, 1003, c->audio_error);
        else if (close_now)
            conn_send(c, NULL, 1000, "stream closed");
        conn_unref(c); /* the session's reference */
        break;
    }
    session_event_free(ev);
    free(job);
}

/* The session's sink: hands each event to the runner, in order. */
static void on_session_event(void *ctx, session_event *ev)
{
    ws_conn *c = ctx;
    event_job *job = malloc(sizeof(*job));
    if (job != NULL) {
        job->conn = c;
        job->ev = ev;
        if (runner_submit(c->srv->runner, event_on_runner, job) == 0)
            return;
        free(job);
    }
    log_error(c->tag, "an event could not be queued for storage");
    if (ev->kind == SESSION_DONE) {
        atomic_fetch_sub(&c->srv->sessions, 1);
        conn_unref(c);
    }
    session_event_free(ev);
}

static void on_session_wake(void *ctx)
{
    ws_conn *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->want_resume = 1;
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
}

static void open_on_runner(void *arg)
{
    ws_conn *c = arg;
    store_transcription t;
    int rc = store_transcription_get(c->srv->store, c->transcription_id, &t);
    if (rc == 0)
        rc = store_transcription_end_time(c->srv->store, c->transcription_id,
                                          &c->time_offset);
    if (rc == 0) {
        char text[128];
        snprintf(text, sizeof(text), "Ready: transcribing into \"%.60s\"",
                 t.title);
        conn_send(c, wsproto_status(text, c->time_offset), 0, NULL);
        log_info(c->tag, "session started at %.3f s", c->time_offset);
        speaker_seed *seeds = NULL;
        size_t nseeds = 0;
        if (c->diarize && c->seed_session != NULL &&
            net_speaker_seeds(c->srv, c->transcription_id, &seeds, &nseeds) == 0)
            for (size_t i = 0; i < nseeds; i++)
                session_seed_speaker(c->seed_session, seeds[i].speaker,
                                     &seeds[i].voice);
        free(seeds);
    } else {
        c->unknown = 1;
        char text[128];
        snprintf(text, sizeof(text), "Transcription %lld not found",
                 (long long)c->transcription_id);
        log_warn(c->tag, "%s", text);
        conn_error(c, rc == VB_ENOTFOUND ? 4004 : 1011,
                   rc == VB_ENOTFOUND ? text : "the database failed");
    }
    if (c->seed_session != NULL)
        session_release(c->seed_session);
    c->seed_session = NULL;
    conn_unref(c);
}

static void deliver_to_watcher(void *ctx, const char *text)
{
    ws_conn *c = ctx;
    char *copy = strdup(text);
    if (copy != NULL)
        conn_send(c, copy, 0, NULL);
    if (strcmp(text, wsproto_deleted) == 0)
        conn_send(c, NULL, 4004, WSPROTO_DELETED);
}

void net_transcription_deleted(void *srv, int64_t transcription_id)
{
    server *s = srv;
    bus_publish(s->bus, transcription_id, wsproto_deleted);
}

static void watch_on_runner(void *arg)
{
    ws_conn *c = arg;
    store_transcription t;
    store_segment *segs = NULL;
    size_t n = 0;
    int rc = store_transcription_get(c->srv->store, c->transcription_id, &t);
    if (rc == 0)
        rc = store_segment_list(c->srv->store, c->transcription_id, &segs, &n);
    if (rc != 0) {
        char text[128];
        snprintf(text, sizeof(text), "Transcription %lld not found",
                 (long long)c->transcription_id);
        conn_error(c, rc == VB_ENOTFOUND ? 4004 : 1011,
                   rc == VB_ENOTFOUND ? text : "the database failed");
        conn_unref(c);
        return;
    }
    char text[128];
    snprintf(text, sizeof(text), "Watching \"%.60s\"", t.title);
    conn_send(c, wsproto_status(text, -1), 0, NULL);
    for (size_t i = 0; i < n; i++)
        conn_send(c, wsproto_stored_segment(&segs[i]), 0, NULL);
    store_segments_free(segs, n);
    pthread_mutex_lock(&c->lock);
    if (!c->gone && bus_subscribe(c->srv->bus, c->transcription_id,
                                  deliver_to_watcher, c, &c->sub) == 0) {
        pthread_mutex_unlock(&c->lock);
        return; /* the subscription keeps open_job's reference */
    }
    pthread_mutex_unlock(&c->lock);
    conn_unref(c);
}

/* ---- I/O thread ---------------------------------------------------- */

/* "/ws/transcribe/12" or "/ws/watch/12" -> 12 (*watch set for the
 * latter).  1: ok, 0: malformed, -1: not a number. */
static int parse_path(const char *uri, int64_t *id, int *watch, char *raw,
                      size_t rawlen)
{
    static const char transcribe[] = "/ws/transcribe/", watching[] = "/ws/watch/";
    const char *s;
    *watch = strncmp(uri, watching, sizeof(watching) - 1) == 0;
    if (*watch)
        s = uri + sizeof(watching) - 1;
    else if (strncmp(uri, transcribe, sizeof(transcribe) - 1) == 0)
        s = uri + sizeof(transcribe) - 1;
    else
        return 0;
    snprintf(raw, rawlen, "%.200s", s);
    if (*s == '\0')
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || strlen(s) > 18)
        return -1;
    *id = v;
    return 1;
}

/* Reads the stream's options from the URL (options.c). */
static int parse_query(struct lws *wsi, session_params *p, char *err,
                       size_t errlen)
{
    char frag[256];
    int format_given = 0;
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag),
                                          WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        char *value = strchr(frag, '=');
        if (value == NULL)
            continue;
        *value++ = '\0';
        if (net_stream_option(p, &format_given, frag, value, err, errlen) < 0)
            return VB_EINVAL;
    }
    return net_stream_options_check(p, err, errlen);
}

static void conn_link(server *srv, ws_conn *c)
{
    c->next = srv->conns;
    srv->conns = c;
}

static void conn_unlink(server *srv, ws_conn *c)
{
    for (ws_conn **pp = &srv->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
}

/* (Re)starts the countdown that closes a live socket nobody uses. */
static void arm_idle_timer(server *srv, struct lws *wsi)
{
    if (srv->cfg.idle_timeout > 0)
        lws_set_timer_usecs(wsi, (lws_usec_t)srv->cfg.idle_timeout * LWS_US_PER_SEC);
}

static void on_idle(server *srv, ws_conn *c)
{
    if (c->session == NULL || c->stream_closed)
        return;
    char msg[160];
    snprintf(msg, sizeof(msg), "no audio or KeepAlive for %d s; send "
             "{\"type\": \"KeepAlive\"} to keep a quiet stream open",
             srv->cfg.idle_timeout);
    log_info(c->tag, "idle: closing");
    conn_error(c, 1008, msg);
}

static int on_established(server *srv, struct lws *wsi, net_pss *pss)
{
    ws_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    c->srv = srv;
    c->wsi = wsi;
    c->id = atomic_fetch_add(&srv->next_conn_id, 1) + 1;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    pss->conn = c;
    conn_link(srv, c);

    char uri[512] = "", raw[256] = "", peer[64] = "?";
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    int64_t id = 0;
    int parsed = parse_path(uri, &id, &c->watch, raw, sizeof(raw));
    snprintf(c->tag, sizeof(c->tag), "t=%.20s c=%d", raw, c->id);
    log_info(c->tag, "connection from %s to %s", peer, uri);
    if (parsed == 0) {
        conn_error(c, 4001, "malformed transcription id in the URL");
        return 0;
    }
    if (parsed < 0) {
        char msg[320];
        snprintf(msg, sizeof(msg), "Transcription %s not found", raw);
        conn_error(c, 4004, msg);
        return 0;
    }
    c->transcription_id = id;
    if (c->watch) {
        atomic_fetch_add(&c->refs, 1); /* watch_job's, then the subscription's */
        if (runner_submit(srv->runner, watch_on_runner, c) != 0) {
            conn_unref(c);
            conn_error(c, 1011, "the server is shutting down");
        }
        return 0;
    }

    session_params params = session_default_params();
    params.transcription_id = id;
    params.audio_meter = &srv->audio;
    char err[200];
    if (parse_query(wsi, &params, err, sizeof(err)) != 0) {
        log_warn(c->tag, "rejected: %s", err);
        conn_error(c, 1003, err);
        return 0;
    }
    char msg[200];
    if (net_admit(srv, msg, sizeof(msg)) != 0) {
        log_warn(c->tag, "refused: %s", msg);
        conn_error(c, 1013, msg);
        return 0;
    }
    session_sink sink = {on_session_event, on_session_wake, c};
    if (session_create(&params, srv->engine, srv->pool, &sink, &c->session) != 0) {
        conn_error(c, 1011, "the server could not start a session");
        return 0;
    }
    atomic_fetch_add(&srv->sessions, 1);
    atomic_fetch_add(&c->refs, 2); /* the session's and open_job's */
    c->diarize = params.diarize;
    c->min_speakers = params.min_speakers;
    c->max_speakers = params.max_speakers;
    c->seed_session = c->session;
    session_retain(c->session); /* released by open_job */
    arm_idle_timer(srv, wsi);
    if (runner_submit(srv->runner, open_on_runner, c) != 0) {
        session_release(c->seed_session);
        c->seed_session = NULL;
        conn_unref(c);
        conn_error(c, 1011, "the server is shutting down");
    }
    return 0;
}

/* Ends the session's input (it goes on decoding what it has). */
static void stop_session(ws_conn *c)
{
    if (c->session == NULL)
        return;
    session_close(c->session);
    session_release(c->session);
    c->session = NULL;
}

static void on_text(ws_conn *c)
{
    cJSON *msg = cJSON_ParseWithLength(c->text, c->text_len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(name, "Finalize") == 0) {
        if (c->session)
            session_finalize(c->session);
    } else if (strcmp(name, "CloseStream") == 0) {
        if (c->session) {
            log_info(c->tag, "CloseStream: finishing");
            pthread_mutex_lock(&c->lock);
            c->close_requested = 1;
            pthread_mutex_unlock(&c->lock);
            c->stream_closed = 1;
            lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
            stop_session(c);
        } else if (!c->stream_closed) { /* a watcher */
            conn_send(c, NULL, 1000, "stream closed");
        } /* else the input has ended already: the close comes after DONE */
    }
    /* KeepAlive and anything unknown: nothing to do (PROTOCOL 1.5). */
    cJSON_Delete(msg);
}

static int on_receive(server *srv, struct lws *wsi, ws_conn *c, void *in,
                      size_t len)
{
    int first = lws_is_first_fragment(wsi);
    int final = lws_is_final_fragment(wsi);
    if (first)
        c->msg_bytes = 0;
    c->msg_bytes += len;
    if (c->session != NULL && !c->stream_closed)
        arm_idle_timer(srv, wsi);
    if (c->msg_bytes > srv->cfg.max_frame) {
        char reason[120];
        snprintf(reason, sizeof(reason), "message over the limit of %zu bytes",
                 srv->cfg.max_frame);
        log_warn(c->tag, "closing: %s", reason);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)reason, strlen(reason));
        return -1;
    }
    if (lws_frame_is_binary(wsi)) {
        if (c->session == NULL || c->stream_closed)
            return 0; /* a watcher's audio, or audio after CloseStream */
        if (session_feed(c->session, in, len) == 1 && !c->paused) {
            log_debug(c->tag, "decoding is behind: pausing reads");
            c->paused = 1;
            lws_rx_flow_control(wsi, 0);
        }
        return 0;
    }
    if (first)
        c->text_len = 0;
    if (c->text_len + len > TEXT_LIMIT)
        return 0; /* an oversized control message is not one we know */
    char *grown = realloc(c->text, c->text_len + len + 1);
    if (grown == NULL)
        return -1;
    c->text = grown;
    memcpy(c->text + c->text_len, in, len);
    c->text_len += len;
    if (final)
        on_text(c);
    return 0;
}

static int on_writeable(struct lws *wsi, ws_conn *c)
{
    pthread_mutex_lock(&c->lock);
    out_msg *m = c->out_head;
    if (m) {
        c->out_head = m->next;
        if (c->out_head == NULL)
            c->out_tail = NULL;
    }
    int more = c->out_head != NULL;
    pthread_mutex_unlock(&c->lock);
    if (m == NULL)
        return 0;
    int rc = 0;
    if (m->text == NULL) {
        log_info(c->tag, "closing with %d: %s", m->close_code, m->reason);
        lws_close_reason(wsi, (enum lws_close_status)m->close_code,
                         (unsigned char *)m->reason, strlen(m->reason));
        rc = -1;
    } else {
        size_t n = strlen(m->text);
        unsigned char *buf = malloc(LWS_PRE + n);
        if (buf == NULL) {
            rc = -1;
        } else {
            memcpy(buf + LWS_PRE, m->text, n);
            if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
                rc = -1;
            free(buf);
        }
        if (more && rc == 0)
            lws_callback_on_writable(wsi);
    }
    free(m->text);
    free(m);
    return rc;
}

static void on_closed(server *srv, ws_conn *c)
{
    log_info(c->tag, "connection closed");
    pthread_mutex_lock(&c->lock);
    c->gone = 1;
    bus_sub *sub = c->sub;
    c->sub = NULL;
    pthread_mutex_unlock(&c->lock);
    if (sub != NULL) { /* not under c->lock: delivery takes it */
        bus_unsubscribe(srv->bus, sub);
        conn_unref(c);
    }
    c->wsi = NULL;
    conn_unlink(srv, c);
    stop_session(c);
    conn_unref(c);
}

void ws_on_wake(server *srv)
{
    for (ws_conn *c = srv->conns; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        int pending = c->out_head != NULL;
        int resume = c->want_resume;
        int stop = c->want_stop;
        c->want_resume = c->want_stop = 0;
        pthread_mutex_unlock(&c->lock);
        if (stop && c->session != NULL) {
            c->stream_closed = 1; /* later audio is ignored */
            lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
            stop_session(c);
        }
        if (pending)
            lws_callback_on_writable(c->wsi);
        if (resume && c->paused) {
            log_debug(c->tag, "decoding caught up: resuming reads");
            c->paused = 0;
            lws_rx_flow_control(c->wsi, 1);
        }
    }
}

double ws_live_lag(server *srv)
{
    double worst = 0;
    for (ws_conn *c = srv->conns; c; c = c->next) {
        if (c->session == NULL || c->stream_closed)
            continue;
        double lag = session_lag(c->session);
        worst = lag > worst ? lag : worst;
    }
    return worst;
}

void ws_shutdown(server *srv)
{
    for (ws_conn *c = srv->conns; c; c = c->next)
        stop_session(c);
}

int ws_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason,
                net_pss *pss, void *in, size_t len)
{
    if (pss == NULL)
        return reason == LWS_CALLBACK_ESTABLISHED ? -1 : 0;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(srv, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return pss->conn ? on_receive(srv, wsi, pss->conn, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss->conn ? on_writeable(wsi, pss->conn) : 0;
    case LWS_CALLBACK_TIMER:
        if (pss->conn)
            on_idle(srv, pss->conn);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (pss->conn)
            on_closed(srv, pss->conn);
        pss->conn = NULL;
        return 0;
    default:
        return 0;
    }
}
