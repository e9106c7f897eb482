/*
 * bus.h - publish/subscribe of a transcription's live messages, so that
 * watchers (/ws/watch/{id}) see what the transcribing session produces.
 *
 * Two backends behind these functions, chosen by bus_open()'s URL:
 *   - "memory" (or NULL, ""): in-process, within one server; the default.
 *   - "redis://HOST[:PORT]": a channel per transcription on a Redis server
 *     (bus_redis.c), so that watchers on any instance see every instance's
 *     sessions.  Every message goes through Redis, local ones too, so that
 *     all subscribers see one order.
 * Hence a message is plain data: a kind, a sequence number and the JSON
 * text sent to clients, nothing that points into this process.
 *
 * Topics are transcription ids.  Any thread may call any function.
 * `deliver` runs under the bus lock, on the publishing thread (memory) or
 * the bus's own thread (redis): it must be quick and must not call back
 * into the bus.  After bus_unsubscribe() returns, `deliver` is not running
 * and will not run again for that subscription.
 *
 * Delivery: in publish order per topic, each message at most once.  When
 * a subscriber may have missed messages (Redis unreachable or restarted,
 * its publish queue full), it is delivered one BUS_GAP (text "") and then
 * nothing is promised: a watcher should start again from the store.
 * bus_publish() never blocks for long (redis: a bounded queue drained by
 * the bus's thread, which drops BUS_LIVE first; other kinds are dropped
 * only when the queue is full of them, and their subscribers get BUS_GAP).
 */
#ifndef VB_BUS_H
#define VB_BUS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    BUS_LIVE,       /* an interim result or an event: may be missed */
    BUS_FINAL,      /* a stored final; seq is its segment id */
    BUS_SPEAKERS,   /* after re-clustering: speakers_updated, and
                       speakers_named when names followed their voices */
    BUS_EDIT,       /* a person's edit: segment_updated, speakers_named */
    BUS_DELETED,    /* the transcription was deleted: watchers close */
    BUS_CONTROL,    /* between servers about a live session (lease.h);
                       watchers ignore it */
    BUS_GAP         /* delivered only: messages may have been missed */
} bus_kind;

typedef struct bus_message {
    bus_kind kind;
    int64_t seq;      /* BUS_FINAL: the segment's id; else 0 */
    const char *text; /* the message as clients get it */
} bus_message;

typedef struct bus bus_t;
typedef struct bus_sub bus_sub;
typedef void (*bus_deliver_fn)(void *ctx, const bus_message *msg);

/* Opens the bus named by url (see above).  A malformed URL is VB_EINVAL
 * with a message in err.  An unreachable Redis is not an error: the bus
 * opens, says so in the log and in bus_reachable(), and keeps trying. */
int bus_open(const char *url, bus_t **out, char *err, size_t errlen);
/* The in-process bus (bus_open(NULL, ...)). */
int bus_create(bus_t **out);
void bus_destroy(bus_t *bus);

/* Subscribes; for Redis, waits (at most BUS_SUBSCRIBE_WAIT_S) until the
 * channel is subscribed, so that what is published after the return is
 * delivered.  If it could not wait (Redis unreachable), the subscriber
 * gets BUS_GAP once Redis is back. */
int bus_subscribe(bus_t *bus, int64_t topic, bus_deliver_fn deliver,
                  void *ctx, bus_sub **out);
void bus_unsubscribe(bus_t *bus, bus_sub *sub);
/* Copies what it needs; msg->text NULL publishes nothing.  BUS_GAP is not
 * published. */
void bus_publish(bus_t *bus, int64_t topic, const bus_message *msg);
/* Subscribers of a topic (for tests and health). */
int bus_subscribers(bus_t *bus, int64_t topic);

/* "memory" or "redis". */
const char *bus_name(const bus_t *bus);
/* 1 when messages can flow (memory: always). */
int bus_reachable(bus_t *bus);

#define BUS_SUBSCRIBE_WAIT_S 1.0

#endif
