/*
 * auth.h - API keys: making them, and the set a server accepts.
 *
 * A key is "vb_" and 43 characters of base64url (32 random bytes).  It is
 * shown once, when made; the store keeps only its SHA-256 (keys are random
 * enough that a plain hash cannot be searched back) and its first
 * characters, so that a person can recognise it in `verbatim keys list`.
 *
 * A server keeps the accepted keys' hashes in memory (auth_keys), read
 * from the store at start and again every AUTH_REFRESH_S on a thread of
 * its own: a key revoked with `verbatim keys`, or a session ended by
 * another instance sharing the database, stops counting within that time.
 * A key or session cookie it does not know has that thread read them at
 * once (rate-limited, auth.c), so that one made a moment ago works from
 * its first use.  The same thread writes when each key was last used.
 *
 * The web app signs in by trading a key for a session cookie ("vbs_" and
 * 43 characters), kept the same way: the store holds its hash and the
 * key's name; it opens what the key opens for AUTH_SESSION_S, unless it
 * is ended first (sign-out) or its key is revoked.
 */
#ifndef VB_AUTH_H
#define VB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_LEN 46        /* "vb_" + 43 */
#define AUTH_PREFIX_LEN 10     /* what a list shows of a key */
#define AUTH_HASH_HEX 64
#define AUTH_REFRESH_S 5
#define AUTH_SESSION_S (12 * 3600) /* a working day, then sign in again */
#define AUTH_COOKIE "verbatim_session"

/* What a key may do; each scope includes those below it. */
typedef enum {
    AUTH_NONE = 0,  /* no key needed (public), or no valid key */
    AUTH_READ = 1,  /* GET, /ws/watch */
    AUTH_WRITE = 2, /* also create, record, upload, correct, rename */
    AUTH_ADMIN = 3  /* also delete */
} auth_scope;

const char *auth_scope_name(auth_scope scope);
/* "read", "write" or "admin"; -1 for anything else. */
int auth_scope_parse(const char *name, auth_scope *out);

/* The key a request presents: "Token KEY" or "Bearer KEY" in
 * authorization (any case; may be NULL), else, from a WebSocket
 * handshake's protocols "token, KEY" (NULL for a plain request).  0 with
 * key[len] set (the key ends at a space or comma), -1 when none. */
int auth_key_from_headers(const char *authorization, const char *protocols,
                          char *key, size_t len);
/* A new key into key[AUTH_KEY_LEN + 1].  0, or -1 when no randomness. */
int auth_key_new(char *key);
/* A new session cookie value, the same length (prefix "vbs_"). */
int auth_session_new(char *token);
/* Its SHA-256 in hex, hex[AUTH_HASH_HEX + 1]. */
void auth_key_hash(const char *key, char *hex);
/* Its first AUTH_PREFIX_LEN characters, prefix[AUTH_PREFIX_LEN + 1]. */
void auth_key_prefix(const char *key, char *prefix);

typedef struct auth_keys auth_keys;

/* Reads the keys of the store at url and keeps them fresh.  0, or a
 * VB_E* code with a message. */
int auth_keys_start(const char *url, auth_keys **out, char *err,
                    size_t errlen);
/* How many keys there are now. */
int auth_keys_count(auth_keys *keys);
/* The scope of key (AUTH_NONE when it is not one), with its name in
 * name[len]; the key is marked used.  Any thread. */
auth_scope auth_keys_check(auth_keys *keys, const char *key, char *name,
                           size_t len);
/* The same for a session cookie's value: the scope of its key while the
 * session lasts, with the key's name.  Any thread. */
auth_scope auth_sessions_check(auth_keys *keys, const char *token, char *name,
                               size_t len);
/* A session this server just stored (or ended): counted at once, not at
 * the next refresh.  hash: auth_key_hash() of the cookie's value. */
void auth_sessions_add(auth_keys *keys, const char *hash, const char *key_name,
                       int64_t expires_at);
void auth_sessions_remove(auth_keys *keys, const char *hash);
void auth_keys_stop(auth_keys *keys);

#endif
