/*
 * auth.c - API keys (auth.h): made with libsodium's randomness, kept as
 * SHA-256 hashes, and the set a server accepts, refreshed from the store.
 */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../store/store.h"
#include "../util/log.h"
#include "../util/vb.h"

static const char *const scope_names[] = {"none", "read", "write", "admin"};

const char *auth_scope_name(auth_scope scope)
{
    return scope >= AUTH_NONE && scope <= AUTH_ADMIN ? scope_names[scope] : "?";
}

int auth_scope_parse(const char *name, auth_scope *out)
{
    for (int s = AUTH_READ; s <= AUTH_ADMIN; s++) {
        if (strcmp(name, scope_names[s]) == 0) {
            *out = (auth_scope)s;
            return 0;
        }
    }
    return -1;
}

int auth_key_from_headers(const char *authorization, const char *protocols,
                          char *key, size_t len)
{
    const char *k = NULL;
    if (authorization != NULL && authorization[0] != '\0') {
        if (strncasecmp(authorization, "Token ", 6) == 0)
            k = authorization + 6;
        else if (strncasecmp(authorization, "Bearer ", 7) == 0)
            k = authorization + 7;
    } else if (protocols != NULL && strncmp(protocols, "token,", 6) == 0) {
        k = protocols + 6;
    }
    while (k && *k == ' ')
        k++;
    if (k == NULL || *k == '\0' || *k == ',' || len == 0)
        return -1;
    snprintf(key, len, "%.*s", (int)strcspn(k, " ,"), k);
    return 0;
}

/* prefix and 32 random bytes in base64url: 3 + 43 or 4 + 43 characters. */
static int random_token(const char *prefix, char *out, size_t len)
{
    if (sodium_init() < 0)
        return -1;
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    sodium_bin2base64(out + n, len - n, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int auth_key_new(char *key)
{
    return random_token("vb_", key, AUTH_KEY_LEN + 1);
}

int auth_session_new(char *token)
{
    return random_token("vbs_", token, AUTH_KEY_LEN + 2);
}

void auth_key_hash(const char *key, char *hex)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)key, strlen(key));
    sodium_bin2hex(hex, AUTH_HASH_HEX + 1, digest, sizeof(digest));
}

void auth_key_prefix(const char *key, char *prefix)
{
    snprintf(prefix, AUTH_PREFIX_LEN + 1, "%s", key);
}

/* ---- the accepted keys -------------------------------------------- */

typedef struct key_entry {
    char hash[AUTH_HASH_HEX + 1];
    char name[65];
    auth_scope scope;
    int used; /* since the last refresh */
} key_entry;

/* A key or cookie this server does not know may be a moment old: made by
 * `verbatim keys`, or signed in through another instance behind the same
 * proxy, whose next request came here.  Such a miss has the store read at
 * once and waits for that, at most this long (on the thread that checks
 * requests), ... */
#define AUTH_MISS_WAIT_S 0.3
/* ... and at most once in this long, so that made-up keys cannot keep the
 * store busy: a miss meanwhile waits for the read under way, or is
 * answered at once; ... */
#define AUTH_MISS_GAP_S 0.05
/* ... and a key or cookie that asked once asks again only after a
 * refresh's time (a revoked one that a client keeps sending). */
#define AUTH_MISSED 32

typedef struct session_entry {
    char hash[AUTH_HASH_HEX + 1];
    char key_name[65];
    int64_t expires_at;
    unsigned long added;   /* keys->added when added here; 0: read */
} session_entry;

struct auth_keys {
    store_t *store;          /* the refresh thread's own connection */
    pthread_t thread;
    pthread_mutex_t lock;    /* guards everything below */
    pthread_cond_t cond;
    key_entry *entries;
    int count;
    session_entry *sessions;
    int session_count, session_cap;
    unsigned long added;     /* sessions added here so far */
    int stop;
    int asked;               /* a miss wants a refresh now */
    int running;             /* the thread is reading the store */
    unsigned long refreshes; /* finished so far */
    double last_asked;       /* when a miss last asked (monotonic s) */
    struct {
        char hash[AUTH_HASH_HEX + 1];
        double when;
    } missed[AUTH_MISSED];   /* hashes that asked lately, oldest replaced */
};


/* Reads the store's sessions (those of keys that exist, not expired). */
static void refresh_sessions(auth_keys *keys)
{
    pthread_mutex_lock(&keys->lock);
    unsigned long added_before = keys->added;
    pthread_mutex_unlock(&keys->lock);
    store_web_session *rows = NULL;
    size_t n = 0;
    if (store_session_list(keys->store, (int64_t)time(NULL), &rows, &n) != 0)
        return; /* the old set stays */
    pthread_mutex_lock(&keys->lock);
    /* Room for those added here while the store was read: the read may
     * have begun before they were stored. */
    size_t cap = n + (size_t)(keys->added - added_before) + 1;
    session_entry *fresh = calloc(cap, sizeof(*fresh));
    if (fresh == NULL) {
        pthread_mutex_unlock(&keys->lock);
        free(rows);
        return;
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++, count++) {
        memcpy(fresh[i].hash, rows[i].hash, sizeof(fresh[i].hash));
        memcpy(fresh[i].key_name, rows[i].key_name, sizeof(fresh[i].key_name));
        fresh[i].expires_at = rows[i].expires_at;
    }
    for (int i = 0; i < keys->session_count; i++) {
        session_entry *s = &keys->sessions[i];
        int listed = 0;
        for (size_t j = 0; j < n && !listed; j++)
            listed = strcmp(fresh[j].hash, s->hash) == 0;
        if (s->added > added_before && !listed && count < cap)
            fresh[count++] = *s;
    }
    free(rows);
    session_entry *old = keys->sessions;
    keys->sessions = fresh;
    keys->session_count = (int)count;
    keys->session_cap = (int)cap;
    pthread_mutex_unlock(&keys->lock);
    free(old);
}

/* Reads the store's keys into keys->entries, and writes the last use of
 * those used since.  The refresh thread (or start). */
static int refresh(auth_keys *keys)
{
    pthread_mutex_lock(&keys->lock);
    int n_used = 0;
    char (*used)[AUTH_HASH_HEX + 1] = NULL;
    if (keys->count > 0)
        used = calloc((size_t)keys->count, sizeof(*used));
    for (int i = 0; used && i < keys->count; i++)
        if (keys->entries[i].used)
            memcpy(used[n_used++], keys->entries[i].hash, AUTH_HASH_HEX + 1);
    pthread_mutex_unlock(&keys->lock);
    for (int i = 0; i < n_used; i++)
        store_key_touch(keys->store, used[i]); /* gone meanwhile: fine */
    free(used);

    store_key *rows = NULL;
    size_t n = 0;
    int rc = store_key_list(keys->store, &rows, &n);
    if (rc != 0)
        return rc; /* the old set stays */
    key_entry *fresh = calloc(n ? n : 1, sizeof(*fresh));
    if (fresh == NULL) {
        free(rows);
        return VB_ENOMEM;
    }
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        auth_scope scope;
        if (auth_scope_parse(rows[i].scope, &scope) != 0)
            continue; /* a scope this version does not know opens nothing */
        memcpy(fresh[count].hash, rows[i].hash, sizeof(fresh[count].hash));
        snprintf(fresh[count].name, sizeof(fresh[count].name), "%s", rows[i].name);
        fresh[count].scope = scope;
        count++;
    }
    free(rows);
    pthread_mutex_lock(&keys->lock);
    key_entry *old = keys->entries;
    keys->entries = fresh;
    keys->count = count;
    pthread_mutex_unlock(&keys->lock);
    free(old);
    refresh_sessions(keys);
    return 0;
}

static void *refresh_main(void *arg)
{
    auth_keys *keys = arg;
    pthread_setname_np(pthread_self(), "vb-keys");
    pthread_mutex_lock(&keys->lock);
    while (!keys->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += AUTH_REFRESH_S;
        while (!keys->stop && !keys->asked &&
               pthread_cond_timedwait(&keys->cond, &keys->lock, &until) !=
                   ETIMEDOUT)
            ;
        if (keys->stop)
            break;
        keys->asked = 0;
        keys->running = 1;
        pthread_mutex_unlock(&keys->lock);
        refresh(keys);
        pthread_mutex_lock(&keys->lock);
        keys->running = 0;
        keys->refreshes++;
        pthread_cond_broadcast(&keys->cond);
    }
    pthread_mutex_unlock(&keys->lock);
    refresh(keys); /* the last uses */
    return NULL;
}

int auth_keys_start(const char *url, auth_keys **out, char *err,
                    size_t errlen)
{
    if (sodium_init() < 0) {
        vb_seterr(err, errlen, "libsodium could not start");
        return VB_EINTERNAL;
    }
    auth_keys *keys = calloc(1, sizeof(*keys));
    if (keys == NULL)
        return VB_ENOMEM;
    pthread_mutex_init(&keys->lock, NULL);
    pthread_cond_init(&keys->cond, NULL);
    int rc = store_open(url, &keys->store, err, errlen);
    if (rc == 0 && (rc = refresh(keys)) != 0)
        vb_seterr(err, errlen, "cannot read the API keys from %s", url);
    if (rc == 0 && pthread_create(&keys->thread, NULL, refresh_main, keys) != 0) {
        vb_seterr(err, errlen, "cannot start a thread");
        rc = VB_EINTERNAL;
    }
    if (rc != 0) {
        store_close(keys->store);
        free(keys->entries);
        free(keys->sessions);
        pthread_mutex_destroy(&keys->lock);
        pthread_cond_destroy(&keys->cond);
        free(keys);
        return rc;
    }
    *out = keys;
    return 0;
}

int auth_keys_count(auth_keys *keys)
{
    pthread_mutex_lock(&keys->lock);
    int n = keys->count;
    pthread_mutex_unlock(&keys->lock);
    return n;
}

/* The key whose hash (hash != NULL) or name is given, or NULL.  Called
 * with the lock held. */
static key_entry *find_key_locked(auth_keys *keys, const char *hash,
                                  const char *name)
{
    for (int i = 0; i < keys->count; i++) {
        key_entry *e = &keys->entries[i];
        if (hash ? sodium_memcmp(e->hash, hash, AUTH_HASH_HEX) == 0
                 : strcmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

/* A key that opened a request: marked used, its name into name[len], its
 * scope (AUTH_NONE without a key).  Called with the lock held. */
static auth_scope use_key_locked(key_entry *e, char *name, size_t len)
{
    if (e == NULL)
        return AUTH_NONE;
    e->used = 1;
    snprintf(name, len, "%s", e->name);
    return e->scope;
}

/* On a miss (AUTH_MISS_WAIT_S): asks the refresh thread to read the store
 * now, unless a miss did less than AUTH_MISS_GAP_S ago, and waits for a
 * read that began after the miss.  Called with the lock held; 1 when the
 * set was read again meanwhile. */
static int refresh_now_locked(auth_keys *keys, const char *hash)
{
    double now = vb_monotonic_s();
    int oldest = 0;
    for (int i = 0; i < AUTH_MISSED; i++) {
        if (strcmp(keys->missed[i].hash, hash) == 0) {
            if (now - keys->missed[i].when < AUTH_REFRESH_S)
                return 0;
            oldest = i;
            break;
        }
        if (keys->missed[i].when < keys->missed[oldest].when)
            oldest = i;
    }
    unsigned long target;
    if (keys->asked) { /* asked by another miss, not begun yet */
        target = keys->refreshes + (keys->running ? 2 : 1);
    } else {
        if (keys->last_asked > 0 && now - keys->last_asked < AUTH_MISS_GAP_S)
            return 0;
        keys->last_asked = now;
        keys->asked = 1;
        memcpy(keys->missed[oldest].hash, hash, AUTH_HASH_HEX + 1);
        keys->missed[oldest].when = now;
        /* A read under way may have begun before the key was stored. */
        target = keys->refreshes + (keys->running ? 2 : 1);
        pthread_cond_broadcast(&keys->cond);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(AUTH_MISS_WAIT_S * 1e9);
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (keys->refreshes < target && !keys->stop)
        if (pthread_cond_timedwait(&keys->cond, &keys->lock, &until) == ETIMEDOUT)
            break;
    return keys->refreshes >= target;
}

/* Only what could be a key or cookie (its prefix and length) is worth a
 * read of the store. */
static int well_formed(const char *token, const char *prefix)
{
    return strncmp(token, prefix, strlen(prefix)) == 0 &&
           strlen(token) == AUTH_KEY_LEN - 3 + strlen(prefix);
}

auth_scope auth_keys_check(auth_keys *keys, const char *key, char *name,
                           size_t len)
{
    char hash[AUTH_HASH_HEX + 1];
    auth_key_hash(key, hash);
    pthread_mutex_lock(&keys->lock);
    key_entry *e = find_key_locked(keys, hash, NULL);
    if (e == NULL && well_formed(key, "vb_") && refresh_now_locked(keys, hash))
        e = find_key_locked(keys, hash, NULL);
    auth_scope scope = use_key_locked(e, name, len);
    pthread_mutex_unlock(&keys->lock);
    return scope;
}

static session_entry *find_session_locked(auth_keys *keys, const char *hash)
{
    for (int i = 0; i < keys->session_count; i++)
        if (sodium_memcmp(keys->sessions[i].hash, hash, AUTH_HASH_HEX) == 0)
            return &keys->sessions[i];
    return NULL;
}

auth_scope auth_sessions_check(auth_keys *keys, const char *token, char *name,
                               size_t len)
{
    char hash[AUTH_HASH_HEX + 1];
    auth_key_hash(token, hash);
    int64_t now = (int64_t)time(NULL);
    auth_scope scope = AUTH_NONE;
    pthread_mutex_lock(&keys->lock);
    session_entry *s = find_session_locked(keys, hash);
    if (s == NULL && well_formed(token, "vbs_") && refresh_now_locked(keys, hash))
        s = find_session_locked(keys, hash);
    /* Its key as it is now: a revoked key's sessions open nothing. */
    if (s != NULL && s->expires_at > now)
        scope = use_key_locked(find_key_locked(keys, NULL, s->key_name), name,
                               len);
    pthread_mutex_unlock(&keys->lock);
    return scope;
}

void auth_sessions_add(auth_keys *keys, const char *hash, const char *key_name,
                       int64_t expires_at)
{
    pthread_mutex_lock(&keys->lock);
    if (keys->session_count == keys->session_cap) {
        int cap = keys->session_cap ? keys->session_cap * 2 : 8;
        session_entry *grown = realloc(keys->sessions, (size_t)cap * sizeof(*grown));
        if (grown == NULL) { /* counted at the next refresh instead */
            pthread_mutex_unlock(&keys->lock);
            return;
        }
        keys->sessions = grown;
        keys->session_cap = cap;
    }
    session_entry *s = &keys->sessions[keys->session_count++];
    snprintf(s->hash, sizeof(s->hash), "%s", hash);
    snprintf(s->key_name, sizeof(s->key_name), "%s", key_name);
    s->expires_at = expires_at;
    s->added = ++keys->added;
    pthread_mutex_unlock(&keys->lock);
}

void auth_sessions_remove(auth_keys *keys, const char *hash)
{
    pthread_mutex_lock(&keys->lock);
    for (int i = 0; i < keys->session_count; i++) {
        if (strcmp(keys->sessions[i].hash, hash) == 0) {
            keys->sessions[i] = keys->sessions[--keys->session_count];
            break;
        }
    }
    pthread_mutex_unlock(&keys->lock);
}

void auth_keys_stop(auth_keys *keys)
{
    if (keys == NULL)
        return;
    pthread_mutex_lock(&keys->lock);
    keys->stop = 1;
    pthread_cond_broadcast(&keys->cond);
    pthread_mutex_unlock(&keys->lock);
    pthread_join(keys->thread, NULL);
    store_close(keys->store);
    free(keys->entries);
    free(keys->sessions);
    pthread_mutex_destroy(&keys->lock);
    pthread_cond_destroy(&keys->cond);
    free(keys);
}
