/*
 * testutil.h - helpers for Verbatim's tests: start the real server on a
 * free port with a fresh database, talk to it over HTTP and WebSocket,
 * make speech with flite, and hold a worker pool's worker.
 */
#ifndef VB_TESTUTIL_H
#define VB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/client.h"
#include "net/wsclient.h"
#include "util/pool.h"

typedef struct tu_server {
    pid_t pid;
    int port;
    char dir[256];      /* temporary folder: database and log */
    char log_path[300];
    char db[300];       /* its --db (tu_db_url) */
} tu_server;

/* Whether the tests run against PostgreSQL: tests/postgres.sh sets
 * VERBATIM_TEST_PG to a throwaway server's URL.  Tests that read or
 * write a SQLite file themselves skip then. */
int tu_pg(void);
/* A new, empty database for a test: a file in dir, or a new database on
 * the PostgreSQL server when tu_pg(). */
void tu_db_url(const char *dir, char *out, size_t len);
/* Runs sql (one or more statements, no rows wanted) on the database url
 * names, SQLite or PostgreSQL, straight past the server; 0 or -1 with the
 * error printed. */
int tu_sql(const char *url, const char *sql);

/* Starts build/asan/verbatim serve (or $VERBATIM_BIN) with --workers 2
 * --max-load 0 and extra flags (NULL-terminated; they win), waits until
 * /api/health answers.  Aborts the test on failure. */
void tu_server_start(tu_server *srv, const char *const *extra_flags);
/* A TCP connection to the server (reads time out after 10 s); rcvbuf > 0
 * makes its receive buffer that small (a client that reads slowly). */
int tu_connect(const tu_server *srv, int rcvbuf);
/* > 0: servers started from now on may open at most this many files
 * (soft and hard limit). */
extern int tu_server_nofile;
/* Set: servers started from now on count as up once /api/health answers
 * 503 too (their store or bus unreachable on purpose). */
extern int tu_server_unhealthy;
/* Stops it (cleanly, or the test fails) and starts it again on the same
 * database, on another port. */
void tu_server_restart(tu_server *srv, const char *const *extra_flags);
/* SIGTERM, waits, and returns the exit status (0 for a clean stop). */
int tu_server_stop(tu_server *srv);
/* Prints the server's log (for failures). */
void tu_server_dump_log(const tu_server *srv);

/* A throwaway redis-server on a free loopback port, in a temporary
 * folder, with nothing saved.  Start fails the test when redis-server is
 * not installed (make deps-test installs it).  Kill stops it at once
 * (SIGKILL); start_again starts it on the same port and waits until it
 * answers.  url is "redis://127.0.0.1:PORT". */
typedef struct tu_redis {
    pid_t pid;
    int port;
    char dir[64];
    char url[96];
    char password[32];  /* requirepass, or "" */
} tu_redis;
void tu_redis_start(tu_redis *r);
/* The same with `requirepass password`; url has it
 * (redis://:PASSWORD@127.0.0.1:PORT). */
void tu_redis_start_password(tu_redis *r, const char *password);
void tu_redis_kill(tu_redis *r);
void tu_redis_start_again(tu_redis *r);
/* Kills it and removes its folder. */
void tu_redis_stop(tu_redis *r);

/* A throwaway nginx running deploy/nginx.conf (tests/lib/nginx.sh) in
 * front of the servers on the given ports: `port` plain HTTP and
 * `tls_port` HTTPS (a self-signed certificate) on one site, and
 * `redirect_port` the site's redirect to HTTPS.  Start fails the test
 * when nginx is not installed.  `via` is the site as a tu_server for
 * tu_http and tu_ws (no process of its own). */
typedef struct tu_nginx {
    char dir[64];
    int port, tls_port, redirect_port;
    tu_server via;
} tu_nginx;
void tu_nginx_start(tu_nginx *n, const int *upstream_ports, int count);
void tu_nginx_stop(tu_nginx *n);

/* An HTTP request to the server; returns the status, body in *body. */
int tu_http(const tu_server *srv, const char *method, const char *path,
            const char *body, char **response);
/* The same with request headers ("Origin: x\r\n") and response headers. */
int tu_http_full(const tu_server *srv, const char *method, const char *path,
                 const char *req_headers, const char *body, char **response,
                 char **headers);
/* Bytes written to the server as they are, each piece in a send of its
 * own 20 ms after the last (so that the server reads them apart); the
 * reply until the server closes the connection or 10 s pass.  Returns 1
 * when the server closed it, 0 when the time ran out, -1 when it could
 * not connect.  *reply (malloc'd, NUL-terminated) holds what came. */
typedef struct tu_piece {
    const void *data;
    size_t len;         /* 0: data is a string, strlen(data) bytes */
} tu_piece;
int tu_raw_http(const tu_server *srv, const tu_piece *pieces, int count,
                char **reply);
/* An OpenAPI document's path and operation as a request: its path with
 * each "{parameter}" as 1, and its method in capitals ("get" -> "GET"). */
void tu_openapi_request(const char *templ, const char *op, char *path,
                        size_t path_len, char method[8]);
/* Creates a transcription and returns its id. */
long long tu_create(const tu_server *srv, const char *title);

/* What a live or watching socket received, summed up by tu_collect. */
typedef struct tu_seen {
    int finals, interims, errors, statuses;
    char texts[16][256];    /* the finals' texts, in order */
    long long ids[16];      /* their segment ids (0: none) */
    char last_error[320];
    char token[64];         /* the last status's resume_token */
    double time_offset;     /* ... and its time_offset */
} tu_seen;
/* Collects for timeout_ms (or until the server closes) into s; returns
 * the close code (0: still open). */
int tu_collect(wsclient *ws, int timeout_ms, tu_seen *s);

/* Opens ws://127.0.0.1:PORT/PATH. */
wsclient *tu_ws(const tu_server *srv, const char *path);

/* A message received in a test. */
typedef struct tu_msg {
    int opcode;
    char *text;
} tu_msg;

/* Collects messages until the server closes or timeout_ms passes;
 * returns the count; *close_code is 0 when the server did not close. */
int tu_ws_collect(wsclient *ws, int timeout_ms, tu_msg **msgs, int *close_code);
void tu_msgs_free(tu_msg *msgs, int count);
/* Sends samples as 16-bit PCM in chunks of chunk_ms. */
void tu_ws_send_pcm(wsclient *ws, const int16_t *pcm, size_t count, int chunk_ms);

/* Synthesises text with flite's voice into 16 kHz mono samples. */
int16_t *tu_flite(const char *voice, const char *text, size_t *count);
/* Reads a 16-bit PCM WAV file's samples (skipping its header). */
int16_t *tu_read_wav(const char *path, size_t *count, int *rate, int *channels);
/* flite speech with lead_ms of silence before and tail_ms after. */
int16_t *tu_padded_speech(const char *text, int lead_ms, int tail_ms,
                          size_t *count);
/* Appends src and ms of silence to a growing buffer. */
void tu_append(int16_t **buf, size_t *len, const int16_t *src, size_t n,
               int silence_ms);

/* The bytes of an audio fixture made by tests/fixtures/make.sh (in
 * build/fixtures/, or $VB_FIXTURES); malloc'd.  Fails the test when it
 * is missing. */
uint8_t *tu_fixture(const char *name, size_t *len);

/* The type of a server message ("transcript_segment", ...) and payload
 * fields; NULL/0 when missing. */
const char *tu_msg_type(const char *json, char *buf, size_t len);

/* A gate task: tu_hold_worker() closes the gate and puts the task on one
 * of the pool's workers, returning once it runs (with a one-worker pool,
 * everything submitted after it queues); tu_open_gate() lets it end. */
void tu_hold_worker(pool_t *pool);
void tu_open_gate(void);

#endif
