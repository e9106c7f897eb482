/*
 * test_pool.c - the worker pool (util/pool.h): tasks run in submission
 * order, urgent ones before the others but those that have waited
 * POOL_URGENT_LEAD, stopping runs every task queued, and the pool
 * measures how busy its workers are (util/meter.h: a rate with fading
 * memory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util/meter.h"
#include "util/pool.h"

#define MAX_RUNS 32

/* What the tasks ran, in order (behind testutil's gate task, which holds
 * the only worker until it is opened, so that the others queue). */
static struct {
    pthread_mutex_t lock;
    int ran[MAX_RUNS];
    int count;
} log_ = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static void record(void *arg)
{
    pthread_mutex_lock(&log_.lock);
    if (log_.count < MAX_RUNS)
        log_.ran[log_.count++] = (int)(intptr_t)arg;
    pthread_mutex_unlock(&log_.lock);
}

/* Forgets what ran and holds the worker. */
static void hold_worker(pool_t *pool)
{
    pthread_mutex_lock(&log_.lock);
    log_.count = 0;
    pthread_mutex_unlock(&log_.lock);
    tu_hold_worker(pool);
}

static void release_and_check(pool_t *pool, const int *want, int n)
{
    tu_open_gate();
    pool_wait_idle(pool);
    assert_int_equal(log_.count, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(log_.ran[i], want[i]);
}

static void submit(pool_t *pool, int id)
{
    assert_int_equal(pool_submit(pool, record, (void *)(intptr_t)id), 0);
}

static void test_tasks_run_in_submission_order(void **state)
{
    (void)state;
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    for (int round = 0; round < 2; round++) { /* the queue empties between */
        hold_worker(pool);
        submit(pool, 1);
        submit(pool, 2);
        submit(pool, 3);
        assert_int_equal(pool_queued(pool), 3);
        release_and_check(pool, (const int[]){1, 2, 3}, 3);
        assert_int_equal(pool_queued(pool), 0);
    }
    pool_stop(pool);
}

static void submit_urgent(pool_t *pool, int id)
{
    assert_int_equal(pool_submit_urgent(pool, record, (void *)(intptr_t)id), 0);
}

/* Urgent tasks go before the ordinary ones queued, after the urgent ones
 * queued before them; ordinary ones keep their order behind. */
static void test_urgent_tasks_run_first(void **state)
{
    (void)state;
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    hold_worker(pool);
    submit(pool, 1);
    submit(pool, 2);
    submit_urgent(pool, 3);
    submit_urgent(pool, 4);
    submit(pool, 5);
    release_and_check(pool, (const int[]){3, 4, 1, 2, 5}, 5);

    hold_worker(pool); /* urgent into an empty queue; the last is urgent */
    submit_urgent(pool, 1);
    submit(pool, 2);
    submit_urgent(pool, 3);
    release_and_check(pool, (const int[]){1, 3, 2}, 3);

    hold_worker(pool); /* only urgent ones, then ordinary ones after them */
    submit_urgent(pool, 1);
    submit_urgent(pool, 2);
    submit(pool, 3);
    release_and_check(pool, (const int[]){1, 2, 3}, 3);
    pool_stop(pool);
}

/* An ordinary task that has waited POOL_URGENT_LEAD keeps its place
 * before a new urgent one; one queued after it does not. */
static void test_a_task_waiting_long_keeps_its_place(void **state)
{
    (void)state;
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    hold_worker(pool);
    submit(pool, 1);
    usleep((useconds_t)(POOL_URGENT_LEAD * 1e6) + 100 * 1000);
    submit(pool, 2);
    submit_urgent(pool, 3);
    submit(pool, 4);
    release_and_check(pool, (const int[]){1, 3, 2, 4}, 4);
    pool_stop(pool);
}

/* The lag counts the oldest task queued, also when newer urgent ones
 * stand before it. */
static void test_the_lag_sees_the_oldest_task_behind_urgent_ones(void **state)
{
    (void)state;
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    hold_worker(pool);
    submit(pool, 1);
    usleep(200 * 1000); /* less than POOL_URGENT_LEAD: 2 goes first */
    submit_urgent(pool, 2);
    assert_true(pool_lag(pool) >= 0.2);
    release_and_check(pool, (const int[]){2, 1}, 2);
    pool_stop(pool);
}

static void test_stopping_runs_every_queued_task(void **state)
{
    (void)state;
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    hold_worker(pool);
    submit(pool, 1);
    submit(pool, 2);
    submit(pool, 3);
    tu_open_gate();
    pool_stop(pool);
    assert_int_equal(log_.count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(log_.ran[i], i + 1);
}

/* An amount counts fully now and fades by e^(-age/tau); a meter that
 * nothing was added to reads 0. */
static void test_a_meter_fades(void **state)
{
    (void)state;
    meter m;
    meter_init(&m, 10.0);
    assert_true(meter_rate(&m) == 0);
    meter_add(&m, 10.0);                     /* 10 over 10 s: 1 per s */
    double now = meter_rate(&m);
    assert_true(now > 0.99 && now <= 1.0);
    usleep(500 * 1000);                      /* e^(-0.05) = 0.951 */
    double later = meter_rate(&m);
    assert_true(later < 0.96);
    assert_true(later > exp(-0.15));         /* a slow machine's sleep */
    meter_add(&m, 10.0);
    assert_true(meter_rate(&m) > later + 0.99);
    meter_destroy(&m);
}

static void nap(void *arg)
{
    (void)arg;
    usleep(100 * 1000);
}

/* 0.1 s of the worker's processor time. */
static void spin(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    double until = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + 0.1, now;
    do {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    } while (now < until);
}

/* Ten tasks of 0.1 s of processor time each on one worker: a second of
 * work, as seen over POOL_BUSY_TAU seconds.  Tasks that wait instead
 * (a worker off its core counts the same way) are not busy: the load
 * admission counts is the processor time decoding takes. */
static void test_the_pool_measures_its_busy_time(void **state)
{
    (void)state;
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    assert_true(pool_busy(pool) == 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pool_submit(pool, spin, NULL), 0);
    pool_wait_idle(pool);
    double busy = pool_busy(pool);
    /* exp(-0.5): the ten may take up to 5 s on a crowded machine. */
    assert_true(busy > 1.0 / POOL_BUSY_TAU * exp(-0.5));
    assert_true(busy < 1.5 / POOL_BUSY_TAU);
    pool_stop(pool);

    assert_int_equal(pool_start(1, &pool), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pool_submit(pool, nap, NULL), 0);
    pool_wait_idle(pool);
    assert_true(pool_busy(pool) < 0.05 / POOL_BUSY_TAU);
    pool_stop(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_run_in_submission_order),
        cmocka_unit_test(test_urgent_tasks_run_first),
        cmocka_unit_test(test_a_task_waiting_long_keeps_its_place),
        cmocka_unit_test(test_the_lag_sees_the_oldest_task_behind_urgent_ones),
        cmocka_unit_test(test_stopping_runs_every_queued_task),
        cmocka_unit_test(test_a_meter_fades),
        cmocka_unit_test(test_the_pool_measures_its_busy_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
