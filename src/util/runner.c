/* runner.c - a single-threaded FIFO job runner (see runner.h). */
#include "runner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "vb.h"

struct job {
    runner_fn fn;
    void *arg;
    struct job *next;
};

struct runner {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head, *tail;
    pthread_cond_t idle;
    int pending;
    int running;          /* a job is running */
    unsigned long ran;    /* jobs finished so far */
    int stopping;
    char name[16];
};

static void *runner_main(void *arg)
{
    runner_t *r = arg;
    pthread_setname_np(pthread_self(), r->name);
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->head == NULL && !r->stopping)
            pthread_cond_wait(&r->wake, &r->lock);
        struct job *job = r->head;
        if (job == NULL)
            break; /* stopping and drained */
        r->head = job->next;
        if (r->head == NULL)
            r->tail = NULL;
        r->pending--;
        r->running = 1;
        pthread_mutex_unlock(&r->lock);
        job->fn(job->arg);
        free(job);
        pthread_mutex_lock(&r->lock);
        r->running = 0;
        r->ran++;
        if (r->head == NULL)
            pthread_cond_broadcast(&r->idle);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int runner_start(const char *name, runner_t **out)
{
    runner_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return VB_ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->idle, NULL);
    snprintf(r->name, sizeof(r->name), "%s", name);
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        free(r);
        return VB_EINTERNAL;
    }
    *out = r;
    return 0;
}

int runner_submit(runner_t *r, runner_fn fn, void *arg)
{
    struct job *job = malloc(sizeof(*job));
    if (job == NULL)
        return VB_ENOMEM;
    job->fn = fn;
    job->arg = arg;
    job->next = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->stopping) {
        pthread_mutex_unlock(&r->lock);
        free(job);
        return VB_EBUSY;
    }
    if (r->tail != NULL)
        r->tail->next = job;
    else
        r->head = job;
    r->tail = job;
    r->pending++;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int runner_pending(runner_t *r)
{
    pthread_mutex_lock(&r->lock);
    int n = r->pending;
    pthread_mutex_unlock(&r->lock);
    return n;
}

unsigned long runner_wait_idle(runner_t *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->head != NULL || r->running)
        pthread_cond_wait(&r->idle, &r->lock);
    unsigned long ran = r->ran;
    pthread_mutex_unlock(&r->lock);
    return ran;
}

int runner_on_thread(const runner_t *r)
{
    return r != NULL && pthread_equal(pthread_self(), r->thread);
}

void runner_stop(runner_t *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    pthread_cond_destroy(&r->idle);
    free(r);
}
