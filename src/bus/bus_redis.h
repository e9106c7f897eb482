/*
 * bus_redis.h - what the Redis bus's two files share (bus_redis.c: the
 * queue and topics other threads touch, opening and closing;
 * bus_redis_io.c: its thread and the connections).  Not for use outside
 * src/bus; the design is described in bus_redis.c.
 */
#ifndef VB_BUS_REDIS_H
#define VB_BUS_REDIS_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bus_backend.h"

#define CHANNEL_PREFIX "verbatim:tx:"
#define QUEUE_MAX_BYTES (4u << 20)
#define BACKOFF_MIN_S 0.1
#define BACKOFF_MAX_S 2.0
#define PING_EVERY_S 1.0
#define CONNECT_TIMEOUT_MS 500
#define IO_TIMEOUT_S 1

#define KIND_LETTERS "LFSEDCG" /* in bus_kind's order */

typedef struct pending {      /* a message waiting to be published */
    int64_t topic;
    bus_kind kind;
    char *payload;
    size_t len;
    struct pending *next;
} pending;

typedef struct topic {        /* a topic with local subscribers */
    int64_t topic;
    int refs;                 /* local subscribers */
    unsigned generation;      /* tells a resubscription from an old one */
    int subscribed;           /* Redis confirmed it on this connection */
    int late;                 /* subscribers may have missed messages */
    struct topic *next;
} topic;

typedef struct command {      /* SUBSCRIBE or UNSUBSCRIBE, in order */
    int subscribe;
    int64_t topic;
    unsigned generation;
    struct command *next;
} command;

typedef struct redis_bus {
    bus_t *bus;
    char url[160], host[128]; /* url as logs show it: no password */
    char user[64], password[128]; /* AUTH's, when the URL has them */
    int port;
    pthread_t thread;
    int wake[2];              /* a byte written wakes the thread */

    pthread_mutex_t lock;     /* guards what follows, up to `pub` */
    pthread_cond_t changed;   /* a topic subscribed, or the connection lost */
    pending *head, *tail;
    size_t queued;            /* bytes in the queue */
    int64_t *gaps;            /* topics owed a gap notice */
    size_t gap_count, gap_cap;
    topic *topics;
    command *commands, *commands_tail;
    unsigned generations;
    int connected, stop, overflowing;

    /* the thread's alone */
    redisContext *pub, *sub;
    command *sent, *sent_tail; /* awaiting Redis's confirmation */
    int ever_connected, malformed_logged;
} redis_bus;

/* bus_redis.c; push_command and owe_gap are called with the lock. */
void bus_redis_wake(redis_bus *r);
void bus_redis_channel(int64_t id, char *out, size_t len);
topic *bus_redis_find_topic(redis_bus *r, int64_t id);
void bus_redis_free_commands(command *c);
void bus_redis_push_command(redis_bus *r, int subscribe, const topic *t);
void bus_redis_owe_gap(redis_bus *r, int64_t id);

/* bus_redis_io.c */
void *bus_redis_thread(void *r);
int bus_redis_connect(redis_bus *r, char *err, size_t errlen);
void bus_redis_hang_up(redis_bus *r);

#endif
