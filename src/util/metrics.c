/*
 * metrics.c - the process's counters and their exposition text (see
 * metrics.h).  Every counter is a relaxed atomic: the numbers need no
 * order among themselves, only not to be lost.
 */
#include "metrics.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SAMPLE_RATE 16000
#define STATUSES (METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1)

/* A histogram with fixed upper bounds (seconds); the counts are per
 * bucket (not cumulative) so that an observation is one add, and the sum
 * is kept in microseconds so that it is an integer add too. */
#define MAX_BOUNDS 12
typedef struct histogram {
    const double bounds[MAX_BOUNDS]; /* ascending; unused ones are 0 */
    int nbounds;
    atomic_uint_fast64_t counts[MAX_BOUNDS + 1]; /* the last: over all */
    atomic_uint_fast64_t sum_us;
} histogram;

static struct {
    double start_time;           /* Unix seconds */
    char version[64];
    atomic_int sessions[METRICS_SESSION_KINDS];
    atomic_uint_fast64_t refused[METRICS_REFUSED_REASONS];
    atomic_uint_fast64_t audio_received, audio_decoded; /* samples */
    atomic_uint_fast64_t finals_stored, store_errors, bus_errors, upload_parts;
    atomic_uint_fast64_t http[METRICS_HTTP_SLOTS][STATUSES];
} m;

/* A final waits for endpoint_ms of silence before the decoder's end; the
 * bounds span a quick answer to one far too slow to feel live. */
static histogram final_latency = {
    .bounds = {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10},
    .nbounds = 12,
};
/* Interims come every interim_ms of audio; their lag is how far behind
 * the speaker the text on screen is. */
static histogram interim_lag = {
    .bounds = {0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5},
    .nbounds = 10,
};

static const char *const kind_names[METRICS_SESSION_KINDS] = {
    [METRICS_SESSION_LIVE] = "live",
    [METRICS_SESSION_DEEPGRAM] = "deepgram_live",
    [METRICS_SESSION_UPLOAD] = "upload",
};

static const char *const refusal_names[METRICS_REFUSED_REASONS] = {
    [METRICS_REFUSED_AUTH] = "auth",
    [METRICS_REFUSED_ORIGIN] = "origin",
    [METRICS_REFUSED_HOST] = "host",
    [METRICS_REFUSED_RATE_LIMIT] = "rate_limit",
    [METRICS_REFUSED_BAD_REQUEST] = "bad_request",
    [METRICS_REFUSED_NOT_FOUND] = "not_found",
    [METRICS_REFUSED_SESSION_LIMIT] = "session_limit",
    [METRICS_REFUSED_WATCHER_LIMIT] = "watcher_limit",
    [METRICS_REFUSED_OVERLOAD] = "overload",
    [METRICS_REFUSED_CAPACITY] = "capacity",
    [METRICS_REFUSED_BUSY] = "busy",
    [METRICS_REFUSED_TOO_LARGE] = "too_large",
    [METRICS_REFUSED_SHUTTING_DOWN] = "shutting_down",
};

static void add(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

void metrics_start(const char *version)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    m.start_time = (double)now.tv_sec + now.tv_nsec / 1e9;
    snprintf(m.version, sizeof(m.version), "%s", version ? version : "");
}

void metrics_session_opened(metrics_session_kind kind)
{
    atomic_fetch_add_explicit(&m.sessions[kind], 1, memory_order_relaxed);
}

void metrics_session_closed(metrics_session_kind kind)
{
    atomic_fetch_sub_explicit(&m.sessions[kind], 1, memory_order_relaxed);
}

int metrics_sessions_open(metrics_session_kind kind)
{
    return atomic_load_explicit(&m.sessions[kind], memory_order_relaxed);
}

const char *metrics_session_kind_name(metrics_session_kind kind)
{
    return kind_names[kind];
}

void metrics_count_refused(metrics_refusal reason)
{
    add(&m.refused[reason], 1);
}

const char *metrics_refusal_name(metrics_refusal reason)
{
    return refusal_names[reason];
}

void metrics_count_audio_received(int64_t samples_16k)
{
    if (samples_16k > 0)
        add(&m.audio_received, (uint64_t)samples_16k);
}

void metrics_count_audio_decoded(int64_t samples_16k)
{
    if (samples_16k > 0)
        add(&m.audio_decoded, (uint64_t)samples_16k);
}

void metrics_count_final_stored(void)
{
    add(&m.finals_stored, 1);
}

void metrics_count_upload_part(void)
{
    add(&m.upload_parts, 1);
}

void metrics_count_store_error(void)
{
    add(&m.store_errors, 1);
}

void metrics_count_bus_error(void)
{
    add(&m.bus_errors, 1);
}

void metrics_count_http(int slot, int status)
{
    if (slot < 0 || slot >= METRICS_HTTP_SLOTS)
        return;
    if (status < METRICS_STATUS_MIN)
        status = METRICS_STATUS_MIN;
    if (status > METRICS_STATUS_MAX)
        status = METRICS_STATUS_MAX;
    add(&m.http[slot][status - METRICS_STATUS_MIN], 1);
}

static void observe(histogram *h, double seconds)
{
    if (!(seconds >= 0)) /* NaN, or a clock that went back */
        seconds = 0;
    int i = 0;
    while (i < h->nbounds && seconds > h->bounds[i])
        i++;
    add(&h->counts[i], 1);
    add(&h->sum_us, (uint64_t)llround(seconds * 1e6));
}

void metrics_observe_final_latency(double seconds)
{
    observe(&final_latency, seconds);
}

void metrics_observe_interim_lag(double seconds)
{
    observe(&interim_lag, seconds);
}

/* ---- the text ------------------------------------------------------- */

void metrics_family(strbuf *out, const char *name, const char *type,
                    const char *help)
{
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(strbuf *out, const char *name, const char *labels,
                    double value)
{
    char number[40];
    if (isinf(value))
        snprintf(number, sizeof(number), "%s", value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 1e15)
        snprintf(number, sizeof(number), "%.0f", value);
    else
        snprintf(number, sizeof(number), "%.15g", value);
    if (labels && labels[0])
        strbuf_printf(out, "%s{%s} %s\n", name, labels, number);
    else
        strbuf_printf(out, "%s %s\n", name, number);
}

const char *metrics_label_value(const char *value, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *c = value; *c && n + 3 < len; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n') {
            buf[n++] = '\\';
            buf[n++] = *c == '\n' ? 'n' : *c;
        } else {
            buf[n++] = *c;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void counter(strbuf *out, const char *name, const char *help,
                    double value)
{
    metrics_family(out, name, "counter", help);
    metrics_sample(out, name, NULL, value);
}

/* Buckets as Prometheus wants them: cumulative, the last "+Inf", and
 * _count equal to it. */
static void render_histogram(strbuf *out, const char *name, const char *help,
                             histogram *h)
{
    char line[128], labels[48];
    metrics_family(out, name, "histogram", help);
    uint64_t total = 0;
    for (int i = 0; i <= h->nbounds; i++) {
        total += get(&h->counts[i]);
        if (i < h->nbounds)
            snprintf(labels, sizeof(labels), "le=\"%g\"", h->bounds[i]);
        else
            snprintf(labels, sizeof(labels), "le=\"+Inf\"");
        snprintf(line, sizeof(line), "%s_bucket", name);
        metrics_sample(out, line, labels, (double)total);
    }
    snprintf(line, sizeof(line), "%s_sum", name);
    metrics_sample(out, line, NULL, (double)get(&h->sum_us) / 1e6);
    snprintf(line, sizeof(line), "%s_count", name);
    metrics_sample(out, line, NULL, (double)total);
}

static void render_http(strbuf *out, metrics_route_fn route_name)
{
    static const char name[] = "verbatim_http_requests_total";
    metrics_family(out, name, "counter",
                   "HTTP requests answered (WebSocket handshakes too), by "
                   "the route table's method and pattern, and status");
    for (int slot = 0; slot < METRICS_HTTP_SLOTS; slot++) {
        const char *method = NULL;
        const char *pattern = route_name ? route_name(slot, &method) : NULL;
        if (pattern == NULL)
            continue;
        for (int k = 0; k < STATUSES; k++) {
            uint64_t n = get(&m.http[slot][k]);
            if (n == 0)
                continue; /* a series appears with its first request */
            char route[160], labels[256];
            snprintf(labels, sizeof(labels),
                     "method=\"%s\",route=\"%s\",status=\"%d\"",
                     method ? method : "",
                     metrics_label_value(pattern, route, sizeof(route)),
                     k + METRICS_STATUS_MIN);
            metrics_sample(out, name, labels, (double)n);
        }
    }
}

void metrics_render(strbuf *out, metrics_route_fn route_name)
{
    char labels[160], version[140];
    metrics_family(out, "verbatim_build_info", "gauge",
                   "Always 1; the version of the running program");
    snprintf(labels, sizeof(labels), "version=\"%s\"",
             metrics_label_value(m.version, version, sizeof(version)));
    metrics_sample(out, "verbatim_build_info", labels, 1);
    metrics_family(out, "verbatim_process_start_time_seconds", "gauge",
                   "When the server started, in seconds since the Unix "
                   "epoch");
    metrics_sample(out, "verbatim_process_start_time_seconds", NULL,
                   m.start_time);

    static const char refused[] = "verbatim_sessions_refused_total";
    metrics_family(out, refused, "counter",
                   "Sessions (WebSockets and uploads) refused, by reason");
    for (int r = 0; r < METRICS_REFUSED_REASONS; r++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", refusal_names[r]);
        metrics_sample(out, refused, labels, (double)get(&m.refused[r]));
    }
    counter(out, "verbatim_audio_received_seconds_total",
            "Seconds of audio received from clients (as converted to "
            "16 kHz by the decoder workers)",
            (double)get(&m.audio_received) / SAMPLE_RATE);
    counter(out, "verbatim_audio_decoded_seconds_total",
            "Seconds of audio through the voice detector and recogniser",
            (double)get(&m.audio_decoded) / SAMPLE_RATE);
    counter(out, "verbatim_finals_stored_total",
            "Final segments stored", (double)get(&m.finals_stored));
    counter(out, "verbatim_upload_parts_total",
            "Parts recordings were decoded in (split at pauses to use "
            "several workers at once)", (double)get(&m.upload_parts));
    counter(out, "verbatim_store_errors_total",
            "Store operations that failed (not counting unknown ids)",
            (double)get(&m.store_errors));
    counter(out, "verbatim_bus_errors_total",
            "Live messages the bus could not pass on",
            (double)get(&m.bus_errors));
    render_http(out, route_name);
    render_histogram(out, "verbatim_final_latency_seconds",
                     "Live sessions: from the arrival of the audio in which "
                     "an utterance's end was heard to its final's hand-off "
                     "to the connection", &final_latency);
    render_histogram(out, "verbatim_interim_lag_seconds",
                     "Live sessions: from the arrival of the audio an "
                     "interim result covers to its hand-off to the "
                     "connection", &interim_lag);
}
