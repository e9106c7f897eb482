/*
 * bus_redis_io.c - the Redis bus's thread (see bus_redis.c): it alone
 * touches the two connections, sends what other threads queued, hands
 * what Redis delivers to the bus's core, and reconnects.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/vb.h"
#include "bus_redis.h"

/* ---- the bus's thread --------------------------------------------------- */

static redisContext *dial(redis_bus *r, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    struct timeval connect_tv = {0, CONNECT_TIMEOUT_MS * 1000};
    struct timeval io_tv = {IO_TIMEOUT_S, 0};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, connect_tv);
    if (c == NULL) {
        vb_seterr(err, errlen, "out of memory");
        return NULL;
    }
    redisReply *pong = NULL;
    if (c->err == 0 && redisSetTimeout(c, io_tv) == REDIS_OK &&
        redisEnableKeepAlive(c) == REDIS_OK) {
        redisReply *ok = NULL;
        if (r->password[0])
            ok = r->user[0]
                ? redisCommand(c, "AUTH %s %s", r->user, r->password)
                : redisCommand(c, "AUTH %s", r->password);
        if (ok != NULL && ok->type == REDIS_REPLY_ERROR) /* WRONGPASS... */
            vb_seterr(err, errlen, "%s", ok->str);
        else
            pong = redisCommand(c, "PING"); /* a Redis, ready, and let in */
        if (ok != NULL)
            freeReplyObject(ok);
    }
    if (pong != NULL && pong->type == REDIS_REPLY_STATUS) {
        freeReplyObject(pong);
        return c;
    }
    if (pong != NULL && pong->type == REDIS_REPLY_ERROR)
        vb_seterr(err, errlen, "%s", pong->str);
    else if (err[0] == '\0')
        vb_seterr(err, errlen, "%s", c->errstr[0] ? c->errstr : "no answer");
    if (pong != NULL)
        freeReplyObject(pong);
    redisFree(c);
    return NULL;
}

void bus_redis_hang_up(redis_bus *r)
{
    if (r->pub)
        redisFree(r->pub);
    if (r->sub)
        redisFree(r->sub);
    r->pub = r->sub = NULL;
    bus_redis_free_commands(r->sent);
    r->sent = r->sent_tail = NULL;
}

/* Opens both connections and subscribes every topic again.  0, or -1 with
 * the reason in err. */
int bus_redis_connect(redis_bus *r, char *err, size_t errlen)
{
    r->pub = dial(r, err, errlen);
    r->sub = r->pub ? dial(r, err, errlen) : NULL;
    if (r->sub == NULL) {
        bus_redis_hang_up(r);
        return -1;
    }
    pthread_mutex_lock(&r->lock);
    bus_redis_free_commands(r->commands); /* the topics below say it all */
    r->commands = r->commands_tail = NULL;
    for (topic *t = r->topics; t; t = t->next) {
        t->generation = ++r->generations;
        bus_redis_push_command(r, 1, t);
    }
    r->connected = 1;
    r->overflowing = 0;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* Either connection failed: every local subscriber may miss messages. */
static void lost(redis_bus *r, const char *why)
{
    char reason[128]; /* why may be a context's errstr, freed below */
    snprintf(reason, sizeof(reason), "%s", why && why[0] ? why : "?");
    bus_redis_hang_up(r);
    pthread_mutex_lock(&r->lock);
    int was = r->connected;
    r->connected = 0;
    for (topic *t = r->topics; t; t = t->next) {
        t->subscribed = 0;
        t->late = 1;
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    if (was) {
        metrics_count_bus_error();
        log_warn("bus", "lost the connection to Redis at %s (%s): watchers "
                 "are told to refresh; reconnecting", r->url, reason);
    }
    bus_gap(r->bus, 0, 1);
}

static int write_all(redisContext *c)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return -1;
    return 0;
}

/* Sends the queued commands and messages.  What was taken but may not
 * have reached Redis when it fails is owed a gap notice. */
static int flush(redis_bus *r, const char **why)
{
    pthread_mutex_lock(&r->lock);
    command *cmds = r->commands;
    pending *msgs = r->head;
    int64_t *gaps = r->gaps;
    size_t gap_count = r->gap_count;
    r->commands = r->commands_tail = NULL;
    r->head = r->tail = NULL;
    r->queued = 0;
    r->gaps = NULL;
    r->gap_count = r->gap_cap = 0;
    pthread_mutex_unlock(&r->lock);

    char channel[48];
    int rc = 0, replies = 0;
    for (command *c = cmds; c; c = c->next) {
        bus_redis_channel(c->topic, channel, sizeof(channel));
        redisAppendCommand(r->sub, c->subscribe ? "SUBSCRIBE %s"
                                                : "UNSUBSCRIBE %s", channel);
    }
    if (cmds != NULL) {
        if (r->sent_tail)
            r->sent_tail->next = cmds;
        else
            r->sent = cmds;
        for (r->sent_tail = cmds; r->sent_tail->next;)
            r->sent_tail = r->sent_tail->next;
        if (write_all(r->sub) != 0)
            rc = -1, *why = r->sub->errstr;
    }
    for (pending *p = msgs; p && rc == 0; p = p->next, replies++) {
        bus_redis_channel(p->topic, channel, sizeof(channel));
        redisAppendCommand(r->pub, "PUBLISH %s %b", channel, p->payload,
                           p->len);
    }
    for (size_t i = 0; i < gap_count && rc == 0; i++, replies++) {
        bus_redis_channel(gaps[i], channel, sizeof(channel));
        redisAppendCommand(r->pub, "PUBLISH %s G0:", channel);
    }
    if (rc == 0 && replies > 0 && write_all(r->pub) != 0)
        rc = -1, *why = r->pub->errstr;
    for (int i = 0; i < replies && rc == 0; i++) {
        void *reply = NULL;
        if (redisGetReply(r->pub, &reply) != REDIS_OK)
            rc = -1, *why = r->pub->errstr;
        else
            freeReplyObject(reply);
    }
    pthread_mutex_lock(&r->lock);
    for (pending *p = msgs, *next; p; p = next) {
        next = p->next;
        if (rc != 0 && p->kind != BUS_LIVE)
            bus_redis_owe_gap(r, p->topic);
        free(p->payload);
        free(p);
    }
    for (size_t i = 0; i < gap_count && rc != 0; i++)
        bus_redis_owe_gap(r, gaps[i]);
    pthread_mutex_unlock(&r->lock);
    free(gaps);
    return rc;
}

/* "F42:{...}" into msg (text points into payload); 0, or -1 if malformed. */
static int decode(const char *payload, bus_message *msg)
{
    const char *kind = payload[0] ? strchr(KIND_LETTERS, payload[0]) : NULL;
    if (kind == NULL)
        return -1;
    char *end;
    errno = 0;
    long long seq = strtoll(payload + 1, &end, 10);
    if (end == payload + 1 || *end != ':' || errno != 0 || seq < 0)
        return -1;
    msg->kind = (bus_kind)(kind - KIND_LETTERS);
    msg->seq = seq;
    msg->text = end + 1;
    return 0;
}

static int topic_of(const redisReply *channel, int64_t *id)
{
    size_t n = strlen(CHANNEL_PREFIX);
    if (channel->type != REDIS_REPLY_STRING || channel->len <= n ||
        strncmp(channel->str, CHANNEL_PREFIX, n) != 0)
        return -1;
    char *end;
    *id = strtoll(channel->str + n, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* A (un)subscription confirmed: the oldest command sent is its. */
static void confirmed(redis_bus *r, int subscribe, int64_t id)
{
    command *c = r->sent;
    if (c == NULL)
        return;
    r->sent = c->next;
    if (r->sent == NULL)
        r->sent_tail = NULL;
    int tell = 0;
    pthread_mutex_lock(&r->lock);
    topic *t = bus_redis_find_topic(r, id);
    if (subscribe && c->subscribe && c->topic == id && t != NULL &&
        t->generation == c->generation && !t->subscribed) {
        t->subscribed = 1;
        tell = t->late;
        t->late = 0;
        pthread_cond_broadcast(&r->changed);
    }
    pthread_mutex_unlock(&r->lock);
    free(c);
    if (tell)
        bus_gap(r->bus, id, 0);
}

static void received(redis_bus *r, const redisReply *reply)
{
    int64_t id;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        topic_of(reply->element[1], &id) != 0)
        return; /* not ours */
    const char *what = reply->element[0]->str;
    if (strcmp(what, "subscribe") == 0 || strcmp(what, "unsubscribe") == 0) {
        confirmed(r, what[0] == 's', id);
        return;
    }
    bus_message msg;
    if (strcmp(what, "message") != 0)
        return;
    if (reply->element[2]->type != REDIS_REPLY_STRING ||
        decode(reply->element[2]->str, &msg) != 0) {
        if (!r->malformed_logged)
            log_warn("bus", "a message on %s is not Verbatim's: ignored "
                     "(another program publishes on verbatim:tx:*?)",
                     reply->element[1]->str);
        r->malformed_logged = 1;
        return;
    }
    if (msg.kind == BUS_GAP)
        bus_gap(r->bus, id, 0);
    else
        bus_fanout(r->bus, id, &msg);
}

static int read_sub(redis_bus *r, const char **why)
{
    if (redisBufferRead(r->sub) != REDIS_OK) {
        *why = r->sub->errstr;
        return -1;
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(r->sub->reader, &reply) != REDIS_OK) {
            *why = "a reply Verbatim cannot read";
            return -1;
        }
        if (reply == NULL)
            return 0;
        received(r, reply);
        freeReplyObject(reply);
    }
}

static int ping(redis_bus *r, const char **why)
{
    redisReply *pong = redisCommand(r->pub, "PING");
    int ok = pong != NULL && pong->type == REDIS_REPLY_STATUS;
    if (pong != NULL)
        freeReplyObject(pong);
    if (!ok)
        *why = r->pub->errstr[0] ? r->pub->errstr : "no answer to PING";
    return ok ? 0 : -1;
}

/* Waits for a wake-up, or Redis's messages, at most seconds. */
static int wait_for(redis_bus *r, double seconds)
{
    struct pollfd fds[2] = {{r->wake[0], POLLIN, 0},
                            {r->sub ? r->sub->fd : -1, POLLIN, 0}};
    int n = poll(fds, 2, (int)(seconds * 1000));
    char drain[64];
    if (n > 0 && (fds[0].revents & POLLIN))
        while (read(r->wake[0], drain, sizeof(drain)) > 0)
            ;
    return n > 0 && fds[1].revents != 0;
}

void *bus_redis_thread(void *arg)
{
    redis_bus *r = arg;
    double backoff = BACKOFF_MIN_S, last_sent = vb_monotonic_s();
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int stop = r->stop;
        pthread_mutex_unlock(&r->lock);
        const char *why = NULL;
        char err[160];
        if (r->pub == NULL) {
            if (stop)
                break;
            if (bus_redis_connect(r, err, sizeof(err)) != 0) {
                wait_for(r, backoff);
                backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S
                                                      : backoff * 2;
                continue;
            }
            log_info("bus", "connected to Redis at %s%s", r->url,
                     r->ever_connected ? " again" : "");
            r->ever_connected = 1;
            backoff = BACKOFF_MIN_S;
        }
        if (flush(r, &why) != 0) {
            lost(r, why);
            continue;
        }
        if (stop)
            break;
        double idle = vb_monotonic_s() - last_sent;
        if (wait_for(r, idle < PING_EVERY_S ? PING_EVERY_S - idle : 0) &&
            read_sub(r, &why) != 0) {
            lost(r, why);
            continue;
        }
        if (vb_monotonic_s() - last_sent >= PING_EVERY_S) {
            if (ping(r, &why) != 0) {
                lost(r, why);
                continue;
            }
            last_sent = vb_monotonic_s();
        }
    }
    bus_redis_hang_up(r);
    return NULL;
}

