/* bus.c - the in-process publish/subscribe bus (see bus.h). */
#include "bus.h"

#include <pthread.h>
#include <stdlib.h>

#include "../util/vb.h"

struct bus_sub {
    int64_t topic;
    bus_deliver_fn deliver;
    void *ctx;
    bus_sub *next;
};

struct bus {
    pthread_mutex_t lock;
    bus_sub *subs;
};

int bus_create(bus_t **out)
{
    bus_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return VB_ENOMEM;
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return 0;
}

void bus_destroy(bus_t *b)
{
    if (b == NULL)
        return;
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
    free(sub);
}

void bus_publish(bus_t *b, int64_t topic, const bus_message *msg)
{
    if (msg->text == NULL)
        return;
    pthread_mutex_lock(&b->lock);
    for (bus_sub *s = b->subs; s; s = s->next)
        if (s->topic == topic)
            s->deliver(s->ctx, msg);
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
