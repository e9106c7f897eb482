/*
 * bus.c - the bus's core (see bus.h): this instance's subscribers and the
 * delivery to them, the backend chosen by URL, and the in-process backend,
 * which hands a published message straight to the subscribers.
 */
#include "bus.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "bus_backend.h"

struct bus_sub {
    int64_t topic;
    bus_deliver_fn deliver;
    void *ctx;
    int gap_told;     /* BUS_GAP delivered: nothing more is promised */
    bus_sub *next;
};

struct bus {
    const bus_backend *backend;
    void *impl;
    pthread_mutex_t lock; /* guards subs; held while delivering */
    bus_sub *subs;
};

/* ---- the in-process backend ----------------------------------------- */

static int memory_open(bus_t *bus, const char *url, void **impl, char *err,
                       size_t errlen)
{
    (void)url, (void)err, (void)errlen;
    *impl = bus;
    return 0;
}

static void memory_close(void *impl) { (void)impl; }

static void memory_publish(void *impl, int64_t topic, const bus_message *msg)
{
    bus_fanout(impl, topic, msg);
}

static void memory_watch(void *impl, int64_t topic) { (void)impl, (void)topic; }
static int memory_reachable(void *impl) { (void)impl; return 1; }

static const bus_backend memory_backend = {
    "memory", memory_open, memory_close, memory_publish, memory_watch,
    memory_watch, memory_reachable,
};

/* ---- the core -------------------------------------------------------- */

int bus_open(const char *url, bus_t **out, char *err, size_t errlen)
{
    const bus_backend *backend = NULL;
    if (url == NULL || url[0] == '\0' || strcmp(url, "memory") == 0)
        backend = &memory_backend;
    else if (strncmp(url, "redis://", 8) == 0)
        backend = &bus_redis_backend;
    if (backend == NULL) {
        char shown[256];
        vb_url_redacted(url, shown, sizeof(shown));
        vb_seterr(err, errlen, "--bus %s: not a bus; give memory (the "
                  "default: within this process) or redis://HOST:PORT",
                  shown);
        return VB_EINVAL;
    }
    bus_t *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        vb_seterr(err, errlen, "out of memory");
        return VB_ENOMEM;
    }
    pthread_mutex_init(&b->lock, NULL);
    b->backend = backend;
    int rc = backend->open(b, url, &b->impl, err, errlen);
    if (rc != 0) {
        pthread_mutex_destroy(&b->lock);
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

int bus_create(bus_t **out)
{
    return bus_open(NULL, out, NULL, 0);
}

void bus_destroy(bus_t *b)
{
    if (b == NULL)
        return;
    b->backend->close(b->impl); /* its thread delivers no more */
    for (bus_sub *s = b->subs, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    pthread_mutex_destroy(&b->lock);
    free(b);
}

int bus_subscribe(bus_t *b, int64_t topic, bus_deliver_fn deliver, void *ctx,
                  bus_sub **out)
{
    bus_sub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return VB_ENOMEM;
    s->topic = topic;
    s->deliver = deliver;
    s->ctx = ctx;
    pthread_mutex_lock(&b->lock);
    s->next = b->subs;
    b->subs = s;
    pthread_mutex_unlock(&b->lock);
    /* Not under the lock: the backend may wait for Redis, and deliver
     * meanwhile (a gap, or messages of the topic's other subscribers). */
    b->backend->watch(b->impl, topic);
    *out = s;
    return 0;
}

void bus_unsubscribe(bus_t *b, bus_sub *sub)
{
    pthread_mutex_lock(&b->lock);
    for (bus_sub **pp = &b->subs; *pp; pp = &(*pp)->next) {
        if (*pp == sub) {
            *pp = sub->next;
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    b->backend->unwatch(b->impl, sub->topic);
    free(sub);
}

void bus_publish(bus_t *b, int64_t topic, const bus_message *msg)
{
    if (msg->text == NULL || msg->kind == BUS_GAP)
        return;
    b->backend->publish(b->impl, topic, msg);
}

void bus_fanout(bus_t *b, int64_t topic, const bus_message *msg)
{
    pthread_mutex_lock(&b->lock);
    for (bus_sub *s = b->subs; s; s = s->next)
        if (s->topic == topic && !s->gap_told)
            s->deliver(s->ctx, msg);
    pthread_mutex_unlock(&b->lock);
}

void bus_gap(bus_t *b, int64_t topic, int all)
{
    bus_message gap = {BUS_GAP, 0, ""};
    pthread_mutex_lock(&b->lock);
    for (bus_sub *s = b->subs; s; s = s->next) {
        if ((all || s->topic == topic) && !s->gap_told) {
            s->gap_told = 1;
            s->deliver(s->ctx, &gap);
        }
    }
    pthread_mutex_unlock(&b->lock);
}

int bus_subscribers(bus_t *b, int64_t topic)
{
    int n = 0;
    pthread_mutex_lock(&b->lock);
    for (bus_sub *s = b->subs; s; s = s->next)
        n += s->topic == topic;
    pthread_mutex_unlock(&b->lock);
    return n;
}

const char *bus_name(const bus_t *b)
{
    return b->backend->name;
}

int bus_reachable(bus_t *b)
{
    return b->backend->reachable(b->impl);
}
