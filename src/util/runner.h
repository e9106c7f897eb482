/*
 * runner.h - one thread that runs submitted jobs one at a time, in the
 * order they were submitted.
 *
 * Verbatim gives the store's writing connection its own runner: every
 * write happens on that thread, so the connection needs no locking and
 * writes keep their order (a segment is stored before the message that
 * announces it is queued).  Readers and slow work have runners of their
 * own.
 *
 * runner_submit() may be called from any thread.  A job owns its argument.
 * runner_stop() runs everything already queued, then joins the thread.
 */
#ifndef VB_RUNNER_H
#define VB_RUNNER_H

typedef struct runner runner_t;
typedef void (*runner_fn)(void *arg);

/* 0 or VB_ENOMEM / VB_EINTERNAL. */
int runner_start(const char *name, runner_t **out);
/* 0, or VB_ENOMEM, or VB_EBUSY once runner_stop() has begun (the job is
 * then not run and the caller keeps ownership of arg). */
int runner_submit(runner_t *runner, runner_fn fn, void *arg);
/* Number of jobs waiting, not counting one running (for health). */
int runner_pending(runner_t *runner);
/* Waits until nothing is queued or running; returns how many jobs have
 * finished so far, so that a caller whose jobs submit jobs to another
 * runner can wait until the count stops moving.  Not from the runner. */
unsigned long runner_wait_idle(runner_t *runner);
/* Is the calling thread the runner's own?  For asserts. */
int runner_on_thread(const runner_t *runner);
void runner_stop(runner_t *runner);

#endif
