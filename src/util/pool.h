/*
 * pool.h - a fixed set of worker threads that run submitted tasks.
 *
 * The server runs every session's decoding here: a session submits
 * itself when it has work and resubmits itself after a bounded slice, so
 * that many sessions share few cores fairly.  Tasks run in submission
 * order, each on whichever worker is free, except that an urgent task
 * goes before the ordinary ones submitted less than POOL_URGENT_LEAD
 * seconds before it: the queue is in order of due time, an urgent task
 * due when submitted, an ordinary one POOL_URGENT_LEAD later (equal due
 * times in submission order).  So urgent work comes first, but an
 * ordinary task is overtaken only by urgent ones submitted less than
 * POOL_URGENT_LEAD after it: one that has waited that long keeps its
 * place.
 *
 * pool_submit() may be called from any thread, also from a task.
 * pool_stop() waits until the queue is empty and every worker is idle
 * (tasks submitted meanwhile still run), then joins the workers.
 */
#ifndef VB_POOL_H
#define VB_POOL_H

typedef struct pool pool_t;
typedef void (*pool_fn)(void *arg);

int pool_start(int workers, pool_t **out);
/* 0, or VB_ENOMEM. */
int pool_submit(pool_t *pool, pool_fn fn, void *arg);
/* The same, ahead of the ordinary tasks queued (above). */
#define POOL_URGENT_LEAD 0.5
int pool_submit_urgent(pool_t *pool, pool_fn fn, void *arg);
int pool_workers(const pool_t *pool);
/* Waits until no task is queued or running (more may come later). */
void pool_wait_idle(pool_t *pool);
/* Tasks waiting for a worker (not counting those running). */
int pool_queued(pool_t *pool);
/* How far behind the workers are, in seconds: the longer of how long the
 * oldest queued task has waited and the recent tasks' average wait (over
 * about the last two seconds).  0 while a worker is idle and nothing is
 * queued. */
double pool_lag(pool_t *pool);
/* Worker processor seconds per second spent running tasks, over about
 * the last POOL_BUSY_TAU seconds (meter.h): pool_workers() when all are
 * always busy on their cores. */
#define POOL_BUSY_TAU 10.0
double pool_busy(pool_t *pool);
void pool_stop(pool_t *pool);

#endif
