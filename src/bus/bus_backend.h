/*
 * bus_backend.h - what a bus backend (bus_redis.c) provides and what the
 * core (bus.c) gives it.  Not for use outside src/bus.
 *
 * The core owns the local subscribers and delivers to them; a backend
 * carries published messages to the core of every instance.  The core
 * never holds its lock while it calls the backend, so a backend may call
 * bus_fanout()/bus_gap() with its own locks held.
 */
#ifndef VB_BUS_BACKEND_H
#define VB_BUS_BACKEND_H

#include "bus.h"

typedef struct bus_backend {
    const char *name;
    /* Parses url and starts; *impl is passed to the others. */
    int (*open)(bus_t *bus, const char *url, void **impl, char *err,
                size_t errlen);
    void (*close)(void *impl);
    /* Carries msg (a copy is the backend's) to bus_fanout() everywhere. */
    void (*publish)(void *impl, int64_t topic, const bus_message *msg);
    /* A local subscriber of topic appears or goes (counted by the backend). */
    void (*watch)(void *impl, int64_t topic);
    void (*unwatch)(void *impl, int64_t topic);
    int (*reachable)(void *impl);
} bus_backend;

extern const bus_backend bus_redis_backend;

/* Delivers msg to this instance's subscribers of topic (any thread). */
void bus_fanout(bus_t *bus, int64_t topic, const bus_message *msg);
/* Delivers BUS_GAP to the subscribers of topic (all topics: all = 1) that
 * have not had one. */
void bus_gap(bus_t *bus, int64_t topic, int all);

#endif
