/*
 * test_formats.c - every audio format through the real server: streamed
 * to /ws/transcribe/{id} in frames of any size (down to one byte), and
 * uploaded to POST /api/transcriptions/{id}/audio; damaged, unsupported
 * and oversized input with its close code or HTTP status and message.
 *
 * The recordings are one flite sentence in many encodings, made by
 * tests/fixtures/make.sh with the ffmpeg tool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "audio/audio.h"
#include "net/client.h"
#include "store/store.h"
#include "util/vb.h"
#include "testutil.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tu_server srv;
static const char *const key_words[] = {"quick", "brown", "fox", "lazy",
                                        "dog", "river", "bank"};

static int setup(void **state)
{
    /* Two workers, whatever the machine: uploads are split for both. */
    static const char *const flags[] = {"--max-upload-mb", "1", "--workers",
                                        "2", NULL};
    tu_server_start(&srv, flags);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(tu_server_stop(&srv), 0);
    return 0;
}

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

static blob load(const char *name)
{
    blob b;
    b.data = tu_fixture(name, &b.len);
    return b;
}

/* What came back from one stream. */
typedef struct {
    char finals[2048];   /* every final's text, lower case, joined */
    int final_count, close_code;
    char error[300];
} outcome;

static void lower_append(char *dst, size_t cap, const char *text)
{
    size_t n = strlen(dst);
    for (; *text && n + 2 < cap; text++)
        dst[n++] = (char)(*text >= 'A' && *text <= 'Z' ? *text + 32 : *text);
    dst[n++] = ' ';
    dst[n] = '\0';
}

static void read_outcome(wsclient *ws, outcome *out)
{
    memset(out, 0, sizeof(*out));
    tu_msg *msgs;
    int n = tu_ws_collect(ws, 60000, &msgs, &out->close_code);
    for (int i = 0; i < n; i++) {
        cJSON *m = cJSON_Parse(msgs[i].text);
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "type"));
        const cJSON *p = cJSON_GetObjectItem(m, "payload");
        if (strcmp(type, "error") == 0)
            snprintf(out->error, sizeof(out->error), "%s", p->valuestring);
        if (strcmp(type, "transcript_segment") == 0 &&
            cJSON_IsTrue(cJSON_GetObjectItem(p, "is_final"))) {
            lower_append(out->finals, sizeof(out->finals),
                         cJSON_GetStringValue(cJSON_GetObjectItem(p, "text")));
            out->final_count++;
        }
        cJSON_Delete(m);
    }
    tu_msgs_free(msgs, n);
    wsclient_abort(ws);
}

/* Streams a fixture in frames of `step` bytes (random sizes up to 300
 * when 0), then CloseStream. */
static void stream(const char *name, size_t step, const char *query,
                   outcome *out)
{
    blob b = load(name);
    char path[256];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld%s", tu_create(&srv, name),
             query ? query : "");
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    unsigned seed = 7;
    for (size_t pos = 0; pos < b.len;) {
        size_t n = step ? step : 1 + (size_t)(rand_r(&seed) % 300);
        n = n < b.len - pos ? n : b.len - pos;
        if (wsclient_send(ws, WS_BINARY, b.data + pos, n) != 0)
            break; /* the server closed on us: read why */
        pos += n;
    }
    const char *cs = "{\"type\": \"CloseStream\"}";
    wsclient_send(ws, WS_TEXT, cs, strlen(cs));
    read_outcome(ws, out);
    free(b.data);
}

static int count_key_words(const char *text)
{
    int found = 0;
    for (size_t i = 0; i < sizeof(key_words) / sizeof(key_words[0]); i++)
        found += strstr(text, key_words[i]) != NULL;
    return found;
}

static void expect_words(const char *what, const outcome *out)
{
    if (out->close_code != 1000 || count_key_words(out->finals) < 6)
        fail_msg("%s: close %d, error \"%s\", finals \"%s\"", what,
                 out->close_code, out->error, out->finals);
}

static void test_stream_every_format(void **state)
{
    static const char *const files[] = {
        "speech.webm", "speech_live.webm", "speech.ogg", "speech_stereo.ogg",
        "speech_22k.wav", "speech_44k_stereo.wav", "speech_48k_float.wav",
        "speech_48k_s24_stereo.wav"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        outcome out;
        stream(files[i], 4000, NULL, &out);
        expect_words(files[i], &out);
    }
}

/* Telephone-band audio is recognised worse (the model is wideband; see
 * bench/formats.sh for the figures), but it is taken and recognised. */
static void test_stream_narrowband(void **state)
{
    outcome out;
    stream("speech_8k.wav", 1600, NULL, &out);
    assert_int_equal(out.close_code, 1000);
    if (out.final_count != 1 || count_key_words(out.finals) < 2)
        fail_msg("8 kHz: \"%s\"", out.finals);
}

/* MediaRecorder's chunks are cut anywhere: one byte per frame, and
 * random sizes, give the same words. */
static void test_stream_split_anywhere(void **state)
{
    outcome out;
    stream("speech_live.webm", 1, NULL, &out);
    expect_words("WebM in one-byte frames", &out);
    stream("speech.ogg", 1, NULL, &out);
    expect_words("Ogg in one-byte frames", &out);
    stream("speech_live.webm", 0, NULL, &out);
    expect_words("WebM in random frames", &out);
    stream("speech_stereo.ogg", 0, NULL, &out);
    expect_words("Ogg in random frames", &out);
}

/* Damaged streams: an error naming the damage, close 1003, and what was
 * recognised before it is kept. */
static void test_stream_damage(void **state)
{
    outcome out;
    stream("truncated.webm", 1000, NULL, &out);
    assert_int_equal(out.close_code, 1003);
    assert_non_null(strstr(out.error, "WebM stream was cut off"));
    assert_true(strstr(out.finals, "quick") != NULL);

    stream("corrupt.ogg", 1000, NULL, &out);
    assert_int_equal(out.close_code, 1003);
    assert_non_null(strstr(out.error, "checksum does not match"));

    stream("speech_vorbis.ogg", 1000, NULL, &out);
    assert_int_equal(out.close_code, 1003);
    assert_non_null(strstr(out.error, "Vorbis audio; supported in Ogg: Opus"));
    assert_int_equal(out.final_count, 0);

    stream("speech_vorbis.webm", 1000, NULL, &out);
    assert_int_equal(out.close_code, 1003);
    assert_non_null(strstr(out.error, "A_VORBIS"));
}

/* POSTs a body of Content-Type `type`; returns the status, the response
 * in *resp. */
static int post_typed(long long id, const char *query, const char *type,
                      const void *body, size_t len, char **resp, char **headers)
{
    char url[256], err[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/transcriptions/%lld/"
             "audio%s", srv.port, id, query ? query : "");
    http_result res;
    if (http_fetch(url, "POST", type, NULL, body, len, &res, err,
                   sizeof(err)) != 0)
        fail_msg("upload: %s", err);
    *resp = res.body;
    if (headers)
        *headers = res.headers;
    else
        free(res.headers);
    return res.status;
}

static int post_audio(long long id, const char *query, const void *body,
                      size_t len, char **resp, char **headers)
{
    return post_typed(id, query, "application/octet-stream", body, len, resp,
                      headers);
}

static cJSON *field(cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* The stored segments' text, lower case. */
static void stored_text(long long id, char *out, size_t cap, int *count)
{
    char path[128], *resp;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &resp), 200);
    cJSON *segs = cJSON_Parse(resp);
    out[0] = '\0';
    *count = cJSON_GetArraySize(segs);
    cJSON *seg;
    cJSON_ArrayForEach(seg, segs)
        lower_append(out, cap, cJSON_GetStringValue(field(seg, "text")));
    cJSON_Delete(segs);
    free(resp);
}

static void test_upload_every_format(void **state)
{
    static const char *const files[] = {
        "speech.wav", "speech.flac", "speech.mp3", "speech.m4a", "speech.ogg",
        "speech.webm", "speech_vorbis.ogg", "speech_44k_stereo.wav"};
    const size_t n = sizeof(files) / sizeof(files[0]);
    long long id = tu_create(&srv, "uploads");
    double last_offset = -1;
    for (size_t i = 0; i < n; i++) {
        blob b = load(files[i]);
        char *resp;
        int status = post_audio(id, NULL, b.data, b.len, &resp, NULL);
        cJSON *job = cJSON_Parse(resp);
        if (status != 200)
            fail_msg("%s: %d %s", files[i], status, resp);
        assert_string_equal(cJSON_GetStringValue(field(job, "status")), "done");
        assert_true(cJSON_IsNull(field(job, "error")));
        assert_int_equal(cJSON_GetNumberValue(field(job, "segments")), 1);
        double seconds = cJSON_GetNumberValue(field(job, "audio_seconds"));
        assert_true(seconds > 3.6 && seconds < 4.1);
        /* Each upload goes after what is stored. */
        double offset = cJSON_GetNumberValue(field(job, "time_offset"));
        assert_true(offset > last_offset);
        last_offset = offset;
        cJSON_Delete(job);
        free(resp);
        free(b.data);
    }
    char text[4096];
    int count;
    stored_text(id, text, sizeof(text), &count);
    assert_int_equal(count, (int)n);
    /* Every upload's words are there, in order. */
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        const char *hit = strstr(p, "lazy dog");
        if (hit == NULL)
            fail_msg("upload %zu's words are missing: %s", i, text);
        p = hit + 1;
    }
}

/* A recording sent in the chunked transfer coding (as a client streaming
 * a file of unknown length sends it) is transcribed like any other; it
 * used to wait for an end of body that never came. */
static void test_upload_chunked(void **state)
{
    long long id = tu_create(&srv, "chunked upload");
    blob b = load("speech.mp3");
    char head[256], size[3][32];
    snprintf(head, sizeof(head), "POST /api/transcriptions/%lld/audio?wait=60 "
             "HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n", id);
    size_t half = b.len / 2;
    snprintf(size[0], sizeof(size[0]), "%zx\r\n", half);
    snprintf(size[1], sizeof(size[1]), "\r\n%zX\r\n", b.len - half);
    snprintf(size[2], sizeof(size[2]), "\r\n0\r\n\r\n");
    const tu_piece pieces[] = {{head, 0}, {size[0], 0}, {b.data, half},
                               {size[1], 0}, {b.data + half, b.len - half},
                               {size[2], 0}};
    char *reply;
    assert_int_equal(tu_raw_http(&srv, pieces, 6, &reply), 1);
    if (strstr(reply, "HTTP/1.1 200") == NULL || strstr(reply, "\"done\"") == NULL)
        fail_msg("chunked upload: %s", reply);
    free(reply);
    free(b.data);
    char text[1024];
    int count;
    stored_text(id, text, sizeof(text), &count);
    assert_int_equal(count, 1);
    assert_non_null(strstr(text, "lazy dog"));
}

/* An upload that outlasts `wait` is answered 202 when the wait is over
 * (at once with wait=0), and its job can be polled until it is done. */
static void test_upload_poll(void **state)
{
    long long id = tu_create(&srv, "poll");
    blob b = load("long.mp3");
    char *resp, *headers;
    double t0 = now_s();
    int status = post_audio(id, "?wait=1", b.data, b.len, &resp, &headers);
    double waited = now_s() - t0;
    assert_int_equal(status, 202);
    assert_true(waited >= 0.9 && waited < 5);
    cJSON *job = cJSON_Parse(resp);
    assert_string_equal(cJSON_GetStringValue(field(job, "status")), "running");
    const char *url = cJSON_GetStringValue(field(job, "url"));
    assert_non_null(strstr(headers, url));
    char poll[128];
    snprintf(poll, sizeof(poll), "%s", url);
    cJSON_Delete(job);
    free(resp);
    free(headers);
    const char *final_status = "running";
    cJSON *polled = NULL;
    double last_progress = 0;
    int partial = 0; /* polls that saw it part done */
    for (int i = 0; i < 600 && strcmp(final_status, "running") == 0; i++) {
        usleep(100000);
        cJSON_Delete(polled);
        assert_int_equal(tu_http(&srv, "GET", poll, NULL, &resp), 200);
        polled = cJSON_Parse(resp);
        free(resp);
        final_status = cJSON_GetStringValue(field(polled, "status"));
        double progress = cJSON_GetNumberValue(field(polled, "progress"));
        assert_true(progress >= last_progress && progress <= 1);
        partial += progress > 0 && progress < 1;
        last_progress = progress;
    }
    assert_true(partial >= 2); /* it moved while we watched */
    assert_string_equal(final_status, "done");
    assert_true(cJSON_GetNumberValue(field(polled, "progress")) == 1);
    assert_true(cJSON_GetNumberValue(field(polled, "segments")) >= 7);
    assert_true(cJSON_GetNumberValue(field(polled, "audio_seconds")) > 29);
    cJSON_Delete(polled);
    free(b.data);
    /* wait=0: 202 at once. */
    b = load("speech.mp3");
    assert_int_equal(post_audio(id, "?wait=0", b.data, b.len, &resp, NULL), 202);
    free(resp);
    /* The list of the transcription's uploads has it. */
    snprintf(poll, sizeof(poll), "/api/transcriptions/%lld/audio", id);
    assert_int_equal(tu_http(&srv, "GET", poll, NULL, &resp), 200);
    cJSON *list = cJSON_Parse(resp);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON_Delete(list);
    free(resp);
    free(b.data);
}

/* POSTs a body that must fail with status `want` and a "detail" message
 * containing `part`. */
static void expect_typed_refusal(long long id, const char *query,
                                 const char *type, const void *body, size_t len,
                                 int want, const char *part)
{
    char *resp;
    int status = post_typed(id, query, type, body, len, &resp, NULL);
    if (status != want || strstr(resp, part) == NULL)
        fail_msg("got %d %s; want %d with \"%s\"", status, resp, want, part);
    cJSON *o = cJSON_Parse(resp);
    assert_non_null(cJSON_GetStringValue(field(o, "detail")));
    cJSON_Delete(o);
    free(resp);
}

static void expect_refusal(long long id, const char *query, const void *body,
                           size_t len, int want, const char *part)
{
    expect_typed_refusal(id, query, "application/octet-stream", body, len,
                         want, part);
}

/* Runs a shell command; its output (at most cap - 1 bytes) in out. */
static int run_command(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    return pclose(p);
}

/*
 * A form, as curl -F, an HTML form and Python's requests send a file:
 * its file part is the recording and its other fields are options, so it
 * gives the words a raw upload of the same file gives (it was read as a
 * damaged MP3).  Damaged and incomplete forms are refused with a reason.
 */
static void test_upload_form(void **state)
{
    long long raw_id = tu_create(&srv, "raw upload");
    blob b = load("speech.mp3");
    char *resp;
    assert_int_equal(post_audio(raw_id, "?wait=60&punctuate=false", b.data,
                                b.len, &resp, NULL), 200);
    free(resp);
    char raw[1024], formed[1024], cmd[1024], out[4096];
    int count;
    stored_text(raw_id, raw, sizeof(raw), &count);
    assert_int_equal(count, 1);

    long long id = tu_create(&srv, "form upload");
    const char *dir = getenv("VB_FIXTURES");
    snprintf(cmd, sizeof(cmd),
             "curl -sS -F punctuate=false -F 'file=@%s/speech.mp3' "
             "-F note=ignored 'http://127.0.0.1:%d/api/transcriptions/%lld/"
             "audio?wait=60'", dir ? dir : "build/fixtures", srv.port, id);
    assert_int_equal(run_command(cmd, out, sizeof(out)), 0);
    cJSON *job = cJSON_Parse(out);
    if (job == NULL || strcmp(cJSON_GetStringValue(field(job, "status")), "done"))
        fail_msg("curl -F: %s", out);
    cJSON_Delete(job);
    stored_text(id, formed, sizeof(formed), &count);
    assert_int_equal(count, 1);
    assert_string_equal(formed, raw); /* punctuate=false came as a field */
    assert_non_null(strstr(formed, "lazy dog"));
    /* An upload's audio is kept as a session's is. */
    char audio[96], *ogg;
    snprintf(audio, sizeof(audio), "/api/transcriptions/%lld/audio.ogg", id);
    assert_int_equal(tu_http(&srv, "GET", audio, NULL, &ogg), 200);
    assert_memory_equal(ogg, "OggS", 4);
    free(ogg);

    /* A hand-made form: LF line breaks, a quoted boundary, the file field
     * after a field, the boundary's text inside the file's bytes. */
    static const char head[] =
        "preamble\n--b0und\nContent-Disposition: form-data; name=\"wait\"\n\n"
        "60\n--b0und\nContent-Disposition: form-data; name=\"audio\"; "
        "filename=\"talk.mp3\"\nContent-Type: audio/mpeg\n\n";
    static const char tail[] = "\n--b0und--\n";
    size_t len = strlen(head) + b.len + strlen(tail);
    char *body = malloc(len);
    memcpy(body, head, strlen(head));
    memcpy(body + strlen(head), b.data, b.len);
    memcpy(body + strlen(head) + b.len, tail, strlen(tail));
    long long id2 = tu_create(&srv, "hand-made form");
    assert_int_equal(post_typed(id2, "?punctuate=false",
                                "Multipart/Form-Data; boundary=\"b0und\"", body,
                                len, &resp, NULL), 200);
    free(resp);
    stored_text(id2, formed, sizeof(formed), &count);
    assert_string_equal(formed, raw);

    /* What is wrong with a form is said. */
    static const char *const type = "multipart/form-data; boundary=b0und";
    expect_typed_refusal(id, NULL, "multipart/form-data", body, len, 400,
                         "needs its boundary parameter");
    expect_typed_refusal(id, NULL, "multipart/form-data; boundary=other", body,
                         len, 422, "does not occur in the body");
    expect_typed_refusal(id, NULL, type, body, len - strlen(tail) + 3, 422,
                         "closing boundary is missing");
    static const char no_file[] = "--b0und\r\nContent-Disposition: form-data; "
                                  "name=\"punctuate\"\r\n\r\nfalse\r\n--b0und--\r\n";
    expect_typed_refusal(id, NULL, type, no_file, strlen(no_file), 422,
                         "the form has no file");
    static const char empty_file[] =
        "--b0und\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.wav\""
        "\r\n\r\n\r\n--b0und--\r\n";
    expect_typed_refusal(id, NULL, type, empty_file, strlen(empty_file), 422,
                         "the form's file \\\"x.wav\\\" is empty");
    static const char bad_field[] =
        "--b0und\r\nContent-Disposition: form-data; name=\"channels\"\r\n\r\n"
        "two\r\n--b0und\r\nContent-Disposition: form-data; name=\"f\"; "
        "filename=\"x.wav\"\r\n\r\nRIFF\r\n--b0und--\r\n";
    expect_typed_refusal(id, NULL, type, bad_field, strlen(bad_field), 422,
                         "channels must be a whole number from 1 to 8");
    free(body);
    free(b.data);
    /* Nothing of the refused forms was stored. */
    stored_text(id, formed, sizeof(formed), &count);
    assert_int_equal(count, 1);
}

static void test_upload_errors(void **state)
{
    long long id = tu_create(&srv, "bad uploads");
    char *resp;
    static const char text[] = "this is not a recording, just some words";
    expect_refusal(id, NULL, text, sizeof(text),
                  415, "format was not recognised");
    expect_refusal(424242, NULL, "x", 1, 404,
                  "Not Found");
    expect_refusal(id, NULL, NULL, 0, 422,
                  "empty");
    expect_refusal(id, "?sample_rate=96000", text, sizeof(text), 422,
                   "from 8000 to 48000, not \\\"96000"); /* in JSON */
    expect_refusal(id, "?sample_rate=4294983296", text, sizeof(text), 422,
                   "not \\\"4294983296");
    expect_refusal(id, "?channels=two", text, sizeof(text), 422,
                   "channels must be a whole number from 1 to 8");
    expect_refusal(id, "?min_speakers=3&max_speakers=2", text, sizeof(text), 422,
                   "min_speakers (3) is more than max_speakers (2)");
    expect_refusal(id, "?encoding=opus", text, sizeof(text), 422, "unknown encoding");
    expect_refusal(id, "?keywords=Zentrix:eleven", text, sizeof(text), 422,
                   "the boost of keyword \\\"Zentrix:eleven\\\" must be a number");
    expect_refusal(id, "?wait=soon", text, sizeof(text), 422, "wait must be");
    size_t big_len = (1u << 20) + 1; /* the server allows 1 MiB */
    uint8_t *big = calloc(big_len, 1);
    expect_refusal(id, NULL, big, big_len, 413,
                  "over the limit");
    free(big);
    /* Raw PCM when declared: silence transcribes to nothing, and is done. */
    uint8_t silence[32000] = {0};
    assert_int_equal(post_audio(id, "?encoding=linear16&sample_rate=16000",
                                silence, sizeof(silence), &resp, NULL), 200);
    free(resp);
    /* Damage: 422 naming it; the words before it are stored. */
    blob b = load("truncated.webm");
    expect_refusal(id, NULL, b.data, b.len, 422,
                  "cut off");
    free(b.data);
    char stored[1024];
    int count;
    stored_text(id, stored, sizeof(stored), &count);
    assert_int_equal(count, 1);
    assert_non_null(strstr(stored, "quick"));
    char path[128];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/audio/999", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &resp), 404);
    free(resp);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/audio", id);
    assert_int_equal(tu_http(&srv, "DELETE", path, NULL, &resp), 405);
    free(resp);
}

/* The server's anonymous resident memory (heap, not file pages), KiB. */
static long rss_anon_kib(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kib = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "RssAnon: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Sends a POST's headers declaring length bytes, and nothing more. */
static void post_headers(int fd, const tu_server *server, const char *path,
                         long long length)
{
    char head[400];
    int n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d"
                     "\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: %lld\r\n\r\n", path, server->port, length);
    assert_int_equal(send(fd, head, (size_t)n, 0), n);
}

/* An upload of 100 MB, headers only: the answer comes anyway, with status
 * and words. */
static void refused_on_headers(const tu_server *server, const char *query,
                               const char *status, const char *words)
{
    char path[128], reply[2048] = "";
    snprintf(path, sizeof(path), "/api/transcriptions/1/audio%s", query);
    int fd = tu_connect(server, 0);
    post_headers(fd, server, path, 100LL << 20);
    size_t got = 0;
    ssize_t n;
    while (strstr(reply, words) == NULL && got < sizeof(reply) - 1 &&
           (n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0)) > 0)
        got += (size_t)n; /* the headers and the body may come apart */
    close(fd);
    assert_non_null(strstr(reply, status));
    assert_non_null(strstr(reply, words));
}

/* An upload larger than 1 MiB goes to a temporary file, not memory, and
 * still transcribes; a refusal (503 at --max-sessions, 422 for its query)
 * comes on the headers, before the body is sent. */
static void test_upload_spooled_and_admitted_early(void **state)
{
    tu_server big;
    static const char *const flags[] = {"--max-sessions", "1", NULL};
    tu_server_start(&big, flags);
    assert_int_equal(tu_create(&big, "big"), 1);
    char *resp;

    /* 40 s of audio: a 1.28 MB WAV. */
    size_t n;
    int16_t *pcm = tu_padded_speech("The quick brown fox jumps over the lazy dog.",
                                    500, 36000, &n);
    size_t bytes = n * 2;
    uint8_t *wav = malloc(44 + bytes);
    memcpy(wav, "RIFF", 4);
    uint32_t v = (uint32_t)(36 + bytes);
    memcpy(wav + 4, &v, 4);
    memcpy(wav + 8, "WAVEfmt ", 8);
    uint8_t fmt[20] = {16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0,
                       2, 0, 16, 0};
    memcpy(wav + 16, fmt, 20);
    memcpy(wav + 36, "data", 4);
    v = (uint32_t)bytes;
    memcpy(wav + 40, &v, 4);
    memcpy(wav + 44, pcm, bytes);
    free(pcm);
    char url[160], err[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/transcriptions/1/audio"
             "?wait=120", big.port);
    http_result res;
    assert_int_equal(http_fetch(url, "POST", "audio/wav", NULL, wav, 44 + bytes,
                                &res, err, sizeof(err)), 0);
    free(wav);
    assert_int_equal(res.status, 200);
    free(res.body);
    free(res.headers);
    assert_int_equal(tu_http(&big, "GET", "/api/transcriptions/1/segments/",
                             NULL, &resp), 200);
    assert_non_null(strstr(resp, "quick"));
    free(resp);

    /* 48 MB that is no recording: the server's heap does not grow with it. */
    long before = rss_anon_kib(big.pid), peak = before;
    int fd = tu_connect(&big, 0);
    long long total = 48LL << 20;
    post_headers(fd, &big, "/api/transcriptions/1/audio", total);
    char *chunk = malloc(1 << 20);
    memset(chunk, 'x', 1 << 20);
    for (long long sent = 0; sent < total; sent += 1 << 20) {
        assert_int_equal(send(fd, chunk, 1 << 20, 0), 1 << 20);
        long now = rss_anon_kib(big.pid);
        peak = now > peak ? now : peak;
    }
    free(chunk);
    char reply[2048] = "";
    assert_true(recv(fd, reply, sizeof(reply) - 1, 0) > 0);
    close(fd);
    assert_non_null(strstr(reply, "HTTP/1.1 415"));
    if (peak - before > 24 * 1024)
        fail_msg("the heap grew by %ld KiB while 48 MiB came in", peak - before);

    /* The only session slot taken: refused before the body. */
    wsclient *live = tu_ws(&big, "/ws/transcribe/1");
    assert_non_null(live);
    refused_on_headers(&big, "", "HTTP/1.1 503", "limit of 1 live sessions");
    wsclient_close(live, 1000);
    refused_on_headers(&big, "?channels=two", "HTTP/1.1 422", "channels");
    assert_int_equal(tu_server_stop(&big), 0);
}

/* GETs path and returns the job's JSON (status 200 or the test fails). */
static cJSON *get_job(const char *path)
{
    char *resp = NULL;
    int status = tu_http(&srv, "GET", path, NULL, &resp);
    if (status != 200)
        fail_msg("GET %s: %d %s", path, status, resp);
    cJSON *job = cJSON_Parse(resp);
    free(resp);
    return job;
}

/* Upload jobs are rows in the store: a finished job reads the same after
 * a restart, and one whose server stopped saving it while it ran (a
 * crash) reads as failed, not as running for ever. */
static void test_upload_jobs_outlive_the_server(void **state)
{
    long long id = tu_create(&srv, "restart");
    blob b = load("speech.wav");
    char *resp;
    assert_int_equal(post_audio(id, "?wait=60", b.data, b.len, &resp, NULL), 200);
    cJSON *before = cJSON_Parse(resp);
    free(resp);
    free(b.data);
    char url[128];
    snprintf(url, sizeof(url), "%s", cJSON_GetStringValue(field(before, "url")));

    /* Two workers, whatever the machine: uploads are split for both. */
    static const char *const flags[] = {"--max-upload-mb", "1", "--workers",
                                        "2", NULL};
    tu_server_restart(&srv, flags);
    cJSON *after = get_job(url);
    static const char *const same[] = {"id", "status", "progress", "segments",
                                       "audio_seconds", "format", "created_at"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        assert_true(cJSON_Compare(field(before, same[i]), field(after, same[i]), 1));
    assert_string_equal(cJSON_GetStringValue(field(after, "status")), "done");
    assert_true(cJSON_GetNumberValue(field(after, "segments")) >= 1);
    cJSON_Delete(before);
    cJSON_Delete(after);

    /* Rows as a server that stopped mid-job, and one that is alive, left
     * them (written beside the running server, as another instance
     * would). */
    char err[200];
    store_t *store = NULL;
    assert_int_equal(store_open(srv.db, &store, err, sizeof(err)), 0);
    store_upload dead = {.transcription_id = id, .status = "running",
                         .progress = 0.4, .segments = 2,
                         .updated_at = (double)time(NULL) - 120};
    store_upload alive = dead;
    alive.updated_at = (double)time(NULL);
    assert_int_equal(store_upload_create(store, &dead), 0);
    assert_int_equal(store_upload_create(store, &alive), 0);
    store_upload orphan = alive;
    orphan.transcription_id = 999999;
    assert_int_equal(store_upload_create(store, &orphan), VB_ENOTFOUND);
    store_close(store);

    snprintf(url, sizeof(url), "/api/transcriptions/%lld/audio/%lld", id,
             (long long)dead.id);
    cJSON *job = get_job(url);
    assert_string_equal(cJSON_GetStringValue(field(job, "status")), "failed");
    assert_non_null(strstr(cJSON_GetStringValue(field(job, "error")),
                           "stopped before it finished"));
    assert_true(cJSON_GetNumberValue(field(job, "segments")) == 2);
    cJSON_Delete(job);
    snprintf(url, sizeof(url), "/api/transcriptions/%lld/audio/%lld", id,
             (long long)alive.id);
    job = get_job(url);
    assert_string_equal(cJSON_GetStringValue(field(job, "status")), "running");
    assert_true(cJSON_IsNull(field(job, "error")));
    cJSON_Delete(job);

    /* Deleting the transcription takes its jobs with it. */
    snprintf(url, sizeof(url), "/api/transcriptions/%lld/", id);
    assert_int_equal(tu_http(&srv, "DELETE", url, NULL, &resp), 204);
    free(resp);
    snprintf(url, sizeof(url), "/api/transcriptions/%lld/audio/%lld", id,
             (long long)alive.id);
    assert_int_equal(tu_http(&srv, "GET", url, NULL, &resp), 404);
    free(resp);
}


/* The server's count of upload parts (verbatim_upload_parts_total). */
static double upload_parts(void)
{
    char *resp;
    assert_int_equal(tu_http(&srv, "GET", "/metrics", NULL, &resp), 200);
    const char *at = strstr(resp, "\nverbatim_upload_parts_total ");
    assert_non_null(at);
    double parts = strtod(at + strlen("\nverbatim_upload_parts_total "), NULL);
    free(resp);
    return parts;
}

static pcm_buf decode_all(const uint8_t *data, size_t len)
{
    audio_file_t *f;
    char err[200];
    if (audio_file_open(data, len, NULL, &f, err, sizeof(err)) != 0)
        fail_msg("does not open: %s", err);
    pcm_buf pcm = {0};
    while (audio_file_read(f, &pcm, 16000, err, sizeof(err)) == 0)
        ;
    audio_file_close(f);
    return pcm;
}

static double level(const pcm_buf *pcm, size_t from, size_t n)
{
    double sum = 0;
    for (size_t i = from; i < from + n && i < pcm->len; i++)
        sum += (double)pcm->samples[i] * pcm->samples[i];
    return sqrt(sum / (double)n);
}

/* The stored segments of id: their count, in order on the timeline and by
 * id, each one's words checked (but the last's with `cut_short`: damage
 * ended it); returns where the last ends. */
static double segments_in_order(long long id, int *count, int cut_short)
{
    char path[128], *resp;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &resp), 200);
    cJSON *segs = cJSON_Parse(resp), *seg;
    double end = 0, last_id = 0;
    int n = cJSON_GetArraySize(segs);
    *count = 0;
    cJSON_ArrayForEach(seg, segs) {
        double start = cJSON_GetNumberValue(field(seg, "start_time"));
        double id_now = cJSON_GetNumberValue(field(seg, "id"));
        const char *text = cJSON_GetStringValue(field(seg, "text"));
        char lower[512] = "";
        lower_append(lower, sizeof(lower), text);
        int whole = !cut_short || *count < n - 1;
        if (start < end - 0.01 || id_now <= last_id ||
            (whole && count_key_words(lower) < 5))
            fail_msg("segment %d (id %.0f, from %.2f s, after one ending at "
                     "%.2f s): \"%s\"", *count, id_now, start, end, text);
        end = cJSON_GetNumberValue(field(seg, "end_time"));
        last_id = id_now;
        ++*count;
    }
    cJSON_Delete(segs);
    free(resp);
    return end;
}

/* Uploads fixture `name` into a new transcription (its id returned),
 * expecting `status` with `says` in the answer, decoded in two parts.
 * *b gets the fixture's bytes (the caller frees them). */
static long long upload_in_two(const char *name, const char *query, int status,
                               const char *says, blob *b)
{
    long long id = tu_create(&srv, name);
    *b = load(name);
    double parts = upload_parts();
    char *resp;
    int got = post_audio(id, query, b->data, b->len, &resp, NULL);
    if (got != status || strstr(resp, says) == NULL)
        fail_msg("%s: %d %s", name, got, resp);
    free(resp);
    assert_float_equal(upload_parts() - parts, 2, 0.01);
    return id;
}

/* A recording of half a minute on an idle two-worker server is split at
 * a pause into two parts decoded at once; what is stored is what one
 * part would store: every sentence once, in order on the timeline and
 * by id, and the kept audio in its place. */
static void test_upload_in_parts(void **state)
{
    blob b;
    long long id = upload_in_two("long.mp3", "?wait=120", 200, "\"done\"", &b);
    int count;
    double end = segments_in_order(id, &count, 0);
    assert_int_equal(count, 7); /* the sentence seven times */
    assert_true(end > 31 && end < 32.5);

    /* The kept audio is the recording's, louder and quieter at the same
     * moments (the parts' audio in order, none twice or missing). */
    pcm_buf sent = decode_all(b.data, b.len);
    char url[160], err[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/transcriptions/%lld/"
             "audio.ogg", srv.port, id);
    http_result res;
    if (http_fetch(url, "GET", NULL, NULL, NULL, 0, &res, err, sizeof(err)) != 0)
        fail_msg("GET audio.ogg: %s", err);
    assert_int_equal(res.status, 200);
    pcm_buf kept = decode_all((uint8_t *)res.body, res.body_len);
    http_result_free(&res);
    if (kept.len + 1600 < sent.len || kept.len > sent.len + 1600)
        fail_msg("kept %zu samples of %zu", kept.len, sent.len);
    int loud = 0;
    for (size_t at = 0; at + 1600 <= sent.len && at + 1600 <= kept.len;
         at += 1600) {
        double a = level(&sent, at, 1600), k = level(&kept, at, 1600);
        if (a > 1000) {
            loud++;
            if (k < a / 3 || k > a * 3)
                fail_msg("at %.1f s: sent level %.0f, kept %.0f", at / 16000.0,
                         a, k);
        } else if (a < 30 && k > 300) {
            fail_msg("at %.1f s: sent silence, kept level %.0f", at / 16000.0, k);
        }
    }
    assert_true(loud > 100);
    pcm_buf_free(&sent);
    pcm_buf_free(&kept);
    free(b.data);
}

/* Damage in a later part fails the upload with 422 as damage in one part
 * does, after the finals before it, which are stored in order. */
static void test_upload_in_parts_damaged(void **state)
{
    blob b;
    long long id = upload_in_two("long_corrupt.ogg", "?wait=120", 422,
                                 "the audio before it was transcribed", &b);
    int count;
    double end = segments_in_order(id, &count, 1);
    if (count < 4 || count > 6 || end > 28)
        fail_msg("%d segments stored, the last ending at %.2f s", count, end);
    free(b.data);
}

/* A recording whose only pause comes early in the stretch where its cut
 * may fall: the last part begins with more than the seconds held back
 * for the cut (the feeder read past its aim as the last part began, and
 * crashed, before the fix). */
static void test_upload_cut_early(void **state)
{
    blob b;
    long long id = upload_in_two("cut_early.mp3", "?wait=120&punctuate=false",
                                 200, "\"done\"", &b);
    char text[4096];
    int count;
    stored_text(id, text, sizeof(text), &count);
    int foxes = 0;
    for (const char *p = text; (p = strstr(p, "brown")) != NULL; p++)
        foxes++;
    if (foxes < 8 || foxes > 9) /* the sentence nine times over */
        fail_msg("%d of 9 sentences heard: %s", foxes, text);
    free(b.data);
}

/* POST /v1/listen?diarize=true of two voices taking turns, decoded in
 * parts that label speakers on their own until the end-of-run
 * re-clustering: the answer has the labels the transcription keeps,
 * each voice one number throughout. */
static void test_deepgram_upload_in_parts(void **state)
{
    blob b = load("two_voices.mp3");
    double parts = upload_parts();
    char url[200], err[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/listen?diarize=true&"
             "utterances=true&tag=turns+in+parts", srv.port);
    http_result res;
    if (http_fetch(url, "POST", "audio/mpeg", NULL, b.data, b.len, &res, err,
                   sizeof(err)) != 0)
        fail_msg("POST /v1/listen: %s", err);
    if (res.status != 200)
        fail_msg("POST /v1/listen: %d %s", res.status, res.body);
    assert_float_equal(upload_parts() - parts, 2, 0.01);
    cJSON *answer = cJSON_Parse(res.body);
    http_result_free(&res);
    cJSON *utts = field(field(answer, "results"), "utterances");

    /* The transcription it was stored as (newest first). */
    char *resp, path[128];
    assert_int_equal(tu_http(&srv, "GET", "/api/transcriptions/", NULL, &resp), 200);
    cJSON *list = cJSON_Parse(resp), *t;
    free(resp);
    long long id = 0;
    cJSON_ArrayForEach(t, list)
        if (id == 0 && strcmp(cJSON_GetStringValue(field(t, "title")),
                              "turns in parts") == 0)
            id = (long long)cJSON_GetNumberValue(field(t, "id"));
    cJSON_Delete(list);
    assert_true(id > 0);
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &resp), 200);
    cJSON *segs = cJSON_Parse(resp);
    free(resp);

    int n = cJSON_GetArraySize(segs);
    if (n != 9 || cJSON_GetArraySize(utts) != n)
        fail_msg("%d segments stored, %d utterances answered (9 turns)", n,
                 cJSON_GetArraySize(utts));
    int first = -1, second = -1;
    for (int i = 0; i < n; i++) {
        cJSON *u = cJSON_GetArrayItem(utts, i);
        const char *stored = cJSON_GetStringValue(field(cJSON_GetArrayItem(segs, i),
                                                        "speaker"));
        int said = (int)cJSON_GetNumberValue(field(u, "speaker"));
        char label[32];
        snprintf(label, sizeof(label), "speaker_%d", said);
        if (stored == NULL || strcmp(stored, label) != 0)
            fail_msg("turn %d: answered speaker %d, stored %s", i, said,
                     stored ? stored : "none");
        /* Its words say the same. */
        cJSON *w;
        cJSON_ArrayForEach(w, field(u, "words"))
            assert_int_equal((int)cJSON_GetNumberValue(field(w, "speaker")), said);
        int *voice = i % 2 == 0 ? &first : &second;
        if (*voice < 0)
            *voice = said;
        if (said != *voice)
            fail_msg("turn %d: speaker %d, where this voice was %d", i, said,
                     *voice);
    }
    assert_int_not_equal(first, second);
    cJSON_Delete(segs);
    cJSON_Delete(answer);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_every_format),
        cmocka_unit_test(test_stream_narrowband),
        cmocka_unit_test(test_stream_split_anywhere),
        cmocka_unit_test(test_stream_damage),
        cmocka_unit_test(test_upload_every_format),
        cmocka_unit_test(test_upload_chunked),
        cmocka_unit_test(test_upload_poll),
        cmocka_unit_test(test_upload_form),
        cmocka_unit_test(test_upload_errors),
        cmocka_unit_test(test_upload_in_parts),
        cmocka_unit_test(test_upload_in_parts_damaged),
        cmocka_unit_test(test_upload_cut_early),
        cmocka_unit_test(test_deepgram_upload_in_parts),
        cmocka_unit_test(test_upload_jobs_outlive_the_server),
        cmocka_unit_test(test_upload_spooled_and_admitted_early),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
