/*
 * bus.h - publish/subscribe of a transcription's live messages, so that
 * watchers (/ws/watch/{id}) see what the transcribing session produces.
 *
 * This is the in-process bus: it works within one server.  A Redis bus
 * for several instances will sit behind the same functions, which is why
 * a message is plain data: a kind, a sequence number and the JSON text
 * sent to clients, nothing that points into this process.
 *
 * Topics are transcription ids.  Any thread may call any function.
 * `deliver` runs on the publishing thread, under the bus lock: it must be
 * quick and must not call back into the bus.  After bus_unsubscribe()
 * returns, `deliver` is not running and will not run again for that
 * subscription.
 */
#ifndef VB_BUS_H
#define VB_BUS_H

#include <stdint.h>

typedef enum {
    BUS_LIVE,       /* an interim result or an event: may be missed */
    BUS_FINAL,      /* a stored final; seq is its segment id */
    BUS_SPEAKERS,   /* speakers_updated after re-clustering */
    BUS_EDIT,       /* a person's edit: segment_updated, speakers_named */
    BUS_DELETED     /* the transcription was deleted: watchers close */
} bus_kind;

typedef struct bus_message {
    bus_kind kind;
    int64_t seq;      /* BUS_FINAL: the segment's id; else 0 */
    const char *text; /* the message as clients get it */
} bus_message;

typedef struct bus bus_t;
typedef struct bus_sub bus_sub;
typedef void (*bus_deliver_fn)(void *ctx, const bus_message *msg);

int bus_create(bus_t **out);
void bus_destroy(bus_t *bus);
int bus_subscribe(bus_t *bus, int64_t topic, bus_deliver_fn deliver,
                  void *ctx, bus_sub **out);
void bus_unsubscribe(bus_t *bus, bus_sub *sub);
void bus_publish(bus_t *bus, int64_t topic, const bus_message *msg);
/* Subscribers of a topic (for tests and health). */
int bus_subscribers(bus_t *bus, int64_t topic);

#endif
