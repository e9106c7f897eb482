/*
 * server.c - `verbatim serve`: start-up, the libwebsockets service loop
 * and shutdown (see server.h).
 *
 * One libwebsockets protocol serves both HTTP (http.c) and the transcribe
 * socket (ws.c); this file owns the context, the wake-up that other
 * threads use to hand work to the I/O thread, and the order of shutdown:
 *   1. leave the service loop on SIGINT/SIGTERM;
 *   2. end every session's input (each decodes what it has);
 *   3. destroy the lws context (closes the sockets);
 *   4. stop the worker pool (all sessions finish, events go to the writer);
 *   5. let the transcription layer finish (every final stored, speakers
 *      re-clustered), then stop the writer and the slow runner;
 *   6. free the recogniser and close the store.
 */
#include "server.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../format/names.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/vb.h"
#include "net_internal.h"
#include "ratelimit.h"

#ifndef VERBATIM_VERSION
#define VERBATIM_VERSION "0.1.0"
#endif

static volatile sig_atomic_t stop_requested;
static struct lws_context *signal_context;

/* The cores this process may run on: its CPU affinity (as taskset or a
 * container's cpuset sets it), else every core online. */
static int usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

server_config server_default_config(void)
{
    server_config cfg = {
        .host = "127.0.0.1",
        .port = 8000,
        .db = "data/verbatim.db",
        .workers = usable_cores(),
        .max_sessions = 64,
        .max_watchers = 256,
        .dg_store = 1,
        .keep_audio = 1,
        .ws_queue = (size_t)1 << 20,
        .http_queue = (size_t)256 << 20,
        .max_frame = 1024 * 1024,
        .max_upload = (size_t)512 << 20,
        .max_lag_ms = 500,
        .max_load = 90,
        .idle_timeout = 30,
        .cors_origins = NULL,
        .web_dir = NULL,
        .engine = NULL,
        .engine_options = NULL,
        .asr = asr_default_params(),
    };
    return cfg;
}

void net_wake(server *srv)
{
    pthread_mutex_lock(&srv->lock);
    if (srv->lws_alive)
        lws_cancel_service(srv->lws);
    pthread_mutex_unlock(&srv->lock);
}

/* The model, loaded after the server began listening, cannot be (see
 * start()): the server stops, and server_run() returns why. */
static void model_failed(void *ctx, const char *why)
{
    server *srv = ctx;
    pthread_mutex_lock(&srv->lock);
    snprintf(srv->fatal, sizeof(srv->fatal), "%s", why);
    pthread_mutex_unlock(&srv->lock);
    stop_requested = 1;
    net_wake(srv);
}

/* The share of the workers' time (%) spent decoding lately. */
static double busy_pct(server *srv)
{
    return pool_busy(srv->pool) / pool_workers(srv->pool) * 100;
}

/* How much of the workers' time (%) the live sessions and one more would
 * need, each sending audio in real time at what a second of audio has
 * cost lately (silence and speech, in the mix the sessions have been
 * sending); 0 with no live session or no audio lately. */
static double load_with_one_more(server *srv, int live)
{
    double audio = meter_rate(&srv->audio);
    if (live == 0 || audio <= 0)
        return 0;
    return busy_pct(srv) / audio * (live + 1);
}

int net_admit(server *srv, char *why, size_t len)
{
    int live = atomic_load(&srv->sessions);
    if (live >= srv->cfg.max_sessions) {
        snprintf(why, len, "the server is at its limit of %d live sessions; "
                 "try again later", srv->cfg.max_sessions);
        metrics_count_refused(METRICS_REFUSED_SESSION_LIMIT);
        return -1;
    }
    double lag = pool_lag(srv->pool), worst = ws_live_lag(srv);
    lag = worst > lag ? worst : lag;
    if (srv->cfg.max_lag_ms > 0 && lag * 1000 > srv->cfg.max_lag_ms) {
        snprintf(why, len, "the server is overloaded (its decoders are %.1f s "
                 "behind); try again later", lag);
        metrics_count_refused(METRICS_REFUSED_OVERLOAD);
        return -1;
    }
    double need = srv->cfg.max_load > 0 ? load_with_one_more(srv, live) : 0;
    if (need > srv->cfg.max_load) { /* never with --max-load 0 */
        snprintf(why, len, "the server is at its capacity (one more stream "
                 "would need about %.0f %% of its decoders' time, over its "
                 "limit of %d %%); try again later", need, srv->cfg.max_load);
        metrics_count_refused(METRICS_REFUSED_CAPACITY);
        return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    server *srv = ctx ? lws_context_user(ctx) : NULL;
    if (srv == NULL)
        return 0;
    net_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        http_on_wake(srv);
        ws_on_wake(srv);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_TIMER:
        if (pss != NULL && pss->req != NULL) /* an HTTP request's timer */
            return http_callback(srv, wsi, reason, pss, in, len);
        return ws_callback(srv, wsi, reason, pss, in, len);
    case LWS_CALLBACK_CLOSED:
        return ws_callback(srv, wsi, reason, pss, in, len);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        /* A handshake passes the same check as an HTTP request; one that
         * fails is answered (401, 403, 404, 421) before the upgrade. */
        net_request req;
        char why[300];
        net_request_read(srv, wsi, 1, &req);
        int status = net_request_check(srv, &req, why, sizeof(why));
        if (status == 0)
            return 0;
        log_info("ws", "%s %s refused before the upgrade: %d %s", req.peer,
                 req.path, status, why);
        metrics_count_refused((metrics_refusal)req.refusal);
        metrics_count_http(api_metrics_slot(&req.route, 0), status);
        return net_refuse_upgrade(wsi, status, why, req.retry_after);
    }
    default:
        return http_callback(srv, wsi, reason, pss, in, len);
    }
}

/* "token": a browser's WebSocket cannot send headers, so it offers its
 * key as the subprotocols "token, KEY" (as Deepgram's clients do); the
 * handshake picks "token" and echoes it. */
static const struct lws_protocols protocols[] = {
    {"verbatim", callback, sizeof(net_pss), 65536, 0, NULL, 0},
    {"token", callback, sizeof(net_pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (signal_context)
        lws_cancel_service(signal_context);
}

/* How long a stopping server lets its live sessions finish (input
 * ended, the rest decoded, its finals sent, then 1012) before it closes
 * what is left as before: a client resuming elsewhere then has every
 * final it was owed, and the instance's leases are let go. */
#define DRAIN_S 10.0

typedef struct {
    server *srv;
    atomic_int over;
} drain_ticker;

/* lws_service() waits for an event: wake it often enough to see the
 * deadline pass. */
static void *drain_tick(void *arg)
{
    drain_ticker *t = arg;
    while (!atomic_load(&t->over)) {
        usleep(100000);
        net_wake(t->srv);
    }
    return NULL;
}

/* I/O thread, after a signal: nothing new is taken (503 before any
 * upgrade, which a proxy tries on another instance), live sessions
 * finish; a second signal stops at once. */
static void drain(server *srv)
{
    srv->draining = 1;
    int open = ws_drain(srv);
    if (open == 0)
        return;
    log_info(NULL, "stopping: %d socket%s finishing (at most %.0f s; a "
             "second signal stops at once)", open, open == 1 ? "" : "s",
             DRAIN_S);
    stop_requested = 0;
    drain_ticker ticker = {.srv = srv};
    atomic_init(&ticker.over, 0);
    pthread_t thread;
    int ticking = pthread_create(&thread, NULL, drain_tick, &ticker) == 0;
    double end = vb_monotonic_s() + DRAIN_S;
    while (!stop_requested && ws_open_count(srv) > 0 && vb_monotonic_s() < end)
        if (lws_service(srv->lws, 0) < 0)
            break;
    atomic_store(&ticker.over, 1);
    if (ticking)
        pthread_join(thread, NULL);
    open = ws_open_count(srv);
    if (open > 0)
        log_warn(NULL, "stopping: closing %d socket%s that had not finished",
                 open, open == 1 ? "" : "s");
}

static void health(void *ctx, api_health *out)
{
    server *srv = ctx;
    out->sessions = atomic_load(&srv->sessions);
    out->max_sessions = srv->cfg.max_sessions;
    out->watchers = atomic_load(&srv->watchers);
    out->workers = pool_workers(srv->pool);
    asr_stats st = {0}, fb = {0}; /* an engine fills only its own fields */
    srv->engine->ops->stats(srv->engine, &st);
    if (srv->fallback)
        srv->fallback->ops->stats(srv->fallback, &fb);
    out->decoders = st.decoders + fb.decoders;
    out->decoders_in_use = st.in_use + fb.in_use;
    out->decoders_waiting = st.waiting + fb.waiting;
    out->loading = st.loading || fb.loading;
    out->fallback = srv->fallback ? srv->fallback->ops->name : NULL;
    out->engine = srv->engine->ops->name;
    out->remote = st.remote;
    out->upstream_open = st.upstream_open;
    out->upstream_latency_ms = st.upstream_latency_ms;
    out->upstream_failures = st.upstream_failures;
    out->store_queue = runner_pending(srv->runner);
    out->bus = bus_name(srv->bus);
    out->bus_reachable = bus_reachable(srv->bus);
    out->lag = pool_lag(srv->pool);
    out->load = busy_pct(srv);
}

asr_engine *net_engine(server *srv, const char *name, char *err,
                       size_t errlen)
{
    if (name == NULL || name[0] == '\0' ||
        strcmp(name, srv->engine->ops->name) == 0)
        return srv->engine;
    if (srv->fallback && strcmp(name, srv->fallback->ops->name) == 0)
        return srv->fallback;
    char quoted[48];
    vb_seterr(err, errlen, "this server has no engine %s (it has %s%s%s)",
              net_shown(name, quoted, sizeof(quoted)), srv->engine->ops->name,
              srv->fallback ? " and " : "",
              srv->fallback ? srv->fallback->ops->name : "");
    return NULL;
}

static void warm_names(void *arg)
{
    char name[64];
    (void)arg;
    names_lookup("a", name, sizeof(name));
}

/* The API deleted a transcription: its watchers are told. */
static void transcription_deleted(void *ctx, int64_t transcription_id)
{
    server *srv = ctx;
    tx_transcription_deleted(srv->tx, transcription_id);
}

static void transcription_edited(void *ctx, int64_t transcription_id,
                                 const char *message)
{
    server *srv = ctx;
    tx_transcription_edited(srv->tx, transcription_id, message);
}

/*
 * How many sockets libwebsockets may hold.  Past that it stops accepting
 * until one closes, instead of accepting until the process is out of file
 * descriptors, where accept() fails at once every time it is asked and
 * the service loop spins (53 % of a core, and 128,000 log lines, in one
 * try).  The soft limit is first raised towards the hard one; what is
 * left over is for the database, uploads being received, the log and the
 * model files.
 */
static unsigned socket_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0; /* libwebsockets' own default */
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536
                      ? 65536 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t reserve = rl.rlim_cur / 8 > 64 ? rl.rlim_cur / 8 : 64;
    if (rl.rlim_cur <= reserve + 16)
        return 16;
    log_info(NULL, "up to %lu connections at once (of %lu file descriptors)",
             (unsigned long)(rl.rlim_cur - reserve), (unsigned long)rl.rlim_cur);
    return (unsigned)(rl.rlim_cur - reserve);
}

/* libwebsockets' errors and warnings, in Verbatim's log.  One that repeats
 * is written at most once a second, with how often it came meanwhile. */
static void log_from_lws(int level, const char *line)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char last[200];
    static double last_at;
    static long repeats;
    const char *text = strstr(line, ": ");
    text = text && text - line < 40 ? text + 2 : line; /* its own prefix */
    char msg[200];
    snprintf(msg, sizeof(msg), "%.*s", (int)strcspn(text, "\n"), text);
    double now = vb_monotonic_s();
    pthread_mutex_lock(&lock);
    if (strcmp(msg, last) == 0 && now - last_at < 1.0) {
        repeats++;
        pthread_mutex_unlock(&lock);
        return;
    }
    long before = strcmp(msg, last) == 0 ? repeats : 0;
    snprintf(last, sizeof(last), "%s", msg);
    last_at = now;
    repeats = 0;
    pthread_mutex_unlock(&lock);
    enum log_level as = level == LLL_ERR ? LOG_ERROR : LOG_WARN;
    if (before > 0)
        log_msg(as, "lws", "%s (and %ld times more in the last second)", msg,
                before);
    else
        log_msg(as, "lws", "%s", msg);
}

#define READER_NICE 10

typedef struct forget_job {
    server *srv;
    int64_t tid;
} forget_job;

static void forget_on_writer(void *arg)
{
    forget_job *job = arg;
    if (store_transcription_delete(job->srv->store, job->tid) == 0)
        tx_transcription_deleted(job->srv->tx, job->tid);
    free(job);
}

void net_forget_transcription(server *srv, int64_t tid)
{
    forget_job *job = malloc(sizeof(*job));
    if (job == NULL)
        return;
    job->srv = srv;
    job->tid = tid;
    if (runner_submit(srv->runner, forget_on_writer, job) != 0)
        free(job);
}

/* A web session stored or ended here counts at once, not at the keys'
 * next refresh. */
static void session_changed(void *ctx, const char *hash, const char *key_name,
                            int64_t expires_at)
{
    server *srv = ctx;
    if (srv->keys == NULL)
        return;
    if (expires_at > 0)
        auth_sessions_add(srv->keys, hash, key_name, expires_at);
    else
        auth_sessions_remove(srv->keys, hash);
}

/* Reading connections, each on a thread of its own.  A database in memory
 * is one connection's alone: its reads stay on the writer. */
/*
 * A reader's thread gives way to the decoder workers: reads can wait a
 * little, a live stream's words cannot.  With 15 clients reading pages of
 * the list as fast as they could, the finals of a live stream came 8 s
 * after their endpoint (p95) at the same priority (bench/NOTES.md).
 * Linux applies nice to the calling thread alone.
 */
static void lower_priority(void *arg)
{
    (void)arg;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), READER_NICE) != 0)
        log_warn(NULL, "a reader keeps the workers' priority (errno %d)", errno);
}

static int start_reader(server *srv, net_reader *r, const char *name,
                        char *err, size_t errlen)
{
    int rc = store_open(srv->cfg.db, &r->store, err, errlen);
    if (rc != 0)
        return rc;
    if (runner_start(name, &r->runner) != 0) {
        vb_seterr(err, errlen, "cannot start threads");
        return VB_EINTERNAL;
    }
    r->api = srv->api;
    r->api.store = r->store;
    return 0;
}

static int start_readers(server *srv, char *err, size_t errlen)
{
    const char *db = srv->cfg.db;
    if (strstr(db, ":memory:") != NULL || strstr(db, "mode=memory") != NULL)
        return 0;
    /* The health check's, at the workers' priority: a balancer's probe
     * is answered while readers are busy. */
    int rc = start_reader(srv, &srv->checker, "vb-check", err, errlen);
    if (rc != 0)
        return rc;
    for (int i = 0; i < NET_READERS; i++) {
        net_reader *r = &srv->readers[i];
        char name[24];
        snprintf(name, sizeof(name), "vb-read%d", i % 10);
        if ((rc = start_reader(srv, r, name, err, errlen)) != 0)
            return rc;
        runner_submit(r->runner, lower_priority, NULL);
        srv->reader_count++;
    }
    return 0;
}

static void stop_readers(server *srv)
{
    for (int i = 0; i < NET_READERS; i++) {
        runner_stop(srv->readers[i].runner);
        store_close(srv->readers[i].store);
    }
    runner_stop(srv->checker.runner);
    store_close(srv->checker.store);
}

static void teardown(server *srv)
{
    if (srv->lws) {
        ws_shutdown(srv);
        pthread_mutex_lock(&srv->lock);
        srv->lws_alive = 0;
        pthread_mutex_unlock(&srv->lock);
        signal_context = NULL;
        lws_context_destroy(srv->lws);
    }
    upload_shutdown(srv); /* before the pool and the runner stop */
    /* Sessions waiting for a decoder, or for their run's lookup to begin
     * (tx_service_held), are on no queue; wait until none is left
     * waiting and the workers are idle at the same moment. */
    for (;;) {
        if (srv->pool)
            pool_wait_idle(srv->pool);
        asr_stats st = {0}, fb = {0};
        if (srv->engine)
            srv->engine->ops->stats(srv->engine, &st);
        if (srv->fallback)
            srv->fallback->ops->stats(srv->fallback, &fb);
        if (st.waiting + fb.waiting == 0 && tx_service_held(srv->tx) == 0 &&
            (!srv->pool || pool_queued(srv->pool) == 0))
            break;
        usleep(10000);
    }
    pool_stop(srv->pool);
    tx_service_destroy(srv->tx);
    runner_stop(srv->slow);
    runner_stop(srv->runner);
    stop_readers(srv);
    if (srv->engine) /* first: its streams may have gone over to the other */
        srv->engine->ops->destroy(srv->engine);
    if (srv->fallback)
        srv->fallback->ops->destroy(srv->fallback);
    web_free(srv->web);
    bus_destroy(srv->bus);
    auth_keys_stop(srv->keys);
    rate_limiter_free(srv->limiter);
    store_close(srv->store);
    store_release_claim(srv->db_claim);
    pthread_mutex_destroy(&srv->lock);
    meter_destroy(&srv->audio);
}

static int is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

/* Keys are required when asked for, or by default on an address other
 * machines can reach; a server that requires them starts only with some
 * in its store. */
static int start_auth(server *srv, char *err, size_t errlen)
{
    int mode = srv->cfg.auth;
    if (mode == SERVER_AUTH_OFF ||
        (mode == SERVER_AUTH_DEFAULT && is_loopback(srv->cfg.host)))
        return 0;
    int rc = auth_keys_start(srv->cfg.db, &srv->keys, err, errlen);
    if (rc != 0)
        return rc;
    if (auth_keys_count(srv->keys) > 0)
        return 0;
    char db[512]; /* as logs may show it: no password */
    vb_url_redacted(srv->cfg.db, db, sizeof(db));
    if (mode == SERVER_AUTH_REQUIRED)
        vb_seterr(err, errlen, "--auth required, but the database %s has no "
                  "API keys: make one with `verbatim keys create --name NAME "
                  "--scope admin --db %s`", db, db);
    else
        vb_seterr(err, errlen, "listening on %s lets other machines in, so "
                  "API keys are required, and the database %s has none: make "
                  "one with `verbatim keys create --name NAME --scope admin "
                  "--db %s`, or start with --auth off to let anyone who can "
                  "reach the port in", srv->cfg.host, db, db);
    return VB_EINVAL;
}

/* Can the port be listened on?  Asked before anything is loaded, so that a
 * port in use is one clear line, not a model loaded for nothing and
 * libwebsockets' own messages. */
static int port_free(const server *srv, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof(port), "%d", srv->cfg.port);
    const char *host = srv->cfg.host && srv->cfg.host[0] ? srv->cfg.host : NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return 0; /* libwebsockets will say what is wrong with the address */
    int rc = 0;
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 && errno == EADDRINUSE) {
            vb_seterr(err, errlen, "cannot listen on %s:%d: the port is in use "
                      "(another server?); pick another with --port",
                      srv->cfg.host, srv->cfg.port);
            rc = VB_EIO;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

static int start(server *srv, char *err, size_t errlen)
{
    int rc = port_free(srv, err, errlen);
    if (rc != 0)
        return rc;
    rc = store_claim(srv->cfg.db, &srv->db_claim, err, errlen);
    if (rc != 0)
        return rc;
    rc = store_open(srv->cfg.db, &srv->store, err, errlen);
    if (rc != 0)
        return rc;
    rc = start_auth(srv, err, errlen);
    if (rc != 0)
        return rc;
    char web_dir[1024];
    if (srv->cfg.web_dir)
        snprintf(web_dir, sizeof(web_dir), "%s", srv->cfg.web_dir);
    else
        web_default_dir(web_dir, sizeof(web_dir));
    rc = web_load(web_dir, &srv->web);
    if (rc != 0)
        return rc;
    if (srv->cfg.asr.threads == 0)
        srv->cfg.asr.threads = srv->cfg.workers; /* see pocketsphinx.c */
    /* Loading the model (the dictionary paired with the language model,
     * then the first decoder) was most of the start-up: 0.3-1 s, as this
     * machine's speed goes.  A factory does it while the server already
     * answers, streams that begin meanwhile waiting for it; only that the
     * files are there is checked before. */
    srv->cfg.asr.load_in_background = 1;
    srv->cfg.asr.failed = model_failed;
    srv->cfg.asr.failed_ctx = srv;
    if (srv->cfg.engine_fallback) {
        rc = asr_engine_create(srv->cfg.engine_fallback, &srv->cfg.asr,
                               srv->cfg.fallback_options, &srv->fallback, err,
                               errlen);
        if (rc != 0)
            return rc;
        srv->cfg.asr.fallback = srv->fallback;
    }
    rc = asr_engine_create(srv->cfg.engine, &srv->cfg.asr,
                           srv->cfg.engine_options, &srv->engine, err, errlen);
    if (rc != 0)
        return rc;
    rc = bus_open(srv->cfg.bus, &srv->bus, err, errlen);
    if (rc != 0)
        return rc;
    if (strcmp(store_backend(srv->store), "sqlite") != 0 &&
        (srv->cfg.bus == NULL || strncmp(srv->cfg.bus, "redis://", 8) != 0))
        log_warn(NULL, "the database can be shared by several servers, but "
                 "live messages stay within this one (no --bus): a watcher "
                 "on another server sees no live results of sessions here; "
                 "give every server --bus redis://HOST:PORT");
    if (runner_start("vb-store", &srv->runner) != 0 ||
        runner_start("vb-slow", &srv->slow) != 0 ||
        pool_start(srv->cfg.workers, &srv->pool) != 0) {
        vb_seterr(err, errlen, "cannot start threads");
        return VB_EINTERNAL;
    }
    /* The word list of names (format/names.h) loads in ~20 ms: on the
     * slow thread now rather than on the first final's. */
    runner_submit(srv->slow, warm_names, NULL);
    tx_service_config tx = {srv->store, srv->runner, srv->slow, srv->bus,
                            srv->cfg.keep_audio};
    if (tx_service_create(&tx, &srv->tx) != 0) {
        vb_seterr(err, errlen, "out of memory");
        return VB_ENOMEM;
    }
    srv->api.store = srv->store;
    srv->api.health = health;
    srv->api.health_ctx = srv;
    srv->api.deleted = transcription_deleted;
    srv->api.deleted_ctx = srv;
    srv->api.edited = transcription_edited;
    srv->api.edited_ctx = srv;
    srv->api.session_changed = session_changed;
    srv->api.session_ctx = srv;
    srv->api.version = VERBATIM_VERSION;
    rc = start_readers(srv, err, errlen);
    if (rc != 0)
        return rc;
    if (srv->cfg.rate_limit > 0 &&
        (srv->limiter = rate_limiter_new(srv->cfg.rate_limit)) == NULL) {
        vb_seterr(err, errlen, "out of memory");
        return VB_ENOMEM;
    }

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = srv->cfg.port;
    info.iface = srv->cfg.host;
    info.protocols = protocols;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.timeout_secs = 30;
    info.fd_limit_per_thread = socket_limit();
    lws_set_log_level(LLL_ERR | LLL_WARN, log_from_lws);
    srv->lws = lws_create_context(&info);
    if (srv->lws == NULL) {
        vb_seterr(err, errlen, "cannot listen on %s:%d (is the port in use?)",
                  srv->cfg.host, srv->cfg.port);
        return VB_EIO;
    }
    pthread_mutex_lock(&srv->lock);
    srv->lws_alive = 1;
    pthread_mutex_unlock(&srv->lock);
    return 0;
}

int server_run(const server_config *cfg, char *err, size_t errlen)
{
    server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return VB_ENOMEM;
    srv->cfg = *cfg;
    srv->db_claim = -1;
    pthread_mutex_init(&srv->lock, NULL);
    meter_init(&srv->audio, POOL_BUSY_TAU);
    metrics_start(VERBATIM_VERSION);

    int rc = net_access_init(srv, err, errlen);
    if (rc == 0)
        rc = start(srv, err, errlen);
    if (rc != 0) {
        teardown(srv);
        free(srv);
        return rc;
    }
    signal_context = srv->lws;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char db[512]; /* a PostgreSQL URL's password is not for the log */
    vb_url_redacted(cfg->db, db, sizeof(db));
    log_info(NULL, "verbatim %s listening on http://%s:%d (store %s, %d "
             "workers, at most %d sessions)", VERBATIM_VERSION, cfg->host,
             cfg->port, db, cfg->workers, cfg->max_sessions);
    /* Two decoders sharing a core take turns on it every few ms, as the
     * scheduler slices its time: measured, 26 % more processor time per
     * audio second and far later results than one worker on that core
     * (bench/NOTES.md). */
    int cores = usable_cores();
    if (cfg->workers > cores)
        log_warn(NULL, "%d workers but only %d core%s to run on: workers beyond "
                 "the cores take turns on them and cost far more processor time "
                 "than they add; --workers %d (the default) is faster",
                 cfg->workers, cores, cores == 1 ? "" : "s", cores);
    while (!stop_requested)
        if (lws_service(srv->lws, 0) < 0)
            break;
    pthread_mutex_lock(&srv->lock);
    rc = srv->fatal[0] ? VB_EINTERNAL : 0;
    if (rc != 0)
        vb_seterr(err, errlen, "%s", srv->fatal);
    pthread_mutex_unlock(&srv->lock);
    log_info(NULL, "shutting down: finishing open sessions");
    if (rc == 0)
        drain(srv);
    teardown(srv);
    free(srv);
    log_info(NULL, "stopped");
    return rc;
}
