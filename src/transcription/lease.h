/*
 * lease.h - live-session leases shared by several servers on one
 * database.  Not for use outside src/transcription/.
 *
 * claim.c keeps one live session per transcription within a process.
 * When the store is shared (PostgreSQL), run.c also takes the
 * transcription's lease in the store (store_lease_take) at its lookup, so
 * that a second server refuses a second session too, and a client that
 * reconnects to another server with its resume token takes the session
 * over there.  This module holds what lasts beyond one call:
 *
 *   - the instance's name (random, per process), which prefixes every
 *     holder name "INSTANCE/N";
 *   - a thread that renews the instance's leases every LEASE_RENEW_S
 *     (on the writer, where the store is), so that a dead instance's
 *     leases lapse after at most LEASE_TTL_S;
 *   - runs waiting for a holder on another server to let go: the new run
 *     publishes "handover HOLDER" on the transcription's bus topic; the
 *     old holder's run ends its input, stores its last finals and
 *     publishes "released HOLDER"; the waiting run goes on at that
 *     message, or when the old lease lapses (its server died).
 */
#ifndef VB_TX_LEASE_H
#define VB_TX_LEASE_H

#include "../util/runner.h"
#include "../store/store.h"

#define LEASE_TTL_S 6.0
#define LEASE_RENEW_S 2.0
#define LEASE_INSTANCE_LEN 16

typedef struct tx_leases tx_leases;
typedef void (*tx_lease_fire_fn)(void *arg);

/* Starts the renewing thread.  store and writer: the service's. */
int tx_leases_create(store_t *store, runner_t *writer, tx_leases **out);
/* Fires every waiting run at once (shutdown) and stops the thread; runs
 * may still let their leases go (tx_leases_held) until the destroy. */
void tx_leases_stop(tx_leases *leases);
/* After the stop, once the writer is idle. */
void tx_leases_destroy(tx_leases *leases);
/* "INSTANCE/N" for a new run, into holder[STORE_HOLDER_MAX + 1]. */
void tx_leases_holder(tx_leases *leases, char *holder);
/* Whether holder is one of this instance's runs. */
int tx_leases_mine(const tx_leases *leases, const char *holder);
/* A lease was taken or let go (the thread renews while any is held). */
void tx_leases_held(tx_leases *leases, int delta);
/* fire(arg) runs on the writer once released() is called with key, or
 * after `seconds`; the caller's reference in arg passes to fire. */
void tx_leases_wait(tx_leases *leases, const void *key, double seconds,
                    tx_lease_fire_fn fire, void *arg);
void tx_leases_released(tx_leases *leases, const void *key);

#endif
