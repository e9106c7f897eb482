/*
 * metrics.h - the server's counters for operators, and their text in the
 * Prometheus exposition format (version 0.0.4) for GET /metrics.
 *
 * What is counted here are events that nothing else keeps a figure of:
 * audio received and decoded, finals stored, store and bus failures,
 * refused sessions, HTTP answers, and two latency histograms.  Figures
 * that the server already holds (watchers, decoders, lag, load) are read
 * where they live when the page is made (api/exposition.c) and written
 * with metrics_family() / metrics_sample().
 *
 * Ownership: the counters are one set per process (a process serves one
 * server), in static storage; nothing to create or free.
 *
 * Threading: every metrics_count_* / metrics_observe_* function may be
 * called from any thread at any time; each is a few relaxed atomic adds,
 * cheap enough for the hot path.  metrics_render() reads the atomics
 * without a lock: a page may show one event in a counter and not yet in
 * another, which Prometheus tolerates; a histogram's _count is the sum
 * of the buckets it shows, so the page is consistent in itself.
 *
 * Errors: rendering appends to a strbuf, which remembers an allocation
 * failure (strbuf_take() then returns NULL).
 */
#ifndef VB_METRICS_H
#define VB_METRICS_H

#include <stdint.h>

#include "strbuf.h"

/* The kinds of session counted as open (verbatim_sessions_open). */
typedef enum {
    METRICS_SESSION_LIVE = 0,     /* /ws/transcribe/{id} */
    METRICS_SESSION_DEEPGRAM,     /* /v1/listen over a WebSocket */
    METRICS_SESSION_UPLOAD,       /* a recording: POST .../audio or
                                     POST /v1/listen */
    METRICS_SESSION_KINDS
} metrics_session_kind;

/* Why a session (a socket or an upload) was refused.  The names are the
 * `reason` label's values (metrics_refusal_name()). */
typedef enum {
    METRICS_REFUSED_AUTH = 0,     /* no valid key, or its scope too small */
    METRICS_REFUSED_ORIGIN,       /* a web page of another origin */
    METRICS_REFUSED_HOST,         /* a Host the server does not answer */
    METRICS_REFUSED_RATE_LIMIT,   /* over --rate-limit */
    METRICS_REFUSED_BAD_REQUEST,  /* a malformed id, option or parameter */
    METRICS_REFUSED_NOT_FOUND,    /* no such transcription */
    METRICS_REFUSED_SESSION_LIMIT,/* at --max-sessions */
    METRICS_REFUSED_WATCHER_LIMIT,/* at --max-watchers */
    METRICS_REFUSED_OVERLOAD,     /* the decoders over --max-lag-ms behind */
    METRICS_REFUSED_CAPACITY,     /* one more stream would pass --max-load */
    METRICS_REFUSED_BUSY,         /* the transcription has a live session */
    METRICS_REFUSED_TOO_LARGE,    /* an upload over --max-upload-mb */
    METRICS_REFUSED_SHUTTING_DOWN,/* the server is stopping */
    METRICS_REFUSED_REASONS
} metrics_refusal;

/* HTTP answers are counted per route slot: the route table's index (its
 * pattern and method), then two more given by the caller. */
#define METRICS_HTTP_SLOTS 64
#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_MAX 599

/* The start of the process (for verbatim_process_start_time_seconds)
 * and the version of build info.  Called once, before serving. */
void metrics_start(const char *version);

void metrics_session_opened(metrics_session_kind kind);
void metrics_session_closed(metrics_session_kind kind);
/* How many of a kind are open now; its label value ("live", ...). */
int metrics_sessions_open(metrics_session_kind kind);
const char *metrics_session_kind_name(metrics_session_kind kind);
void metrics_count_refused(metrics_refusal reason);
const char *metrics_refusal_name(metrics_refusal reason);
/* Audio as samples at 16 kHz: converted from what a client sent, and
 * through the voice detector and the recogniser. */
void metrics_count_audio_received(int64_t samples_16k);
void metrics_count_audio_decoded(int64_t samples_16k);
void metrics_count_final_stored(void);
/* An upload's part began decoding (its first included). */
void metrics_count_upload_part(void);
/* A store operation failed (not "no such id"); a message could not be
 * passed on by the bus. */
void metrics_count_store_error(void);
void metrics_count_bus_error(void);
/* One HTTP answer: slot < METRICS_HTTP_SLOTS, status 100..599 (others
 * are counted as 599's neighbours would be: clamped). */
void metrics_count_http(int slot, int status);
/* Live sessions only: from the arrival of the audio in which an
 * utterance's end was heard to its final's hand-off to the connection;
 * from the arrival of the audio an interim covers to its hand-off. */
void metrics_observe_final_latency(double seconds);
void metrics_observe_interim_lag(double seconds);

/* "# HELP" and "# TYPE" of a family. */
void metrics_family(strbuf *out, const char *name, const char *type,
                    const char *help);
/* One sample line; labels: "a=\"x\",b=\"y\"" or NULL (values must be
 * escaped by the caller: metrics_label_value()). */
void metrics_sample(strbuf *out, const char *name, const char *labels,
                    double value);
/* value with backslash, double quote and newline escaped as the format
 * asks, into buf (cut short to fit). */
const char *metrics_label_value(const char *value, char *buf, size_t len);

/* The name of route slot `slot` for the http family: its method and
 * pattern; NULL for a slot that is not used. */
typedef const char *(*metrics_route_fn)(int slot, const char **method);

/* Every family counted here but verbatim_sessions_open (whose watchers
 * the caller knows), appended to out. */
void metrics_render(strbuf *out, metrics_route_fn route_name);

#endif
