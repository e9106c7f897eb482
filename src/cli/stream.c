/*
 * stream.c - `verbatim stream`: send a recording to a server as a live
 * client would, and show the transcript as it arrives.
 *
 * A WAV, WebM or Ogg file, raw PCM described by flags, and stdin are sent
 * as they are, in chunks of --chunk-ms of audio; the server recognises
 * their headers itself.  Other formats (FLAC, MP3, M4A, ...) are decoded
 * here with FFmpeg's libraries and sent as 16 kHz linear16.  With --realtime the chunks
 * are paced at the speed of the audio, as a microphone would send them.
 * Between chunks, and after a final CloseStream until the server closes,
 * the messages that arrived are printed: on a terminal the interim text is
 * redrawn in place and each final line stays; elsewhere only final lines
 * are printed; --json prints every message as it came.
 *
 * What `verbatim bench load` (load.c) shares with it is here too: creating
 * the transcription, and the --timings lines.
 */
#include <ctype.h>
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../net/client.h"
#include "../util/vb.h"
#include "../net/wsclient.h"
#include "cli.h"

typedef struct {
    int json, tty, interim_shown, finals;
    int timings;       /* --timings: one line per result, for benchmarks */
    double started;    /* when the first audio was sent */
    double sent_s;     /* seconds of audio sent so far */
    int failed;
    char error[512];
} view;

static void usage(FILE *to)
{
    fputs("usage: verbatim stream [options] FILE|-\n"
          "\n"
          "Streams a recording to a Verbatim server and prints the transcript.\n"
          "WAV, WebM and Ogg/Opus go as they are; FLAC, MP3, M4A and other\n"
          "formats FFmpeg reads are decoded here first; raw PCM (and stdin)\n"
          "is 16 kHz, 16-bit, mono unless told otherwise.\n"
          "\n"
          "  --url URL          server (default ws://127.0.0.1:8000)\n"
          "  --key KEY          API key, for a server with --auth required\n"
          "                     (default $VERBATIM_API_KEY)\n"
          "  --id N             transcribe into transcription N\n"
          "  --title T          create a transcription titled T (default: the\n"
          "                     file's name)\n"
          "  --realtime         send at the speed of the audio\n"
          "  --chunk-ms N       audio per message (default 100)\n"
          "  --sample-rate N, --channels N, --encoding E\n"
          "                     describe raw PCM (ignored for WAV)\n"
          "  --no-punctuate     ask for the recogniser's raw words\n"
          "  --keywords WORD[:BOOST]  a word the recogniser should hear\n"
          "                     (repeatable; see the server's keywords)\n"
          "  --engine NAME      ask for one of the server's engines by name\n"
          "                     (see its /api/health: engine, engine_fallback)\n"
          "  --json             print every server message as received\n"
          "  --timings          print \"T arrival sent final start end\n"
          "                     speech_final\" per result and \"E arrival\n"
          "                     end\" per utterance end (seconds; for\n"
          "                     benchmarks)\n"
          "  --timeout S        give up waiting for the last results after S\n"
          "                     seconds (default 120)\n"
          "\n"
          "Exits 0 when the server closed the stream normally, 1 otherwise.\n",
          to);
}


static void clear_interim(view *v)
{
    if (v->tty && v->interim_shown) {
        fputs("\r\033[K", stdout);
        v->interim_shown = 0;
    }
}

/* A timings line for a result (T) or an utterance's end (E); see cli.h. */
int cli_timing_line(FILE *out, const char *type, const cJSON *payload,
                    double arrival_s, double sent_s)
{
    if (!cJSON_IsObject(payload))
        return 0;
    if (strcmp(type, "transcript_segment") == 0) {
        fprintf(out, "T %.3f %.3f %d %.3f %.3f %d\n", arrival_s, sent_s,
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "is_final")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "start")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "end")),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "speech_final")));
        return 1;
    }
    if (strcmp(type, "event") == 0) { /* where the server heard the utterance end */
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(payload, "type");
        const cJSON *end = cJSON_GetObjectItemCaseSensitive(payload, "end");
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, "utterance_end") == 0 &&
            cJSON_IsNumber(end))
            fprintf(out, "E %.3f %.3f\n", arrival_s, end->valuedouble);
        return 1;
    }
    return 0;
}

static void show(view *v, const char *text)
{
    if (v->json) {
        puts(text);
        fflush(stdout);
        return;
    }
    cJSON *msg = cJSON_Parse(text);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(msg, "payload");
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    if (v->timings && cli_timing_line(stdout, name, payload,
                                      vb_monotonic_s() - v->started, v->sent_s)) {
        /* printed */
    } else if (strcmp(name, "transcript_segment") == 0 && cJSON_IsObject(payload)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(payload, "text");
        const cJSON *fin = cJSON_GetObjectItemCaseSensitive(payload, "is_final");
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(payload, "start");
        const cJSON *end = cJSON_GetObjectItemCaseSensitive(payload, "end");
        const char *words = cJSON_IsString(t) ? t->valuestring : "";
        if (cJSON_IsTrue(fin)) {
            clear_interim(v);
            printf("[%8.2f - %8.2f] %s\n", cJSON_GetNumberValue(start),
                   cJSON_GetNumberValue(end), words);
            v->finals++;
        } else if (v->tty) {
            printf("\r\033[K\033[2m%.*s\033[0m", 200, words);
            v->interim_shown = 1;
        }
    } else if (strcmp(name, "error") == 0) {
        clear_interim(v);
        snprintf(v->error, sizeof(v->error), "%s",
                 cJSON_IsString(payload) ? payload->valuestring : text);
        fprintf(stderr, "server error: %s\n", v->error);
        v->failed = 1;
    } else if (strcmp(name, "status") == 0 && v->tty) {
        clear_interim(v);
        fprintf(stderr, "%s\n", cJSON_IsString(payload) ? payload->valuestring
                                                        : "");
    }
    fflush(stdout);
    cJSON_Delete(msg);
}

/* Prints what arrives within timeout_ms; returns -1 once the socket closed. */
static int pump(wsclient *ws, view *v, int timeout_ms, int *close_code)
{
    double deadline = vb_monotonic_s() + timeout_ms / 1000.0;
    for (;;) {
        int left = (int)((deadline - vb_monotonic_s()) * 1000);
        int op;
        char *data;
        size_t len;
        int r = wsclient_recv(ws, left > 0 ? left : 0, &op, &data, &len);
        if (r < 0) {
            *close_code = wsclient_close_code(ws);
            return -1;
        }
        if (r == 0)
            return 0;
        if (op == WS_CLOSE) {
            if (v->json)
                printf("{\"type\": \"close\", \"code\": %d}\n",
                       wsclient_close_code(ws));
            *close_code = wsclient_close_code(ws);
            free(data);
            return -1;
        }
        if (op == WS_TEXT)
            show(v, data);
        free(data);
    }
}

/* A transcription created over REST for a live stream; see cli.h. */
long long cli_create_transcription(const char *command, const char *ws_url,
                                   const char *title, const char *auth)
{
    char host[256], port[16], path[1024], url[600];
    if (net_split_url(ws_url, "ws", host, sizeof(host), port, sizeof(port),
                      path, sizeof(path)) != 0) {
        fprintf(stderr, "verbatim %s: bad --url %s\n", command, ws_url);
        return -1;
    }
    snprintf(url, sizeof(url), "http://%s:%s/api/transcriptions/", host, port);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "title", title);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    http_result res;
    char err[512];
    int rc = http_fetch(url, "POST", "application/json", auth, text, strlen(text),
                        &res, err, sizeof(err));
    free(text);
    if (rc != 0) {
        fprintf(stderr, "verbatim %s: %s\n", command, err);
        return -1;
    }
    cJSON *t = cJSON_Parse(res.body);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
    long long result = res.status == 200 && cJSON_IsNumber(id)
                           ? (long long)id->valuedouble : -1;
    if (result < 0)
        fprintf(stderr, "verbatim %s: cannot create a transcription "
                "(HTTP %d): %s\n", command, res.status, res.body);
    cJSON_Delete(t);
    http_result_free(&res);
    return result;
}

/* Bytes of audio per second: from a WAV header, else the declared format. */
static double byte_rate(const unsigned char *head, size_t n, long rate,
                        long channels, const char *encoding)
{
    if (n >= 32 && memcmp(head, "RIFF", 4) == 0 && memcmp(head + 8, "WAVE", 4) == 0) {
        uint32_t r = (uint32_t)head[28] | (uint32_t)head[29] << 8 |
                     (uint32_t)head[30] << 16 | (uint32_t)head[31] << 24;
        if (r > 0)
            return r;
    }
    int width = strcmp(encoding, "linear32") == 0 ? 4
              : strcmp(encoding, "mulaw") == 0    ? 1 : 2;
    return (double)rate * (double)channels * width;
}

static int starts_as_stream(const unsigned char *h, size_t n)
{
    static const unsigned char ebml[4] = {0x1A, 0x45, 0xDF, 0xA3};
    return n >= 4 && (memcmp(h, ebml, 4) == 0 || memcmp(h, "OggS", 4) == 0 ||
                      (n >= 12 && memcmp(h, "RIFF", 4) == 0 &&
                       memcmp(h + 8, "WAVE", 4) == 0));
}

/* Whether the server reads this WebM or Ogg file itself (Opus: yes;
 * Vorbis, FLAC: no), by decoding it here as the server would; *bps gets
 * its average byte rate, for pacing. */
static int server_reads(FILE *in, double *bps)
{
    audio_format fmt = audio_format_default();
    audio_input_t *input;
    if (audio_input_create(&fmt, &input) != 0)
        return 0;
    unsigned char buf[16384];
    pcm_buf pcm = {0};
    char err[256];
    size_t n, total = 0;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
        rc = audio_input_feed(input, buf, n, &pcm, err, sizeof(err));
        total += n;
    }
    if (rc == 0)
        audio_input_finish(input, &pcm, err, sizeof(err));
    audio_input_destroy(input);
    rewind(in);
    if (pcm.len > 0)
        *bps = (double)total * AUDIO_ENGINE_RATE / (double)pcm.len;
    pcm_buf_free(&pcm);
    return rc != VB_EUNSUPPORTED;
}

/* Opens what is to be sent: stdin, raw PCM and the files the server
 * reads as they are; any other file decoded into *decoded, read from
 * memory. */
static FILE *open_input(const char *path, int raw, double *bps,
                        pcm_buf *decoded)
{
    if (strcmp(path, "-") == 0)
        return stdin;
    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        perror(path);
        return NULL;
    }
    if (fseek(in, 0, SEEK_END) != 0 || fseek(in, 0, SEEK_SET) != 0)
        return in; /* a pipe: sent as it comes, like stdin */
    unsigned char head[12];
    size_t n = fread(head, 1, sizeof(head), in);
    rewind(in);
    if (raw || (starts_as_stream(head, n) && memcmp(head, "RIFF", 4) == 0))
        return in;
    if (starts_as_stream(head, n) && server_reads(in, bps))
        return in;
    int rc = cli_decode("stream", path, NULL, NULL, decoded);
    fclose(in);
    if (rc < 0 || decoded->len == 0) {
        pcm_buf_free(decoded);
        return NULL;
    }
    in = fmemopen(decoded->samples, decoded->len * sizeof(int16_t), "rb");
    if (in == NULL)
        pcm_buf_free(decoded);
    return in;
}

int cli_stream(int argc, char **argv)
{
    const char *url = "ws://127.0.0.1:8000", *title = NULL, *path = NULL;
    const char *encoding = "linear16", *value, *engine = NULL;
    const char *key = getenv("VERBATIM_API_KEY");
    long id = -1, chunk_ms = 100, rate = 16000, channels = 1, timeout_s = 120;
    int realtime = 0, punctuate = 1, raw = 0;
    view v = {0};
    char keywords[1024] = ""; /* "&keywords=..." for each, URL-encoded */
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--realtime") == 0) {
            realtime = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            v.json = 1;
        } else if (strcmp(argv[i], "--timings") == 0) {
            v.timings = 1;
        } else if (strcmp(argv[i], "--no-punctuate") == 0) {
            punctuate = 0;
        } else if ((m = cli_flag_value(argc, argv, &i, "--url", &value))) {
            if (m < 0)
                return 2;
            url = value;
        } else if ((m = cli_flag_value(argc, argv, &i, "--key", &value))) {
            if (m < 0)
                return 2;
            key = value;
        } else if ((m = cli_flag_value(argc, argv, &i, "--engine", &value))) {
            if (m < 0)
                return 2;
            if (value[0] == '\0' || strspn(value, "abcdefghijklmnopqrstuvwxyz"
                                            "0123456789-_") != strlen(value)) {
                fprintf(stderr, "verbatim stream: --engine must be an "
                        "engine's name such as pocketsphinx\n");
                return 2;
            }
            engine = value;
        } else if ((m = cli_flag_value(argc, argv, &i, "--keywords", &value))) {
            if (m < 0)
                return 2;
            size_t n = strlen(keywords);
            n += (size_t)snprintf(keywords + n, sizeof(keywords) - n, "&keywords=");
            for (const unsigned char *c = (const unsigned char *)value; *c; c++)
                n += (size_t)(isalnum(*c) || *c == '-' || *c == '.'
                                  ? snprintf(keywords + n, sizeof(keywords) - n, "%c", *c)
                                  : snprintf(keywords + n, sizeof(keywords) - n, "%%%02X", *c));
            if (n >= sizeof(keywords)) {
                fprintf(stderr, "verbatim stream: too many --keywords\n");
                return 2;
            }
        } else if ((m = cli_flag_value(argc, argv, &i, "--title", &value))) {
            if (m < 0)
                return 2;
            title = value;
        } else if ((m = cli_flag_value(argc, argv, &i, "--encoding", &value))) {
            if (m < 0)
                return 2;
            encoding = value;
            raw = 1;
        } else if ((m = cli_flag_value(argc, argv, &i, "--id", &value))) {
            if (m < 0 || cli_int("--id", value, 1, 1L << 62, &id) != 0)
                return 2;
        } else if ((m = cli_flag_value(argc, argv, &i, "--chunk-ms", &value))) {
            if (m < 0 || cli_int("--chunk-ms", value, 1, 10000, &chunk_ms) != 0)
                return 2;
        } else if ((m = cli_flag_value(argc, argv, &i, "--sample-rate", &value))) {
            if (m < 0 || cli_int("--sample-rate", value, 1, 1000000, &rate) != 0)
                return 2;
            raw = 1;
        } else if ((m = cli_flag_value(argc, argv, &i, "--channels", &value))) {
            if (m < 0 || cli_int("--channels", value, 1, 64, &channels) != 0)
                return 2;
            raw = 1;
        } else if ((m = cli_flag_value(argc, argv, &i, "--timeout", &value))) {
            if (m < 0 || cli_int("--timeout", value, 1, 86400, &timeout_s) != 0)
                return 2;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "verbatim stream: unknown option \"%s\"\n", argv[i]);
            return 2;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            fprintf(stderr, "verbatim stream: one file at a time\n");
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    if (id > 0 && title != NULL) {
        fprintf(stderr, "verbatim stream: give --id or --title, not both\n");
        return 2;
    }
    double bps = 0;
    pcm_buf decoded = {0};
    char server_url[600];
    if (cli_server_url("stream", url, server_url, sizeof(server_url)) != 0)
        return 2;
    url = server_url;
    FILE *in = open_input(path, raw, &bps, &decoded);
    if (in == NULL)
        return 1;
    if (decoded.samples != NULL) { /* decoded here: send 16 kHz linear16 */
        rate = AUDIO_ENGINE_RATE;
        channels = 1;
        encoding = "linear16";
    }
    v.tty = !v.json && isatty(STDOUT_FILENO);
    char auth[400] = "";
    if (key != NULL && *key != '\0')
        snprintf(auth, sizeof(auth), "Authorization: Token %.300s\r\n", key);
    if (id <= 0) {
        const char *base = strrchr(path, '/');
        id = cli_create_transcription("stream", url, title ? title
                                      : strcmp(path, "-") == 0 ? "stdin"
                                      : base ? base + 1 : path,
                                      auth[0] ? auth : NULL);
        if (id <= 0) {
            if (in != stdin)
                fclose(in);
            pcm_buf_free(&decoded);
            return 1;
        }
    }
    /* Where a person sees it: the web app's page of the transcript. */
    fprintf(stderr, "verbatim stream: transcript %ld, http://%s/t/%ld\n", id,
            url + 5, id);

    char full[2048], err[512];
    snprintf(full, sizeof(full), "%s/ws/transcribe/%ld?sample_rate=%ld"
             "&channels=%ld&encoding=%s%s%s%s%s", url, id, rate, channels,
             encoding, punctuate ? "" : "&punctuate=false",
             engine ? "&engine=" : "", engine ? engine : "", keywords);
    wsclient *ws;
    if (wsclient_connect_with(full, auth, &ws, err, sizeof(err)) != 0) {
        fprintf(stderr, "verbatim stream: %s\n", err);
        if (in != stdin)
            fclose(in);
        pcm_buf_free(&decoded);
        return 1;
    }

    unsigned char first[64];
    size_t first_len = fread(first, 1, sizeof(first), in);
    if (bps <= 0)
        bps = byte_rate(first, first_len, rate, channels, encoding);
    size_t chunk = (size_t)(bps * (double)chunk_ms / 1000.0);
    if (chunk < 1)
        chunk = 1;
    unsigned char *buf = malloc(chunk + sizeof(first));
    int close_code = 0, closed = 0;
    double start = vb_monotonic_s(), sent_s = 0;
    v.started = start;
    size_t have = first_len;
    if (buf != NULL)
        memcpy(buf, first, first_len);
    while (buf != NULL && !closed) {
        if (have < chunk)
            have += fread(buf + have, 1, chunk - have, in);
        if (have == 0)
            break;
        /* In real time a chunk leaves when its last sample would have
         * been recorded, as from a microphone. */
        double due = start + sent_s + (double)have / bps;
        while (realtime && !closed && vb_monotonic_s() < due)
            if (pump(ws, &v, (int)((due - vb_monotonic_s()) * 1000) + 1, &close_code) < 0)
                closed = 1;
        if (closed || wsclient_send(ws, WS_BINARY, buf, have) != 0) {
            closed = 1;
            break;
        }
        sent_s += (double)have / bps;
        v.sent_s = sent_s;
        have = 0;
        if (pump(ws, &v, 0, &close_code) < 0)
            closed = 1;
    }
    free(buf);
    if (in != stdin)
        fclose(in);
    pcm_buf_free(&decoded);
    if (!closed) {
        const char *cs = "{\"type\": \"CloseStream\"}";
        wsclient_send(ws, WS_TEXT, cs, strlen(cs));
        double deadline = vb_monotonic_s() + (double)timeout_s;
        while (!closed && vb_monotonic_s() < deadline)
            if (pump(ws, &v, 1000, &close_code) < 0)
                closed = 1;
    }
    clear_interim(&v);
    if (!closed) {
        fprintf(stderr, "verbatim stream: no close from the server after %ld "
                "seconds\n", timeout_s);
        wsclient_close(ws, 1000);
        return 1;
    }
    wsclient_abort(ws);
    if (close_code != 1000) {
        fprintf(stderr, "verbatim stream: the server closed the stream with "
                "code %d%s%s\n", close_code, v.error[0] ? ": " : "", v.error);
        return 1;
    }
    return v.failed ? 1 : 0;
}
