/*
 * ws.c - the live transcription socket, /ws/transcribe/{id}.
 *
 * The socket only moves bytes: what happens to the audio and its results
 * (the lookup, storing each final before anyone sees it, publishing to
 * watchers, re-clustering) is the transcription layer's run
 * (transcription.h), which this file opens and feeds, and whose faults it
 * maps to close codes.
 *
 * One ws_conn per socket.  It lives until the last of its holders lets go
 * (refs): the I/O thread, from ESTABLISHED to CLOSED, which feeds audio and
 * control messages to the session and writes queued messages; the run,
 * whose callbacks queue messages until its done(); and a watcher's
 * subscription.
 *
 * Messages for the client wait in `out` (under lock) and are written by
 * the I/O thread, one per writable callback.  A queued close is written
 * after the messages before it.
 *
 * A live socket claims its transcription (one live session at a time; a
 * second gets 4409) and tells its client the claim's resume token in
 * `status`.  A socket that brings that token in ?resume= takes the
 * session over: the old socket's input ends, its last finals are stored,
 * and it is closed with 4409 after them (its client is presumably gone).
 *
 * The same connection type serves /ws/watch/{id}, read-only: watch_job
 * (on the store's writer) subscribes the connection to the transcription's
 * topic on the bus, where every run publishes each final right after
 * storing it, and only then reads the last stored final's id and sends the
 * stored finals up to it.  A final published with a greater id comes
 * live; one with an id up to it (published before, and still on its way
 * through Redis, or from another instance) is dropped: so a watcher sees
 * each final exactly once, stored or live.  When the bus may have lost
 * messages (BUS_GAP) the watcher is closed with 1012: its client connects
 * again and reads the store again.
 */
#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/utf8.h"
#include "dglisten.h"
#include "../util/vb.h"
#include "net_internal.h"

#define TEXT_LIMIT 65536

/* A watcher's stored segments are sent a page at a time, the next when
 * the last has been written, so that what waits for a socket does not
 * grow with the transcript. */
#define WATCH_PAGE 100

typedef struct out_msg {
    char *text;        /* NULL for a close */
    int64_t final_id;  /* a live final's segment id (watchers), else 0 */
    size_t bytes;      /* counted against the queue's limit (0: replay) */
    int close_code;
    char reason[124];
    struct out_msg *next;
} out_msg;

typedef struct msg_queue {
    out_msg *head, *tail;
} msg_queue;

static void queue_push(msg_queue *q, out_msg *m)
{
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
}

/* Moves all of src to the end of dst. */
static void queue_append(msg_queue *dst, msg_queue *src)
{
    if (src->head == NULL)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    src->head = src->tail = NULL;
}

static void queue_free(msg_queue *q)
{
    for (out_msg *m = q->head, *next; m; m = next) {
        next = m->next;
        free(m->text);
        free(m);
    }
    q->head = q->tail = NULL;
}

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
    int closing;            /* its close frame is written (I/O thread) */
    struct ws_conn *next;

    int watch;              /* a /ws/watch/ socket */
    dg_listen *dg;          /* a /v1/listen socket: Deepgram's messages */
    session_params params;  /* ... its session's, until the run opens */
    int counted;            /* ... counted in srv->watchers */

    int64_t transcription_id;
    int64_t stored_upto;    /* a watcher: the last stored final sent or to
                               be (-1 until read); later ones come live */
    tx_live live;           /* the resume token sent and the claim's (set
                               before the run's first callback) */
    char resume[TX_TOKEN_LEN + 2]; /* ?resume=, cut one past a real one */
    tx_run *run;            /* a live socket's run (transcription.h); its
                               session is `session` until the input ends */

    pthread_mutex_t lock;   /* guards the fields below */
    msg_queue out;          /* to write, in order */
    msg_queue held;         /* a watcher's live messages while its stored
                               segments are still being sent */
    size_t queued;          /* bytes of live messages in out and held */
    int overflow;           /* over the limit: closing with 1008 */
    int replaying;          /* stored segments still to send */
    int page_pending;       /* the next page is being read */
    store_page page;        /* where the next page starts */
    int gone;               /* the socket is closed */
    int want_resume;
    int close_requested;    /* CloseStream seen (set on I/O, read in done) */
    int draining;           /* the server is stopping: 1012 after the last
                               finals (set on I/O, read in done) */
    int faulted;            /* the run reported a fault (and a close) */
    int superseded;         /* another socket resumed this session */
    int want_stop;          /* the run asks the I/O thread to end input */
    int64_t created_tid;    /* /v1/listen: its transcription, made on the
                               writer (-1: that failed); 0: not yet */
    bus_sub *sub;           /* a watcher's subscription */
} ws_conn;

static void conn_unref(ws_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    queue_free(&c->out);
    queue_free(&c->held);
    free(c->text);
    dg_listen_free(c->dg);
    tx_run_release(c->run);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static out_msg *new_msg(char *text, int close_code, const char *reason)
{
    out_msg *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        free(text);
        return NULL;
    }
    m->text = text;
    m->close_code = close_code;
    snprintf(m->reason, sizeof(m->reason), "%s", reason ? reason : "");
    return m;
}

/*
 * Queues a text (taking it) or, with text NULL, a close.  Any thread.
 * A client that does not read what it is sent would have the server keep
 * it all: past the --ws-queue-kb limit, what waits is dropped and the
 * socket closed with 1008 (ws_on_wake ends it should the close frame not
 * get out either).
 */
static void conn_push(ws_conn *c, char *text, int close_code,
                      const char *reason, int64_t final_id)
{
    out_msg *m = new_msg(text, close_code, reason);
    if (m == NULL)
        return;
    m->bytes = m->text ? strlen(m->text) : 0;
    m->final_id = final_id;
    pthread_mutex_lock(&c->lock);
    if (final_id > 0 && c->stored_upto >= 0 && final_id <= c->stored_upto) {
        pthread_mutex_unlock(&c->lock); /* a watcher has it from the store */
        free(m->text);
        free(m);
        return;
    }
    if (c->gone || c->overflow) {
        pthread_mutex_unlock(&c->lock);
        free(m->text);
        free(m);
        return;
    }
    c->queued += m->bytes;
    if (c->queued > c->srv->cfg.ws_queue) {
        queue_free(&c->out);
        queue_free(&c->held);
        c->overflow = 1;
        log_warn(c->tag, "the client has not read %zu bytes sent to it "
                 "(over --ws-queue-kb): closing with 1008", c->queued);
        c->queued = 0;
        free(m->text);
        m->text = NULL;
        m->bytes = 0;
        m->close_code = 1008;
        snprintf(m->reason, sizeof(m->reason), "too slow: over %zu KiB of "
                 "messages were waiting for this client to read them",
                 c->srv->cfg.ws_queue / 1024);
        queue_push(&c->out, m);
    } else {
        queue_push(c->replaying ? &c->held : &c->out, m);
    }
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
}

static void conn_send(ws_conn *c, char *text, int close_code,
                      const char *reason)
{
    conn_push(c, text, close_code, reason, 0);
}

static void conn_error(ws_conn *c, int close_code, const char *message)
{
    conn_send(c, wsproto_error(message), 0, NULL);
    conn_send(c, NULL, close_code, message);
}

/* ---- the run's client (transcription.h): writer or worker threads ---- */

/* The title as the status quotes it: at most 60 bytes, cut at a
 * character's start so that the frame stays valid UTF-8. */
static void status_title(const char *title, char *out, size_t len)
{
    size_t n = utf8_prefix(title, 60);
    snprintf(out, len, "%.*s", (int)n, title);
}

static void run_opened(void *ctx, const char *title, double time_offset)
{
    ws_conn *c = ctx;
    if (c->dg != NULL)
        return; /* Deepgram's streams have no such message */
    char cut[64], text[128];
    status_title(title, cut, sizeof(cut));
    snprintf(text, sizeof(text), "Ready: transcribing into \"%s\"", cut);
    conn_send(c, wsproto_status(text, time_offset, c->live.token), 0, NULL);
}

static void run_result(void *ctx, const tx_result *result)
{
    ws_conn *c = ctx;
    char *text = c->dg ? dg_listen_render(c->dg, result)
                       : result->message ? strdup(result->message) : NULL;
    if (text != NULL)
        conn_send(c, text, 0, NULL);
}

static void run_speakers(void *ctx, const char *message)
{
    ws_conn *c = ctx;
    if (c->dg != NULL)
        return;
    char *copy = strdup(message);
    if (copy != NULL)
        conn_send(c, copy, 0, NULL);
}

static void run_fault(void *ctx, tx_fault fault, const char *message)
{
    ws_conn *c = ctx;
    static const int close_codes[] = {
        [TX_FAULT_NOT_FOUND] = 4004, [TX_FAULT_DELETED] = 4004,
        [TX_FAULT_STORE] = 1011,     [TX_FAULT_AUDIO] = 1003,
        [TX_FAULT_INTERNAL] = 1011,  [TX_FAULT_BUSY] = 4409,
    };
    if (fault == TX_FAULT_BUSY) /* another instance runs it */
        metrics_count_refused(METRICS_REFUSED_BUSY);
    pthread_mutex_lock(&c->lock);
    c->faulted = 1;
    pthread_mutex_unlock(&c->lock);
    if (c->dg != NULL) /* Deepgram closes with a reason, no message */
        conn_send(c, NULL, fault == TX_FAULT_AUDIO ? 1008 : 1011, message);
    else
        conn_error(c, close_codes[fault], message);
}

static void run_stop_input(void *ctx)
{
    ws_conn *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->want_stop = 1;
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
}

/* Any thread, so it only notes it: ws_on_wake ends the input. */
static void run_superseded(void *ctx)
{
    ws_conn *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->superseded = 1;
    c->want_stop = 1;
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
}

static void run_wake(void *ctx)
{
    ws_conn *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->want_resume = 1;
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
}

static void run_done(void *ctx)
{
    ws_conn *c = ctx;
    atomic_fetch_sub(&c->srv->sessions, 1);
    metrics_session_closed(c->dg ? METRICS_SESSION_DEEPGRAM
                                 : METRICS_SESSION_LIVE);
    if (c->dg != NULL && !c->srv->cfg.dg_store)
        net_forget_transcription(c->srv, c->transcription_id);
    log_info(c->tag, "session ended");
    pthread_mutex_lock(&c->lock);
    int close_now = c->close_requested && !c->faulted;
    int superseded = c->superseded && !c->faulted;
    int drained = c->draining && !close_now && !superseded && !c->faulted;
    pthread_mutex_unlock(&c->lock);
    if ((close_now || drained) && c->dg != NULL)
        conn_send(c, dg_listen_metadata(c->dg), 0, NULL);
    if (close_now)
        conn_send(c, NULL, 1000, "stream closed");
    else if (drained) /* every final it had was sent first */
        conn_send(c, NULL, 1012, "the server is shutting down: connect again "
                                 "(with the resume token) to go on");
    else if (superseded) /* after its last finals, should anyone read them */
        conn_error(c, 4409, "another connection resumed this session with "
                            "its resume token; this one is closed");
    conn_unref(c); /* the run's reference */
}

/* ---- watchers (the writer thread, ordered with the finals) ---------- */

static void deliver_to_watcher(void *ctx, const bus_message *msg)
{
    ws_conn *c = ctx;
    if (msg->kind == BUS_GAP) { /* protocol.md 2.4 */
        conn_error(c, 1012, "live messages may have been lost (the message "
                            "bus was unreachable): connect again to read "
                            "the transcript from the store");
        return;
    }
    if (msg->kind == BUS_CONTROL)
        return; /* between servers */
    char *copy = strdup(msg->text);
    if (copy != NULL)
        conn_push(c, copy, 0, NULL, msg->kind == BUS_FINAL ? msg->seq : 0);
    else
        metrics_count_bus_error(); /* the watcher misses this message */
    if (msg->kind == BUS_DELETED)
        conn_send(c, NULL, 4004, WSPROTO_DELETED);
}

/* The stored finals end at last: live ones up to it, held while the
 * subscription was being made, are dropped.  Called with c->lock. */
static void set_stored_upto_locked(ws_conn *c, int64_t last)
{
    c->stored_upto = last;
    for (out_msg **pp = &c->held.head; *pp;) {
        out_msg *m = *pp;
        if (m->final_id > 0 && m->final_id <= last) {
            *pp = m->next;
            c->queued -= m->bytes;
            free(m->text);
            free(m);
        } else {
            pp = &m->next;
        }
    }
    c->held.tail = NULL;
    for (out_msg *m = c->held.head; m; m = m->next)
        c->held.tail = m;
}

/* The replay is over (or failed): the live messages held meanwhile follow
 * the stored ones.  Called with c->lock. */
static void end_replay_locked(ws_conn *c)
{
    c->replaying = 0;
    queue_append(&c->out, &c->held);
}

/* Queues the next page of stored segments (on store's thread).  The last
 * page lets the live messages held meanwhile follow.  Returns 0, or a
 * VB_E* code. */
static int send_page(ws_conn *c, store_t *store)
{
    pthread_mutex_lock(&c->lock);
    store_page page = c->page;
    pthread_mutex_unlock(&c->lock);
    store_segment *segs = NULL;
    size_t n = 0;
    int rc = store_segment_page(store, c->transcription_id, &page, &segs, &n);
    if (rc != 0) {
        pthread_mutex_lock(&c->lock);
        end_replay_locked(c);
        pthread_mutex_unlock(&c->lock);
        return rc;
    }
    msg_queue q = {NULL, NULL};
    for (size_t i = 0; i < n; i++) {
        out_msg *m = new_msg(wsproto_stored_segment(&segs[i]), 0, NULL);
        if (m != NULL)
            queue_push(&q, m); /* bytes 0: replay is paced, not limited */
        page.after_start = segs[i].start_time;
        page.after_id = segs[i].id;
    }
    store_segments_free(segs, n);
    pthread_mutex_lock(&c->lock);
    if (!c->overflow && !c->gone)
        queue_append(&c->out, &q);
    queue_free(&q); /* what was not taken */
    c->page = page;
    c->page_pending = 0;
    if (n < (size_t)page.limit) /* the last page */
        end_replay_locked(c);
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
    return 0;
}

typedef struct {
    ws_conn *c;
    store_t *store;
} page_job;

static void page_on_runner(void *arg)
{
    page_job *job = arg;
    if (send_page(job->c, job->store) != 0)
        conn_error(job->c, 1011, "the database failed");
    conn_unref(job->c);
    free(job);
}

/* The next page, on a reading connection (the writer's when there is
 * none).  I/O thread, once the last page has been written. */
static void request_page(ws_conn *c)
{
    server *srv = c->srv;
    page_job *job = malloc(sizeof(*job));
    runner_t *runner = srv->runner;
    if (job == NULL)
        return; /* the next writable callback asks again */
    job->c = c;
    job->store = srv->store;
    if (srv->reader_count > 0) {
        net_reader *r = &srv->readers[c->id % srv->reader_count];
        runner = r->runner;
        job->store = r->store;
    }
    pthread_mutex_lock(&c->lock);
    c->page_pending = 1;
    pthread_mutex_unlock(&c->lock);
    atomic_fetch_add(&c->refs, 1);
    if (runner_submit(runner, page_on_runner, job) != 0) {
        conn_unref(c);
        free(job);
    }
}

/* Subscribes to the live results, then sends the stored ones, a page at
 * a time.  The subscription is made before the last id is read, so that a
 * final stored after that read is published after it, and delivered (a
 * Redis bus confirms the subscription first, bus.h); the rest are dropped
 * by id (conn_push).  On the writer, as the lookup is. */
static void watch_on_runner(void *arg)
{
    ws_conn *c = arg;
    store_transcription t;
    int rc = store_transcription_get(c->srv->store, c->transcription_id, &t);
    if (rc != 0) {
        char text[128];
        if (rc == VB_ENOTFOUND)
            metrics_count_refused(METRICS_REFUSED_NOT_FOUND);
        snprintf(text, sizeof(text), "Transcription %lld not found",
                 (long long)c->transcription_id);
        conn_error(c, rc == VB_ENOTFOUND ? 4004 : 1011,
                   rc == VB_ENOTFOUND ? text : "the database failed");
        conn_unref(c);
        return;
    }
    char cut[64], text[128];
    status_title(t.title, cut, sizeof(cut));
    snprintf(text, sizeof(text), "Watching \"%s\"", cut);
    conn_send(c, wsproto_status(text, -1, NULL), 0, NULL);
    pthread_mutex_lock(&c->lock);
    c->replaying = 1; /* live messages wait in `held` until the replay ends */
    c->page_pending = 1;
    c->stored_upto = -1;
    int gone = c->gone;
    pthread_mutex_unlock(&c->lock);
    /* Not under c->lock: delivery takes it, under the bus's lock. */
    bus_sub *sub = NULL;
    if (gone || bus_subscribe(c->srv->bus, c->transcription_id,
                              deliver_to_watcher, c, &sub) != 0) {
        if (!gone)
            metrics_count_bus_error();
        conn_unref(c);
        return;
    }
    pthread_mutex_lock(&c->lock);
    if (c->gone) { /* closed meanwhile: on_closed() saw no subscription */
        pthread_mutex_unlock(&c->lock);
        bus_unsubscribe(c->srv->bus, sub);
        conn_unref(c);
        return;
    }
    c->sub = sub;
    /* The subscription keeps open_job's reference; this call holds one
     * more while it sends the first page: a close meanwhile drops the
     * subscription's (on_closed()), and freed the connection under
     * send_page() (seen once in test_auth under ASan). */
    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&c->lock);
    int64_t last = 0;
    rc = store_segment_last_id(c->srv->store, c->transcription_id, &last);
    pthread_mutex_lock(&c->lock);
    set_stored_upto_locked(c, rc == 0 ? last : 0);
    c->page = (store_page){.max_id = last, .after_start = -1e300,
                           .after_id = 0, .limit = WATCH_PAGE};
    if (rc != 0)
        end_replay_locked(c);
    pthread_mutex_unlock(&c->lock);
    if (rc != 0 || send_page(c, c->srv->store) != 0)
        conn_error(c, 1011, "the database failed");
    conn_unref(c);
}

/* ---- I/O thread ---------------------------------------------------- */

/* The path's {id} (the router matched the rest) -> 12.  1: ok,
 * 0: malformed, -1: not a number. */
static int parse_id(const char *s, int64_t *id)
{
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

/* Reads the stream's options from the URL (options.c), and the resume
 * token into c->resume. */
static int parse_query(struct lws *wsi, ws_conn *c, session_params *p,
                       char *err, size_t errlen)
{
    char frag[256];
    int format_given = 0;
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag),
                                          WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        char *value = strchr(frag, '=');
        if (value == NULL)
            continue;
        *value++ = '\0';
        if (strcmp(frag, "resume") == 0) {
            /* Any other length is no token: cut it where it shows. */
            snprintf(c->resume, sizeof(c->resume), "%s", value);
            c->live.resume = c->resume;
            continue;
        }
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
static void arm_idle_timer(server *srv, ws_conn *c)
{
    if (c->dg != NULL)
        lws_set_timer_usecs(c->wsi, (lws_usec_t)DG_IDLE_S * LWS_US_PER_SEC);
    else if (srv->cfg.idle_timeout > 0)
        lws_set_timer_usecs(c->wsi, (lws_usec_t)srv->cfg.idle_timeout * LWS_US_PER_SEC);
}

static void on_idle(server *srv, ws_conn *c)
{
    if (c->session == NULL || c->stream_closed)
        return;
    if (c->dg != NULL) {
        log_info(c->tag, "idle: closing");
        conn_send(c, NULL, 1011, "NET-0001: did not receive audio data or a "
                  "text message within the timeout window");
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "no audio or KeepAlive for %d s; send "
             "{\"type\": \"KeepAlive\"} to keep a quiet stream open",
             srv->cfg.idle_timeout);
    log_info(c->tag, "idle: closing");
    conn_error(c, 1008, msg);
}

static void start_run(server *srv, ws_conn *c, int64_t id,
                      const session_params *params);

/* Makes /v1/listen's transcription (the writer's thread). */
static void create_on_runner(void *arg)
{
    ws_conn *c = arg;
    char title[160];
    dg_listen_title(c->dg, title, sizeof(title));
    store_transcription t;
    int rc = store_transcription_create(c->srv->store, title, &t);
    pthread_mutex_lock(&c->lock);
    c->created_tid = rc == 0 ? t.id : -1;
    pthread_mutex_unlock(&c->lock);
    net_wake(c->srv);
    conn_unref(c);
}

/* A Deepgram client: its options, then its transcription is made on the
 * writer and the run opened once it exists (ws_on_wake); meanwhile its
 * audio waits in the socket. */
static int open_deepgram(server *srv, ws_conn *c, const net_request *req)
{
    snprintf(c->tag, sizeof(c->tag), "dg c=%d", c->id);
    log_info(c->tag, "connection from %s to %s", req->peer, req->path);
    c->params = session_default_params();
    c->params.audio_meter = &srv->audio;
    c->params.measure_latency = 1;
    char err[200];
    c->dg = dg_listen_open(req->query, &c->params, err, sizeof(err));
    if (c->dg == NULL) {
        metrics_count_refused(METRICS_REFUSED_BAD_REQUEST);
        log_warn(c->tag, "rejected: %s", err);
        conn_send(c, NULL, 1008, err);
        return 0;
    }
    if (net_admit(srv, err, sizeof(err)) != 0) {
        log_warn(c->tag, "refused: %s", err);
        conn_send(c, NULL, 1013, err);
        return 0;
    }
    lws_rx_flow_control(c->wsi, 0);
    atomic_fetch_add(&c->refs, 1); /* the job's */
    if (runner_submit(srv->runner, create_on_runner, c) != 0) {
        conn_unref(c);
        conn_send(c, NULL, 1011, "the server is shutting down");
    }
    return 0;
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
    /* The kernel would otherwise grow the socket's send buffer to
     * megabytes for a client that does not read (tcp_wmem), beyond what
     * --ws-queue-kb bounds; Linux doubles the value set. */
    int sndbuf = (int)(srv->cfg.ws_queue / 4);
    int fd = (int)lws_get_socket_fd(wsi);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    /* Checked by the filter before the upgrade (request.c). */
    net_request req;
    net_request_read(srv, wsi, 1, &req);
    metrics_count_http(api_metrics_slot(&req.route, 0), 101);
    if (strcmp(req.path, "/v1/listen") == 0)
        return open_deepgram(srv, c, &req);
    const char *raw = req.route.param[0];
    c->watch = strncmp(req.path, "/ws/watch/", 10) == 0;
    int64_t id = 0;
    int parsed = parse_id(raw, &id);
    snprintf(c->tag, sizeof(c->tag), "t=%.20s c=%d", raw, c->id);
    log_info(c->tag, "connection from %s to %s", req.peer, req.path);
    if (parsed == 0) {
        metrics_count_refused(METRICS_REFUSED_BAD_REQUEST);
        conn_error(c, 4001, "malformed transcription id in the URL");
        return 0;
    }
    if (parsed < 0) {
        metrics_count_refused(METRICS_REFUSED_NOT_FOUND);
        char msg[320];
        snprintf(msg, sizeof(msg), "Transcription %s not found", raw);
        conn_error(c, 4004, msg);
        return 0;
    }
    c->transcription_id = id;
    if (c->watch) {
        if (atomic_fetch_add(&srv->watchers, 1) >= srv->cfg.max_watchers) {
            atomic_fetch_sub(&srv->watchers, 1);
            char msg[128];
            snprintf(msg, sizeof(msg), "the server is at its limit of %d "
                     "watchers; try again later", srv->cfg.max_watchers);
            metrics_count_refused(METRICS_REFUSED_WATCHER_LIMIT);
            log_warn(c->tag, "refused: %s", msg);
            conn_error(c, 1013, msg);
            return 0;
        }
        c->counted = 1;
        atomic_fetch_add(&c->refs, 1); /* watch_job's, then the subscription's */
        if (runner_submit(srv->runner, watch_on_runner, c) != 0) {
            conn_unref(c);
            conn_error(c, 1011, "the server is shutting down");
        }
        return 0;
    }

    session_params params = session_default_params();
    params.audio_meter = &srv->audio;
    params.measure_latency = 1;
    char err[200];
    if (parse_query(wsi, c, &params, err, sizeof(err)) != 0 ||
        net_engine(srv, params.engine, err, sizeof(err)) == NULL) {
        metrics_count_refused(METRICS_REFUSED_BAD_REQUEST);
        log_warn(c->tag, "rejected: %s", err);
        conn_error(c, 1003, err);
        return 0;
    }
    char msg[256];
    if (net_admit(srv, msg, sizeof(msg)) != 0) {
        log_warn(c->tag, "refused: %s", msg);
        conn_error(c, 1013, msg);
        return 0;
    }
    start_run(srv, c, id, &params);
    return 0;
}

/* Opens the live run of transcription id for c (I/O thread). */
static void start_run(server *srv, ws_conn *c, int64_t id,
                      const session_params *params)
{
    char msg[320];
    tx_client client = {
        .opened = run_opened, .result = run_result, .speakers = run_speakers,
        .fault = run_fault, .stop_input = run_stop_input,
        .superseded = run_superseded, .wake = run_wake, .done = run_done,
        .ctx = c, .tag = c->tag,
    };
    atomic_fetch_add(&c->refs, 1); /* the run's, until done */
    int rc = tx_run_open_live(srv->tx, id, params,
                              net_engine(srv, params->engine, NULL, 0), srv->pool,
                              &client, &c->live, &c->run);
    if (rc == VB_EBUSY) {
        atomic_fetch_sub(&c->refs, 1);
        metrics_count_refused(METRICS_REFUSED_BUSY);
        snprintf(msg, sizeof(msg), "transcription %lld already has a live "
                 "session%s; wait until it closes, or resume your own with "
                 "?resume= and the resume_token of its status message",
                 (long long)id, c->live.resume ? ", and the resume token sent "
                 "is not its" : "");
        log_warn(c->tag, "refused: %s", msg);
        conn_error(c, 4409, msg);
        return;
    }
    if (rc != 0) {
        atomic_fetch_sub(&c->refs, 1);
        conn_error(c, 1011, "the server could not start a session");
        return;
    }
    c->session = tx_run_session(c->run);
    atomic_fetch_add(&srv->sessions, 1);
    metrics_session_opened(c->dg ? METRICS_SESSION_DEEPGRAM
                                 : METRICS_SESSION_LIVE);
    arm_idle_timer(srv, c);
}

/* Ends the session's input (it goes on decoding what it has). */
static void stop_session(ws_conn *c)
{
    if (c->session == NULL)
        return;
    session_close(c->session); /* the run holds the session */
    c->session = NULL;
}

/* The client's input ends (its session decodes what it has, then done):
 * *why (close_requested or draining) says how run_done() closes. */
static void end_input(ws_conn *c, int *why)
{
    pthread_mutex_lock(&c->lock);
    *why = 1;
    pthread_mutex_unlock(&c->lock);
    c->stream_closed = 1;
    lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
    stop_session(c);
}

static void on_text(ws_conn *c)
{
    cJSON *msg = cJSON_ParseWithLength(c->text, c->text_len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(name, "Finalize") == 0) {
        if (c->session && c->dg)
            dg_listen_finalize(c->dg);
        if (c->session)
            session_finalize(c->session);
    } else if (strcmp(name, "CloseStream") == 0) {
        if (c->session) {
            log_info(c->tag, "CloseStream: finishing");
            end_input(c, &c->close_requested);
        } else if (!c->stream_closed) { /* a watcher */
            conn_send(c, NULL, 1000, "stream closed");
        } /* else the input has ended already: the close comes after DONE */
    }
    /* KeepAlive and anything unknown: nothing to do (docs/protocol.md 1.5). */
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
        arm_idle_timer(srv, c);
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
    out_msg *m = c->out.head;
    if (m) {
        c->out.head = m->next;
        if (c->out.head == NULL)
            c->out.tail = NULL;
        c->queued -= m->bytes;
    }
    int more = c->out.head != NULL;
    int next_page = !more && c->replaying && !c->page_pending;
    pthread_mutex_unlock(&c->lock);
    if (next_page)
        request_page(c);
    if (m == NULL)
        return 0;
    int rc = 0;
    if (m->text == NULL) {
        log_info(c->tag, "closing with %d: %s", m->close_code, m->reason);
        c->closing = 1;
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
    if (c->counted)
        atomic_fetch_sub(&srv->watchers, 1);
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
        int64_t created = c->created_tid;
        if (created != 0)
            c->created_tid = 0;
        int pending = c->out.head != NULL;
        if (c->overflow == 1) { /* should the close frame not get out */
            c->overflow = 2;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
        }
        int resume = c->want_resume;
        int stop = c->want_stop;
        c->want_resume = c->want_stop = 0;
        pthread_mutex_unlock(&c->lock);
        if (created > 0 && !c->stream_closed) {
            c->transcription_id = created;
            snprintf(c->tag, sizeof(c->tag), "t=%lld c=%d", (long long)created,
                     c->id);
            log_info(c->tag, "Deepgram stream into a new transcription");
            start_run(srv, c, created, &c->params);
            lws_rx_flow_control(c->wsi, 1);
        } else if (created < 0) {
            conn_send(c, NULL, 1011, "the server could not store the stream");
        }
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

int ws_drain(server *srv)
{
    int open = 0;
    for (ws_conn *c = srv->conns; c; c = c->next) {
        open++;
        if (c->session != NULL && !c->stream_closed) {
            /* As CloseStream: the input ends, the rest is decoded and its
             * finals sent, then run_done() closes with 1012. */
            end_input(c, &c->draining);
        } else if (c->session == NULL && !c->stream_closed) {
            /* A watcher, or a socket whose session is not open yet. */
            c->stream_closed = 1;
            conn_send(c, NULL, 1012, "the server is shutting down: connect "
                                     "again");
        }
    }
    return open;
}

int ws_open_count(const server *srv)
{
    int open = 0;
    for (const ws_conn *c = srv->conns; c; c = c->next)
        open += !c->closing; /* not waiting for a client's close reply */
    return open;
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
