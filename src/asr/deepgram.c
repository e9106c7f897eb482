/*
 * deepgram.c - the Deepgram engine (dg_engine.h): each stream is one
 * WebSocket to a Deepgram-compatible live endpoint.
 *
 * One thread of the engine's runs a libwebsockets client context for all
 * the streams.  The session's calls (any thread) only change a stream's
 * state under the engine's lock and wake that thread, which does the
 * sending, the receiving and the timers (a tick every 100 ms).
 *
 * The upstream hears only the phrases: the audio from begin to end.  A
 * phrase's end is a Finalize; its words are the final results that come
 * for its audio, and the phrase is over when the service says it has
 * answered for all of it (a result marked from_finalize, or final results
 * that reach the end of what was sent) or, failing both, FINALIZE_WAIT_S
 * after the Finalize.  The phrase's audio is kept until then: when the
 * connection drops, a new one is opened (backing off) and the phrase is
 * sent again from its start, its words so far forgotten, so that none is
 * lost or counted twice.  Between phrases the connection is kept alive
 * with KeepAlive, which Deepgram needs within 10 s of silence.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "dg_engine.h"

#define TAG "deepgram"
#define DEFAULT_URL "wss://api.deepgram.com/v1/listen"
#define DEFAULT_MODEL "nova-2"
#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define TICK_US (100 * LWS_US_PER_MS)
#define KEEPALIVE_S 4.0       /* Deepgram closes after ~10 s without */
#define FINALIZE_WAIT_S 5.0   /* a Finalize with no sign of an answer */
#define DOWN_LIMIT_S 10.0     /* audio waiting this long: the stream fails */
#define BACKOFF_MIN_S 0.1
#define BACKOFF_MAX_S 2.0
#define SEND_SAMPLES 3200     /* 200 ms per message */
#define RX_MAX (1u << 20)
#define LATENCY_KEEP 64

/* UP_LOCAL: the service stayed down and the stream went over to the
 * fallback engine for good. */
typedef enum { UP_IDLE, UP_CONNECTING, UP_OPEN, UP_FAILED, UP_LOCAL } up_state;

typedef struct dg_engine dg_engine;

typedef struct dg_stream {
    asr_stream base;
    dg_engine *eng;
    struct dg_stream *next;

    /* Under eng->lock. */
    up_state state;
    struct lws *wsi;
    int destroyed;          /* the session is done with it */
    int close_sent;         /* CloseStream went upstream */
    int attempts;           /* connections failed in a row */
    double retry_at;        /* when the next connection may be tried */
    double down_since;      /* audio has waited unsent since; 0: none */
    int error_rc;           /* UP_FAILED: what calls answer */
    char error[320];        /* ... and why, for the user */
    char last_problem[160]; /* the last failed connection, for the log */

    int in_phrase;
    int16_t *audio;         /* the open phrase's audio, kept until it ends */
    size_t audio_len, audio_cap;
    size_t sent;            /* of `audio`, on this connection */
    long long conn_samples; /* sent on this connection: the service's clock */
    long long phrase_base;  /* conn_samples where the phrase begins */
    double last_send;       /* audio or KeepAlive */

    asr_result finals;      /* the phrase's words in final results */
    size_t finals_cap;
    double final_upto;      /* the service's clock: finals reach here */
    char interim[2048];     /* the latest interim result's text */
    double last_word_end;   /* phrase seconds; -1: no word yet */

    int answered;           /* phrases the service answered */
    double latency_sum, latency_max; /* Finalize to words, seconds */
    int ending;             /* end was called: a Finalize is due or sent */
    int finalize_sent;
    double finalize_at;
    long long finalize_upto; /* conn_samples when the Finalize went */
    asr_ended_fn ended;
    void *ended_ctx;
    int done;               /* blocking end: the words are in `result` */
    asr_result result;
    int result_rc;

    /* UP_LOCAL: the fallback engine's stream.  The phrase that was open
     * when the stream went over (`replay`) is decoded there from its kept
     * audio at its end; later phrases go to it directly, from the
     * session's own calls. */
    asr_stream *local;
    int replay;
    char notice[400];       /* for the user, once (stream_notice) */
    int notice_new;

    /* The engine's thread only. */
    char *rx;               /* a message being joined, grown as needed */
    size_t rx_len, rx_cap;
    int close_code;
    char close_reason[124];

    /* Taught words: the query with them (NULL: the engine's), and the
     * list, for the fallback engine's stream. */
    char *path;
    asr_keyword *keywords;
    size_t keyword_count;
    int renew;              /* they changed: the connection is opened again */
} dg_stream;

struct dg_engine {
    asr_engine base;
    char host[256];
    char path[1536];        /* with the query */
    char origin_host[300];  /* host[:port] for the Host header */
    int port, tls;
    char *key;
    asr_engine *fallback;   /* NULL: none (asr_params) */
    char ca[512];
    struct lws_context *ctx;
    pthread_t thread;
    int thread_started;
    lws_sorted_usec_list_t tick;

    pthread_mutex_t lock;   /* guards everything below and every stream */
    pthread_cond_t cond;    /* a blocking end's words have come */
    dg_stream *streams;
    int stop;
    double latency[LATENCY_KEEP];
    int latency_count, latency_next;
    long failures;
};

typedef struct {
    const char *key, *url, *model, *language, *ca;
} dg_options;

static const char *option(const char *opt, const char *key)
{
    size_t n = strlen(key);
    return strncmp(opt, key, n) == 0 && opt[n] == '=' ? opt + n + 1 : NULL;
}

/* Splits url into the engine's host, port, TLS and path: 0, or VB_EINVAL
 * with why in err. */
static int parse_url(const char *url, dg_engine *e, char *err, size_t errlen)
{
    static const struct { const char *scheme; int tls, port; } schemes[] = {
        {"wss://", 1, 443}, {"https://", 1, 443},
        {"ws://", 0, 80}, {"http://", 0, 80},
    };
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i].scheme);
        if (strncasecmp(url, schemes[i].scheme, n) == 0) {
            rest = url + n;
            e->tls = schemes[i].tls;
            e->port = schemes[i].port;
        }
    }
    size_t hostlen = rest ? strcspn(rest, ":/?") : 0;
    if (rest == NULL || hostlen == 0 || hostlen >= sizeof(e->host)) {
        vb_seterr(err, errlen, "deepgram option url must look like "
                  "wss://HOST[:PORT][/PATH], not \"%.80s\"", url);
        return VB_EINVAL;
    }
    memcpy(e->host, rest, hostlen);
    e->host[hostlen] = '\0';
    rest += hostlen;
    if (*rest == ':') {
        char *end;
        long port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535 ||
            (*end != '\0' && *end != '/' && *end != '?')) {
            vb_seterr(err, errlen, "deepgram option url has a bad port: "
                      "\"%.80s\"", url);
            return VB_EINVAL;
        }
        e->port = (int)port;
        rest = end;
    }
    const char *query = strchr(rest, '?');
    size_t pathlen = query ? (size_t)(query - rest) : strlen(rest);
    if (pathlen == 0 || (pathlen == 1 && rest[0] == '/'))
        snprintf(e->path, sizeof(e->path), "/v1/listen");
    else
        snprintf(e->path, sizeof(e->path), "%.*s", (int)pathlen, rest);
    if (query != NULL && query[1] != '\0')
        snprintf(e->path + strlen(e->path), sizeof(e->path) - strlen(e->path),
                 "?%s&", query + 1);
    else
        strcat(e->path, "?");
    snprintf(e->origin_host, sizeof(e->origin_host), "%s", e->host);
    return 0;
}

static int parse_options(const char *const *options, dg_options *o, char *err,
                         size_t errlen)
{
    *o = (dg_options){.url = DEFAULT_URL, .model = DEFAULT_MODEL};
    for (size_t i = 0; options != NULL && options[i] != NULL; i++) {
        const char *v;
        if ((v = option(options[i], "key")) != NULL)
            o->key = v;
        else if ((v = option(options[i], "url")) != NULL)
            o->url = v;
        else if ((v = option(options[i], "model")) != NULL)
            o->model = v;
        else if ((v = option(options[i], "language")) != NULL)
            o->language = v;
        else if ((v = option(options[i], "ca")) != NULL)
            o->ca = v;
        else {
            size_t n = strcspn(options[i], "=");
            vb_seterr(err, errlen, "deepgram has no option \"%.*s\" (its "
                      "options: key, url, model, language, ca)",
                      (int)(n < 40 ? n : 40), options[i]);
            return VB_EINVAL;
        }
    }
    if (o->key == NULL || o->key[0] == '\0')
        o->key = getenv("DEEPGRAM_API_KEY");
    if (o->key == NULL || o->key[0] == '\0') {
        vb_seterr(err, errlen, "the deepgram engine needs an API key: set "
                  "DEEPGRAM_API_KEY or give --deepgram-key");
        return VB_EINVAL;
    }
    if (strpbrk(o->key, "\r\n") != NULL) {
        vb_seterr(err, errlen, "the Deepgram key holds a line break");
        return VB_EINVAL;
    }
    for (const char *p = o->model; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')) {
            vb_seterr(err, errlen, "deepgram option model must be a model's "
                      "name such as nova-2");
            return VB_EINVAL;
        }
    for (const char *p = o->language ? o->language : ""; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-')) {
            vb_seterr(err, errlen, "deepgram option language must be a "
                      "language code such as en-US");
            return VB_EINVAL;
        }
    if (o->ca != NULL && access(o->ca, R_OK) != 0) {
        vb_seterr(err, errlen, "deepgram option ca: cannot read %.200s", o->ca);
        return VB_EINVAL;
    }
    dg_engine probe;
    return parse_url(o->url, &probe, err, errlen);
}

int asr_deepgram_check(const char *const *options, char *err, size_t errlen)
{
    dg_options o;
    return parse_options(options, &o, err, errlen);
}

/* ---- state changes (engine lock held) -------------------------------- */

static void wake(dg_engine *e)
{
    if (e->ctx)
        lws_cancel_service(e->ctx);
}

static double upstream_s(long long samples)
{
    return (double)samples / ASR_SAMPLE_RATE;
}

/* Forgets what the service said of the open phrase, which is sent again
 * from its start on a new connection. */
static void restart_phrase(dg_stream *s)
{
    s->sent = 0;
    s->conn_samples = 0;
    s->phrase_base = 0;
    s->finals.count = 0;
    s->final_upto = 0;
    s->interim[0] = '\0';
    s->last_word_end = -1;
    s->finalize_sent = 0;
}

/* The phrase's end is settled: rc 0 with its words, or a failure.  Hands
 * them to whoever waits; the caller calls the callback (returned in *cb)
 * after unlocking. */
static void finish_phrase(dg_stream *s, int rc, asr_ended_fn *cb, void **cb_ctx,
                          asr_result *words)
{
    dg_engine *e = s->eng;
    *cb = NULL;
    *words = (asr_result){0};
    if (!s->ending)
        return;
    if (rc == 0 && s->finalize_sent) {
        double took = vb_monotonic_s() - s->finalize_at;
        s->answered++;
        s->latency_sum += took;
        if (took > s->latency_max)
            s->latency_max = took;
        e->latency[e->latency_next] = took * 1000;
        e->latency_next = (e->latency_next + 1) % LATENCY_KEEP;
        if (e->latency_count < LATENCY_KEEP)
            e->latency_count++;
    }
    if (rc == 0) {
        *words = s->finals;
        s->finals = (asr_result){0};
        s->finals_cap = 0;
    }
    s->ending = 0;
    s->finalize_sent = 0;
    s->in_phrase = 0;
    s->audio_len = 0;
    s->sent = 0;
    s->interim[0] = '\0';
    s->down_since = 0;
    if (s->ended != NULL) {
        *cb = s->ended;
        *cb_ctx = s->ended_ctx;
        s->ended = NULL;
    } else {
        s->result = *words;
        *words = (asr_result){0};
        s->result_rc = rc;
        s->done = 1;
        pthread_cond_broadcast(&e->cond);
    }
}

static void fail_stream(dg_stream *s, int rc, asr_ended_fn *cb, void **cb_ctx,
                        asr_result *words, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The stream cannot go on: every later call answers rc with the reason. */
static void fail_stream(dg_stream *s, int rc, asr_ended_fn *cb, void **cb_ctx,
                        asr_result *words, const char *fmt, ...)
{
    if (s->state != UP_FAILED) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof(s->error), fmt, ap);
        va_end(ap);
        s->state = UP_FAILED;
        s->error_rc = rc;
        log_error(TAG, "%s", s->error);
    }
    finish_phrase(s, s->error_rc, cb, cb_ctx, words);
}

static void call_ended(asr_ended_fn cb, void *ctx, asr_result *words, int rc)
{
    if (cb != NULL)
        cb(ctx, words, rc);
    asr_result_free(words);
}

/* The fallback engine's words for the phrase the stream went over in
 * (rc: how its beginning went).  No one else touches the phrase's audio
 * or the local stream meanwhile: the session waits for these words. */
static void replay_decode(dg_stream *s, int rc)
{
    dg_engine *e = s->eng;
    asr_result words = {0};
    for (size_t i = 0; rc == 0 && i < s->audio_len; i += SEND_SAMPLES) {
        size_t n = s->audio_len - i < SEND_SAMPLES ? s->audio_len - i
                                                   : SEND_SAMPLES;
        rc = asr_feed(s->local, s->audio + i, n);
    }
    if (rc == 0)
        rc = asr_end(s->local, &words);
    asr_ended_fn cb = NULL;
    void *cb_ctx = NULL;
    asr_result out = {0};
    pthread_mutex_lock(&e->lock);
    s->replay = 0;
    asr_result_free(&s->finals);
    s->finals = words;
    s->finals_cap = words.count;
    s->finalize_sent = 0; /* no round trip to time */
    if (rc != 0) { /* the local stream is left to stream_destroy */
        snprintf(s->error, sizeof(s->error), "this server's own recogniser "
                 "failed too: %s", vb_strerror(rc));
        s->state = UP_FAILED;
        s->error_rc = rc;
    }
    finish_phrase(s, rc, &cb, &cb_ctx, &out);
    pthread_mutex_unlock(&e->lock);
    call_ended(cb, cb_ctx, &out, rc);
}

static void replay_ready(void *arg)
{
    replay_decode(arg, 0);
}

static void replay_start(dg_stream *s)
{
    int rc = asr_begin(s->local, replay_ready, s);
    if (rc != VB_EAGAIN)
        replay_decode(s, rc);
}

/* The service stayed down (why): with a fallback engine the stream goes
 * over to it for good, and 1 is answered when the open phrase, whose
 * words are awaited already, must be decoded there now (replay_start(),
 * after unlocking); without one, it fails. */
static int go_local(dg_stream *s, const char *why, asr_ended_fn *cb,
                    void **cb_ctx, asr_result *words)
{
    dg_engine *e = s->eng;
    if (e->fallback == NULL ||
        e->fallback->ops->stream_create(e->fallback, &s->local) != 0) {
        fail_stream(s, VB_EIO, cb, cb_ctx, words,
                    "%s; what was said since is not transcribed", why);
        return 0;
    }
    if (s->keyword_count > 0 && e->fallback->ops->set_keywords != NULL)
        e->fallback->ops->set_keywords(s->local, s->keywords, s->keyword_count);
    snprintf(s->notice, sizeof(s->notice), "%s; going on with this server's "
             "own recogniser (%s)", why, e->fallback->ops->name);
    s->notice_new = 1;
    s->state = UP_LOCAL;
    log_warn(TAG, "%s", s->notice);
    s->replay = s->in_phrase;
    return s->in_phrase && s->ending;
}

/* The stream is the fallback's now, and the session's call goes there:
 * the phrase begun before it went over is still this engine's. */
static asr_stream *local_of(dg_stream *s)
{
    return s->state == UP_LOCAL && !s->replay ? s->local : NULL;
}

/* local_of() for the session's calls: once a stream is the fallback's it
 * stays so, and only the session uses the local stream then. */
static asr_stream *forwarded(dg_stream *s)
{
    pthread_mutex_lock(&s->eng->lock);
    asr_stream *local = local_of(s);
    pthread_mutex_unlock(&s->eng->lock);
    return local;
}

/* ---- the engine's thread ---------------------------------------------- */

static void connect_stream(dg_engine *e, dg_stream *s)
{
    struct lws_client_connect_info info = {0};
    info.context = e->ctx;
    info.address = e->host;
    info.port = e->port;
    info.ssl_connection = e->tls ? LCCSCF_USE_SSL : 0;
    info.path = s->path != NULL ? s->path : e->path;
    info.host = e->origin_host;
    info.origin = e->origin_host;
    info.ietf_version_or_minus_one = -1;
    info.userdata = s;
    info.local_protocol_name = "dg-engine";
    info.pwsi = &s->wsi;
    s->state = UP_CONNECTING;
    restart_phrase(s);
    /* The connection's callbacks may come inside the call (a refused
     * connect): they take the lock, so it is let go meanwhile. */
    pthread_mutex_unlock(&e->lock);
    struct lws *wsi = lws_client_connect_via_info(&info);
    pthread_mutex_lock(&e->lock);
    if (wsi == NULL && s->state == UP_CONNECTING) {
        s->wsi = NULL;
        s->state = UP_IDLE;
        s->attempts++;
        s->retry_at = vb_monotonic_s() + BACKOFF_MAX_S;
        snprintf(s->last_problem, sizeof(s->last_problem),
                 "cannot start a connection");
    }
}

static double backoff(int attempts)
{
    double d = BACKOFF_MIN_S;
    for (int i = 1; i < attempts && d < BACKOFF_MAX_S; i++)
        d *= 2;
    return d < BACKOFF_MAX_S ? d : BACKOFF_MAX_S;
}

static void stream_free(dg_stream *s)
{
    asr_result_free(&s->finals);
    asr_result_free(&s->result);
    free(s->audio);
    free(s->rx);
    free(s->path);
    free(s->keywords);
    free(s);
}

/* Unlinks and frees a destroyed stream that holds no connection. */
static void reap(dg_engine *e, dg_stream *s)
{
    for (dg_stream **p = &e->streams; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    stream_free(s);
}

/* What each stream needs now: a connection, a turn to write, a timeout. */
static void service_streams(dg_engine *e)
{
    pthread_mutex_lock(&e->lock);
    double now = vb_monotonic_s();
    dg_stream *next;
    for (dg_stream *s = e->streams; s != NULL; s = next) {
        next = s->next;
        asr_ended_fn cb = NULL;
        void *cb_ctx = NULL;
        asr_result words = {0};
        if (s->destroyed && s->wsi == NULL && s->state != UP_CONNECTING) {
            reap(e, s);
            continue;
        }
        int waiting = s->in_phrase && s->audio_len > 0;
        if (s->state != UP_OPEN && s->state != UP_FAILED && waiting &&
            s->down_since == 0)
            s->down_since = now;
        int replay = 0;
        if (s->state == UP_LOCAL || s->state == UP_FAILED)
            continue;
        if (s->state != UP_OPEN && s->down_since > 0 &&
            now - s->down_since > DOWN_LIMIT_S) {
            char why[320];
            snprintf(why, sizeof(why), "the speech service at %.100s has not "
                     "answered for %.0f s (%.120s)", e->host, DOWN_LIMIT_S,
                     s->last_problem);
            replay = go_local(s, why, &cb, &cb_ctx, &words);
        } else if (s->state == UP_IDLE && !s->destroyed && now >= s->retry_at) {
            connect_stream(e, s);
        } else if (s->state == UP_OPEN && s->renew) {
            /* Closed here, opened again by connection_lost() with the
             * new query (an open phrase is sent again, as after a drop). */
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else if (s->state == UP_OPEN) {
            if (s->finalize_sent && now - s->finalize_at > FINALIZE_WAIT_S) {
                log_warn(TAG, "no sign of an answer %.0f s after Finalize; "
                         "the phrase ends with the words that came",
                         FINALIZE_WAIT_S);
                finish_phrase(s, 0, &cb, &cb_ctx, &words);
            }
            if (s->sent < s->audio_len || (s->ending && !s->finalize_sent) ||
                (s->destroyed && !s->close_sent) ||
                now - s->last_send >= KEEPALIVE_S)
                lws_callback_on_writable(s->wsi);
        }
        if (cb != NULL || words.words != NULL || replay) {
            pthread_mutex_unlock(&e->lock);
            if (replay)
                replay_start(s);
            else
                call_ended(cb, cb_ctx, &words, s->error_rc);
            pthread_mutex_lock(&e->lock);
        }
    }
    pthread_mutex_unlock(&e->lock);
}

static void tick(lws_sorted_usec_list_t *sul)
{
    dg_engine *e = lws_container_of(sul, dg_engine, tick);
    service_streams(e);
    lws_sul_schedule(e->ctx, 0, &e->tick, tick, TICK_US);
}

/* Sends one message: audio first, then a Finalize once the phrase's
 * audio is all sent, CloseStream once the session is done, KeepAlive when
 * nothing else has gone for a while. */
static int on_writable(dg_engine *e, dg_stream *s, struct lws *wsi)
{
    static unsigned char buf[LWS_PRE + SEND_SAMPLES * sizeof(int16_t)];
    pthread_mutex_lock(&e->lock);
    if (s->state != UP_OPEN || s->close_sent) {
        pthread_mutex_unlock(&e->lock);
        return 0;
    }
    double now = vb_monotonic_s();
    const char *text = NULL;
    size_t len = 0;
    int more = 0;
    if (s->sent < s->audio_len && !s->destroyed) {
        len = s->audio_len - s->sent;
        if (len > SEND_SAMPLES)
            len = SEND_SAMPLES;
        memcpy(buf + LWS_PRE, s->audio + s->sent, len * sizeof(int16_t));
        s->sent += len;
        s->conn_samples += (long long)len;
        len *= sizeof(int16_t);
        more = s->sent < s->audio_len || s->ending;
    } else if (s->ending && !s->finalize_sent && !s->destroyed) {
        text = "{\"type\":\"Finalize\"}";
        s->finalize_sent = 1;
        s->finalize_at = now;
        s->finalize_upto = s->conn_samples;
    } else if (s->destroyed) {
        text = "{\"type\":\"CloseStream\"}";
        s->close_sent = 1;
    } else if (now - s->last_send >= KEEPALIVE_S) {
        text = "{\"type\":\"KeepAlive\"}";
    } else {
        pthread_mutex_unlock(&e->lock);
        return 0;
    }
    s->last_send = now;
    pthread_mutex_unlock(&e->lock);
    if (text != NULL) {
        len = strlen(text);
        memcpy(buf + LWS_PRE, text, len);
    }
    int n = lws_write(wsi, buf + LWS_PRE, len,
                      text != NULL ? LWS_WRITE_TEXT : LWS_WRITE_BINARY);
    if (n < (int)len)
        return -1;
    if (text != NULL && strstr(text, "CloseStream") != NULL)
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

static double number(const cJSON *obj, const char *name, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

static int flag(const cJSON *obj, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

static int add_final_word(dg_stream *s, const asr_word *w)
{
    if (s->finals.count == s->finals_cap) {
        size_t cap = s->finals_cap ? 2 * s->finals_cap : 32;
        asr_word *grown = realloc(s->finals.words, cap * sizeof(asr_word));
        if (grown == NULL)
            return VB_ENOMEM;
        s->finals.words = grown;
        s->finals_cap = cap;
    }
    s->finals.words[s->finals.count++] = *w;
    return 0;
}

/* A Results message, onto the open phrase. */
static void on_results(dg_stream *s, const cJSON *msg, asr_ended_fn *cb,
                       void **cb_ctx, asr_result *out)
{
    if (!s->in_phrase)
        return; /* a late answer for a phrase already settled */
    int is_final = flag(msg, "is_final");
    const cJSON *alt = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(msg, "channel"), "alternatives"), 0);
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(alt, "words");
    double base = upstream_s(s->phrase_base);
    if (!is_final) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(alt, "transcript");
        snprintf(s->interim, sizeof(s->interim), "%s",
                 cJSON_IsString(t) ? t->valuestring : "");
    } else {
        s->interim[0] = '\0';
    }
    const cJSON *w;
    cJSON_ArrayForEach(w, words) {
        asr_word word = {0};
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(w, "punctuated_word");
        if (!cJSON_IsString(text) || text->valuestring[0] == '\0')
            text = cJSON_GetObjectItemCaseSensitive(w, "word");
        if (!cJSON_IsString(text) || text->valuestring[0] == '\0')
            continue;
        word.start = number(w, "start", 0) - base;
        word.end = number(w, "end", 0) - base;
        if (word.end < 0)
            continue; /* audio of an earlier phrase */
        if (word.start < 0)
            word.start = 0;
        double c = number(w, "confidence", 1);
        word.confidence = (float)(c < 0 ? 0 : c > 1 ? 1 : c);
        snprintf(word.word, sizeof(word.word), "%s", text->valuestring);
        if (word.end > s->last_word_end)
            s->last_word_end = word.end;
        if (is_final && add_final_word(s, &word) != 0) {
            log_error(TAG, "out of memory: a word was dropped");
            break;
        }
    }
    if (!is_final)
        return;
    double upto = number(msg, "start", 0) + number(msg, "duration", 0);
    if (upto > s->final_upto)
        s->final_upto = upto;
    /* Answered for everything sent before the Finalize: Deepgram marks
     * the result that flushes it; its finals also tile the audio, so
     * reaching the end of what was sent says the same. */
    if (s->finalize_sent &&
        (flag(msg, "from_finalize") ||
         s->final_upto >= upstream_s(s->finalize_upto) - 0.02))
        finish_phrase(s, 0, cb, cb_ctx, out);
}

static void on_message(dg_engine *e, dg_stream *s)
{
    cJSON *msg = cJSON_ParseWithLength(s->rx, s->rx_len);
    if (msg == NULL) {
        log_warn(TAG, "the speech service sent a message that is not JSON");
        return;
    }
    asr_ended_fn cb = NULL;
    void *cb_ctx = NULL;
    asr_result words = {0};
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    pthread_mutex_lock(&e->lock);
    if (cJSON_IsString(type) && strcmp(type->valuestring, "Results") == 0)
        on_results(s, msg, &cb, &cb_ctx, &words);
    pthread_mutex_unlock(&e->lock);
    cJSON_Delete(msg);
    call_ended(cb, cb_ctx, &words, 0);
}

/* The connection is gone (problem: why, for the log).  A refused key or
 * request fails the stream; anything else is tried again. */
static void connection_lost(dg_engine *e, dg_stream *s, int http_status,
                            const char *problem)
{
    asr_ended_fn cb = NULL;
    void *cb_ctx = NULL;
    asr_result words = {0};
    pthread_mutex_lock(&e->lock);
    s->wsi = NULL;
    int was_open = s->state == UP_OPEN;
    if (s->state == UP_FAILED || s->state == UP_LOCAL || s->destroyed) {
        if (s->state != UP_FAILED && s->state != UP_LOCAL)
            s->state = UP_IDLE;
        pthread_mutex_unlock(&e->lock);
        wake(e); /* reaped on the next pass */
        return;
    }
    if (s->renew && was_open) {
        s->renew = 0;
        s->state = UP_IDLE;
        s->retry_at = 0;
        restart_phrase(s);
        pthread_mutex_unlock(&e->lock);
        wake(e);
        return;
    }
    e->failures++;
    if (http_status == 401 || http_status == 403) {
        fail_stream(s, VB_EIO, &cb, &cb_ctx, &words,
                    "the speech service at %s refused the Deepgram key (HTTP "
                    "%d): the operator must set a valid DEEPGRAM_API_KEY",
                    e->host, http_status);
    } else if (http_status == 400 || s->close_code == 1008) {
        fail_stream(s, VB_EIO, &cb, &cb_ctx, &words,
                    "the speech service at %s refused the stream (%s): check "
                    "the deepgram engine's model and language", e->host,
                    problem);
    } else {
        snprintf(s->last_problem, sizeof(s->last_problem), "%s", problem);
        if (s->attempts == 0 || s->attempts % 10 == 0)
            log_warn(TAG, "%s connection to %s: %s; trying again",
                     was_open ? "lost the" : "no", e->host, problem);
        s->state = UP_IDLE;
        s->attempts++;
        s->retry_at = vb_monotonic_s() + (was_open ? 0 : backoff(s->attempts));
        restart_phrase(s);
    }
    pthread_mutex_unlock(&e->lock);
    call_ended(cb, cb_ctx, &words, s->error_rc);
    wake(e);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
    dg_engine *e = lws_context_user(lws_get_context(wsi));
    dg_stream *s = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (e != NULL)
            service_streams(e);
        return 0;
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        char value[600];
        int n = snprintf(value, sizeof(value), "Token %s", e->key);
        if (n >= (int)sizeof(value) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"authorization:",
                                        (const unsigned char *)value, n, p, end))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        pthread_mutex_lock(&e->lock);
        if (s->state == UP_FAILED || s->state == UP_LOCAL) { /* gave up */
            pthread_mutex_unlock(&e->lock);
            return -1;
        }
        if (s->attempts > 0)
            log_info(TAG, "connected to %s again", e->host);
        s->state = UP_OPEN;
        s->attempts = 0;
        s->down_since = 0;
        s->close_code = 0;
        s->last_send = vb_monotonic_s();
        pthread_mutex_unlock(&e->lock);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char problem[160];
        int status = (int)lws_http_client_http_response(wsi);
        const char *why = in ? (const char *)in : "connection failed";
        if (status > 0)
            snprintf(problem, sizeof(problem), "HTTP %d", status);
        else if (strcasestr(why, "ssl") || strcasestr(why, "tls"))
            /* OpenSSL's own words say little ("lib(0)::reason(1)") */
            snprintf(problem, sizeof(problem), "the TLS handshake failed "
                     "(is its certificate trusted? see the ca option): "
                     "%.70s", why);
        else
            snprintf(problem, sizeof(problem), "%.150s", why);
        if (s != NULL)
            connection_lost(e, s, status, problem);
        return 0;
    }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (s != NULL && len >= 2) {
            const unsigned char *b = in;
            s->close_code = b[0] << 8 | b[1];
            snprintf(s->close_reason, sizeof(s->close_reason), "%.*s",
                     (int)(len - 2 < 120 ? len - 2 : 120), (const char *)b + 2);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (s != NULL) {
            char problem[160];
            if (s->close_code)
                snprintf(problem, sizeof(problem), "closed with %d %s",
                         s->close_code, s->close_reason);
            else
                snprintf(problem, sizeof(problem), "the connection dropped");
            connection_lost(e, s, 0, problem);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return s != NULL ? on_writable(e, s, wsi) : 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (s == NULL || lws_frame_is_binary(wsi))
            return 0;
        if (lws_is_first_fragment(wsi))
            s->rx_len = 0;
        if (s->rx_len + len + 1 > RX_MAX) {
            log_warn(TAG, "the speech service sent a message over %u bytes",
                     RX_MAX);
            return -1;
        }
        if (s->rx_len + len + 1 > s->rx_cap) {
            /* Results are a few KiB: no stream holds RX_MAX for them */
            size_t cap = s->rx_cap ? s->rx_cap : 8192;
            while (cap < s->rx_len + len + 1)
                cap *= 2;
            char *grown = realloc(s->rx, cap);
            if (grown == NULL)
                return -1;
            s->rx = grown;
            s->rx_cap = cap;
        }
        memcpy(s->rx + s->rx_len, in, len);
        s->rx_len += len;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
            on_message(e, s);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"dg-engine", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service_thread(void *arg)
{
    dg_engine *e = arg;
    pthread_setname_np(pthread_self(), "vb-deepgram");
    for (;;) {
        pthread_mutex_lock(&e->lock);
        int stop = e->stop;
        pthread_mutex_unlock(&e->lock);
        if (stop)
            break;
        lws_service(e->ctx, 0);
    }
    return NULL;
}

/* ---- the engine's calls ----------------------------------------------- */

static dg_engine *engine_of(asr_stream *stream)
{
    return (dg_engine *)stream->engine;
}

static int dg_stream_create(asr_engine *engine, asr_stream **out)
{
    dg_engine *e = (dg_engine *)engine;
    dg_stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return VB_ENOMEM;
    s->base.engine = engine;
    s->eng = e;
    s->last_word_end = -1;
    pthread_mutex_lock(&e->lock);
    s->next = e->streams;
    e->streams = s; /* connects on the engine's thread at once */
    pthread_mutex_unlock(&e->lock);
    wake(e);
    *out = &s->base;
    return 0;
}

static int dg_begin(asr_stream *stream, asr_ready_fn ready, void *ctx)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    asr_stream *local = forwarded(s);
    if (local != NULL)
        return asr_begin(local, ready, ctx);
    pthread_mutex_lock(&e->lock);
    int rc = s->state == UP_FAILED ? s->error_rc : 0;
    if (rc == 0) {
        s->in_phrase = 1;
        s->audio_len = 0;
        s->sent = 0;
        s->phrase_base = s->conn_samples;
        s->finals.count = 0;
        s->final_upto = upstream_s(s->conn_samples);
        s->interim[0] = '\0';
        s->last_word_end = -1;
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int dg_feed(asr_stream *stream, const int16_t *samples, size_t count)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    asr_stream *local = forwarded(s);
    if (local != NULL)
        return asr_feed(local, samples, count);
    pthread_mutex_lock(&e->lock);
    int rc = s->state == UP_FAILED ? s->error_rc : 0;
    if (rc == 0 && s->audio_len + count > s->audio_cap) {
        size_t cap = s->audio_cap ? s->audio_cap : 16000;
        while (cap < s->audio_len + count)
            cap *= 2;
        int16_t *grown = realloc(s->audio, cap * sizeof(int16_t));
        if (grown == NULL)
            rc = VB_ENOMEM;
        else {
            s->audio = grown;
            s->audio_cap = cap;
        }
    }
    if (rc == 0) {
        memcpy(s->audio + s->audio_len, samples, count * sizeof(int16_t));
        s->audio_len += count;
    }
    pthread_mutex_unlock(&e->lock);
    if (rc == 0)
        wake(e);
    return rc;
}

static int dg_partial(asr_stream *stream, char *text, size_t len)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    asr_stream *local = forwarded(s);
    if (local != NULL)
        return asr_partial(local, text, len);
    pthread_mutex_lock(&e->lock);
    int rc = s->state == UP_FAILED ? s->error_rc : 0;
    size_t n = 0;
    text[0] = '\0';
    /* A phrase to be decoded locally shows nothing until its end. */
    for (size_t i = 0; rc == 0 && !s->replay && i < s->finals.count && n < len;
         i++)
        n += (size_t)snprintf(text + n, len - n, "%s%s", n ? " " : "",
                              s->finals.words[i].word);
    if (rc == 0 && !s->replay && s->interim[0] && n < len)
        snprintf(text + n, len - n, "%s%s", n ? " " : "", s->interim);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int dg_last_word_end(asr_stream *stream, double *end,
                            double *sentence_end)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    pthread_mutex_lock(&e->lock);
    asr_stream *local = local_of(s);
    *end = s->replay ? -1 : s->last_word_end;
    pthread_mutex_unlock(&e->lock);
    if (local != NULL)
        return asr_last_word_end(local, end, sentence_end);
    /* Every phrase cut is a round trip to the service, and the service
     * needs no pause to finish its passes in: cut only long phrases. */
    if (sentence_end)
        *sentence_end = 0;
    return 0;
}

static int dg_end(asr_stream *stream, asr_result *out, int keep,
                  asr_ended_fn ended, void *ctx)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    *out = (asr_result){0};
    asr_stream *local = forwarded(s);
    if (local != NULL)
        return local->engine->ops->end(local, out, keep, ended, ctx);
    pthread_mutex_lock(&e->lock);
    if (s->state == UP_FAILED) {
        int rc = s->error_rc;
        s->in_phrase = 0;
        pthread_mutex_unlock(&e->lock);
        return rc;
    }
    if (s->audio_len == 0) { /* nothing was said into it */
        s->in_phrase = 0;
        pthread_mutex_unlock(&e->lock);
        return 0;
    }
    s->ending = 1;
    s->ended = ended;
    s->ended_ctx = ctx;
    s->done = 0;
    int replay = s->replay;
    pthread_mutex_unlock(&e->lock);
    if (replay)
        replay_start(s); /* may answer before this returns */
    else
        wake(e);
    if (ended != NULL)
        return VB_EAGAIN;
    pthread_mutex_lock(&e->lock);
    while (!s->done)
        pthread_cond_wait(&e->cond, &e->lock);
    int rc = s->result_rc;
    *out = s->result;
    s->result = (asr_result){0};
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static void dg_release(asr_stream *stream)
{
    asr_stream *local = forwarded((dg_stream *)stream);
    if (local != NULL)
        asr_release(local);
}

static int dg_stream_notice(asr_stream *stream, char *text, size_t len)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    pthread_mutex_lock(&e->lock);
    int news = s->notice_new;
    if (news)
        snprintf(text, len, "%s", s->notice);
    s->notice_new = 0;
    pthread_mutex_unlock(&e->lock);
    return news;
}

static const char *dg_stream_error(asr_stream *stream)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    pthread_mutex_lock(&e->lock);
    const char *why = s->state == UP_FAILED ? s->error : NULL;
    pthread_mutex_unlock(&e->lock); /* written once, before UP_FAILED */
    return why;
}

static void dg_stream_destroy(asr_stream *stream)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = engine_of(stream);
    pthread_mutex_lock(&e->lock);
    asr_stream *local = s->local; /* idle: the session waits for nothing */
    s->local = NULL;
    pthread_mutex_unlock(&e->lock);
    asr_stream_destroy(local);
    pthread_mutex_lock(&e->lock);
    if (s->answered > 0)
        log_info(TAG, "a stream ends: %d utterances answered, %.0f ms from "
                 "the end of one to its words on average, %.0f ms at most",
                 s->answered, s->latency_sum / s->answered * 1000,
                 s->latency_max * 1000);
    s->destroyed = 1; /* the engine's thread says CloseStream, then frees */
    s->in_phrase = 0;
    s->audio_len = 0;
    pthread_mutex_unlock(&e->lock);
    wake(e);
}

static void dg_stats(asr_engine *engine, asr_stats *out)
{
    dg_engine *e = (dg_engine *)engine;
    *out = (asr_stats){.remote = 1, .upstream_latency_ms = -1};
    pthread_mutex_lock(&e->lock);
    for (dg_stream *s = e->streams; s; s = s->next) {
        if (s->destroyed || s->state == UP_LOCAL)
            continue; /* the fallback counts its own */
        out->decoders++;
        out->upstream_open += s->state == UP_OPEN;
        out->in_use += s->in_phrase;
    }
    double sum = 0;
    for (int i = 0; i < e->latency_count; i++)
        sum += e->latency[i];
    if (e->latency_count > 0)
        out->upstream_latency_ms = sum / e->latency_count;
    out->upstream_failures = e->failures;
    pthread_mutex_unlock(&e->lock);
}

static void dg_destroy(asr_engine *engine)
{
    dg_engine *e = (dg_engine *)engine;
    if (e->thread_started) {
        /* Streams still open say CloseStream first, for up to 2 s. */
        for (int i = 0; i < 200; i++) {
            pthread_mutex_lock(&e->lock);
            int open = 0;
            for (dg_stream *s = e->streams; s; s = s->next)
                open += s->wsi != NULL;
            pthread_mutex_unlock(&e->lock);
            if (!open)
                break;
            wake(e);
            usleep(10000);
        }
        pthread_mutex_lock(&e->lock);
        e->stop = 1;
        pthread_mutex_unlock(&e->lock);
        wake(e);
        pthread_join(e->thread, NULL);
    }
    if (e->ctx) {
        lws_context_destroy(e->ctx);
        e->ctx = NULL;
    }
    while (e->streams) {
        dg_stream *s = e->streams;
        e->streams = s->next;
        stream_free(s);
    }
    if (e->key) {
        memset(e->key, 0, strlen(e->key));
        free(e->key);
    }
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* Taught words go to the service as its own `keywords` parameters: the
 * stream's connection (made as it was created) is opened again with
 * them. */
static int dg_set_keywords(asr_stream *stream, const asr_keyword *words,
                           size_t count)
{
    dg_stream *s = (dg_stream *)stream;
    dg_engine *e = s->eng;
    size_t len = strlen(e->path) + 1;
    for (size_t i = 0; i < count; i++)
        len += sizeof("&keywords=") + 3 * strlen(words[i].word) + 24;
    char *path = count > 0 ? malloc(len) : NULL;
    asr_keyword *copy = count > 0 ? malloc(count * sizeof(*copy)) : NULL;
    if (count > 0 && (path == NULL || copy == NULL)) {
        free(path);
        free(copy);
        return VB_ENOMEM;
    }
    if (count > 0) {
        /* Words are letters, ' and - (keywords.h): only ' needs escaping. */
        size_t n = (size_t)snprintf(path, len, "%s", e->path);
        for (size_t i = 0; i < count; i++) {
            n += (size_t)snprintf(path + n, len - n, "&keywords=");
            for (const char *c = words[i].word; *c; c++)
                n += (size_t)(*c == '\'' ? snprintf(path + n, len - n, "%%27")
                                         : snprintf(path + n, len - n, "%c", *c));
            n += (size_t)snprintf(path + n, len - n, ":%g", (double)words[i].boost);
        }
        memcpy(copy, words, count * sizeof(*copy));
    }
    pthread_mutex_lock(&e->lock);
    free(s->path);
    free(s->keywords);
    s->path = path;
    s->keywords = copy;
    s->keyword_count = count;
    if (s->state == UP_CONNECTING || s->state == UP_OPEN)
        s->renew = 1; /* it connected at once, with the old query */
    asr_stream *local = local_of(s);
    pthread_mutex_unlock(&e->lock);
    wake(e);
    if (local != NULL && local->engine->ops->set_keywords != NULL)
        return local->engine->ops->set_keywords(local, words, count);
    return 0;
}

static const struct asr_engine_ops dg_ops = {
    .name = "deepgram",
    .stream_create = dg_stream_create,
    .begin = dg_begin,
    .feed = dg_feed,
    .partial = dg_partial,
    .last_word_end = dg_last_word_end,
    .end = dg_end,
    .release = dg_release,
    .stream_destroy = dg_stream_destroy,
    .stats = dg_stats,
    .stream_error = dg_stream_error,
    .stream_notice = dg_stream_notice,
    .set_keywords = dg_set_keywords,
    .destroy = dg_destroy,
};

/* The query the service is asked with: what the application Verbatim
 * replaces asked for, in the audio the sessions hand engines. */
static void build_query(dg_engine *e, const dg_options *o)
{
    size_t n = strlen(e->path);
    n += (size_t)snprintf(e->path + n, sizeof(e->path) - n,
                          "model=%s&encoding=linear16&sample_rate=%d&channels=1"
                          "&interim_results=true&punctuate=true"
                          "&smart_format=true", o->model, ASR_SAMPLE_RATE);
    if (o->language != NULL && n < sizeof(e->path))
        snprintf(e->path + n, sizeof(e->path) - n, "&language=%s", o->language);
}

int asr_deepgram_create(const asr_params *params, const char *const *options,
                        asr_engine **out, char *err, size_t errlen)
{
    dg_options o;
    int rc = parse_options(options, &o, err, errlen);
    if (rc != 0)
        return rc;
    dg_engine *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(o.key)) == NULL) {
        free(e);
        vb_seterr(err, errlen, "out of memory");
        return VB_ENOMEM;
    }
    e->base.ops = &dg_ops;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    parse_url(o.url, e, NULL, 0);
    build_query(e, &o);
    e->fallback = params ? params->fallback : NULL;
    if (o.ca)
        snprintf(e->ca, sizeof(e->ca), "%s", o.ca);
    else if (access(SYSTEM_CA, R_OK) == 0)
        snprintf(e->ca, sizeof(e->ca), "%s", SYSTEM_CA);

    struct lws_context_creation_info info = {0};
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = e;
    info.options = e->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    if (e->tls && e->ca[0])
        info.client_ssl_ca_filepath = e->ca;
    e->ctx = lws_create_context(&info);
    if (e->ctx == NULL) {
        vb_seterr(err, errlen, "cannot start the deepgram engine's "
                  "connections (libwebsockets)");
        dg_destroy(&e->base);
        return VB_EIO;
    }
    lws_sul_schedule(e->ctx, 0, &e->tick, tick, TICK_US);
    if (pthread_create(&e->thread, NULL, service_thread, e) != 0) {
        vb_seterr(err, errlen, "cannot start the deepgram engine's thread");
        dg_destroy(&e->base);
        return VB_EIO;
    }
    e->thread_started = 1;
    log_info(TAG, "streams go to %s://%s:%d%.*s (model %s)",
             e->tls ? "wss" : "ws", e->host, e->port,
             (int)strcspn(e->path, "?"), e->path, o.model);
    *out = &e->base;
    return 0;
}
