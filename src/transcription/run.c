/*
 * run.c - one transcription's run (transcription.h).
 *
 * The session emits its events on a worker, one at a time and in order.
 * Finals, errors and the last event (done) must be handled on the writer;
 * interim results and events need no store.  The run keeps a backlog:
 *
 *   - while the lookup has not finished, or a writer job is working
 *     through the backlog, every event joins the backlog, so nothing
 *     overtakes a final that is still being stored;
 *   - otherwise an event that needs no store is delivered at once, on the
 *     worker, and one that does joins the backlog and starts a writer job.
 *
 * `draining` is set (under the lock) while a writer job owns the backlog;
 * that job delivers until the backlog is empty and then clears it.  Since
 * the worker delivers directly only when no job owns the backlog, the two
 * never deliver for one run at the same time.
 *
 * The fields below the lock in struct tx_run are written by the writer
 * before it clears `draining` or sets `opened`, and read by the worker
 * only after it has seen those under the lock.
 *
 * A live run that takes another over (transcription.h) does not queue its
 * lookup: the old run does, on the writer, once its done event shows that
 * its last final is stored (`finals_stored`, `successor`).  Until then the
 * new run's events wait in its backlog as they would for any lookup.
 *
 * On a shared store a live run's lookup first takes the transcription's
 * lease (lease.h).  When that hands over a session of another server, the
 * lookup waits in the same way for that server's "released", or for the
 * old lease to lapse, and is queued again by lease.c.
 *
 * Parts (tx_run_add_part): an upload split at its pauses has a session
 * per part, decoded on several workers at once.  Each session's sink is
 * its tx_part.  Only the `current` part (the first whose done has not
 * been passed on) hands its events and audio to the run; a later part
 * keeps them (interim results dropped) until the parts before it are
 * done, so the run sees one stream in order.  A part's done is passed on
 * as the run's own only when no part follows it.
 */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/vb.h"
#include "tx_internal.h"

typedef struct tx_item {
    session_event *ev;
    struct tx_item *next;
} tx_item;

/* One session of a run: the first (run->session), or one added by
 * tx_run_add_part.  The fields below `session` are under run->order. */
typedef struct tx_part {
    tx_run *run;
    session_t *session;
    tx_item *head, *tail;   /* its events, kept until its turn */
    int16_t *pcm;           /* its audio, kept until its turn (kept audio) */
    size_t pcm_len, pcm_cap;
    session_event *done;    /* its done, once decoded, until its turn */
    struct tx_part *next;
} tx_part;

struct tx_run {
    tx_service *svc;
    atomic_int refs;      /* the caller's, and the session's until done */
    int64_t tid;
    char tag[48];
    tx_client client;
    int diarize, min_speakers, max_speakers;
    session_t *session;

    pthread_mutex_t lock; /* guards the seven fields below */
    tx_item *head, *tail; /* the backlog */
    int opened;           /* the lookup has finished */
    int draining;         /* a writer job owns the backlog */

    int finals_stored;    /* done reached the writer: no final to come */
    int finished;         /* done() is called or about to be */
    tx_run *successor;    /* took the claim over; its lookup waits for
                             finals_stored (it cannot end before that) */

    int live;             /* tx_run_open_live: holds (or held) a claim */
    double time_offset;   /* the lookup's, then the first final's */
    int offset_fixed;     /* the first final took its offset (writer) */
    int dead;             /* a fault was reported: drop results */
    double stored_end;    /* where the last stored final ends (s) */
    int silent;           /* tx_run_open failed: the client hears nothing */
    char *audio_error;    /* reported after the finals before it */
    tx_audio *audio;      /* its kept audio; NULL when none is kept */

    /* The shared lease (svc->leases; writer thread, but `holder`, set at
     * the open, and `awaited`, set before the wait, are read by the bus's
     * deliveries too). */
    char holder[STORE_HOLDER_MAX + 1];
    char awaited[STORE_HOLDER_MAX + 1]; /* the holder it took over from */
    char resume[TX_TOKEN_LEN + 1];      /* the client's token, or "" */
    char *token;          /* the caller's tx_live.token: the status's */
    int lease;            /* 1 while it holds the lease */
    int lease_asked;      /* the lookup took it (or was refused) */
    bus_sub *control;     /* its topic, for BUS_CONTROL, while it holds it */

    /* Parts (see the top).  The session parameters, engine and pool new
     * parts are made with; the seeds and taught words the lookup gave the
     * first (read by tx_run_add_part after `opened`). */
    session_params params;
    asr_engine *engine;
    pool_t *pool;
    tx_seed *seeds;
    size_t nseeds;
    asr_keyword *vocab;
    size_t nvocab;
    pthread_mutex_t order; /* guards the parts' lists and the four below */
    tx_part first;
    tx_part *current, *last;
    int decoding;         /* parts whose session has not emitted done */
    int ended;            /* the run's done was passed on */
};

int tx_service_create(const tx_service_config *cfg, tx_service **out)
{
    assert(cfg->store != NULL && cfg->writer != NULL && cfg->slow != NULL);
    tx_service *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return VB_ENOMEM;
    svc->cfg = *cfg;
    if (tx_claims_create(&svc->claims) != 0) {
        free(svc);
        return VB_ENOMEM;
    }
    /* SQLite's file lock already keeps a second server away. */
    int rc = strcmp(store_backend(cfg->store), "sqlite") == 0
                 ? 0 : tx_leases_create(cfg->store, cfg->writer, &svc->leases);
    if (rc != 0) {
        tx_claims_destroy(svc->claims);
        free(svc);
        return rc;
    }
    *out = svc;
    return 0;
}

int tx_service_held(tx_service *svc)
{
    return svc ? atomic_load(&svc->held) : 0;
}

void tx_service_destroy(tx_service *svc)
{
    if (svc == NULL)
        return;
    tx_leases_stop(svc->leases); /* a waiting lookup goes on now */
    /* A done event on the writer queues clustering on the slow runner,
     * which queues the new labels on the writer: wait until neither has
     * anything left to run. */
    unsigned long writer = 0, slow = 0;
    for (;;) {
        unsigned long w = runner_wait_idle(svc->cfg.writer);
        unsigned long s = runner_wait_idle(svc->cfg.slow);
        if (w == writer && s == slow)
            break;
        writer = w;
        slow = s;
    }
    tx_leases_destroy(svc->leases);
    tx_claims_destroy(svc->claims);
    free(svc);
}

void tx_run_retain(tx_run *run)
{
    atomic_fetch_add(&run->refs, 1);
}

/* Frees a list of events. */
static void items_free(tx_item *head)
{
    for (tx_item *it = head, *next; it; it = next) {
        next = it->next;
        session_event_free(it->ev);
        free(it);
    }
}

/* Lets go of the audio a part kept for its turn. */
static void part_drop_pcm(tx_part *p)
{
    free(p->pcm);
    p->pcm = NULL;
    p->pcm_len = p->pcm_cap = 0;
}

/* Drops what a part kept for its turn. */
static void part_clear(tx_part *p)
{
    items_free(p->head);
    p->head = p->tail = NULL;
    if (p->done != NULL)
        session_event_free(p->done);
    p->done = NULL;
    part_drop_pcm(p);
}

static void run_unref(tx_run *run)
{
    if (atomic_fetch_sub(&run->refs, 1) != 1)
        return;
    items_free(run->head);
    if (run->session != NULL)
        session_release(run->session);
    for (tx_part *p = &run->first, *next; p; p = next) {
        next = p->next;
        part_clear(p);
        if (p != &run->first) {
            session_release(p->session);
            free(p);
        }
    }
    free(run->seeds);
    free(run->vocab);
    pthread_mutex_destroy(&run->order);
    free(run->audio_error);
    tx_audio_free(run->audio);
    pthread_mutex_destroy(&run->lock);
    free(run);
}

static void publish(tx_run *run, bus_kind kind, int64_t seq, const char *text)
{
    if (run->svc->cfg.bus == NULL || text == NULL)
        return;
    bus_message msg = {kind, seq, text};
    bus_publish(run->svc->cfg.bus, run->tid, &msg);
}

/* Reports a fault once; the run then stores and sends nothing more. */
static void fail(tx_run *run, tx_fault fault, const char *message)
{
    if (run->dead)
        return;
    run->dead = 1;
    log_warn(run->tag, "%s", message);
    if (run->client.stop_input)
        run->client.stop_input(run->client.ctx);
    run->client.fault(run->client.ctx, fault, message);
}

/* ---- the worker's side, or the writer's in a backlog ---------------- */

/* An interim result or an event that is not stored. */
static void deliver_live(tx_run *run, const session_event *ev)
{
    if (run->dead)
        return;
    char *text = NULL;
    switch (ev->kind) {
    case SESSION_INTERIM:
        text = wsproto_segment(ev, run->time_offset, ev->speaker);
        break;
    case SESSION_SPEECH_STARTED:
        text = wsproto_event("speech_started");
        break;
    case SESSION_UTTERANCE_END:
        text = wsproto_utterance_end(ev, run->time_offset);
        break;
    case SESSION_STATUS:
        text = wsproto_status(ev->text, -1, NULL);
        break;
    case SESSION_FINALIZED: { /* only the Deepgram dialect says anything */
        tx_result result = {ev, run->time_offset, 0, NULL};
        run->client.result(run->client.ctx, &result);
        return;
    }
    default:
        assert(!"only live events are delivered here");
        return;
    }
    publish(run, BUS_LIVE, 0, text);
    tx_result result = {ev, run->time_offset, 0, text};
    run->client.result(run->client.ctx, &result);
    free(text);
    if (ev->kind == SESSION_INTERIM && ev->arrived_at > 0)
        metrics_observe_interim_lag(vb_monotonic_s() - ev->arrived_at);
}

static int needs_writer(const session_event *ev)
{
    return ev->kind == SESSION_FINAL || ev->kind == SESSION_ERROR ||
           ev->kind == SESSION_DONE;
}

/* ---- the writer's side ---------------------------------------------- */

/* How long a final that the store refuses (a full disk; another process
 * holding the database's write lock past its busy timeout) is tried again
 * before the session ends there.  The writer waits meanwhile: while the
 * store fails, nothing else could be stored either. */
#define STORE_RETRY_S 20.0

static int store_final_once(tx_run *run, const session_event *ev,
                            store_segment *seg);

static void store_final(tx_run *run, const session_event *ev)
{
    if (run->dead)
        return;
    store_segment seg = {0};
    double first = vb_monotonic_s(), pause = 0.25;
    int rc;
    while ((rc = store_final_once(run, ev, &seg)) != 0 && rc != VB_ENOTFOUND &&
           vb_monotonic_s() - first + pause < STORE_RETRY_S) {
        log_warn(run->tag, "a final could not be stored (%s); trying again in "
                 "%.2f s", vb_strerror(rc), pause);
        usleep((useconds_t)(pause * 1e6));
        pause = pause * 2 < 2.0 ? pause * 2 : 2.0;
    }
    if (rc == VB_ENOTFOUND) {
        fail(run, TX_FAULT_DELETED, WSPROTO_DELETED);
        return;
    }
    if (rc != 0) {
        /* Nothing after it is stored either (run->dead): a transcript
         * never has a hole that a resuming client would skip. */
        log_error(run->tag, "a final segment could not be stored for %.0f s "
                  "(%s); the session ends", vb_monotonic_s() - first,
                  vb_strerror(rc));
        char message[160];
        snprintf(message, sizeof(message), "the server could not store the "
                 "transcript (see its log); it is stored up to %.2f s: "
                 "resume from there", run->stored_end > 0 ? run->stored_end
                                                          : run->time_offset);
        fail(run, TX_FAULT_STORE, message);
        return;
    }
    metrics_count_final_stored();
    if (seg.end_time > run->stored_end)
        run->stored_end = seg.end_time;
    double offset = run->time_offset;
    char *text = wsproto_segment(ev, offset, ev->speaker);
    publish(run, BUS_FINAL, seg.id, text);
    tx_result result = {ev, offset, seg.id, text};
    run->client.result(run->client.ctx, &result);
    free(text);
    if (ev->arrived_at > 0)
        metrics_observe_final_latency(vb_monotonic_s() - ev->arrived_at);
}

/* One try at storing a final (and, for a run's first, at taking the time
 * offset); seg gets its id. */
static int store_final_once(tx_run *run, const session_event *ev,
                            store_segment *seg)
{
    store_t *store = run->svc->cfg.store;
    int rc = 0;
    if (!run->offset_fixed) {
        /* Taken here, not at the lookup: whatever was stored meanwhile (an
         * upload's finals, or a run this one took over) comes before this
         * run's segments instead of among them. */
        rc = store_transcription_end_time(store, run->tid, &run->time_offset);
        run->offset_fixed = rc == 0;
        if (rc == 0)
            log_info(run->tag, "first final: the session's times start at "
                     "%.3f s", run->time_offset);
    }
    double offset = run->time_offset;
    memset(seg, 0, sizeof(*seg));
    seg->transcription_id = run->tid;
    seg->text = ev->text;
    seg->speaker = ev->speaker;
    seg->voice = ev->voice;
    seg->start_time = ev->start + offset;
    seg->end_time = ev->end + offset;
    seg->is_final = 1;
    if (rc == 0) {
        seg->words_json = wsproto_words(ev, offset);
        rc = seg->words_json ? store_segment_add(store, seg) : VB_ENOMEM;
    }
    free(seg->words_json);
    seg->words_json = NULL;
    return rc;
}

/* The last call to the client, and the session's reference let go. */
static void lease_let_go(tx_run *run);

static void finish(tx_run *run)
{
    /* Before done(): a client that saw the close may open the next session
     * at once, and superseded() must not come after done(). */
    if (run->live)
        tx_claims_release(run->svc->claims, run->tid, run);
    lease_let_go(run);
    pthread_mutex_lock(&run->lock);
    run->finished = 1;
    pthread_mutex_unlock(&run->lock);
    if (run->silent) {
        run_unref(run);
        return;
    }
    if (run->audio_error != NULL && !run->dead) {
        run->dead = 1;
        run->client.fault(run->client.ctx, TX_FAULT_AUDIO, run->audio_error);
    }
    run->client.done(run->client.ctx);
    run_unref(run);
}

typedef struct {
    tx_run *run;
    tx_refine *job;
} refine_step;

static void labels_on_writer(void *arg)
{
    refine_step *step = arg;
    tx_run *run = step->run;
    char *named = NULL;
    char *message = run->dead ? NULL
                              : tx_refine_write(run->svc->cfg.store, step->job,
                                                &named);
    /* The names first: a client that draws the new labels has them. */
    char *messages[2] = {named, message};
    for (int i = 0; i < 2; i++) {
        if (messages[i] == NULL)
            continue;
        publish(run, BUS_SPEAKERS, 0, messages[i]);
        if (run->client.speakers)
            run->client.speakers(run->client.ctx, messages[i]);
        free(messages[i]);
    }
    tx_refine_free(step->job);
    free(step);
    finish(run);
}

static void cluster_on_slow(void *arg)
{
    refine_step *step = arg;
    tx_refine_cluster(step->job);
    /* The writer outlives the slow runner's jobs (tx_service_destroy). */
    int rc = runner_submit(step->run->svc->cfg.writer, labels_on_writer, step);
    assert(rc == 0);
    (void)rc;
}

static void lookup_on_writer(void *arg);

/* The session is done: every final before this is stored. */
static void on_done(tx_run *run)
{
    if (run->lease) {
        /* A run of another server waiting to take over goes on. */
        char text[STORE_HOLDER_MAX + 16];
        snprintf(text, sizeof(text), "released %s", run->holder);
        publish(run, BUS_CONTROL, 0, text);
    }
    pthread_mutex_lock(&run->lock);
    run->finals_stored = 1;
    tx_run *next = run->successor;
    run->successor = NULL;
    pthread_mutex_unlock(&run->lock);
    if (run->audio != NULL)
        tx_audio_store(run->audio, run->svc->cfg.store, run->tid,
                       run->time_offset);
    if (next != NULL)
        lookup_on_writer(next); /* on the writer already, after our finals */
    if (!run->diarize || run->dead) {
        finish(run);
        return;
    }
    refine_step *step = malloc(sizeof(*step));
    tx_refine *job = step ? tx_refine_read(run->svc->cfg.store, run->tid,
                                           run->min_speakers, run->max_speakers)
                          : NULL;
    if (job == NULL) {
        free(step);
        finish(run);
        return;
    }
    step->run = run;
    step->job = job;
    if (runner_submit(run->svc->cfg.slow, cluster_on_slow, step) != 0) {
        tx_refine_cluster(job); /* shutting down: cluster here */
        labels_on_writer(step);
    }
}

static void on_error(tx_run *run, const session_event *ev)
{
    const char *text = ev->text ? ev->text : "error";
    if (ev->close_code != 1003) {
        fail(run, TX_FAULT_INTERNAL, text);
        return;
    }
    /* Damaged audio: input ends here, the session settles what came
     * before the damage, and the fault is told after those finals. */
    if (run->audio_error == NULL && !run->dead) {
        run->audio_error = strdup(text);
        log_warn(run->tag, "%s", text);
        if (run->client.stop_input)
            run->client.stop_input(run->client.ctx);
    }
}

static void handle_on_writer(tx_run *run, session_event *ev)
{
    switch (ev->kind) {
    case SESSION_FINAL:
        store_final(run, ev);
        break;
    case SESSION_ERROR:
        on_error(run, ev);
        break;
    case SESSION_DONE:
        on_done(run);
        break;
    default:
        deliver_live(run, ev);
        break;
    }
}

/* Works through the backlog until it is empty.  Writer thread, with
 * `draining` set by whoever queued this. */
static void drain(tx_run *run)
{
    /* A dead run touches no store: tx_run_open's failure drains inline. */
    assert(run->dead || runner_on_thread(run->svc->cfg.writer));
    for (;;) {
        pthread_mutex_lock(&run->lock);
        assert(run->draining);
        tx_item *it = run->head;
        if (it == NULL) {
            run->draining = 0;
            pthread_mutex_unlock(&run->lock);
            return;
        }
        run->head = it->next;
        if (run->head == NULL)
            run->tail = NULL;
        pthread_mutex_unlock(&run->lock);
        session_event *ev = it->ev;
        free(it);
        int last = ev->kind == SESSION_DONE;
        handle_on_writer(run, ev);
        session_event_free(ev);
        if (last)
            return; /* the run may be gone; nothing comes after done */
    }
}

static void drain_on_writer(void *arg)
{
    drain(arg);
}

/* The transcription's vocabulary (PUT .../vocabulary) to the session. */
static int teach_vocabulary(tx_run *run, store_t *store)
{
    char *text = NULL;
    int rc = store_vocabulary_get(store, run->tid, &text);
    if (rc != 0 || text[0] == '\0') {
        free(text);
        return rc;
    }
    asr_keyword *list = malloc(ASR_KEYWORDS_MAX * sizeof(*list));
    size_t n = 0;
    char why[200];
    if (list == NULL) {
        rc = VB_ENOMEM;
    } else if (asr_keywords_add(list, &n, text, why, sizeof(why)) != 0) {
        log_warn(run->tag, "the stored vocabulary is damaged (%s); the "
                 "session goes on without it", why);
    } else {
        rc = session_add_vocabulary(run->session, list, n);
        if (rc == 0) { /* for the parts to come */
            run->vocab = list;
            run->nvocab = n;
            list = NULL;
        }
    }
    free(list);
    free(text);
    return rc == VB_ENOMEM ? 0 : rc; /* heard without it, not failed */
}

/* ---- the shared lease (lease.h) ------------------------------------ */

/* Another server's run took this one's session over: as take_over() for
 * a run of this server. */
static void supersede_on_writer(void *arg)
{
    tx_run *run = arg;
    log_info(run->tag, "resumed on another server: this session's input "
             "ends");
    pthread_mutex_lock(&run->lock);
    if (!run->finished)
        run->client.superseded(run->client.ctx);
    pthread_mutex_unlock(&run->lock);
    run_unref(run);
}

static void on_control(void *ctx, const bus_message *msg);

/* A gap: the subscription delivers nothing more; a new one does. */
static void resubscribe_on_writer(void *arg)
{
    tx_run *run = arg;
    if (run->control != NULL) {
        bus_unsubscribe(run->svc->cfg.bus, run->control);
        run->control = NULL;
        if (bus_subscribe(run->svc->cfg.bus, run->tid, on_control, run,
                          &run->control) != 0)
            log_error(run->tag, "out of memory: no longer hears other "
                      "servers about this session");
    }
    run_unref(run);
}

/* The bus's thread, under its lock: quick, and the store is the
 * writer's. */
static void on_control(void *ctx, const bus_message *msg)
{
    tx_run *run = ctx;
    runner_t *writer = run->svc->cfg.writer;
    if (msg->kind == BUS_GAP) {
        /* Not the last reference: the run is subscribed until finish(). */
        tx_run_retain(run);
        if (runner_submit(writer, resubscribe_on_writer, run) != 0)
            run_unref(run);
        return;
    }
    if (msg->kind != BUS_CONTROL)
        return;
    if (strncmp(msg->text, "handover ", 9) == 0 &&
        strcmp(msg->text + 9, run->holder) == 0) {
        tx_run_retain(run);
        if (runner_submit(writer, supersede_on_writer, run) != 0)
            run_unref(run);
    } else if (strncmp(msg->text, "released ", 9) == 0 && run->awaited[0] &&
               strcmp(msg->text + 9, run->awaited) == 0) {
        tx_leases_released(run->svc->leases, run);
    }
}

static void lookup_on_writer(void *arg);

/*
 * Takes the lease for a live run: 0 to go on, 1 when it waits for another
 * server's run to let go (lease.c queues the lookup again), VB_EBUSY when
 * another server's session holds it, or the store's error.
 */
static int take_lease(tx_run *run)
{
    tx_service *svc = run->svc;
    store_lease got;
    run->lease_asked = 1;
    int rc = store_lease_take(svc->cfg.store, run->tid, run->holder,
                              run->token, run->resume[0] ? run->resume : NULL,
                              LEASE_TTL_S, &got);
    if (rc != 0)
        return rc;
    if (got.outcome == STORE_LEASE_BUSY)
        return VB_EBUSY;
    run->lease = 1;
    tx_leases_held(svc->leases, 1);
    if (strcmp(got.token, run->token) != 0) {
        /* Another server's session: it keeps its token. */
        snprintf(run->token, TX_TOKEN_LEN + 1, "%s", got.token);
        tx_claims_set_token(svc->claims, run->tid, run, run->token);
    }
    int waits = got.outcome == STORE_LEASE_RESUMED && got.lapses_in > 0 &&
                !tx_leases_mine(svc->leases, got.previous);
    if (waits)
        snprintf(run->awaited, sizeof(run->awaited), "%s", got.previous);
    if (svc->cfg.bus != NULL &&
        bus_subscribe(svc->cfg.bus, run->tid, on_control, run,
                      &run->control) != 0)
        log_error(run->tag, "out of memory: will not hear other servers "
                  "about this session");
    if (!waits)
        return 0;
    /* Registered before the handover is said, so that its answer finds
     * the wait.  Without an answer (its server died, or no bus), the old
     * lease's lapse lets this run go on. */
    log_info(run->tag, "resumed: taking the session over from %s on another "
             "server; waiting up to %.1f s for it to let go", got.previous,
             got.lapses_in);
    tx_leases_wait(svc->leases, run, got.lapses_in + 0.1, lookup_on_writer,
                   run);
    char text[STORE_HOLDER_MAX + 16];
    snprintf(text, sizeof(text), "handover %s", got.previous);
    publish(run, BUS_CONTROL, 0, text);
    return 1;
}

/* The end of a run that held the lease (writer). */
static void lease_let_go(tx_run *run)
{
    if (run->control != NULL) {
        bus_unsubscribe(run->svc->cfg.bus, run->control);
        run->control = NULL;
    }
    if (!run->lease)
        return;
    run->lease = 0;
    tx_leases_held(run->svc->leases, -1);
    /* Only if still its own: a run that was taken over holds nothing. */
    int rc = store_lease_release(run->svc->cfg.store, run->tid, run->holder);
    if (rc != 0)
        log_warn(run->tag, "the session's lease was not let go (%s); it "
                 "lapses in %.0f s", vb_strerror(rc), LEASE_TTL_S);
}

/* Lets the first session decode (created held: open_run()). */
static void begin_session(tx_run *run)
{
    if (session_begin(run->session))
        atomic_fetch_sub(&run->svc->held, 1);
}

static void lookup_on_writer(void *arg)
{
    tx_run *run = arg;
    store_t *store = run->svc->cfg.store;
    store_transcription t;
    int rc = store_transcription_get(store, run->tid, &t);
    if (rc == 0 && run->svc->leases != NULL && run->live && !run->lease_asked &&
        !run->dead) {
        rc = take_lease(run);
        if (rc == 1)
            return;
    }
    if (rc == 0)
        rc = store_transcription_end_time(store, run->tid, &run->time_offset);
    tx_seed *seeds = NULL;
    size_t nseeds = 0;
    if (rc == 0 && run->diarize)
        rc = tx_speaker_seeds(store, run->tid, &seeds, &nseeds);
    if (rc == 0)
        rc = teach_vocabulary(run, store);
    int keep = 0;
    if (rc == 0 && run->audio != NULL)
        rc = store_audio_keeping(store, run->tid, &keep, NULL);
    if (run->audio != NULL)
        tx_audio_keep(run->audio, keep);
    if (rc == 0) {
        for (size_t i = 0; i < nseeds; i++)
            session_seed_speaker(run->session, seeds[i].speaker,
                                 &seeds[i].voice);
        run->seeds = seeds; /* for the parts to come */
        run->nseeds = nseeds;
        seeds = NULL;
        log_info(run->tag, "session started; the transcription ends at "
                 "%.3f s", run->time_offset);
        if (run->client.opened)
            run->client.opened(run->client.ctx, t.title, run->time_offset);
    } else if (rc == VB_ENOTFOUND) {
        char text[96];
        snprintf(text, sizeof(text), "Transcription %lld not found",
                 (long long)run->tid);
        fail(run, TX_FAULT_NOT_FOUND, text);
    } else if (rc == VB_EBUSY) {
        char text[320];
        snprintf(text, sizeof(text), "transcription %lld already has a live "
                 "session (on another server)%s; wait until it closes, or "
                 "resume your own with ?resume= and the resume_token of its "
                 "status message", (long long)run->tid,
                 run->resume[0] ? ", and the resume token sent is not its"
                                : "");
        fail(run, TX_FAULT_BUSY, text);
    } else {
        fail(run, TX_FAULT_STORE, "the database failed");
    }
    free(seeds);
    begin_session(run);
    pthread_mutex_lock(&run->lock);
    run->opened = 1;
    run->draining = 1;
    pthread_mutex_unlock(&run->lock);
    if (run->audio != NULL) /* heard before the lookup */
        tx_audio_store(run->audio, store, run->tid, run->time_offset);
    drain(run);
}

/* A piece of the run's audio is due (on_session_audio). */
static void audio_on_writer(void *arg)
{
    tx_run *run = arg;
    pthread_mutex_lock(&run->lock);
    int opened = run->opened; /* if not, the lookup stores it */
    pthread_mutex_unlock(&run->lock);
    if (opened)
        tx_audio_store(run->audio, run->svc->cfg.store, run->tid,
                       run->time_offset);
    run_unref(run);
}

/* ---- the session's sink (a worker thread) --------------------------- */

/* Appends ev to a list of events; VB_ENOMEM leaves ev to the caller. */
static int item_append(tx_item **head, tx_item **tail, session_event *ev)
{
    tx_item *it = malloc(sizeof(*it));
    if (it == NULL)
        return VB_ENOMEM;
    it->ev = ev;
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
    return 0;
}

/* An event of the run's one stream: the current part's. */
static void run_take(tx_run *run, session_event *ev)
{
    if (ev->kind == SESSION_DONE && run->audio != NULL)
        tx_audio_end(run->audio); /* all heard: the last packet */
    pthread_mutex_lock(&run->lock);
    if (run->opened && !run->draining && run->head == NULL && !needs_writer(ev)) {
        pthread_mutex_unlock(&run->lock);
        deliver_live(run, ev);
        session_event_free(ev);
        return;
    }
    /* An interim waiting behind a final is superseded by a newer one. */
    if (ev->kind == SESSION_INTERIM && run->tail != NULL &&
        run->tail->ev->kind == SESSION_INTERIM) {
        session_event_free(run->tail->ev);
        run->tail->ev = ev;
        pthread_mutex_unlock(&run->lock);
        return;
    }
    if (item_append(&run->head, &run->tail, ev) != 0) {
        pthread_mutex_unlock(&run->lock);
        log_error(run->tag, "out of memory: an event was dropped");
        assert(ev->kind != SESSION_DONE);
        session_event_free(ev);
        return;
    }
    int start = run->opened && !run->draining;
    if (start)
        run->draining = 1;
    pthread_mutex_unlock(&run->lock);
    /* The writer stops only after every session is done, so this fails
     * only for a run whose open failed, which touches no store. */
    if (start && runner_submit(run->svc->cfg.writer, drain_on_writer, run) != 0) {
        assert(run->dead);
        drain(run);
    }
}

/* Audio of the run's one stream: the current part's. */
static void run_hear(tx_run *run, const int16_t *pcm, size_t n)
{
    if (!tx_audio_hear(run->audio, pcm, n))
        return;
    tx_run_retain(run); /* the job may run after done() */
    if (runner_submit(run->svc->cfg.writer, audio_on_writer, run) != 0)
        run_unref(run); /* stopping: the last piece is stored at done */
}

/* The parts after `part`, whose done was just passed over, take their
 * turns: each hands over what it kept, and the first still decoding
 * becomes current.  With run->order held; the caller holds a reference,
 * since the last done may end the run. */
static void next_parts(tx_run *run, tx_part *part)
{
    for (tx_part *p = part->next; p != NULL; p = p->next) {
        run->current = p;
        if (p->pcm_len > 0 && run->audio != NULL)
            run_hear(run, p->pcm, p->pcm_len);
        part_drop_pcm(p);
        while (p->head != NULL) {
            tx_item *it = p->head;
            p->head = it->next;
            run_take(run, it->ev);
            free(it);
        }
        p->tail = NULL;
        if (p->done == NULL)
            return; /* still decoding: it goes on by itself */
        session_event *done = p->done;
        p->done = NULL;
        if (p->next == NULL) {
            run->ended = 1;
            run_take(run, done);
            return;
        }
        session_event_free(done);
    }
}

static void on_session_event(void *ctx, session_event *ev)
{
    tx_part *part = ctx;
    tx_run *run = part->run;
    int done = ev->kind == SESSION_DONE;
    pthread_mutex_lock(&run->order);
    if (done)
        run->decoding--;
    if (part != run->current) {
        /* A later part's turn has not come. */
        if (done) {
            part->done = ev;
        } else if (ev->kind == SESSION_INTERIM) {
            session_event_free(ev); /* it would show out of order */
        } else {
            if (item_append(&part->head, &part->tail, ev) != 0) {
                log_error(run->tag, "out of memory: an event was dropped");
                session_event_free(ev);
            }
        }
        if (done && run->client.wake) /* a worker is free for another part */
            run->client.wake(run->client.ctx);
        pthread_mutex_unlock(&run->order);
        return;
    }
    if (!done || part->next == NULL) {
        if (done)
            run->ended = 1;
        pthread_mutex_unlock(&run->order);
        run_take(run, ev);
        return;
    }
    session_event_free(ev);
    /* Under the lock, so that no part's done is passed on (and the client
     * done) before it: wake is never called after done. */
    if (run->client.wake)
        run->client.wake(run->client.ctx);
    tx_run_retain(run);
    next_parts(run, part);
    pthread_mutex_unlock(&run->order);
    run_unref(run);
}

static void on_session_audio(void *ctx, const int16_t *pcm, size_t n)
{
    tx_part *part = ctx;
    tx_run *run = part->run;
    pthread_mutex_lock(&run->order);
    if (part == run->current) {
        pthread_mutex_unlock(&run->order);
        run_hear(run, pcm, n);
        return;
    }
    if (part->pcm_len + n > part->pcm_cap) {
        size_t cap = part->pcm_cap ? part->pcm_cap * 2 : 16 * AUDIO_ENGINE_RATE;
        while (cap < part->pcm_len + n)
            cap *= 2;
        int16_t *grown = realloc(part->pcm, cap * sizeof(*grown));
        if (grown == NULL) {
            pthread_mutex_unlock(&run->order);
            log_error(run->tag, "out of memory: %.2f s of kept audio were "
                      "dropped", (double)n / AUDIO_ENGINE_RATE);
            return;
        }
        part->pcm = grown;
        part->pcm_cap = cap;
    }
    memcpy(part->pcm + part->pcm_len, pcm, n * sizeof(*pcm));
    part->pcm_len += n;
    pthread_mutex_unlock(&run->order);
}

static void on_session_wake(void *ctx)
{
    tx_part *part = ctx;
    tx_run *run = part->run;
    if (run->client.wake)
        run->client.wake(run->client.ctx);
}

/* ---- the caller's side ---------------------------------------------- */

/* run takes prev's claim over: prev's input ends, and run's lookup waits
 * for prev's last final unless it is stored already.  Returns 1 when it
 * waits (prev's on_done will look it up). */
static int take_over(tx_run *prev, tx_run *run)
{
    log_info(run->tag, "resumed: taking the session over from %s", prev->tag);
    pthread_mutex_lock(&prev->lock);
    if (!prev->finished)
        prev->client.superseded(prev->client.ctx);
    int waits = !prev->finals_stored;
    if (waits)
        prev->successor = run;
    pthread_mutex_unlock(&prev->lock);
    run_unref(prev); /* tx_claims_take's reference */
    return waits;
}

static int open_run(tx_service *svc, int64_t tid, const session_params *params,
                    asr_engine *engine, pool_t *pool, const tx_client *client,
                    tx_live *live, tx_run **out)
{
    assert(client->result != NULL && client->fault != NULL &&
           client->done != NULL);
    assert(live == NULL || client->superseded != NULL);
    tx_run *run = calloc(1, sizeof(*run));
    if (run == NULL)
        return VB_ENOMEM;
    run->svc = svc;
    run->tid = tid;
    run->client = *client;
    run->diarize = params->diarize;
    run->min_speakers = params->min_speakers;
    run->max_speakers = params->max_speakers;
    if (client->tag != NULL)
        snprintf(run->tag, sizeof(run->tag), "%s", client->tag);
    else
        snprintf(run->tag, sizeof(run->tag), "t=%lld", (long long)tid);
    atomic_init(&run->refs, 2); /* the caller's and the session's */
    pthread_mutex_init(&run->lock, NULL);
    pthread_mutex_init(&run->order, NULL);
    session_params sp = *params;
    sp.transcription_id = tid;
    run->params = sp;
    /* Its first words are heard knowing the transcription's vocabulary
     * and voices: lookup_on_writer() lets it begin. */
    sp.held = 1;
    run->engine = engine;
    run->pool = pool;
    run->first.run = run;
    run->current = run->last = &run->first;
    run->decoding = 1;
    if (svc->cfg.keep_audio)
        run->audio = tx_audio_create(run->tag);
    session_sink sink = {.emit = on_session_event,
                         .wake = on_session_wake,
                         .audio = run->audio ? on_session_audio : NULL,
                         .ctx = &run->first};
    int rc = session_create(&sp, engine, pool, &sink, &run->session);
    run->first.session = run->session;
    if (rc == 0)
        atomic_fetch_add(&svc->held, 1); /* until begin_session() */
    int waits = 0;
    if (rc == 0 && live != NULL) {
        /* Claimed once the session exists, so that a refusal needs no
         * undoing: the session ends silently below like any failed open. */
        tx_run *prev;
        switch (tx_claims_take(svc->claims, tid, run, live->resume,
                               live->token, &prev)) {
        case TX_CLAIM_BUSY:
            rc = VB_EBUSY;
            break;
        case TX_CLAIM_FAILED:
            rc = VB_EIO;
            break;
        case TX_CLAIM_RESUMED:
            run->live = 1;
            waits = take_over(prev, run);
            break;
        case TX_CLAIM_TAKEN:
            run->live = 1;
            break;
        }
        if (run->live) {
            run->token = live->token;
            snprintf(run->resume, sizeof(run->resume), "%s",
                     live->resume ? live->resume : "");
            if (svc->leases != NULL)
                tx_leases_holder(svc->leases, run->holder);
        }
    }
    if (rc == 0 && !waits)
        rc = runner_submit(svc->cfg.writer, lookup_on_writer, run);
    if (rc != 0 && run->session == NULL) {
        atomic_store(&run->refs, 1);
        run_unref(run);
        return rc;
    }
    if (rc != 0) {
        /* The session exists and will emit done: let it end the run
         * without a word to the client, whose open failed (and release
         * the claim, if it took one). */
        pthread_mutex_lock(&run->lock);
        run->opened = run->dead = run->silent = 1;
        pthread_mutex_unlock(&run->lock);
        begin_session(run);
        session_close(run->session);
        run_unref(run);
        return rc;
    }
    *out = run;
    return 0;
}

int tx_run_open(tx_service *svc, int64_t tid, const session_params *params,
                asr_engine *engine, pool_t *pool, const tx_client *client,
                tx_run **out)
{
    return open_run(svc, tid, params, engine, pool, client, NULL, out);
}

int tx_run_open_live(tx_service *svc, int64_t tid, const session_params *params,
                     asr_engine *engine, pool_t *pool, const tx_client *client,
                     tx_live *live, tx_run **out)
{
    return open_run(svc, tid, params, engine, pool, client, live, out);
}

session_t *tx_run_session(tx_run *run)
{
    return run->session;
}

int tx_run_add_part(tx_run *run, double start, session_t **out)
{
    /* Only the caller closes parts, so the last cannot end meanwhile. */
    pthread_mutex_lock(&run->order);
    int ended = run->ended;
    pthread_mutex_unlock(&run->order);
    if (ended) /* the part before was closed already: a caller's error */
        return VB_EINVAL;
    tx_part *part = calloc(1, sizeof(*part));
    if (part == NULL)
        return VB_ENOMEM;
    part->run = run;
    session_params sp = run->params;
    sp.time_offset += start;
    session_sink sink = {.emit = on_session_event,
                         .wake = on_session_wake,
                         .audio = run->audio ? on_session_audio : NULL,
                         .ctx = part};
    int rc = session_create(&sp, run->engine, run->pool, &sink, &part->session);
    if (rc != 0) {
        free(part);
        return rc;
    }
    for (size_t i = 0; i < run->nseeds; i++)
        session_seed_speaker(part->session, run->seeds[i].speaker,
                             &run->seeds[i].voice);
    if (run->nvocab > 0 &&
        session_add_vocabulary(part->session, run->vocab, run->nvocab) != 0)
        log_warn(run->tag, "out of memory: a part is heard without the "
                 "transcription's vocabulary");
    pthread_mutex_lock(&run->order);
    run->last->next = part;
    run->last = part;
    run->decoding++;
    pthread_mutex_unlock(&run->order);
    *out = part->session;
    return 0;
}

size_t tx_run_queued_bytes(tx_run *run)
{
    pthread_mutex_lock(&run->order);
    size_t queued = 0;
    for (tx_part *p = &run->first; p != NULL; p = p->next)
        queued += session_queued_bytes(p->session);
    pthread_mutex_unlock(&run->order);
    return queued;
}

int tx_run_parts_decoding(tx_run *run, int *waiting)
{
    pthread_mutex_lock(&run->order);
    int decoding = run->decoding, behind = 0;
    for (tx_part *p = run->current; p != NULL; p = p->next)
        behind++;
    pthread_mutex_unlock(&run->order);
    if (waiting != NULL)
        *waiting = behind;
    return decoding;
}

void tx_run_release(tx_run *run)
{
    if (run != NULL)
        run_unref(run);
}

void tx_transcription_edited(tx_service *svc, int64_t tid, const char *message)
{
    if (svc->cfg.bus == NULL)
        return;
    bus_message msg = {BUS_EDIT, 0, message};
    bus_publish(svc->cfg.bus, tid, &msg);
}

void tx_transcription_deleted(tx_service *svc, int64_t tid)
{
    if (svc->cfg.bus == NULL)
        return;
    bus_message msg = {BUS_DELETED, 0, wsproto_deleted};
    bus_publish(svc->cfg.bus, tid, &msg);
}
