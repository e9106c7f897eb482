/*
 * load.c - `verbatim bench load FILE...`: a load generator, many live
 * streams from one process.
 *
 * Each FILE is one stream, as `verbatim stream --realtime` sends it: its
 * own transcription (created over REST), its own WebSocket, 16 kHz
 * linear16 in --chunk-ms pieces, each leaving when its last sample would
 * have been recorded, then CloseStream, then waiting for the server to
 * close.  One thread drives every stream from one poll() loop, so that N
 * streams cost the machine one process that wakes when a piece is due,
 * not N processes each with its own timers and buffers, so as to
 * disturb the server it measures less.  Measured against a process per
 * stream, that is not settled (bench/NOTES.md), and the benchmark
 * scripts keep `verbatim stream` processes.
 *
 * Streams start --stagger seconds apart, and each a further 1/N of a
 * piece's length after the one before, so that the N streams' pieces
 * leave at evenly spread moments, as independent microphones' do, not
 * all at once: pieces arriving together cost the server more (about 4 %
 * of its processor time in bench/beside.sh, bench/NOTES.md).  With
 * --timings PREFIX, stream I (from 1) writes its results to PREFIX.I as
 * `verbatim stream --timings` lines, on its own clock.  At the end one
 * JSON line per stream gives when it began, its close code (1013: refused
 * under load) and the server's error, if any.
 *
 * Sends block.  On loopback the messages are small and the socket buffers
 * large, so a send waits only when the server has stopped reading; then
 * every stream waits with it, and their timings show it.
 */
#include <cJSON.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audio/audio.h"
#include "../net/wsclient.h"
#include "../util/vb.h"
#include "cli.h"

typedef enum { LOAD_WAITING, LOAD_SENDING, LOAD_CLOSING, LOAD_DONE } load_state;

typedef struct {
    const char *path;
    pcm_buf pcm;          /* the whole recording, 16 kHz mono */
    size_t sent;          /* samples sent so far */
    double start_at;      /* when it connects */
    double clock;         /* when its first sample was "recorded" */
    double give_up_at;    /* CloseStream sent: no close by then is a failure */
    wsclient *ws;
    FILE *timings;        /* --timings: its results, else NULL */
    load_state state;
    int close_code;       /* 0: never closed by the server */
    char error[512];      /* the server's error message, or ours */
} load_stream;

typedef struct {
    const char *url;
    const char *timings_prefix;
    size_t chunk;         /* samples per message */
    double stagger_s;
    long timeout_s;
    int punctuate;
    int full_speed;       /* send as fast as the server reads, not paced */
} load_params;

static void usage(FILE *to)
{
    fputs("usage: verbatim bench load [options] FILE...\n"
          "\n"
          "Streams every FILE to a Verbatim server at once, each as its own\n"
          "live client sending at the speed of the audio, all from this one\n"
          "process.  Files are decoded to 16 kHz first (any format FFmpeg\n"
          "reads; raw PCM as below).\n"
          "\n"
          "  --url URL          server (default ws://127.0.0.1:8000)\n"
          "  --chunk-ms N       audio per message, 10 to 1000 (default 100)\n"
          "  --stagger S        seconds between the streams' starts (default 0),\n"
          "                     and 1/N of a chunk more, so that the N streams'\n"
          "                     chunks leave at evenly spread moments\n"
          "  --full-speed       send as fast as the server takes the audio, not\n"
          "                     at its pace\n"
          "  --sample-rate N    the files are raw 16-bit mono PCM at N Hz\n"
          "  --timings PREFIX   write stream I's results to PREFIX.I, as\n"
          "                     `verbatim stream --timings` prints them\n"
          "  --no-punctuate     ask for the recogniser's raw words\n"
          "  --timeout S        after a stream's last audio, wait at most S\n"
          "                     seconds for the server to close it (default 120)\n"
          "\n"
          "Prints one JSON line per stream: its file, when its audio began\n"
          "(seconds after the load did; -1: never), its audio seconds and how\n"
          "many were sent, the server's close code (1013: refused under load)\n"
          "and error.  Exits 0\n"
          "when the server closed every stream normally, 1 otherwise.\n",
          to);
}

static void receive(load_stream *s);

/* Takes a finished stream out of the loop. */
static void finish(load_stream *s, int close_code)
{
    s->close_code = close_code;
    s->state = LOAD_DONE;
    wsclient_abort(s->ws);
    s->ws = NULL;
}

static void fail(load_stream *s, const char *why)
{
    if (s->error[0] == '\0')
        snprintf(s->error, sizeof(s->error), "%s", why);
    finish(s, 0);
}

/* A send failed: the server's close, if it sent one, says why. */
static void lost(load_stream *s, const char *why)
{
    receive(s);
    if (s->state != LOAD_DONE)
        fail(s, why);
}

/* Creates its transcription and connects: the stream's clock starts. */
static void begin(load_stream *s, int index, const load_params *lp)
{
    char title[64], url[2048], err[512];
    snprintf(title, sizeof(title), "bench load %d", index);
    long long id = cli_create_transcription("bench load", lp->url, title, NULL);
    if (id <= 0) {
        fail(s, "cannot create a transcription");
        return;
    }
    snprintf(url, sizeof(url), "%s/ws/transcribe/%lld?sample_rate=%d&channels=1"
             "&encoding=linear16%s", lp->url, id, AUDIO_ENGINE_RATE,
             lp->punctuate ? "" : "&punctuate=false");
    if (wsclient_connect(url, &s->ws, err, sizeof(err)) != 0) {
        s->ws = NULL;
        fail(s, err);
        return;
    }
    s->clock = vb_monotonic_s();
    s->state = LOAD_SENDING;
    receive(s); /* a refusal may have come with the handshake's answer */
}

/* Samples in its next piece: a chunk, or what is left. */
static size_t next_piece(const load_stream *s, const load_params *lp)
{
    size_t left = s->pcm.len - s->sent;
    return left < lp->chunk ? left : lp->chunk;
}

/* When its next piece is due: when that piece's last sample is recorded;
 * at full speed, now. */
static double next_due(const load_stream *s, const load_params *lp)
{
    if (lp->full_speed)
        return s->clock;
    return s->clock + (double)(s->sent + next_piece(s, lp)) / AUDIO_ENGINE_RATE;
}

/* Sends every piece that is due (at full speed one, so that the streams
 * take turns and results are read between pieces), then CloseStream after
 * the last. */
static void send_due(load_stream *s, const load_params *lp, double now)
{
    int sent_one = 0;
    while (s->state == LOAD_SENDING && s->sent < s->pcm.len &&
           next_due(s, lp) <= now && !(lp->full_speed && sent_one)) {
        size_t n = next_piece(s, lp);
        if (wsclient_send(s->ws, WS_BINARY, s->pcm.samples + s->sent,
                          n * sizeof(int16_t)) != 0) {
            lost(s, "the connection was lost while sending audio");
            return;
        }
        s->sent += n;
        sent_one = 1;
    }
    if (s->state == LOAD_SENDING && s->sent == s->pcm.len) {
        static const char close_stream[] = "{\"type\": \"CloseStream\"}";
        if (wsclient_send(s->ws, WS_TEXT, close_stream, strlen(close_stream)) != 0) {
            lost(s, "the connection was lost while sending CloseStream");
            return;
        }
        s->state = LOAD_CLOSING;
        s->give_up_at = now + (double)lp->timeout_s;
    }
}

static void on_message(load_stream *s, const char *text)
{
    cJSON *msg = cJSON_Parse(text);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(msg, "payload");
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    if (s->timings != NULL)
        cli_timing_line(s->timings, name, payload, vb_monotonic_s() - s->clock,
                        (double)s->sent / AUDIO_ENGINE_RATE);
    if (strcmp(name, "error") == 0 && s->error[0] == '\0')
        snprintf(s->error, sizeof(s->error), "%s",
                 cJSON_IsString(payload) ? payload->valuestring : text);
    cJSON_Delete(msg);
}

/* Takes every message that has arrived on the stream's socket. */
static void receive(load_stream *s)
{
    for (;;) {
        int op;
        char *data;
        size_t len;
        int r = wsclient_recv(s->ws, 0, &op, &data, &len);
        if (r == 0)
            return;
        if (r < 0) {
            fail(s, "the server dropped the connection without a close");
            return;
        }
        if (op == WS_TEXT)
            on_message(s, data);
        free(data);
        if (op == WS_CLOSE) {
            finish(s, wsclient_close_code(s->ws));
            return;
        }
    }
}

/* Drives every stream, the first starting at t0, until all are done. */
static void run(load_stream *streams, int count, const load_params *lp, double t0)
{
    struct pollfd *fds = calloc((size_t)count, sizeof(*fds));
    int *owner = calloc((size_t)count, sizeof(*owner));
    if (fds == NULL || owner == NULL) {
        for (int i = 0; i < count; i++)
            fail(&streams[i], "out of memory");
        free(fds);
        free(owner);
        return;
    }
    double chunk_s = (double)lp->chunk / AUDIO_ENGINE_RATE;
    for (int i = 0; i < count; i++)
        streams[i].start_at = t0 + i * (lp->stagger_s + chunk_s / count);
    for (;;) {
        double next = -1;
        int watched = 0;
        for (int i = 0; i < count; i++) {
            load_stream *s = &streams[i];
            double at = -1;
            if (s->state == LOAD_WAITING && vb_monotonic_s() >= s->start_at)
                begin(s, i + 1, lp);
            double now = vb_monotonic_s(); /* after begin(), which takes a while */
            if (s->state == LOAD_SENDING)
                send_due(s, lp, now);
            if (s->state == LOAD_CLOSING && now >= s->give_up_at)
                fail(s, "no close from the server before --timeout");
            if (s->state == LOAD_WAITING)
                at = s->start_at;
            else if (s->state == LOAD_SENDING)
                at = next_due(s, lp);
            else if (s->state == LOAD_CLOSING)
                at = s->give_up_at;
            if (at >= 0 && (next < 0 || at < next))
                next = at;
            if (s->state == LOAD_SENDING || s->state == LOAD_CLOSING) {
                fds[watched] = (struct pollfd){wsclient_fd(s->ws), POLLIN, 0};
                owner[watched++] = i;
            }
        }
        if (next < 0)
            break; /* every stream is done */
        double wait_s = next - vb_monotonic_s();
        /* Rounded up, so that it wakes when the piece is due, not before. */
        int wait_ms = wait_s > 0 ? (int)(wait_s * 1000) + 1 : 0;
        if (poll(fds, (nfds_t)watched, wait_ms) > 0)
            for (int k = 0; k < watched; k++)
                if (fds[k].revents != 0)
                    receive(&streams[owner[k]]);
    }
    free(fds);
    free(owner);
}

/* Parses --stagger: seconds, 0 to 60. */
static int parse_seconds(const char *flag, const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= 0 && v <= 60)) {
        fprintf(stderr, "verbatim bench load: %s must be a number of seconds "
                "from 0 to 60, not \"%s\"\n", flag, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* One JSON line per stream (its start counted from t0, when the load
 * began); returns how many did not close normally. */
static int report(const load_stream *streams, int count, double t0)
{
    int failed = 0;
    for (int i = 0; i < count; i++) {
        const load_stream *s = &streams[i];
        cJSON *line = cJSON_CreateObject();
        cJSON_AddNumberToObject(line, "stream", i + 1);
        cJSON_AddStringToObject(line, "file", s->path);
        cJSON_AddNumberToObject(line, "started_s", s->clock > 0
                                ? (double)lround((s->clock - t0) * 1000) / 1000 : -1);
        cJSON_AddNumberToObject(line, "audio_s", (double)s->pcm.len / AUDIO_ENGINE_RATE);
        cJSON_AddNumberToObject(line, "sent_s", (double)s->sent / AUDIO_ENGINE_RATE);
        cJSON_AddNumberToObject(line, "close_code", s->close_code);
        cJSON_AddStringToObject(line, "error", s->error);
        char *text = cJSON_PrintUnformatted(line);
        if (text != NULL)
            puts(text);
        free(text);
        cJSON_Delete(line);
        failed += s->close_code != 1000 || s->error[0] != '\0';
    }
    return failed;
}

int cli_bench_load(int argc, char **argv)
{
    load_params lp = {.url = "ws://127.0.0.1:8000", .timeout_s = 120, .punctuate = 1};
    char url_buf[600];
    long chunk_ms = 100, rate = 0;
    int first = argc;
    for (int i = 0; i < argc; i++) {
        const char *value;
        int m;
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--full-speed") == 0) {
            lp.full_speed = 1;
        } else if (strcmp(argv[i], "--no-punctuate") == 0) {
            lp.punctuate = 0;
        } else if ((m = cli_flag_value(argc, argv, &i, "--url", &value))) {
            if (m < 0)
                return 2;
            lp.url = value;
            if (cli_server_url("bench load", value, url_buf, sizeof(url_buf)) != 0)
                return 2;
            lp.url = url_buf;
        } else if ((m = cli_flag_value(argc, argv, &i, "--timings", &value))) {
            if (m < 0)
                return 2;
            lp.timings_prefix = value;
        } else if ((m = cli_flag_value(argc, argv, &i, "--chunk-ms", &value))) {
            if (m < 0 || cli_int("--chunk-ms", value, 10, 1000, &chunk_ms) != 0)
                return 2;
        } else if ((m = cli_flag_value(argc, argv, &i, "--sample-rate", &value))) {
            if (m < 0 || cli_int("--sample-rate", value, 1, 1000000, &rate) != 0)
                return 2;
        } else if ((m = cli_flag_value(argc, argv, &i, "--timeout", &value))) {
            if (m < 0 || cli_int("--timeout", value, 1, 86400, &lp.timeout_s) != 0)
                return 2;
        } else if ((m = cli_flag_value(argc, argv, &i, "--stagger", &value))) {
            if (m < 0 || parse_seconds("--stagger", value, &lp.stagger_s) != 0)
                return 2;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "verbatim bench load: unknown option \"%s\"\n", argv[i]);
            return 2;
        } else {
            first = i;
            break;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    int count = argc - first;
    lp.chunk = (size_t)(AUDIO_ENGINE_RATE * chunk_ms / 1000);
    load_stream *streams = calloc((size_t)count, sizeof(*streams));
    if (streams == NULL)
        return 1;
    audio_format raw = audio_format_default(), fallback = audio_format_default();
    raw.sample_rate = (int)rate;
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        load_stream *s = &streams[i];
        s->path = argv[first + i];
        if (cli_decode("bench load", s->path, rate ? &raw : NULL, &fallback, &s->pcm) != 0) {
            rc = 1;
        } else if (s->pcm.len == 0) {
            fprintf(stderr, "verbatim bench load: %s holds no audio\n", s->path);
            rc = 1;
        }
        if (rc == 0 && lp.timings_prefix != NULL) {
            char name[4096];
            snprintf(name, sizeof(name), "%s.%d", lp.timings_prefix, i + 1);
            s->timings = fopen(name, "w");
            if (s->timings == NULL) {
                perror(name);
                rc = 1;
            }
        }
    }
    if (rc == 0) {
        double t0 = vb_monotonic_s();
        run(streams, count, &lp, t0);
        rc = report(streams, count, t0) ? 1 : 0;
    }
    for (int i = 0; i < count; i++) {
        if (streams[i].timings != NULL)
            fclose(streams[i].timings);
        pcm_buf_free(&streams[i].pcm);
    }
    free(streams);
    return rc;
}
