/*
 * lease.c - the instance's name, lease renewal and runs waiting for
 * another server's run to let go (lease.h).
 *
 * One thread ticks every 100 ms: it fires the waits that are due (on the
 * writer) and queues a renewal every LEASE_RENEW_S while leases are held.
 * The waits are a short list: one per session being resumed from another
 * server.
 */
#include "lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../util/log.h"
#include "../util/vb.h"

typedef struct lease_wait {
    const void *key;
    double due;             /* monotonic seconds */
    tx_lease_fire_fn fire;
    void *arg;
    struct lease_wait *next;
} lease_wait;

struct tx_leases {
    store_t *store;
    runner_t *writer;
    char instance[LEASE_INSTANCE_LEN + 1];
    atomic_long runs;       /* holder numbers given */
    atomic_int held;        /* leases held now */
    pthread_t thread;
    pthread_mutex_t lock;   /* guards waits and stopping */
    pthread_cond_t wake;
    lease_wait *waits;
    int stopping;
};

static void renew_on_writer(void *arg)
{
    tx_leases *leases = arg;
    int rc = store_lease_renew(leases->store, leases->instance, LEASE_TTL_S);
    if (rc != 0)
        log_warn("lease", "live-session leases not renewed (%s); another "
                 "server may take this one's sessions if it goes on",
                 vb_strerror(rc));
}

/* Takes the waits that are due (all of them when stopping) off the list
 * and submits their fire to the writer.  With the lock held. */
static void fire_due_locked(tx_leases *leases, double now)
{
    for (lease_wait **pp = &leases->waits; *pp;) {
        lease_wait *w = *pp;
        if (!leases->stopping && w->due > now) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        /* The writer outlives this thread (tx_service_destroy). */
        if (runner_submit(leases->writer, w->fire, w->arg) != 0)
            w->fire(w->arg);
        free(w);
    }
}

static void *lease_thread(void *arg)
{
    tx_leases *leases = arg;
    double next_renew = vb_monotonic_s() + LEASE_RENEW_S;
    pthread_mutex_lock(&leases->lock);
    while (!leases->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&leases->wake, &leases->lock, &until);
        double now = vb_monotonic_s();
        fire_due_locked(leases, now);
        if (now >= next_renew) {
            next_renew = now + LEASE_RENEW_S;
            if (atomic_load(&leases->held) > 0)
                runner_submit(leases->writer, renew_on_writer, leases);
        }
    }
    fire_due_locked(leases, vb_monotonic_s());
    pthread_mutex_unlock(&leases->lock);
    return NULL;
}

int tx_leases_create(store_t *store, runner_t *writer, tx_leases **out)
{
    tx_leases *leases = calloc(1, sizeof(*leases));
    if (leases == NULL)
        return VB_ENOMEM;
    unsigned char bytes[LEASE_INSTANCE_LEN / 2];
    if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
        free(leases);
        return VB_EIO;
    }
    for (size_t i = 0; i < sizeof(bytes); i++)
        snprintf(leases->instance + 2 * i, 3, "%02x", bytes[i]);
    leases->store = store;
    leases->writer = writer;
    pthread_mutex_init(&leases->lock, NULL);
    pthread_cond_init(&leases->wake, NULL);
    if (pthread_create(&leases->thread, NULL, lease_thread, leases) != 0) {
        pthread_mutex_destroy(&leases->lock);
        pthread_cond_destroy(&leases->wake);
        free(leases);
        return VB_EINTERNAL;
    }
    log_info("lease", "this server is instance %s of the shared database",
             leases->instance);
    *out = leases;
    return 0;
}

void tx_leases_stop(tx_leases *leases)
{
    if (leases == NULL)
        return;
    pthread_mutex_lock(&leases->lock);
    int running = !leases->stopping;
    leases->stopping = 1;
    pthread_cond_signal(&leases->wake);
    pthread_mutex_unlock(&leases->lock);
    if (running)
        pthread_join(leases->thread, NULL);
}

void tx_leases_destroy(tx_leases *leases)
{
    if (leases == NULL)
        return;
    tx_leases_stop(leases);
    pthread_mutex_destroy(&leases->lock);
    pthread_cond_destroy(&leases->wake);
    free(leases);
}

void tx_leases_holder(tx_leases *leases, char *holder)
{
    snprintf(holder, STORE_HOLDER_MAX + 1, "%s/%ld", leases->instance,
             atomic_fetch_add(&leases->runs, 1) + 1);
}

int tx_leases_mine(const tx_leases *leases, const char *holder)
{
    return strncmp(holder, leases->instance, LEASE_INSTANCE_LEN) == 0 &&
           holder[LEASE_INSTANCE_LEN] == '/';
}

void tx_leases_held(tx_leases *leases, int delta)
{
    atomic_fetch_add(&leases->held, delta);
}

void tx_leases_wait(tx_leases *leases, const void *key, double seconds,
                    tx_lease_fire_fn fire, void *arg)
{
    lease_wait *w = malloc(sizeof(*w));
    if (w == NULL) { /* go on at once: the old lease is what refuses */
        log_error("lease", "out of memory: a resumed session does not wait "
                  "for its old server");
        if (runner_submit(leases->writer, fire, arg) != 0)
            fire(arg);
        return;
    }
    *w = (lease_wait){key, vb_monotonic_s() + seconds, fire, arg, NULL};
    pthread_mutex_lock(&leases->lock);
    w->next = leases->waits;
    leases->waits = w;
    if (leases->stopping) /* nobody ticks any more: at once */
        fire_due_locked(leases, vb_monotonic_s());
    pthread_mutex_unlock(&leases->lock);
}

void tx_leases_released(tx_leases *leases, const void *key)
{
    pthread_mutex_lock(&leases->lock);
    for (lease_wait *w = leases->waits; w; w = w->next)
        if (w->key == key)
            w->due = 0;
    pthread_cond_signal(&leases->wake);
    pthread_mutex_unlock(&leases->lock);
}
