/*
 * upload.c - POST /api/transcriptions/{id}/audio: a whole recording,
 * transcribed as fast as the decoder pool allows, as a job that can be
 * polled.
 *
 * The request body is collected by http.c (up to --max-upload bytes) and
 * handed over here.  Each upload gets a job and a thread of its own, which
 *   1. opens a run of the transcription layer (transcription.h), which
 *      looks the transcription up (the timeline position where the
 *      recording's segments go: after those stored);
 *   2. opens the recording (audio_file_open: WAV, WebM and Ogg through our
 *      own parsers, everything else through FFmpeg's libraries);
 *   3. decodes it five seconds at a time and feeds a session, the same as
 *      a live socket's, waiting whenever the session's queue is full, so
 *      that memory stays bounded and the workers are shared fairly with
 *      live streams (the thread itself only decodes the container);
 *   4. closes the session and waits until its last final is stored.
 * The run does with the results what it does with a live socket's: finals
 * are stored and published, interim results and events published, so that
 * /ws/watch/{id} shows the upload being transcribed; this file counts the
 * stored finals and maps the run's faults to HTTP statuses.
 *
 * The job is a row in the store (store_upload), created once the
 * transcription is found and saved by the job's thread at least every
 * API_UPLOAD_HEARTBEAT_S while it runs and when it ends, so that GET
 * .../audio/{job} (api/uploads.c, on a reading connection) can be answered
 * by any instance and after a restart; a running row nobody saves any more
 * is shown as failed.  The request waits up to `wait` seconds (default 5)
 * for the job: a short recording is answered 200 with the finished job; a
 * longer one 202 with the job and its URL in Location, to poll with GET.
 * The job stays in memory, for the requests waiting for it, for an hour
 * after it finishes.
 *
 * Threads: the job's own thread; the run's callbacks (the writer, a
 * decoder worker); the I/O
 * thread (starting jobs, reading their state for responses).  A job's
 * mutable state is under job->lock; the job list under srv->lock.
 */
#include <assert.h>
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/vb.h"
#include "client.h"
#include "dglisten.h"
#include "multipart.h"
#include "net_internal.h"

#define FEED_SAMPLES (AUDIO_ENGINE_RATE * 5)  /* decoded per step */
#define ITEM_SAMPLES AUDIO_ENGINE_RATE        /* queued per feed: 1 s */
#define KEEP_FINISHED_S 3600
#define DEFAULT_WAIT_S 5
#define MAX_WAIT_S 300

typedef enum { JOB_RUNNING, JOB_DONE, JOB_FAILED } job_status;

struct upload_job {
    server *srv;
    int64_t id;              /* the store's, once registered (under lock) */
    int64_t transcription_id;
    upload_body body;        /* the request's body; let go of when decoded */
    const uint8_t *audio;    /* the recording in it (a form's file part) */
    dg_listen *dg;           /* POST /v1/listen: Deepgram's options and
                                answer (its transcription is made here) */
    size_t len;
    session_params options;  /* from the URL (options.c); its format is
                                raw PCM's, with raw_declared */
    int raw_declared;
    pthread_t thread;
    char tag[48];
    char created_at[40];

    pthread_mutex_t lock;    /* guards everything below */
    pthread_cond_t cond;
    job_status status;
    int http_status;         /* a failure's status for the request */
    char error[320];
    char format[128];
    double audio_seconds, time_offset, input_read, progress_shown;
    size_t fed_bytes;
    size_t fed_part_start;   /* samples before the part being fed */
    size_t queued;           /* of fed_bytes, what the parts' sessions
                                have still queued (job_heartbeat) */
    tx_run *run;             /* while the job's thread feeds it */
    int parts;               /* decoded in (feed_all) */
    session_t *session;      /* the part being fed, while it runs */
    int segments;
    int looked_up, wake, session_done, stop;
    int registered;          /* its row exists: id is set */
    int over;                /* ended, and its last state saved */
    double saved_at;         /* when its row was last saved (job thread) */
    int thread_done;         /* the job's thread touches nothing more */
    time_t finished;
    struct upload_job *next; /* srv->jobs, under srv->lock */
};

/* ---- the job's state ------------------------------------------------ */

static void job_fail_locked(upload_job *job, int http_status, const char *msg)
{
    if (job->error[0] == '\0') {
        job->http_status = http_status;
        snprintf(job->error, sizeof(job->error), "%s", msg);
    }
}

static void job_fail(upload_job *job, int http_status, const char *msg)
{
    pthread_mutex_lock(&job->lock);
    job_fail_locked(job, http_status, msg);
    pthread_mutex_unlock(&job->lock);
    log_warn(job->tag, "%s", msg);
}

int upload_answerable(upload_job *job, int wait_over)
{
    pthread_mutex_lock(&job->lock);
    int yes = job->over || (wait_over && job->registered);
    pthread_mutex_unlock(&job->lock);
    return yes;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The job's state as its row. */
static void job_row_locked(upload_job *job, store_upload *u)
{
    static const char *const names[] = {"running", "done", "failed"};
    double progress = 1.0;
    if (job->status == JOB_RUNNING) {
        double decoded = 0;
        if (job->session != NULL && job->fed_bytes > 0)
            decoded = 1.0 - (double)job->queued / (double)job->fed_bytes;
        /* decoded audio over the recording's length, estimated from how
         * much of the file made it: never seen to go back */
        progress = job->input_read * decoded;
        progress = progress > 0.99 ? 0.99 : progress < 0 ? 0 : progress;
        if (progress < job->progress_shown)
            progress = job->progress_shown;
        job->progress_shown = progress;
    }
    memset(u, 0, sizeof(*u));
    u->id = job->id;
    u->transcription_id = job->transcription_id;
    snprintf(u->status, sizeof(u->status), "%s", names[job->status]);
    u->http_status = job->status == JOB_FAILED ? job->http_status : 0;
    u->progress = progress;
    u->audio_seconds = job->audio_seconds;
    u->time_offset = job->time_offset;
    u->segments = job->segments;
    snprintf(u->format, sizeof(u->format), "%s", job->format);
    snprintf(u->error, sizeof(u->error), "%s", job->error);
    snprintf(u->created_at, sizeof(u->created_at), "%s", job->created_at);
    u->updated_at = wall_now();
}

/* A Deepgram client's answer: Deepgram's transcript, or its error shape. */
static void respond_deepgram(upload_job *job, api_response *res)
{
    pthread_mutex_lock(&job->lock);
    int failed = job->status != JOB_DONE;
    int status = job->http_status ? job->http_status : 500;
    char error[sizeof(job->error)];
    snprintf(error, sizeof(error), "%s", job->error);
    double seconds = job->audio_seconds;
    pthread_mutex_unlock(&job->lock);
    if (failed) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "err_code", status == 415 || status == 422
                                                   ? "Bad Request" : "INTERNAL_SERVER_ERROR");
        cJSON_AddStringToObject(o, "err_msg", error);
        cJSON_AddStringToObject(o, "request_id", dg_listen_request_id(job->dg));
        res->status = status;
        res->content_type = "application/json";
        res->body = cJSON_PrintUnformatted(o);
        res->body_len = res->body ? strlen(res->body) : 0;
        cJSON_Delete(o);
        return;
    }
    res->status = 200;
    res->content_type = "application/json";
    res->body = dg_listen_prerecorded(job->dg, seconds);
    res->body_len = res->body ? strlen(res->body) : 0;
    if (res->body == NULL)
        api_error_response(500, "out of memory", res);
}

/* Sends a finished /v1/listen job's answer to its callback, trying three
 * times.  The job's thread, once the job is over. */
static void send_callback(upload_job *job)
{
    const char *url = dg_listen_callback(job->dg);
    api_response res = {0};
    respond_deepgram(job, &res);
    char host[256] = "?", port[16], path[1024];
    net_split_url(url, "http", host, sizeof(host), port, sizeof(port), path,
                  sizeof(path));
    char err[256] = "";
    for (int attempt = 1; attempt <= 3 && res.body != NULL; attempt++) {
        http_result out;
        int rc = http_fetch(url, dg_listen_callback_method(job->dg),
                            "application/json", NULL, res.body, res.body_len,
                            &out, err, sizeof(err));
        int status = rc == 0 ? out.status : 0;
        if (rc == 0)
            http_result_free(&out);
        if (status >= 200 && status < 300) {
            log_info(job->tag, "answer sent to the callback at %s (%d)", host,
                     status);
            break;
        }
        if (status > 0)
            snprintf(err, sizeof(err), "HTTP %d", status);
        log_warn(job->tag, "the callback at %s failed (%s)%s", host, err,
                 attempt < 3 ? "; trying again" : "; giving up");
        if (attempt < 3)
            sleep(attempt == 1 ? 1 : 5);
    }
    free(res.body);
}

void upload_respond(upload_job *job, api_response *res, char *location,
                    size_t location_len)
{
    if (job->dg != NULL && dg_listen_callback(job->dg) != NULL) {
        /* As Deepgram: the request's id now, the answer to the callback */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "request_id", dg_listen_request_id(job->dg));
        res->status = 200;
        res->content_type = "application/json";
        res->body = cJSON_PrintUnformatted(o);
        res->body_len = res->body ? strlen(res->body) : 0;
        cJSON_Delete(o);
        return;
    }
    if (job->dg != NULL && upload_answerable(job, 0)) {
        respond_deepgram(job, res);
        return;
    }
    pthread_mutex_lock(&job->lock);
    if (job->over && !job->registered) { /* no row: no transcription */
        char error[sizeof(job->error)];
        int status = job->http_status;
        snprintf(error, sizeof(error), "%s", job->error);
        pthread_mutex_unlock(&job->lock);
        api_error_response(status, error, res);
        return;
    }
    store_upload u;
    job_row_locked(job, &u);
    if (!job->over) { /* ended but not yet saved: still running to GET */
        snprintf(u.status, sizeof(u.status), "running");
        u.progress = u.progress > 0.99 ? 0.99 : u.progress;
    }
    int status = !job->over ? 202
                 : job->status == JOB_DONE ? 200
                                           : job->http_status;
    snprintf(location, location_len, "/api/transcriptions/%lld/audio/%lld",
             (long long)job->transcription_id, (long long)job->id);
    pthread_mutex_unlock(&job->lock);
    api_upload_response(&u, u.updated_at, status >= 400, status, res);
}

/* ---- the job's row ---------------------------------------------------- */

typedef struct row_call {
    upload_job *job;
    store_upload row;
    int create;
    int rc;
    int done;
} row_call;

static void save_on_writer(void *arg)
{
    row_call *call = arg;
    store_t *store = call->job->srv->store;
    call->rc = call->create ? store_upload_create(store, &call->row)
                            : store_upload_save(store, &call->row);
    pthread_mutex_lock(&call->job->lock);
    call->done = 1;
    pthread_cond_broadcast(&call->job->cond);
    pthread_mutex_unlock(&call->job->lock);
}

/* Creates (create) or saves the job's row on the store's writer, and
 * waits for it: ordered after the finals the run has queued there.  The
 * job's thread only. */
static int job_save(upload_job *job, int create)
{
    row_call call = {.job = job, .create = create};
    pthread_mutex_lock(&job->lock);
    job_row_locked(job, &call.row);
    pthread_mutex_unlock(&job->lock);
    job->saved_at = call.row.updated_at;
    if (runner_submit(job->srv->runner, save_on_writer, &call) != 0)
        return VB_EINTERNAL; /* the writer has stopped: shutting down */
    pthread_mutex_lock(&job->lock);
    while (!call.done)
        pthread_cond_wait(&job->cond, &job->lock);
    if (create && call.rc == 0) {
        job->id = call.row.id;
        snprintf(job->created_at, sizeof(job->created_at), "%s",
                 call.row.created_at);
        snprintf(job->tag, sizeof(job->tag), "t=%lld upload=%lld",
                 (long long)job->transcription_id, (long long)job->id);
        job->registered = 1;
    }
    pthread_mutex_unlock(&job->lock);
    if (call.rc != 0 && !create)
        log_warn(job->tag, "its state could not be saved (%d)", call.rc);
    return call.rc;
}

/* Saves a running job's row if its heartbeat is due.  Job thread. */
static void job_heartbeat(upload_job *job)
{
    if (!job->registered || wall_now() - job->saved_at < API_UPLOAD_HEARTBEAT_S)
        return;
    /* Read without job->lock: the run calls the job's wake under its
     * own lock. */
    size_t queued = job->run != NULL ? tx_run_queued_bytes(job->run) : 0;
    pthread_mutex_lock(&job->lock);
    job->queued = queued;
    pthread_mutex_unlock(&job->lock);
    job_save(job, 0);
}

/* Waits on job->cond for at most a second (the heartbeat's grain), then
 * saves the row if due.  Called with job->lock, which it lets go of
 * meanwhile. */
static void job_wait_locked(upload_job *job)
{
    assert(vb_mutex_held(&job->lock));
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&job->cond, &job->lock, &until);
    pthread_mutex_unlock(&job->lock);
    job_heartbeat(job);
    pthread_mutex_lock(&job->lock);
}

/* ---- the run's client (transcription.h) ---------------------------- */

static void run_opened(void *ctx, const char *title, double time_offset)
{
    upload_job *job = ctx;
    pthread_mutex_lock(&job->lock);
    job->time_offset = time_offset;
    job->looked_up = 1;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
}

static void run_result(void *ctx, const tx_result *result)
{
    upload_job *job = ctx;
    if (job->dg != NULL)
        dg_listen_collect(job->dg, result);
    if (result->segment_id == 0)
        return;
    pthread_mutex_lock(&job->lock);
    job->segments++;
    pthread_mutex_unlock(&job->lock);
}

static void run_speakers(void *ctx, const char *message)
{
    upload_job *job = ctx;
    if (job->dg != NULL)
        dg_listen_speakers(job->dg, message);
}

static void run_fault(void *ctx, tx_fault fault, const char *message)
{
    upload_job *job = ctx;
    static const int statuses[] = {
        [TX_FAULT_NOT_FOUND] = 404, [TX_FAULT_DELETED] = 404,
        [TX_FAULT_STORE] = 500,     [TX_FAULT_AUDIO] = 422,
        [TX_FAULT_INTERNAL] = 500,  [TX_FAULT_BUSY] = 409,
    };
    if (fault == TX_FAULT_BUSY) /* a live session runs on another instance */
        metrics_count_refused(METRICS_REFUSED_BUSY);
    if (fault == TX_FAULT_NOT_FOUND)
        message = "Not Found"; /* as the API answers an unknown id */
    else if (fault == TX_FAULT_DELETED)
        message = "the transcription was deleted";
    pthread_mutex_lock(&job->lock);
    job_fail_locked(job, statuses[fault], message);
    job->stop = 1;
    job->looked_up = 1;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
}

/* Raises one of the job's flags and wakes its thread. */
static void job_signal(upload_job *job, int *flag)
{
    pthread_mutex_lock(&job->lock);
    *flag = 1;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
}

static void run_wake(void *ctx)
{
    upload_job *job = ctx;
    job_signal(job, &job->wake);
}

static void run_done(void *ctx)
{
    upload_job *job = ctx;
    job_signal(job, &job->session_done);
}

/* ---- the job's thread ----------------------------------------------- */

/*
 * Parts.  A recording is decoded on several workers at once by splitting
 * it at pauses into parts (tx_run_add_part), as many decoding at a time as
 * there are workers that no live stream needs (one worker per live
 * stream: they keep priority).  A part aims at the recording's length
 * (the container's, or estimated from how much of the file the first
 * audio took) over the smallest multiple of that number that keeps parts
 * within PART_MAX_S (and no part under PART_MIN_S); it ends in the quietest
 * QUIET_FRAMES of the CUT_BEFORE_S before and CUT_AFTER_S after its aim,
 * so that no word is cut in two.  Each part is queued on its session
 * whole (PART_MAX_S + CUT_AFTER_S of 16 kHz samples stay under the
 * session's high-water mark).  A part's first words are heard with the
 * model's initial cepstral mean, hence the minimum length.
 */
#define PART_MIN_S 15.0
#define PART_MAX_S 90.0
#define CUT_BEFORE_S 10.0
#define CUT_AFTER_S 5.0
#define CUT_FRAME (AUDIO_ENGINE_RATE / 100) /* 10 ms */
#define QUIET_FRAMES 30

typedef struct feeder {
    upload_job *job;
    tx_run *run;
    session_t *part;      /* the part being fed */
    double length;        /* the recording's (s), as first estimated */
    int planned;          /* parts; 0 until plan_parts */
    double aim;           /* the part's length aimed at (s); 0: no more
                             parts */
    size_t part_fed;      /* samples fed to it */
    pcm_buf held;         /* decoded, not yet fed: where its cut may fall */
    int parts;
} feeder;

/* How many parts may decode at once now. */
static int parallel_parts(server *srv)
{
    int live = metrics_sessions_open(METRICS_SESSION_LIVE) +
               metrics_sessions_open(METRICS_SESSION_DEEPGRAM);
    int idle = pool_workers(srv->pool) - live;
    if (srv->cfg.upload_parts > 0 && idle > srv->cfg.upload_parts)
        idle = srv->cfg.upload_parts;
    return idle > 1 ? idle : 1;
}

/* Where in held[from, to) a cut goes: the middle of its quietest
 * QUIET_FRAMES (the last of equals). */
static size_t quietest(const int16_t *pcm, size_t from, size_t to)
{
    size_t frames = (to - from) / CUT_FRAME;
    if (frames <= QUIET_FRAMES)
        return from + (to - from) / 2;
    double *energy = malloc(frames * sizeof(*energy));
    if (energy == NULL)
        return from + (to - from) / 2;
    for (size_t f = 0; f < frames; f++) {
        const int16_t *x = pcm + from + f * CUT_FRAME;
        double e = 0;
        for (size_t i = 0; i < CUT_FRAME; i++)
            e += (double)x[i] * x[i];
        energy[f] = e;
    }
    double window = 0, best = 0;
    size_t best_at = 0;
    for (size_t f = 0; f < frames; f++) {
        window += energy[f];
        if (f >= QUIET_FRAMES)
            window -= energy[f - QUIET_FRAMES];
        if (f + 1 >= QUIET_FRAMES && (f + 1 == QUIET_FRAMES || window <= best)) {
            best = window;
            best_at = f + 1 - QUIET_FRAMES;
        }
    }
    free(energy);
    return from + (best_at + QUIET_FRAMES / 2) * CUT_FRAME;
}

/* Where in fd->held the cut of the part being fed may begin to fall:
 * CUT_BEFORE_S before its aim (0 once fed that far). */
static size_t cut_from(const feeder *fd)
{
    size_t aim = (size_t)(fd->aim * AUDIO_ENGINE_RATE);
    size_t before = (size_t)(CUT_BEFORE_S * AUDIO_ENGINE_RATE);
    return aim - before > fd->part_fed ? aim - before - fd->part_fed : 0;
}

/* Queues n samples on the part being fed: 1 when its queue is over the
 * high-water mark, 0, or < 0 out of memory. */
static int feed_part(feeder *fd, const int16_t *pcm, size_t n)
{
    int full = 0;
    for (size_t at = 0; at < n && full >= 0; at += ITEM_SAMPLES) {
        size_t k = n - at < ITEM_SAMPLES ? n - at : ITEM_SAMPLES;
        int rc = session_feed(fd->part, pcm + at, k * sizeof(int16_t));
        full = rc < 0 ? rc : (full || rc);
    }
    fd->part_fed += n;
    return full;
}

/* Waits until the job is woken (a part decoded, a queue drained) or
 * stopped; 1 when stopped. */
static int job_pause(upload_job *job)
{
    pthread_mutex_lock(&job->lock);
    while (!job->wake && !job->stop)
        job_wait_locked(job);
    job->wake = 0;
    int stop = job->stop;
    pthread_mutex_unlock(&job->lock);
    return stop;
}

/* The part being fed reached its aim: it ends at the quietest moment near
 * it, the next part begins there, after waiting for a worker.  0, 1 when
 * stopped, or < 0. */
static int next_part(feeder *fd)
{
    upload_job *job = fd->job;
    size_t cut = quietest(fd->held.samples, cut_from(fd), fd->held.len);
    if (feed_part(fd, fd->held.samples, cut) < 0)
        return VB_ENOMEM;
    double start = (double)(job->fed_part_start + fd->part_fed) / AUDIO_ENGINE_RATE;
    /* No more parts decoding at once than there are free workers, and
     * few finished ones waiting for an earlier part (their audio is held
     * in memory meanwhile). */
    for (;;) {
        int limit = parallel_parts(job->srv), waiting;
        int decoding = tx_run_parts_decoding(fd->run, &waiting);
        if (decoding < limit && waiting <= 2 * limit)
            break;
        if (job_pause(job))
            return 1;
    }
    session_t *next;
    int rc = tx_run_add_part(fd->run, start, &next);
    if (rc != 0)
        return rc;
    metrics_count_upload_part();
    fd->parts++;
    session_close(fd->part);
    pthread_mutex_lock(&job->lock);
    job->session = next;
    job->fed_part_start += fd->part_fed;
    pthread_mutex_unlock(&job->lock);
    fd->part = next;
    fd->part_fed = 0;
    /* The rest in equal parts: where the cuts fell moves the aim. */
    double done = (double)job->fed_part_start / AUDIO_ENGINE_RATE;
    int left = fd->planned - fd->parts + 1;
    fd->aim = left > 1 && fd->length > done ? (fd->length - done) / left : 0;
    if (fd->aim > 0 && fd->aim < PART_MIN_S)
        fd->aim = PART_MIN_S;
    memmove(fd->held.samples, fd->held.samples + cut,
            (fd->held.len - cut) * sizeof(int16_t));
    fd->held.len -= cut;
    return 0;
}

/* Takes newly decoded audio (in fd->held): feeds what no cut can fall in,
 * ends parts that reached their aim.  1 when the part's queue is full
 * (one part only), 0, or < 0. */
static int take_audio(feeder *fd)
{
    for (;;) {
        if (fd->aim <= 0) { /* the last part (or the only one) */
            int full = feed_part(fd, fd->held.samples, fd->held.len);
            fd->held.len = 0;
            return full;
        }
        size_t aim = (size_t)(fd->aim * AUDIO_ENGINE_RATE);
        size_t after = (size_t)(CUT_AFTER_S * AUDIO_ENGINE_RATE);
        if (fd->part_fed + fd->held.len >= aim + after) {
            int rc = next_part(fd);
            if (rc != 0)
                return rc;
            continue;
        }
        /* Up to where its cut may fall. */
        size_t keep_from = cut_from(fd);
        if (keep_from > fd->held.len)
            keep_from = fd->held.len;
        if (keep_from > 0) {
            if (feed_part(fd, fd->held.samples, keep_from) < 0)
                return VB_ENOMEM;
            memmove(fd->held.samples, fd->held.samples + keep_from,
                    (fd->held.len - keep_from) * sizeof(int16_t));
            fd->held.len -= keep_from;
        }
        return 0;
    }
}

/* Plans the parts once the first audio is decoded: how many (planned; 1:
 * one free worker, or a recording too short to split), and the first's
 * length to aim at.  A multiple of the parts that decode at once, so that
 * the workers finish together (parts of 90, 90, 90 and 27 s on two took
 * as long as 90 + 90). */
static void plan_parts(feeder *fd, audio_file_t *file)
{
    int parallel = parallel_parts(fd->job->srv);
    fd->length = audio_file_length(file);
    fd->planned = 1;
    fd->aim = 0;
    if (parallel < 2 || fd->length < 2 * PART_MIN_S)
        return;
    fd->planned = (int)ceil(fd->length / PART_MAX_S / parallel) * parallel;
    if (fd->length / fd->planned < PART_MIN_S)
        fd->planned = (int)(fd->length / PART_MIN_S);
    fd->aim = fd->length / fd->planned;
}

/* Feeds the whole recording to the run, in parts; the part fed last is
 * left open (close_run closes it), an error recorded. */
static void feed_all(upload_job *job, audio_file_t *file, tx_run *run)
{
    feeder fd = {.job = job, .run = run, .part = tx_run_session(run),
                 .parts = 1};
    metrics_count_upload_part();
    char err[256] = "";
    int rc = 0;
    while (rc == 0) {
        size_t had = fd.held.len;
        rc = audio_file_read(file, &fd.held, FEED_SAMPLES, err, sizeof(err));
        /* Read without job->lock: the run calls the job's wake under its
         * own lock. */
        size_t queued = tx_run_queued_bytes(run);
        pthread_mutex_lock(&job->lock);
        job->queued = queued;
        job->wake = 0;
        job->fed_bytes += (fd.held.len - had) * sizeof(int16_t);
        job->audio_seconds = (double)job->fed_bytes / (2.0 * AUDIO_ENGINE_RATE);
        job->input_read = audio_file_progress(file);
        snprintf(job->format, sizeof(job->format), "%s",
                 audio_file_describe(file));
        pthread_mutex_unlock(&job->lock);
        if (fd.planned == 0)
            plan_parts(&fd, file);
        int full = take_audio(&fd);
        if (full == 1 && job_pause(job))
            break;
        job_heartbeat(job);
        if (full < 0) {
            job_fail(job, 500, full == VB_ENOMEM ? "out of memory"
                                                 : "the server could not "
                                                   "start a session");
            break;
        }
        pthread_mutex_lock(&job->lock);
        int stop = job->stop;
        pthread_mutex_unlock(&job->lock);
        if (stop)
            break;
    }
    if (rc != 0 && fd.held.len > 0 &&
        feed_part(&fd, fd.held.samples, fd.held.len) < 0)
        job_fail(job, 500, "out of memory");
    if (rc < 0) {
        char msg[320];
        snprintf(msg, sizeof(msg), "%s (the audio before it was transcribed)",
                 err);
        job_fail(job, 422, msg);
    }
    pthread_mutex_lock(&job->lock);
    job->parts = fd.parts;
    pthread_mutex_unlock(&job->lock);
    pcm_buf_free(&fd.held);
}

/* Opens the run and waits for its lookup: 0 when the transcription is
 * there, else the failure is recorded (404, 500). */
static int open_run(upload_job *job, tx_run **run)
{
    server *srv = job->srv;
    /* The URL's options; the audio reaches the session as decoded PCM. */
    session_params sp = job->options;
    sp.format = audio_format_default();
    sp.format.pcm_only = 1;
    /* One second of audio per turn on a worker (about 0.2 s of work), so
     * that live sessions sharing the workers wait little for it. */
    sp.slice_bytes = ITEM_SAMPLES * sizeof(int16_t);
    sp.audio_meter = &srv->audio;
    tx_client client = {
        .opened = run_opened, .result = run_result, .speakers = run_speakers,
        .fault = run_fault,
        .wake = run_wake, .done = run_done, .ctx = job, .tag = job->tag,
    };
    if (tx_run_open(srv->tx, job->transcription_id, &sp,
                    net_engine(srv, sp.engine, NULL, 0),
                    srv->pool, &client, run) != 0) {
        job_fail(job, 500, "the server could not start a session");
        return -1;
    }
    atomic_fetch_add(&srv->sessions, 1);
    metrics_session_opened(METRICS_SESSION_UPLOAD);
    pthread_mutex_lock(&job->lock);
    while (!job->looked_up)
        pthread_cond_wait(&job->cond, &job->lock);
    int ok = job->error[0] == '\0';
    pthread_mutex_unlock(&job->lock);
    return ok ? 0 : -1;
}

/* Ends the run's input and waits until its last final is stored. */
static void close_run(upload_job *job, tx_run *run)
{
    pthread_mutex_lock(&job->lock);
    session_t *last = job->session ? job->session : tx_run_session(run);
    pthread_mutex_unlock(&job->lock);
    session_close(last);
    pthread_mutex_lock(&job->lock);
    while (!job->session_done)
        job_wait_locked(job);
    job->session = NULL;
    pthread_mutex_unlock(&job->lock);
    job->run = NULL;
    tx_run_release(run);
    atomic_fetch_sub(&job->srv->sessions, 1);
    metrics_session_closed(METRICS_SESSION_UPLOAD);
}

typedef struct create_call {
    upload_job *job;
    char title[160];
    int64_t tid;
    int done;
} create_call;

static void create_on_writer(void *arg)
{
    create_call *call = arg;
    store_transcription t;
    int rc = store_transcription_create(call->job->srv->store, call->title, &t);
    pthread_mutex_lock(&call->job->lock);
    call->tid = rc == 0 ? t.id : -1;
    call->done = 1;
    pthread_cond_broadcast(&call->job->cond);
    pthread_mutex_unlock(&call->job->lock);
}

/* POST /v1/listen: a transcription of its own, made on the writer. */
static int create_transcription(upload_job *job)
{
    create_call call = {.job = job};
    dg_listen_title(job->dg, call.title, sizeof(call.title));
    if (runner_submit(job->srv->runner, create_on_writer, &call) != 0)
        return -1;
    pthread_mutex_lock(&job->lock);
    while (!call.done)
        pthread_cond_wait(&job->cond, &job->lock);
    pthread_mutex_unlock(&job->lock);
    if (call.tid <= 0)
        return -1;
    job->transcription_id = call.tid;
    snprintf(job->tag, sizeof(job->tag), "t=%lld listen", (long long)call.tid);
    return 0;
}

static void *job_main(void *arg)
{
    upload_job *job = arg;
    server *srv = job->srv;
    audio_file_t *file = NULL;
    tx_run *run = NULL;
    int found;
    if (job->transcription_id == 0 && create_transcription(job) != 0) {
        job_fail(job, 500, "the server could not store the recording");
        found = 0;
    } else {
        found = open_run(job, &run) == 0;
    }
    if (found) { /* the job's row, which GET reads, from now on */
        int rc = job_save(job, 1);
        if (rc != 0)
            job_fail(job, rc == VB_ENOTFOUND ? 404 : 500,
                     rc == VB_ENOTFOUND ? "Not Found"
                                        : "the database failed; see the "
                                          "server log");
        found = rc == 0;
        net_wake(srv); /* a request that does not wait gets its 202 */
    }
    if (found) {
        char err[256] = "";
        int rc = audio_file_open(job->audio, job->len,
                                 job->raw_declared ? &job->options.format : NULL,
                                 &file, err, sizeof(err));
        if (rc != 0) {
            job_fail(job, rc == VB_EUNSUPPORTED ? 415 : 422, err);
        } else {
            pthread_mutex_lock(&job->lock);
            snprintf(job->format, sizeof(job->format), "%s",
                     audio_file_describe(file));
            job->session = tx_run_session(run);
            pthread_mutex_unlock(&job->lock);
            job->run = run;
            log_info(job->tag, "transcribing %zu bytes (%s) at %.3f s",
                     job->len, job->format, job->time_offset);
            feed_all(job, file, run);
        }
    }
    if (run != NULL)
        close_run(job, run);
    audio_file_close(file);
    pthread_mutex_lock(&job->lock);
    upload_body_release(&job->body);
    job->status = job->error[0] ? JOB_FAILED : JOB_DONE;
    job->finished = time(NULL);
    log_info(job->tag, "%s: %.1f s of audio, %d segments, %d part%s",
             job->status == JOB_DONE ? "done" : "failed", job->audio_seconds,
             job->segments, job->parts, job->parts == 1 ? "" : "s");
    pthread_mutex_unlock(&job->lock);
    /* Saved before anyone is told, so that a GET after the answer finds
     * the job as the answer said. */
    if (job->registered)
        job_save(job, 0);
    /* Deepgram's answer is made from memory: its transcription may go. */
    if (job->dg != NULL && !srv->cfg.dg_store && job->transcription_id > 0)
        net_forget_transcription(srv, job->transcription_id);
    pthread_mutex_lock(&job->lock);
    job->over = 1;
    pthread_mutex_unlock(&job->lock);
    net_wake(srv);
    if (job->dg != NULL && dg_listen_callback(job->dg) != NULL)
        send_callback(job);
    pthread_mutex_lock(&job->lock);
    job->thread_done = 1;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

/* ---- the I/O thread's side ------------------------------------------ */

/* One of the upload's options (a query parameter or a form field): the
 * stream's (options.c; encoding, sample_rate and channels declare raw
 * PCM) or wait.  0, or VB_EINVAL with a message. */
static int upload_option(upload_job *job, const char *key, const char *value,
                         int *wait_s, char *err, size_t errlen)
{
    int taken = net_stream_option(&job->options, &job->raw_declared, key,
                                  value, err, errlen);
    if (taken < 0)
        return VB_EINVAL;
    if (taken == 0 && strcmp(key, "wait") == 0 &&
        net_whole_number(value, 0, MAX_WAIT_S, wait_s) != 0) {
        vb_seterr(err, errlen, "wait must be a whole number of "
                  "seconds from 0 to %d", MAX_WAIT_S);
        return VB_EINVAL;
    }
    return 0;
}

static int parse_query(const char *query, upload_job *job, int *wait_s,
                       char *err, size_t errlen)
{
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", query);
    char *save = NULL;
    for (char *kv = strtok_r(copy, "&", &save); kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *value = strchr(kv, '=');
        if (value == NULL)
            continue;
        *value++ = '\0';
        if (upload_option(job, kv, value, wait_s, err, errlen) != 0)
            return VB_EINVAL;
    }
    return 0;
}

/*
 * A multipart/form-data body (curl -F, an HTML form): the recording is
 * its first file part, and every other field an option as if it were in
 * the query, after the URL's.  0 with job->audio and job->len set to the
 * file, or VB_EINVAL with a message.
 */
static int read_form(upload_job *job, const char *boundary, int *wait_s,
                     char *err, size_t errlen)
{
    enum { MAX_PARTS = 64, MAX_FIELD = 1024 };
    multipart_part *parts = malloc(MAX_PARTS * sizeof(*parts));
    size_t count = 0;
    if (parts == NULL) {
        vb_seterr(err, errlen, "out of memory");
        return VB_EINVAL;
    }
    int rc = multipart_parse(job->body.data, job->body.len, boundary, parts,
                             MAX_PARTS, &count, err, errlen) == 0
                 ? 0 : VB_EINVAL;
    const multipart_part *file = NULL;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (parts[i].is_file) {
            if (file == NULL)
                file = &parts[i];
            continue;
        }
        char value[MAX_FIELD];
        if (parts[i].len >= sizeof(value)) {
            vb_seterr(err, errlen, "the form's field \"%.40s\" is longer "
                      "than %d bytes", parts[i].name, MAX_FIELD - 1);
            rc = VB_EINVAL;
            break;
        }
        memcpy(value, parts[i].data, parts[i].len);
        value[parts[i].len] = '\0';
        rc = upload_option(job, parts[i].name, value, wait_s, err, errlen);
    }
    if (rc == 0 && file == NULL) {
        vb_seterr(err, errlen, "the form has no file: send the recording "
                  "as a file field (curl -F file=@talk.mp3), or as the "
                  "request's whole body");
        rc = VB_EINVAL;
    } else if (rc == 0 && file->len == 0) {
        vb_seterr(err, errlen, "the form's file \"%.60s\" is empty",
                  file->filename);
        rc = VB_EINVAL;
    }
    if (rc == 0) {
        job->audio = file->data;
        job->len = file->len;
        log_info(job->tag, "the form's file \"%.60s\": %zu bytes",
                 file->filename, file->len);
    }
    free(parts);
    return rc;
}

void upload_body_release(upload_body *body)
{
    if (body->data != NULL && body->mapped)
        munmap(body->data, body->len);
    else
        free(body->data);
    body->data = NULL;
}

static void job_free(upload_job *job)
{
    pthread_mutex_destroy(&job->lock);
    pthread_cond_destroy(&job->cond);
    upload_body_release(&job->body);
    dg_listen_free(job->dg);
    free(job);
}

/* Drops jobs that finished over an hour ago.  Called with srv->lock. */
static void prune_locked(server *srv)
{
    assert(vb_mutex_held(&srv->lock));
    time_t now = time(NULL);
    for (upload_job **pp = &srv->jobs; *pp;) {
        upload_job *job = *pp;
        pthread_mutex_lock(&job->lock);
        int old = job->thread_done && now - job->finished > KEEP_FINISHED_S;
        pthread_mutex_unlock(&job->lock);
        if (old) {
            *pp = job->next;
            job_free(job);
        } else {
            pp = &job->next;
        }
    }
}

int upload_admit(server *srv, int deepgram, const char *query,
                 api_response *res)
{
    upload_job probe;
    memset(&probe, 0, sizeof(probe));
    int wait_s;
    char err[200];
    if (deepgram) {
        session_params p = session_default_params();
        dg_listen *dg = dg_listen_open(query, &p, err, sizeof(err));
        if (dg == NULL) {
            api_error_response(400, err, res);
            return -1;
        }
        dg_listen_free(dg);
    } else if (parse_query(query, &probe, &wait_s, err, sizeof(err)) != 0 ||
               net_engine(srv, probe.options.engine, err, sizeof(err)) == NULL) {
        api_error_response(422, err, res);
        return -1;
    }
    if (net_admit(srv, err, sizeof(err)) != 0) {
        api_error_response(503, err, res);
        return -1;
    }
    return 0;
}

/* A callback= the operator allows: an http:// URL whose host is in
 * --callback-hosts.  Safe by default: none is, so that a key that may
 * upload cannot make the server call into its own network. */
static int callback_allowed(const server *srv, const char *url, char *err,
                            size_t errlen)
{
    char host[256], port[16], path[1024];
    if (strncasecmp(url, "https://", 8) == 0) {
        vb_seterr(err, errlen, "callback must be an http:// URL: this server "
                  "sends its callbacks without TLS (put a proxy in between)");
        return -1;
    }
    if (net_split_url(url, "http", host, sizeof(host), port, sizeof(port),
                      path, sizeof(path)) != 0) {
        vb_seterr(err, errlen, "callback must be a URL such as "
                  "http://HOST[:PORT]/PATH");
        return -1;
    }
    const char *list = srv->cfg.callback_hosts;
    if (list == NULL || *list == '\0') {
        vb_seterr(err, errlen, "this server sends no callbacks: its operator "
                  "may allow hosts with --callback-hosts");
        return -1;
    }
    for (const char *p = list; *p; p += strcspn(p, ","), p += *p == ',') {
        size_t n = strcspn(p, ",");
        if ((n == 1 && *p == '*') ||
            (n == strlen(host) && strncasecmp(p, host, n) == 0))
            return 0;
    }
    char shown[64];
    vb_seterr(err, errlen, "callback host %s is not one this server may send "
              "to (--callback-hosts)", net_shown(host, shown, sizeof(shown)));
    return -1;
}

int upload_start(server *srv, int64_t tid, const char *query,
                 const char *boundary, upload_body body, upload_job **out,
                 int *wait_s, api_response *res)
{
    size_t len = body.len;
    upload_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        upload_body_release(&body);
        api_error_response(500, "out of memory", res);
        return -1;
    }
    job->srv = srv;
    job->transcription_id = tid;
    job->body = body;
    job->audio = body.data;
    job->len = len;
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->cond, NULL);
    char err[200];
    if (tid == 0) { /* POST /v1/listen */
        job->options = session_default_params();
        job->dg = dg_listen_open(query, &job->options, err, sizeof(err));
        job->raw_declared = job->dg != NULL && strstr(query, "encoding=") != NULL;
        *wait_s = MAX_WAIT_S; /* Deepgram answers with the transcript */
        if (job->dg == NULL) {
            api_error_response(400, err, res);
            job_free(job);
            return -1;
        }
        const char *callback = dg_listen_callback(job->dg);
        if (callback != NULL &&
            callback_allowed(srv, callback, err, sizeof(err)) != 0) {
            api_error_response(400, err, res);
            job_free(job);
            return -1;
        }
        if (callback != NULL)
            *wait_s = 0; /* answered at once with the request's id */
        dg_listen_body(job->dg, body.data, len);
        if (len > 0 && body.data[0] == '{') {
            api_error_response(400, "this server does not fetch audio from a "
                               "URL: send the recording itself as the body",
                               res);
            job_free(job);
            return -1;
        }
    } else {
        job->options = session_default_params();
        *wait_s = DEFAULT_WAIT_S;
        if (parse_query(query, job, wait_s, err, sizeof(err)) != 0 ||
            (boundary != NULL && len > 0 &&
             read_form(job, boundary, wait_s, err, sizeof(err)) != 0) ||
            net_stream_options_check(&job->options, err, sizeof(err)) != 0 ||
            net_engine(srv, job->options.engine, err, sizeof(err)) == NULL) {
            api_error_response(422, err, res);
            job_free(job);
            return -1;
        }
        len = job->len;
    }
    if (len == 0) {
        api_error_response(422, "the request body is empty: send the "
                           "recording's bytes as the body", res);
        job_free(job);
        return -1;
    }
    char busy[200];
    if (net_admit(srv, busy, sizeof(busy)) != 0) {
        api_error_response(503, busy, res);
        job_free(job);
        return -1;
    }
    pthread_mutex_lock(&srv->lock);
    prune_locked(srv);
    snprintf(job->tag, sizeof(job->tag), "t=%lld upload", (long long)tid);
    if (pthread_create(&job->thread, NULL, job_main, job) != 0) {
        pthread_mutex_unlock(&srv->lock);
        api_error_response(500, "cannot start a thread", res);
        job_free(job);
        return -1;
    }
    pthread_detach(job->thread); /* it says when it is done: thread_done */
    job->next = srv->jobs;
    srv->jobs = job;
    pthread_mutex_unlock(&srv->lock);
    log_info(job->tag, "upload of %zu bytes", len);
    *out = job;
    return 0;
}

/* At shutdown: every job stops feeding, finishes what its session has,
 * and is freed. */
void upload_shutdown(server *srv)
{
    pthread_mutex_lock(&srv->lock);
    upload_job *jobs = srv->jobs;
    srv->jobs = NULL;
    pthread_mutex_unlock(&srv->lock);
    for (upload_job *job = jobs; job; job = job->next) {
        pthread_mutex_lock(&job->lock);
        if (job->status == JOB_RUNNING) {
            job->stop = 1;
            job_fail_locked(job, 503, "the server shut down before the "
                                      "recording was transcribed");
        }
        pthread_cond_broadcast(&job->cond);
        pthread_mutex_unlock(&job->lock);
    }
    for (upload_job *job = jobs, *next; job; job = next) {
        next = job->next;
        pthread_mutex_lock(&job->lock);
        while (!job->thread_done)
            pthread_cond_wait(&job->cond, &job->lock);
        pthread_mutex_unlock(&job->lock);
        job_free(job);
    }
}
