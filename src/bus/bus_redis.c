/*
 * bus_redis.c - the Redis bus backend (bus.h, bus_backend.h): a channel
 * "verbatim:tx:<id>" per transcription, on a Redis server that several
 * Verbatim instances share.
 *
 * One thread of its own owns two connections: `pub` for PUBLISH (and a
 * PING when idle, so that a dead server is noticed) and `sub`, in
 * subscribe mode, whose messages it hands to bus_fanout().  Other threads
 * only queue: published messages (bounded by QUEUE_MAX_BYTES; BUS_LIVE is
 * dropped first, and a dropped message of another kind makes the thread
 * publish a gap notice on its channel) and SUBSCRIBE/UNSUBSCRIBE commands
 * as the first local subscriber of a topic comes and the last goes.
 *
 * A message on a channel is its kind's letter, its seq, ':' and its text:
 * "F42:{...}".  'G' is a gap notice: subscribers everywhere get BUS_GAP.
 *
 * When either connection fails the thread logs it once, delivers BUS_GAP
 * to every local subscriber, and reconnects with backoff (BACKOFF_MIN_S
 * doubling to BACKOFF_MAX_S), then subscribes every topic again; those
 * that gained subscribers meanwhile ("late") get BUS_GAP once subscribed,
 * as what was published before that is lost to them.  Finals are stored
 * before they are published, so a watcher that starts again from the
 * store loses none.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/vb.h"
#include "bus_redis.h"

void bus_redis_wake(redis_bus *r)
{
    ssize_t n = write(r->wake[1], "", 1); /* full pipe: it is awake */
    (void)n;
}

void bus_redis_channel(int64_t id, char *out, size_t len)
{
    snprintf(out, len, CHANNEL_PREFIX "%lld", (long long)id);
}

topic *bus_redis_find_topic(redis_bus *r, int64_t id)
{
    for (topic *t = r->topics; t; t = t->next)
        if (t->topic == id)
            return t;
    return NULL;
}

void bus_redis_free_commands(command *c)
{
    for (command *next; c; c = next) {
        next = c->next;
        free(c);
    }
}

/* Called with the lock. */
void bus_redis_push_command(redis_bus *r, int subscribe, const topic *t)
{
    command *c = calloc(1, sizeof(*c));
    if (c == NULL) { /* the topic stays as it is; a reconnection fixes it */
        log_error("bus", "out of memory: transcription %lld's channel is "
                  "not %s", (long long)t->topic,
                  subscribe ? "subscribed" : "unsubscribed");
        return;
    }
    c->subscribe = subscribe;
    c->topic = t->topic;
    c->generation = t->generation;
    if (r->commands_tail)
        r->commands_tail->next = c;
    else
        r->commands = c;
    r->commands_tail = c;
    bus_redis_wake(r);
}

/* Called with the lock: a gap notice will be published on topic's channel. */
void bus_redis_owe_gap(redis_bus *r, int64_t id)
{
    for (size_t i = 0; i < r->gap_count; i++)
        if (r->gaps[i] == id)
            return;
    if (r->gap_count == r->gap_cap) {
        size_t cap = r->gap_cap ? r->gap_cap * 2 : 16;
        int64_t *grown = realloc(r->gaps, cap * sizeof(*grown));
        if (grown == NULL) {
            log_error("bus", "out of memory: watchers of transcription %lld "
                      "are not told that they missed messages",
                      (long long)id);
            return;
        }
        r->gaps = grown;
        r->gap_cap = cap;
    }
    r->gaps[r->gap_count++] = id;
    bus_redis_wake(r);
}

/* ---- the other threads' side ----------------------------------------- */

/* Frees queued BUS_LIVE messages, oldest first, until need bytes fit.
 * Called with the lock; returns whether they fit. */
static int make_room(redis_bus *r, size_t need)
{
    pending **pp = &r->head, *last = NULL;
    while (*pp && r->queued + need > QUEUE_MAX_BYTES) {
        pending *p = *pp;
        if (p->kind != BUS_LIVE) {
            last = p;
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        r->queued -= p->len;
        free(p->payload);
        free(p);
    }
    r->tail = last;
    for (pending *p = *pp; p; p = p->next)
        r->tail = p;
    return r->queued + need <= QUEUE_MAX_BYTES;
}

static void redis_publish(void *impl, int64_t id, const bus_message *msg)
{
    redis_bus *r = impl;
    size_t text_len = strlen(msg->text);
    pending *p = calloc(1, sizeof(*p));
    char *payload = malloc(text_len + 24);
    int head = payload ? snprintf(payload, 24, "%c%lld:",
                                  KIND_LETTERS[msg->kind], (long long)msg->seq)
                       : 0;
    pthread_mutex_lock(&r->lock);
    if (p == NULL || payload == NULL) {
        log_error("bus", "out of memory: a message of transcription %lld is "
                  "not published", (long long)id);
        if (msg->kind != BUS_LIVE) {
            metrics_count_bus_error(); /* a final, edit or event lost */
            bus_redis_owe_gap(r, id);
        }
        goto dropped;
    }
    memcpy(payload + head, msg->text, text_len);
    p->len = (size_t)head + text_len;
    if (msg->kind == BUS_LIVE && !r->connected)
        goto dropped; /* it would be stale when Redis is back */
    if (r->queued + p->len > QUEUE_MAX_BYTES &&
        (msg->kind == BUS_LIVE || !make_room(r, p->len))) {
        if (!r->overflowing)
            log_warn("bus", "Redis is not keeping up: %u KiB of messages wait "
                     "to be published; dropping the newest (watchers of "
                     "finals, edits or deletions dropped are told to "
                     "refresh)", QUEUE_MAX_BYTES >> 10);
        r->overflowing = 1;
        if (msg->kind != BUS_LIVE) {
            metrics_count_bus_error(); /* a final, edit or event lost */
            bus_redis_owe_gap(r, id);
        }
        goto dropped;
    }
    p->topic = id;
    p->kind = msg->kind;
    p->payload = payload;
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    int was_empty = r->queued == 0;
    r->queued += p->len;
    pthread_mutex_unlock(&r->lock);
    if (was_empty)
        bus_redis_wake(r);
    return;
dropped:
    pthread_mutex_unlock(&r->lock);
    free(payload);
    free(p);
}

static void redis_watch(void *impl, int64_t id)
{
    redis_bus *r = impl;
    pthread_mutex_lock(&r->lock);
    topic *t = bus_redis_find_topic(r, id);
    if (t == NULL) {
        t = calloc(1, sizeof(*t));
        if (t == NULL) {
            pthread_mutex_unlock(&r->lock);
            log_error("bus", "out of memory: transcription %lld's watcher "
                      "gets no live messages", (long long)id);
            bus_gap(r->bus, id, 0);
            return;
        }
        t->topic = id;
        t->generation = ++r->generations;
        t->next = r->topics;
        r->topics = t;
        if (r->connected)
            bus_redis_push_command(r, 1, t);
    }
    t->refs++;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)BUS_SUBSCRIBE_WAIT_S;
    until.tv_nsec += (long)((BUS_SUBSCRIBE_WAIT_S - (time_t)BUS_SUBSCRIBE_WAIT_S)
                            * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (r->connected && !t->subscribed && !r->stop &&
           pthread_cond_timedwait(&r->changed, &r->lock, &until) != ETIMEDOUT)
        ;
    if (!t->subscribed) /* told once it is (bus.h) */
        t->late = 1;
    pthread_mutex_unlock(&r->lock);
}

static void redis_unwatch(void *impl, int64_t id)
{
    redis_bus *r = impl;
    pthread_mutex_lock(&r->lock);
    for (topic **pp = &r->topics; *pp; pp = &(*pp)->next) {
        topic *t = *pp;
        if (t->topic != id)
            continue;
        if (--t->refs == 0) {
            if (r->connected)
                bus_redis_push_command(r, 0, t);
            *pp = t->next;
            free(t);
        }
        break;
    }
    pthread_mutex_unlock(&r->lock);
}

static int redis_reachable(void *impl)
{
    redis_bus *r = impl;
    pthread_mutex_lock(&r->lock);
    int connected = r->connected;
    pthread_mutex_unlock(&r->lock);
    return connected;
}

/* ---- opening and closing --------------------------------------------- */

/* redis://[[USER]:PASSWORD@]HOST[:PORT][/] into r->user, r->password,
 * r->host and r->port; r->url is the URL without its password. */
static int parse_url(redis_bus *r, const char *url, char *err, size_t errlen)
{
    char shown[sizeof(r->url)];
    vb_url_redacted(url, shown, sizeof(shown));
    const char *host = url + strlen("redis://");
    const char *at = strrchr(host, '@');
    if (at != NULL) { /* USER:PASSWORD or :PASSWORD (Redis 6 ACLs or
                         requirepass) */
        size_t user = strcspn(host, ":");
        if (host + user >= at || user >= sizeof(r->user) ||
            (size_t)(at - host - user - 1) >= sizeof(r->password) ||
            at == host + user + 1) {
            vb_seterr(err, errlen, "--bus %s: expected redis://[USER]:PASSWORD@"
                      "HOST:PORT", shown);
            return VB_EINVAL;
        }
        snprintf(r->user, sizeof(r->user), "%.*s", (int)user, host);
        snprintf(r->password, sizeof(r->password), "%.*s",
                 (int)(at - host - user - 1), host + user + 1);
        host = at + 1;
    }
    int bracket = host[0] == '[';
    size_t n = bracket ? strcspn(host + 1, "]") : strcspn(host, ":/");
    const char *rest = host + n + (bracket ? 2 : 0);
    int ok = n > 0 && n < sizeof(r->host) && strlen(shown) + 1 < sizeof(r->url) &&
             (!bracket || host[1 + n] == ']');
    for (size_t i = 0; i < n && ok && !bracket; i++)
        ok = host[i] == '.' || host[i] == '-' || host[i] == '_' ||
             (host[i] >= '0' && host[i] <= '9') ||
             ((host[i] | 0x20) >= 'a' && (host[i] | 0x20) <= 'z');
    long port = 6379;
    if (ok && *rest == ':') {
        char *end;
        port = strtol(rest + 1, &end, 10);
        ok = end != rest + 1 && port >= 1 && port <= 65535 && rest[1] != '-';
        rest = end;
    }
    if (!ok || !(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0'))) {
        vb_seterr(err, errlen, "--bus %s: expected redis://[[USER]:PASSWORD@]"
                  "HOST:PORT (a host name or address, and a port from 1 to "
                  "65535; no database)", shown);
        return VB_EINVAL;
    }
    snprintf(r->host, sizeof(r->host), "%.*s", (int)n, host + bracket);
    snprintf(r->url, sizeof(r->url), "%s", shown);
    r->port = (int)port;
    return 0;
}

static void redis_close(void *impl)
{
    redis_bus *r = impl;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    bus_redis_wake(r);
    pthread_join(r->thread, NULL);
    for (pending *p = r->head, *next; p; p = next) {
        next = p->next;
        free(p->payload);
        free(p);
    }
    for (topic *t = r->topics, *next; t; t = next) {
        next = t->next;
        free(t);
    }
    bus_redis_free_commands(r->commands);
    free(r->gaps);
    close(r->wake[0]);
    close(r->wake[1]);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static int redis_open(bus_t *bus, const char *url, void **impl, char *err,
                      size_t errlen)
{
    redis_bus *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        vb_seterr(err, errlen, "out of memory");
        return VB_ENOMEM;
    }
    int rc = parse_url(r, url, err, errlen);
    if (rc != 0) {
        free(r);
        return rc;
    }
    if (pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        vb_seterr(err, errlen, "cannot make a pipe: %s", strerror(errno));
        free(r);
        return VB_EIO;
    }
    r->bus = bus;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->changed, &attr);
    pthread_condattr_destroy(&attr);
    /* Once here, so that the log and /api/health are right from the start;
     * a server starts without Redis and reaches it later (operations.md). */
    char why[160];
    if (bus_redis_connect(r, why, sizeof(why)) == 0) {
        log_info("bus", "connected to Redis at %s", r->url);
        r->ever_connected = 1;
    } else {
        log_warn("bus", "cannot reach Redis at %s (%s): starting without it; "
                 "/api/health answers 503 and watchers get no live messages "
                 "until it is reachable", r->url, why);
    }
    if (pthread_create(&r->thread, NULL, bus_redis_thread, r) != 0) {
        bus_redis_hang_up(r);
        r->thread = pthread_self(); /* nothing to join */
        vb_seterr(err, errlen, "cannot start the bus's thread");
        close(r->wake[0]);
        close(r->wake[1]);
        pthread_cond_destroy(&r->changed);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return VB_EINTERNAL;
    }
    *impl = r;
    return 0;
}

const bus_backend bus_redis_backend = {
    "redis", redis_open, redis_close, redis_publish, redis_watch,
    redis_unwatch, redis_reachable,
};
