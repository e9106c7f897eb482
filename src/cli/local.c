/*
 * local.c - one session run here, without a server: the shared core of
 * `verbatim transcribe` and `verbatim bench engine`.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

int cli_run_local(asr_engine *engine, pool_t *pool, const session_params *sp,
                  const unsigned char *data, size_t len, FILE *in,
                  session_emit_fn forward, void *ctx)
{
    waiter w = {.forward = forward, .ctx = ctx};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.done_cond, NULL);
    session_sink sink = {on_event, NULL, &w};
    session_t *s;
    int rc = session_create(sp, engine, pool, &sink, &s);
    if (rc == 0) {
        unsigned char buf[32768];
        size_t pos = 0, n;
        for (;;) {
            if (in != NULL) {
                n = fread(buf, 1, sizeof(buf), in);
            } else {
                n = len - pos < sizeof(buf) ? len - pos : sizeof(buf);
                memcpy(buf, data + pos, n);
                pos += n;
            }
            if (n == 0)
                break;
            /* Keep the queue short: wait while a few seconds are queued. */
            while (session_queued_bytes(s) > (1u << 20))
                nanosleep(&(struct timespec){0, 2000000}, NULL);
            session_feed(s, buf, n);
        }
        session_close(s);
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
