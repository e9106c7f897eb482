/* pool.c - worker threads over one queue of tasks (see pool.h). */
#include <assert.h>
#include "pool.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "meter.h"
#include "vb.h"

struct task {
    pool_fn fn;
    void *arg;
    double submitted;     /* monotonic seconds */
    double due;           /* the queue's order (pool.h) */
    struct task *next;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work;  /* a task arrived, or stopping */
    pthread_cond_t idle;  /* a task finished */
    struct task *head, *tail; /* by due time */
    int queued, running, stopping, count;
    double wait_avg;      /* recent tasks' wait for a worker, smoothed */
    double wait_avg_at;   /* when wait_avg was last updated */
    meter busy;           /* worker seconds spent running tasks */
    pthread_t *threads;
};

/* Folds one task's wait into the average, whose memory fades with a time
 * constant of about two seconds.  Called with the lock held. */
static void note_wait(pool_t *p, double wait, double now)
{
    assert(vb_mutex_held(&p->lock));
    double keep = exp(-(now - p->wait_avg_at) / 2.0);
    double weight = keep > 0.8 ? 0.2 : 1.0 - keep; /* at least 1/5 per task */
    p->wait_avg = p->wait_avg * (1.0 - weight) + wait * weight;
    p->wait_avg_at = now;
}

/* The calling thread's processor time (s).  The workers' load is counted
 * in it, not in wall time: a worker that other threads (decoders being
 * built, at a cold start) keep off its core is not busier for it. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
    pool_t *p = arg;
    pthread_setname_np(pthread_self(), "vb-worker");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !(p->stopping && p->running == 0))
            pthread_cond_wait(&p->work, &p->lock);
        struct task *t = p->head;
        if (t == NULL)
            break; /* stopping, nothing queued, nothing running */
        p->head = t->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        p->running++;
        double now = vb_monotonic_s();
        note_wait(p, now - t->submitted, now);
        pthread_mutex_unlock(&p->lock);
        double cpu = thread_cpu_s();
        t->fn(t->arg);
        free(t);
        meter_add(&p->busy, thread_cpu_s() - cpu);
        pthread_mutex_lock(&p->lock);
        p->running--;
        /* A stopping pool ends when nothing is queued or running; tell the
         * others, who may be waiting for exactly that. */
        pthread_cond_broadcast(&p->work);
        pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int pool_start(int workers, pool_t **out)
{
    pool_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return VB_ENOMEM;
    p->threads = calloc((size_t)workers, sizeof(pthread_t));
    if (p->threads == NULL) {
        free(p);
        return VB_ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    meter_init(&p->busy, POOL_BUSY_TAU);
    for (; p->count < workers; p->count++) {
        if (pthread_create(&p->threads[p->count], NULL, worker_main, p) != 0) {
            pool_stop(p);
            return VB_EINTERNAL;
        }
    }
    *out = p;
    return 0;
}

static int submit(pool_t *p, pool_fn fn, void *arg, int urgent)
{
    struct task *t = malloc(sizeof(*t));
    if (t == NULL)
        return VB_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->submitted = vb_monotonic_s();
    t->due = t->submitted + (urgent ? 0 : POOL_URGENT_LEAD);
    pthread_mutex_lock(&p->lock);
    /* After every task due no later (an ordinary one's due time is the
     * latest yet: it goes last). */
    struct task **at = p->tail && p->tail->due <= t->due ? &p->tail->next : &p->head;
    while (*at && (*at)->due <= t->due)
        at = &(*at)->next;
    t->next = *at;
    *at = t;
    if (t->next == NULL)
        p->tail = t;
    p->queued++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int pool_submit(pool_t *p, pool_fn fn, void *arg)
{
    return submit(p, fn, arg, 0);
}

int pool_submit_urgent(pool_t *p, pool_fn fn, void *arg)
{
    return submit(p, fn, arg, 1);
}

int pool_workers(const pool_t *p)
{
    return p->count;
}

void pool_wait_idle(pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->head != NULL || p->running > 0)
        pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

int pool_queued(pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->queued;
    pthread_mutex_unlock(&p->lock);
    return n;
}

double pool_lag(pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    double now = vb_monotonic_s();
    /* The oldest queued task, wherever urgent ones put it. */
    double head_age = 0;
    for (struct task *t = p->head; t; t = t->next)
        if (now - t->submitted > head_age)
            head_age = now - t->submitted;
    /* An idle worker with nothing queued: no lag, whatever came before. */
    double avg = p->head == NULL && p->running < p->count ? 0 : p->wait_avg;
    pthread_mutex_unlock(&p->lock);
    return head_age > avg ? head_age : avg;
}

double pool_busy(pool_t *p)
{
    return meter_rate(&p->busy);
}

void pool_stop(pool_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->count; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    meter_destroy(&p->busy);
    free(p->threads);
    free(p);
}
