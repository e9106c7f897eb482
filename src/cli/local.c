/*
 * local.c - one session run here, without a server: feeding a session
 * from memory or a file (`verbatim transcribe`, through the transcription
 * layer) and a bare session run (`verbatim bench engine`).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../audio/audio.h"
#include "../util/vb.h"
#include "cli.h"

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int done;
    session_emit_fn forward;
    void *ctx;
} waiter;

static void on_event(void *arg, session_event *ev)
{
    waiter *w = arg;
    if (ev->kind != SESSION_DONE) {
        w->forward(w->ctx, ev);
        return;
    }
    session_event_free(ev);
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->done_cond);
    pthread_mutex_unlock(&w->lock);
}

/* Sleeps until the monotonic clock reads `due` (seconds). */
static void sleep_until(double due)
{
    double left;
    while ((left = due - vb_monotonic_s()) > 0) {
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

void cli_feed_session(session_t *s, const unsigned char *data, size_t len,
                      FILE *in, int pace_ms)
{
    unsigned char buf[32768];
    size_t pos = 0, n, piece = sizeof(buf);
    size_t paced = (size_t)pace_ms * AUDIO_ENGINE_RATE / 1000 * sizeof(int16_t);
    if (pace_ms > 0 && paced < piece)
        piece = paced;
    double start = vb_monotonic_s();
    for (;;) {
        if (in != NULL) {
            n = fread(buf, 1, sizeof(buf), in);
        } else {
            n = len - pos < piece ? len - pos : piece;
            memcpy(buf, data + pos, n);
            pos += n;
            if (pace_ms > 0)
                sleep_until(start + (double)pos / sizeof(int16_t) / AUDIO_ENGINE_RATE);
        }
        if (n == 0)
            break;
        /* Keep the queue short: wait while a few seconds are queued. */
        while (session_queued_bytes(s) > (1u << 20))
            nanosleep(&(struct timespec){0, 2000000}, NULL);
        session_feed(s, buf, n);
    }
    session_close(s);
}

int cli_run_local(asr_engine *engine, pool_t *pool, const session_params *sp,
                  const unsigned char *data, size_t len, FILE *in, int pace_ms,
                  session_emit_fn forward, void *ctx)
{
    waiter w = {.forward = forward, .ctx = ctx};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.done_cond, NULL);
    session_sink sink = {.emit = on_event, .ctx = &w};
    session_t *s;
    int rc = session_create(sp, engine, pool, &sink, &s);
    if (rc == 0) {
        cli_feed_session(s, data, len, in, pace_ms);
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.done_cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        session_release(s);
    }
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.done_cond);
    return rc;
}
