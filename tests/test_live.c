/*
 * test_live.c - live transcription over /ws/transcribe/{id} against the
 * real server: results while speaking, one final per sentence, storage,
 * sessions that continue a transcript, the control messages, and every
 * way a client can get it wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "audio/audio.h"
#include "net/client.h"
#include "testutil.h"
#include "transcription/transcription.h" /* TX_TOKEN_LEN */
#include "util/vb.h"

static tu_server srv;

static const char *const sentences[] = {
    "The weather is nice today.",
    "Please open the window.",
    "I would like a cup of coffee.",
};
/* Words each sentence's final must contain (the recogniser may miss
 * small words, but not these). */
static const char *const key_words[][2] = {
    {"weather", "today"},
    {"open", "window"},
    {"cup", "coffee"},
};

/* The three sentences with 1.2 s pauses; starts[i] is where sentence i's
 * synthesised audio begins, in seconds. */
static int16_t *three_sentences(size_t *count, double starts[3])
{
    int16_t *all = NULL;
    *count = 0;
    tu_append(&all, count, NULL, 0, 300);
    for (int i = 0; i < 3; i++) {
        size_t n;
        int16_t *pcm = tu_flite("slt", sentences[i], &n);
        assert_non_null(pcm);
        starts[i] = (double)*count / 16000.0;
        tu_append(&all, count, pcm, n, 1200);
        free(pcm);
    }
    return all;
}

static int setup(void **state)
{
    tu_server_start(&srv, NULL);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(tu_server_stop(&srv), 0);
    return 0;
}

typedef struct {
    char text[512];
    char speaker[32];     /* "" when null */
    double start, end;
    int speech_final;
    int word_count;
} final_seg;

typedef struct {
    int statuses, interims, speech_started, utterance_ends, errors;
    double utterance_end_at[16]; /* their "end": where the pause was heard */
    final_seg finals[16];
    int final_count;
    double max_interim_gap;  /* audio between interims of one utterance */
    char last_interim[512];
    char first_type[32];
    char last_error[256];
} summary;

static double num(const cJSON *obj, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static void summarise(tu_msg *msgs, int count, summary *s)
{
    memset(s, 0, sizeof(*s));
    double last_interim_end = -1;
    for (int i = 0; i < count; i++) {
        cJSON *m = cJSON_Parse(msgs[i].text);
        assert_non_null(m);
        const char *type = cJSON_GetObjectItem(m, "type")->valuestring;
        const cJSON *p = cJSON_GetObjectItem(m, "payload");
        if (i == 0)
            snprintf(s->first_type, sizeof(s->first_type), "%s", type);
        if (strcmp(type, "status") == 0) {
            s->statuses++;
        } else if (strcmp(type, "error") == 0) {
            s->errors++;
            snprintf(s->last_error, sizeof(s->last_error), "%s", p->valuestring);
        } else if (strcmp(type, "event") == 0) {
            const char *ev = cJSON_GetObjectItem(p, "type")->valuestring;
            if (strcmp(ev, "speech_started") == 0)
                s->speech_started++;
            else if (strcmp(ev, "utterance_end") == 0 && s->utterance_ends < 16)
                s->utterance_end_at[s->utterance_ends++] = num(p, "end");
        } else if (strcmp(type, "transcript_segment") == 0) {
            const cJSON *speaker = cJSON_GetObjectItem(p, "speaker");
            assert_true(cJSON_IsNull(speaker) ||
                        strncmp(speaker->valuestring, "speaker_", 8) == 0);
            if (cJSON_IsTrue(cJSON_GetObjectItem(p, "is_final"))) {
                final_seg *f = &s->finals[s->final_count++];
                snprintf(f->speaker, sizeof(f->speaker), "%s",
                         cJSON_IsString(speaker) ? speaker->valuestring : "");
                snprintf(f->text, sizeof(f->text), "%s",
                         cJSON_GetObjectItem(p, "text")->valuestring);
                f->start = num(p, "start");
                f->end = num(p, "end");
                f->speech_final = cJSON_IsTrue(cJSON_GetObjectItem(p, "speech_final"));
                const cJSON *words = cJSON_GetObjectItem(p, "words");
                assert_true(cJSON_IsArray(words));
                f->word_count = cJSON_GetArraySize(words);
                const cJSON *w0 = cJSON_GetArrayItem(words, 0);
                assert_non_null(cJSON_GetObjectItem(w0, "word"));
                assert_true(num(w0, "confidence") >= 0 && num(w0, "confidence") <= 1);
                last_interim_end = -1;
            } else {
                assert_false(cJSON_IsTrue(cJSON_GetObjectItem(p, "speech_final")));
                s->interims++;
                snprintf(s->last_interim, sizeof(s->last_interim), "%s",
                         cJSON_GetObjectItem(p, "text")->valuestring);
                double end = num(p, "end");
                if (last_interim_end >= 0 && end - last_interim_end > s->max_interim_gap)
                    s->max_interim_gap = end - last_interim_end;
                last_interim_end = end;
            }
        }
        cJSON_Delete(m);
    }
}

/* Collects messages until the server closes (or timeout_ms) into s;
 * returns the close code, 0 when the socket is still open. */
static int collect(wsclient *ws, int timeout_ms, summary *s)
{
    tu_msg *msgs;
    int close_code;
    int count = tu_ws_collect(ws, timeout_ms, &msgs, &close_code);
    summarise(msgs, count, s);
    tu_msgs_free(msgs, count);
    return close_code;
}

/* Opens /ws/transcribe/ID for a new transcription titled title. */
static wsclient *open_new(const char *title, const char *query)
{
    char path[192];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld%s",
             tu_create(&srv, title), query ? query : "");
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    return ws;
}

static void close_stream(wsclient *ws)
{
    const char *cs = "{\"type\": \"CloseStream\"}";
    assert_int_equal(wsclient_send(ws, WS_TEXT, cs, strlen(cs)), 0);
}

/* Streams pcm to transcription id (query appended), closes with
 * CloseStream and returns the summary. */
static int run_stream(long long id, const char *query, const int16_t *pcm,
                      size_t n, summary *s)
{
    char path[256];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld%s", id, query ? query : "");
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    tu_ws_send_pcm(ws, pcm, n, 100);
    close_stream(ws);
    int close_code = collect(ws, 60000, s);
    wsclient_abort(ws);
    return close_code;
}

static int contains_word(const char *text, const char *word)
{
    char lower[512];
    size_t i = 0;
    for (; text[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
    lower[i] = 0;
    return strstr(lower, word) != NULL;
}

static void test_sentences_live_and_stored(void **state)
{
    size_t n;
    double starts[3];
    int16_t *pcm = three_sentences(&n, starts);
    long long id = tu_create(&srv, "three sentences");
    summary s;
    assert_int_equal(run_stream(id, NULL, pcm, n, &s), 1000);
    free(pcm);

    assert_string_equal(s.first_type, "status");
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.final_count, 3);
    assert_int_equal(s.speech_started, 3);
    assert_int_equal(s.utterance_ends, 3);
    assert_true(s.interims >= 6);
    /* Every 250 ms of speech, at the end of the message that completes
     * it: never 350 ms or more apart. */
    assert_true(s.max_interim_gap < 0.35);
    double prev_end = 0;
    for (int i = 0; i < 3; i++) {
        final_seg *f = &s.finals[i];
        for (int k = 0; k < 2; k++) {
            if (!contains_word(f->text, key_words[i][k]))
                fprintf(stderr, "final %d: \"%s\" lacks \"%s\"\n", i, f->text,
                        key_words[i][k]);
            assert_true(contains_word(f->text, key_words[i][k]));
        }
        assert_true(f->speech_final);
        assert_true(f->text[0] >= 'A' && f->text[0] <= 'Z');
        assert_int_equal(f->text[strlen(f->text) - 1], '.');
        assert_true(f->start >= prev_end);
        assert_true(f->end > f->start + 0.5 && f->end < f->start + 4.0);
        prev_end = f->end;
        /* The endpoint: after the last word, by at most the endpoint
         * setting (500 ms) and the detector's hangover, and before the
         * next sentence starts. */
        double ue = s.utterance_end_at[i];
        if (ue < f->end || ue > f->end + 1.0 || (i < 2 && ue >= starts[i + 1]))
            fprintf(stderr, "utterance %d: words end %.2f, endpoint %.2f\n", i,
                    f->end, ue);
        assert_true(ue >= f->end && ue <= f->end + 1.0);
        if (i < 2)
            assert_true(ue < starts[i + 1]);
    }
    /* Each final starts where its sentence's speech does (flite leaves
     * up to a few hundred ms of silence around its words). */
    for (int i = 0; i < 3; i++) {
        if (s.finals[i].start < starts[i] - 0.05 ||
            s.finals[i].start > starts[i] + 0.5)
            fprintf(stderr, "sentence %d: final at %.2f, audio at %.2f\n", i,
                    s.finals[i].start, starts[i]);
        assert_true(s.finals[i].start >= starts[i] - 0.05);
        assert_true(s.finals[i].start <= starts[i] + 0.5);
    }

    /* The same segments through REST. */
    char path[128], *body;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
    cJSON *segs = cJSON_Parse(body);
    free(body);
    assert_int_equal(cJSON_GetArraySize(segs), 3);
    for (int i = 0; i < 3; i++) {
        const cJSON *seg = cJSON_GetArrayItem(segs, i);
        assert_string_equal(cJSON_GetObjectItem(seg, "text")->valuestring,
                            s.finals[i].text);
        /* One voice: one speaker, live and stored. */
        assert_string_equal(s.finals[i].speaker, "speaker_0");
        assert_string_equal(cJSON_GetObjectItem(seg, "speaker")->valuestring,
                            "speaker_0");
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(seg, "is_final")));
        assert_float_equal(num(seg, "start_time"), s.finals[i].start, 0.0011);
        assert_float_equal(num(seg, "end_time"), s.finals[i].end, 0.0011);
    }
    cJSON_Delete(segs);

    /* A second sitting continues the timeline after the last segment. */
    size_t padded_len;
    int16_t *padded = tu_padded_speech("Good morning everyone.", 200, 800,
                                       &padded_len);
    summary s2;
    assert_int_equal(run_stream(id, NULL, padded, padded_len, &s2), 1000);
    free(padded);
    assert_int_equal(s2.final_count, 1);
    assert_true(s2.finals[0].start >= s.finals[2].end);
    assert_true(contains_word(s2.finals[0].text, "morning"));
}

/* flite's speech of `text` without the quiet it leaves around it
 * (samples under -46 dBFS at either end), so that a pause put after it
 * is exactly as long as asked. */
static int16_t *flite_trimmed(const char *voice, const char *text, size_t *n)
{
    int16_t *pcm = tu_flite(voice, text, n);
    assert_non_null(pcm);
    size_t from = 0, to = *n;
    while (from < to && abs(pcm[from]) < 160)
        from++;
    while (to > from && abs(pcm[to - 1]) < 160)
        to--;
    memmove(pcm, pcm + from, (to - from) * sizeof(*pcm));
    *n = to - from;
    return pcm;
}

/* Two parts with `pause_ms` of silence between them, streamed: the one
 * final (ended by the endpoint) in *s. */
static void two_parts(const char *voice, const char *first, const char *second,
                      int pause_ms, summary *s)
{
    int16_t *all = NULL;
    size_t len = 0, n;
    tu_append(&all, &len, NULL, 0, 300);
    int16_t *pcm = flite_trimmed(voice, first, &n);
    tu_append(&all, &len, pcm, n, pause_ms);
    free(pcm);
    pcm = flite_trimmed(voice, second, &n);
    tu_append(&all, &len, pcm, n, 1000);
    free(pcm);
    long long id = tu_create(&srv, "two parts");
    assert_int_equal(run_stream(id, NULL, all, len, s), 1000);
    free(all);
    if (s->final_count != 1)
        for (int i = 0; i < s->final_count; i++)
            fprintf(stderr, "final %d: %s\n", i, s->finals[i].text);
    assert_int_equal(s->final_count, 1);
}

/*
 * A pause shorter than the endpoint between two sentences ends the first
 * inside the final (a full stop and a capital), one inside a sentence
 * does not: the language model judges the words on both sides, whether
 * the recogniser cut its phrase at the pause (400 ms) or not (150 ms).
 */
static void test_sentence_breaks_inside_a_final(void **state)
{
    (void)state;
    const int pauses[] = {150, 400};
    for (int i = 0; i < 2; i++) {
        summary s;
        two_parts("slt", "The weather is nice today.", "Please open the window.",
                  pauses[i], &s);
        fprintf(stderr, "pair, %d ms: %s\n", pauses[i], s.finals[0].text);
        assert_non_null(strstr(s.finals[0].text, "today. Please "));
        two_parts("rms", "The meeting starts at", "ten in the morning.",
                  pauses[i], &s);
        fprintf(stderr, "half, %d ms: %s\n", pauses[i], s.finals[0].text);
        const char *text = s.finals[0].text;
        assert_true(contains_word(text, "meeting") && contains_word(text, "morning"));
        /* Its only mark is the last character. */
        assert_int_equal(strcspn(text, ".?!"), strlen(text) - 1);
    }
}

/* GET path (Range header `range`, or NULL) with its bytes. */
static int fetch(const char *path, const char *range, http_result *res)
{
    char url[256], headers[96] = "", err[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv.port, path);
    if (range)
        snprintf(headers, sizeof(headers), "Range: %s\r\n", range);
    if (http_fetch(url, "GET", NULL, headers, NULL, 0, res, err, sizeof(err)) != 0)
        fail_msg("GET %s: %s", path, err);
    return res->status;
}

/* The kept audio of transcription id, decoded. */
static pcm_buf kept_audio(long long id, size_t *bytes)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/audio.ogg", id);
    http_result res;
    assert_int_equal(fetch(path, NULL, &res), 200);
    assert_non_null(strcasestr(res.headers, "content-type: audio/ogg"));
    assert_non_null(strcasestr(res.headers, "accept-ranges: bytes"));
    audio_format raw = audio_format_default();
    audio_file_t *f;
    char err[200];
    if (audio_file_open((uint8_t *)res.body, res.body_len, &raw, &f, err,
                        sizeof(err)) != 0)
        fail_msg("the kept audio does not open: %s", err);
    pcm_buf pcm = {0};
    while (audio_file_read(f, &pcm, 16000, err, sizeof(err)) == 0)
        ;
    audio_file_close(f);
    *bytes = res.body_len;
    http_result_free(&res);
    return pcm;
}

static double level(const pcm_buf *pcm, double from, double to)
{
    size_t a = (size_t)(from * 16000), b = (size_t)(to * 16000);
    if (b > pcm->len)
        b = pcm->len;
    double sum = 0;
    for (size_t i = a; i < b; i++)
        sum += (double)pcm->samples[i] * pcm->samples[i];
    return b > a ? sqrt(sum / (double)(b - a)) : 0;
}

/*
 * What a session hears is kept and played back on the transcript's
 * timeline: a second sitting's audio starts where its segments do, a
 * player gets byte ranges, and the keeping can be turned off per
 * transcription or deleted.
 */
static void test_audio_kept_on_the_timeline(void **state)
{
    (void)state;
    long long id = tu_create(&srv, "kept audio");
    size_t n1, n2, bytes;
    int16_t *first = tu_padded_speech("The weather is nice today.", 1500, 1500, &n1);
    int16_t *second = tu_padded_speech("Please open the window.", 1000, 1000, &n2);
    summary s1, s2;
    assert_int_equal(run_stream(id, NULL, first, n1, &s1), 1000);
    assert_int_equal(s1.final_count, 1);
    pcm_buf pcm = kept_audio(id, &bytes);
    /* All of it, its words where the final says. */
    assert_float_equal(pcm.len / 16000.0, n1 / 16000.0, 0.05);
    const final_seg *f = &s1.finals[0];
    double speech = level(&pcm, f->start, f->end), before = level(&pcm, 0, 1.2);
    fprintf(stderr, "first sitting: words %.0f, before them %.0f (rms)\n",
            speech, before);
    assert_true(speech > 20 * (before + 1));
    pcm_buf_free(&pcm);

    /* A second sitting continues the timeline after the first's words. */
    assert_int_equal(run_stream(id, NULL, second, n2, &s2), 1000);
    assert_int_equal(s2.final_count, 1);
    double offset = f->end; /* where the timeline went on */
    pcm = kept_audio(id, &bytes);
    double total = pcm.len / 16000.0;
    fprintf(stderr, "two sittings: %.2f s decoded, %zu bytes\n", total, bytes);
    assert_float_equal(total, offset + n2 / 16000.0, 0.06);
    const final_seg *g = &s2.finals[0];
    assert_true(g->start > offset);
    assert_true(level(&pcm, g->start, g->end) >
                20 * (level(&pcm, offset + 0.1, offset + 0.9) + 1));
    assert_true(level(&pcm, f->start, f->end) > 500); /* still there */
    pcm_buf_free(&pcm);

    /* Byte ranges, as an audio element asks for them. */
    char path[128];
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/audio.ogg", id);
    http_result whole, part;
    assert_int_equal(fetch(path, NULL, &whole), 200);
    assert_int_equal(fetch(path, "bytes=100-199", &part), 206);
    char want[64];
    snprintf(want, sizeof(want), "content-range: bytes 100-199/%zu", whole.body_len);
    assert_non_null(strcasestr(part.headers, want));
    assert_int_equal(part.body_len, 100);
    assert_memory_equal(part.body, whole.body + 100, 100);
    http_result_free(&part);
    assert_int_equal(fetch(path, "bytes=-50", &part), 206);
    assert_memory_equal(part.body, whole.body + whole.body_len - 50, 50);
    http_result_free(&part);
    char past[32];
    snprintf(past, sizeof(past), "bytes=%zu-", whole.body_len);
    assert_int_equal(fetch(path, past, &part), 416);
    snprintf(want, sizeof(want), "content-range: bytes */%zu", whole.body_len);
    assert_non_null(strcasestr(part.headers, want));
    http_result_free(&part);
    http_result_free(&whole);

    /* Turned off: a third sitting keeps nothing. */
    char kpath[128], *resp;
    snprintf(kpath, sizeof(kpath), "/api/transcriptions/%lld/keep-audio/", id);
    assert_int_equal(tu_http(&srv, "GET", kpath, NULL, &resp), 200);
    assert_non_null(strstr(resp, "\"keep_audio\":true,\"has_audio\":true"));
    free(resp);
    assert_int_equal(tu_http(&srv, "PUT", kpath, "{\"keep_audio\": \"no\"}", &resp), 422);
    assert_non_null(strstr(resp, "valid boolean"));
    free(resp);
    assert_int_equal(tu_http(&srv, "PUT", kpath, "{\"keep_audio\": false}", &resp), 200);
    free(resp);
    assert_int_equal(run_stream(id, NULL, first, n1, &s1), 1000);
    pcm = kept_audio(id, &bytes);
    assert_float_equal(pcm.len / 16000.0, total, 0.001);
    pcm_buf_free(&pcm);

    /* Deleted: the transcript stays, the audio goes. */
    assert_int_equal(tu_http(&srv, "DELETE", path, NULL, &resp), 204);
    free(resp);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &resp), 404);
    assert_non_null(strstr(resp, "no kept audio"));
    free(resp);
    snprintf(kpath, sizeof(kpath), "/api/transcriptions/%lld/keep-audio/", id);
    assert_int_equal(tu_http(&srv, "GET", kpath, NULL, &resp), 200);
    assert_non_null(strstr(resp, "\"keep_audio\":false,\"has_audio\":false"));
    free(resp);
    snprintf(kpath, sizeof(kpath), "/api/transcriptions/%lld/", id);
    assert_int_equal(tu_http(&srv, "DELETE", kpath, NULL, &resp), 204);
    free(resp);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &resp), 404);
    assert_non_null(strstr(resp, "Not Found"));
    free(resp);
    free(first);
    free(second);
}

static void test_raw_words(void **state)
{
    size_t len;
    int16_t *all = tu_padded_speech("I think it will rain tomorrow.", 200, 800, &len);
    long long id = tu_create(&srv, "raw");
    summary s;
    assert_int_equal(run_stream(id, "?punctuate=false", all, len, &s), 1000);
    free(all);
    assert_int_equal(s.final_count, 1);
    const char *text = s.finals[0].text;
    assert_true(contains_word(text, "rain"));
    for (const char *c = text; *c; c++)
        assert_false((*c >= 'A' && *c <= 'Z') || *c == '.');
}

/* Every final's text of a summary, joined. */
static void all_finals(const summary *s, char *out, size_t len)
{
    out[0] = '\0';
    for (int i = 0; i < s->final_count; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s ", s->finals[i].text);
}

/* Stores "ZenTrix" as transcription id's vocabulary. */
static void teach_zentrix(long long id)
{
    char path[96], *resp = NULL;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/vocabulary", id);
    assert_int_equal(tu_http(&srv, "PUT", path,
                             "{\"keywords\": [\"ZenTrix\"]}", &resp), 200);
    free(resp);
}

/* A made-up name the dictionary lacks is heard when the stream asks for
 * it (keywords=) or its transcription's vocabulary has it, written as
 * given, and not otherwise. */
static void test_taught_words(void **state)
{
    size_t len;
    int16_t *all = tu_padded_speech("Please send the report to Zentrix by "
                                    "Friday morning.", 200, 800, &len);
    summary s;
    char text[2048];
    long long plain = tu_create(&srv, "untaught");
    assert_int_equal(run_stream(plain, NULL, all, len, &s), 1000);
    all_finals(&s, text, sizeof(text));
    assert_true(s.final_count >= 1);
    if (contains_word(text, "zentrix"))
        fail_msg("heard untaught: %s", text);
    long long id = tu_create(&srv, "taught");
    assert_int_equal(run_stream(id, "?keywords=Zentrix:2&keywords=Qorvex", all,
                                len, &s), 1000);
    all_finals(&s, text, sizeof(text));
    if (strstr(text, "to Zentrix by") == NULL)
        fail_msg("taught by keywords: %s", text);
    /* The interims spell it too, never as the decoder's own entry. */
    assert_null(strchr(s.last_interim, '#'));

    long long v = tu_create(&srv, "vocabulary");
    teach_zentrix(v);
    assert_int_equal(run_stream(v, NULL, all, len, &s), 1000);
    all_finals(&s, text, sizeof(text));
    if (strstr(text, "ZenTrix") == NULL)
        fail_msg("taught by the vocabulary: %s", text);
    /* A session's own keywords win over the stored ones: a boost of 0
     * takes the word out again. */
    assert_int_equal(run_stream(v, "?keywords=zentrix:0", all, len, &s), 1000);
    all_finals(&s, text, sizeof(text));
    if (contains_word(text, "zentrix"))
        fail_msg("boost 0 over the vocabulary: %s", text);
    free(all);
}

/* Holds PostgreSQL's transcriptions table against every reader (a slow
 * store, for the session's lookup) until unlock_transcriptions(). */
static PGconn *lock_transcriptions(const char *db)
{
    PGconn *lock = PQconnectdb(db);
    assert_int_equal(PQstatus(lock), CONNECTION_OK);
    PGresult *r = PQexec(lock, "BEGIN; LOCK TABLE transcriptions IN ACCESS "
                               "EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return lock;
}

static void unlock_transcriptions(PGconn *lock)
{
    PGresult *r = PQexec(lock, "COMMIT");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(lock);
}

/* The transcription's vocabulary is heard from the first words even when
 * the store answers the session's lookup after the whole sentence has
 * arrived (CI once heard "three gorges" for "ZenTrix" on PostgreSQL).
 * PostgreSQL only: there a table lock holds the lookup back; SQLite's
 * readers never wait in WAL mode. */
static void test_vocabulary_on_a_slow_store(void **state)
{
    if (!tu_pg())
        skip();
    size_t len;
    int16_t *all = tu_padded_speech("Please send the report to Zentrix by "
                                    "Friday morning.", 200, 800, &len);
    long long v = tu_create(&srv, "slow vocabulary");
    teach_zentrix(v);
    char path[96];
    PGconn *lock = lock_transcriptions(srv.db);
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", v);
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    tu_ws_send_pcm(ws, all, len, 100);
    free(all);
    close_stream(ws);
    usleep(1500 * 1000); /* the whole sentence waits behind the lock */
    unlock_transcriptions(lock);
    summary s;
    assert_int_equal(collect(ws, 60000, &s), 1000);
    wsclient_abort(ws);
    char text[2048];
    all_finals(&s, text, sizeof(text));
    if (strstr(text, "ZenTrix") == NULL)
        fail_msg("the vocabulary, on a slow store: %s", text);
}

/* A server on the stopped server's database finds transcription 1 with
 * `count` segments, each about the window. */
static void expect_windows_stored(const tu_server *stopped, int count)
{
    const char *flags[] = {"--db", stopped->db, NULL};
    tu_server again;
    tu_server_start(&again, flags);
    char *resp;
    assert_int_equal(tu_http(&again, "GET", "/api/transcriptions/1/segments/",
                             NULL, &resp), 200);
    cJSON *segs = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(segs), count);
    for (int i = 0; i < count; i++)
        assert_true(contains_word(cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetArrayItem(segs, i), "text")), "window"));
    cJSON_Delete(segs);
    assert_int_equal(tu_server_stop(&again), 0);
}

/* A server told to stop while a session, whose client has gone, still
 * waits for its lookup (the store slow to answer) finishes it: its final
 * is stored and the server exits cleanly.  (It once stopped its workers
 * first, and the lookup then scheduled the session on them after they
 * were freed: CI saw it when an upload test's socket came and went as
 * its server stopped.) */
static void test_shutdown_while_looking_up(void **state)
{
    if (!tu_pg())
        skip(); /* as test_vocabulary_on_a_slow_store */
    tu_server other;
    tu_server_start(&other, NULL);
    char *resp;
    assert_int_equal(tu_http(&other, "POST", "/api/transcriptions/",
                             "{\"title\": \"held\"}", &resp), 200);
    free(resp);
    PGconn *lock = lock_transcriptions(other.db);
    wsclient *ws = tu_ws(&other, "/ws/transcribe/1");
    assert_non_null(ws);
    size_t n;
    int16_t *pcm = tu_padded_speech("Please open the window.", 200, 1000, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    usleep(300000);
    wsclient_abort(ws); /* gone: the server has no socket to wait for */
    usleep(200000);
    kill(other.pid, SIGTERM);
    usleep(1000000);
    unlock_transcriptions(lock);
    assert_int_equal(tu_server_stop(&other), 0);
    expect_windows_stored(&other, 1);
}

/* Audio at another rate and in stereo, declared in the URL or in a WAV
 * header, is resampled and mixed down. */
/* Streams samples with the given URL query and returns the summary. */
static int run_raw(const char *title, const char *query, const int16_t *data,
                   size_t count, summary *s)
{
    wsclient *ws = open_new(title, query);
    for (size_t pos = 0; pos < count; pos += 3200) {
        size_t len = count - pos < 3200 ? count - pos : 3200;
        wsclient_send(ws, WS_BINARY, data + pos, len * sizeof(int16_t));
    }
    close_stream(ws);
    int code = collect(ws, 60000, s);
    wsclient_abort(ws);
    return code;
}

/* Audio at another rate and in stereo, declared in the URL or in a WAV
 * header, is resampled and mixed down. */
static void test_rate_and_channels(void **state)
{
    size_t n;
    int16_t *pcm = tu_flite("slt", "Please open the window.", &n);
    /* 32 kHz stereo: interpolate, duplicate the channel, 1 s of silence. */
    size_t frames = 2 * n + 32000;
    int16_t *stereo = calloc(frames * 2, sizeof(int16_t));
    for (size_t i = 0; i + 1 < n; i++) {
        int16_t mid = (int16_t)((pcm[i] + pcm[i + 1]) / 2);
        stereo[4 * i] = stereo[4 * i + 1] = pcm[i];
        stereo[4 * i + 2] = stereo[4 * i + 3] = mid;
    }
    summary s;
    assert_int_equal(run_raw("32k stereo", "?sample_rate=32000&channels=2",
                             stereo, frames * 2, &s), 1000);
    free(stereo);
    assert_int_equal(s.final_count, 1);
    assert_true(contains_word(s.finals[0].text, "window"));
    /* Times are seconds of audio whatever the rate. */
    assert_true(s.finals[0].end < (double)n / 16000.0 + 0.3);
    assert_true(s.finals[0].end > (double)n / 16000.0 - 0.8);

    /* 8 kHz (telephone band): the en-us model hears it badly, but the
     * utterance must be found at the right time. */
    size_t half = n / 2;
    int16_t *narrow = calloc(half + 8000, sizeof(int16_t));
    for (size_t i = 0; i < half; i++)
        narrow[i] = (int16_t)((pcm[2 * i] + pcm[2 * i + 1]) / 2);
    assert_int_equal(run_raw("8k", "?sample_rate=8000", narrow, half + 8000, &s),
                     1000);
    free(narrow);
    assert_int_equal(s.speech_started, 1);
    assert_true(s.final_count <= 1);
    if (s.final_count == 1)
        assert_true(s.finals[0].end < (double)n / 16000.0 + 0.3);

    /* A WAV header (16 kHz, 2 channels) at the start of the stream. */
    size_t wav_frames = n + 12800;
    uint8_t *wav = calloc(44 + wav_frames * 4, 1);
    memcpy(wav, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x02\0\x80\x3e\0\0"
                "\0\xfa\0\0\x04\0\x10\0data\0\0\0\0", 44);
    int16_t *body = (int16_t *)(wav + 44);
    for (size_t i = 0; i < n; i++)
        body[2 * i] = body[2 * i + 1] = pcm[i];
    free(pcm);
    wsclient *ws = open_new("wav", NULL);
    /* Split the header itself across frames. */
    wsclient_send(ws, WS_BINARY, wav, 7);
    wsclient_send(ws, WS_BINARY, wav + 7, 30);
    size_t wav_bytes = 44 + wav_frames * 4;
    for (size_t pos = 37; pos < wav_bytes; pos += 6400) {
        size_t len = wav_bytes - pos < 6400 ? wav_bytes - pos : 6400;
        wsclient_send(ws, WS_BINARY, wav + pos, len);
    }
    close_stream(ws);
    int code = collect(ws, 60000, &s);
    wsclient_abort(ws);
    free(wav);
    assert_int_equal(code, 1000);
    assert_int_equal(s.final_count, 1);
    assert_true(contains_word(s.finals[0].text, "window"));
}

/* Finalize settles the utterance now, before any pause. */
/* A breath-like noise after the last word keeps the voice detector in
 * speech; the recogniser hears no word in it, so the utterance ends the
 * endpoint setting (500 ms) after the last word once the detector has had
 * 200 ms of quiet, not 500 ms after the noise. */
static void test_endpoint_after_last_word(void **state)
{
    size_t n;
    int16_t *speech = tu_flite("slt", "Please open the window.", &n);
    const size_t noise_n = 16 * 350, quiet_n = 16 * 1500;
    int16_t *pcm = calloc(n + noise_n + quiet_n, sizeof(int16_t));
    memcpy(pcm, speech, n * sizeof(int16_t));
    free(speech);
    uint32_t seed = 12345;
    double smooth = 0;
    for (size_t i = 0; i < noise_n; i++) { /* low-passed noise, RMS ~600 */
        seed = seed * 1664525u + 1013904223u;
        double white = ((double)(seed >> 8) / (1 << 24) - 0.5) * 7000;
        smooth = 0.7 * smooth + 0.3 * white;
        pcm[n + i] = (int16_t)smooth;
    }
    double noise_end = (double)(n + noise_n) / 16000;
    long long id = tu_create(&srv, "breath");
    summary s;
    assert_int_equal(run_stream(id, NULL, pcm, n + noise_n + quiet_n, &s), 1000);
    free(pcm);
    assert_int_equal(s.final_count, 1);
    assert_true(contains_word(s.finals[0].text, "window"));
    assert_true(s.utterance_ends >= 1);
    double ue = s.utterance_end_at[0];
    if (ue > noise_end + 0.3 || ue < s.finals[0].end + 0.5)
        fprintf(stderr, "words end %.2f, noise ends %.2f, endpoint %.2f\n",
                s.finals[0].end, noise_end, ue);
    assert_true(ue >= s.finals[0].end + 0.5 - 0.01);
    assert_true(ue <= noise_end + 0.3); /* the detector alone: + 0.5 */
}

/* Where in text a word begins (case-insensitively), or -1. */
static int word_at(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (int i = 0; text[i]; i++)
        if (strncasecmp(text + i, word, n) == 0)
            return i;
    return -1;
}

/* A pause shorter than the endpoint, after words that may end a
 * sentence: the recogniser ends its phrase there and begins the next one
 * when the voice comes back; the utterance still gives one final with
 * every word once, in order, and the interims after the pause keep the
 * words before it. */
static void test_phrases_of_one_utterance(void **state)
{
    int16_t *pcm = NULL;
    size_t n = 0, len;
    tu_append(&pcm, &n, NULL, 0, 300);
    int16_t *first = tu_flite("slt", "The weather is nice today.", &len);
    tu_append(&pcm, &n, first, len, 0); /* flite's own silence: ~0.4 s */
    free(first);
    double second_at = (double)n / 16000;
    int16_t *second = tu_flite("slt", "Please open the window.", &len);
    tu_append(&pcm, &n, second, len, 1500);
    free(second);
    long long id = tu_create(&srv, "two phrases");
    summary s;
    assert_int_equal(run_stream(id, "?punctuate=false", pcm, n, &s), 1000);
    free(pcm);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.speech_started, 1);
    assert_int_equal(s.utterance_ends, 1);
    assert_int_equal(s.final_count, 1);
    const char *text = s.finals[0].text;
    fprintf(stderr, "final \"%s\", last interim \"%s\"\n", text, s.last_interim);
    const char *words[] = {"weather", "today", "open", "window"};
    int at = -1;
    for (int i = 0; i < 4; i++) {
        int here = word_at(text, words[i]);
        assert_true(here > at); /* there, after the one before */
        assert_true(word_at(text + here + 1, words[i]) < 0); /* once */
        at = here;
    }
    assert_true(s.finals[0].start < 0.8);
    assert_true(s.finals[0].end > second_at + 0.5);
    assert_true(s.utterance_end_at[0] >= s.finals[0].end);
    /* The interims after the cut keep the first phrase's words.  Not
     * "window": the last interim may come up to 250 ms before the second
     * phrase ends (where it lands depends on how much audio a slice has
     * at hand, and this client sends at full speed), and then ends
     * "...open the way and". */
    assert_true(word_at(s.last_interim, "today") >= 0);
    assert_true(word_at(s.last_interim, "open") > word_at(s.last_interim, "today"));
}

static void test_finalize(void **state)
{
    size_t n;
    int16_t *pcm = tu_flite("slt", "The weather is nice today.", &n);
    wsclient *ws = open_new("finalize", NULL);
    tu_ws_send_pcm(ws, pcm, n, 100); /* no trailing silence */
    free(pcm);
    const char *fin = "{\"type\": \"Finalize\"}";
    const char *keep = "{\"type\": \"KeepAlive\"}";
    wsclient_send(ws, WS_TEXT, keep, strlen(keep));
    wsclient_send(ws, WS_TEXT, "not json at all", 15);
    wsclient_send(ws, WS_TEXT, fin, strlen(fin));
    /* The final arrives without closing the stream. */
    summary s;
    assert_int_equal(collect(ws, 8000, &s), 0);
    assert_int_equal(s.final_count, 1);
    assert_true(s.finals[0].speech_final);
    assert_true(contains_word(s.finals[0].text, "weather"));
    assert_int_equal(s.utterance_ends, 1);
    wsclient_close(ws, 1000);
}

/* A client that vanishes mid-sentence loses nothing it sent. */
static void test_disconnect_mid_utterance(void **state)
{
    size_t n;
    int16_t *pcm = tu_flite("slt", "I would like a cup of coffee.", &n);
    long long id = tu_create(&srv, "dropped");
    char path[128];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(&srv, path);
    tu_ws_send_pcm(ws, pcm, n * 3 / 4, 100);
    free(pcm);
    usleep(200000);
    wsclient_abort(ws); /* no close frame, no CloseStream */

    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    int found = 0;
    for (int i = 0; i < 200 && !found; i++) {
        char *body;
        assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
        cJSON *segs = cJSON_Parse(body);
        free(body);
        if (cJSON_GetArraySize(segs) == 1) {
            found = 1;
            assert_true(contains_word(
                cJSON_GetObjectItem(cJSON_GetArrayItem(segs, 0), "text")->valuestring,
                "cup"));
        }
        cJSON_Delete(segs);
        usleep(100000);
    }
    assert_true(found);
}

/* The server sends one error naming error_part (unless NULL), then
 * closes with code. */
static void expect_error_close(wsclient *ws, int code, const char *error_part)
{
    summary s;
    assert_int_equal(collect(ws, 10000, &s), code);
    wsclient_abort(ws);
    if (error_part == NULL)
        return;
    assert_int_equal(s.errors, 1);
    if (strstr(s.last_error, error_part) == NULL)
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", s.last_error, error_part);
    assert_non_null(strstr(s.last_error, error_part));
}

static void expect_close(const char *path, int code, const char *error_part)
{
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    expect_error_close(ws, code, error_part);
}

static void test_bad_ids_and_params(void **state)
{
    expect_close("/ws/transcribe/424242", 4004, "not found");
    expect_close("/ws/transcribe/hello", 4004, "not found");
    expect_close("/ws/transcribe/a-b", 4001, "malformed");
    long long id = tu_create(&srv, "params");
    char path[128];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?sample_rate=1000", id);
    expect_close(path, 1003, "sample_rate must be a whole number of Hz from 8000 "
                 "to 48000, not \"1000\"");
    /* 2^32 + 16000 once passed for 16 kHz, cut to an int. */
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?sample_rate=4294983296", id);
    expect_close(path, 1003, "not \"4294983296\"");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?sample_rate=16k", id);
    expect_close(path, 1003, "not \"16k\"");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?encoding=opus", id);
    expect_close(path, 1003, "encoding");
    /* Bytes that are not text come back as '?': a close reason and a text
     * message must be UTF-8. */
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?encoding=%%FF%%FEpcm", id);
    expect_close(path, 1003, "unknown encoding \"??pcm\"");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?channels=0", id);
    expect_close(path, 1003, "channels must be a whole number from 1 to 8, not \"0\"");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?keywords=two%%20words", id);
    expect_close(path, 1003, "keyword \"two words\" is not one word");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?keywords=Zentrix:99", id);
    expect_close(path, 1003, "the boost of keyword \"Zentrix:99\" must be a "
                 "number from -10 to 10");
}

static void send_and_expect_close(long long id, const void *data, size_t len,
                                  int code, const char *error_part)
{
    char path[64];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    wsclient_send(ws, WS_BINARY, data, len);
    expect_error_close(ws, code, error_part);
}

static void test_unsupported_containers(void **state)
{
    long long id = tu_create(&srv, "containers");
    /* A stream that begins like WebM (or Ogg) and then is not. */
    static const uint8_t webm[] = {0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x00, 0x00};
    send_and_expect_close(id, webm, sizeof(webm), 1003, "damaged WebM");
    static const uint8_t ogg[27] = "OggS\x02";
    send_and_expect_close(id, ogg, sizeof(ogg), 1003, "damaged Ogg");
    static const uint8_t adpcm_wav[] = "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x02\0\x01\0"
                                       "\x80\x3e\0\0\0\x7d\0\0\x02\0\x04\0data\0\0\0\0";
    send_and_expect_close(id, adpcm_wav, 44, 1003, "format tag 2");
}

static void test_oversized_frame(void **state)
{
    long long id = tu_create(&srv, "big");
    size_t len = 2 * 1024 * 1024;
    uint8_t *big = calloc(len, 1);
    send_and_expect_close(id, big, len, 1009, NULL);
    free(big);
}

static void test_garbage(void **state)
{
    wsclient *ws = open_new("garbage", "?encoding=linear32");
    uint8_t junk[4096];
    unsigned seed = 12345;
    for (int round = 0; round < 64; round++) {
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
        wsclient_send(ws, WS_BINARY, junk, (size_t)(round * 61 % 4096 + 1));
    }
    close_stream(ws);
    summary s;
    assert_int_equal(collect(ws, 30000, &s), 1000);
    wsclient_abort(ws);
    char *body;
    assert_int_equal(tu_http(&srv, "GET", "/api/health", NULL, &body), 200);
    free(body);
}

static void test_session_limit(void **state)
{
    tu_server small;
    const char *flags[] = {"--max-sessions", "1", NULL};
    tu_server_start(&small, flags);
    char body[64], *resp;
    snprintf(body, sizeof(body), "{\"title\": \"limit\"}");
    assert_int_equal(tu_http(&small, "POST", "/api/transcriptions/", body, &resp),
                     200);
    free(resp);
    wsclient *first = tu_ws(&small, "/ws/transcribe/1");
    summary s;
    assert_int_equal(collect(first, 1500, &s), 0); /* its status */
    assert_int_equal(s.statuses, 1);
    expect_error_close(tu_ws(&small, "/ws/transcribe/1"), 1013, "limit");
    wsclient_close(first, 1000);
    assert_int_equal(tu_server_stop(&small), 0);
}

/* A live socket that sends nothing is closed; KeepAlive keeps it open. */
static void test_idle_timeout(void **state)
{
    tu_server quick;
    const char *flags[] = {"--idle-timeout", "1", NULL};
    tu_server_start(&quick, flags);
    char *resp;
    assert_int_equal(tu_http(&quick, "POST", "/api/transcriptions/",
                             "{\"title\": \"idle\"}", &resp), 200);
    free(resp);
    wsclient *kept = tu_ws(&quick, "/ws/transcribe/1");
    const char *keep = "{\"type\": \"KeepAlive\"}";
    summary s;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(wsclient_send(kept, WS_TEXT, keep, strlen(keep)), 0);
        assert_int_equal(collect(kept, 400, &s), 0); /* still open */
    }
    /* Another transcription: a second session on the first is refused. */
    assert_int_equal(tu_http(&quick, "POST", "/api/transcriptions/",
                             "{\"title\": \"idle too\"}", &resp), 200);
    free(resp);
    wsclient *idle = tu_ws(&quick, "/ws/transcribe/2");
    assert_non_null(idle);
    usleep(200000);
    expect_error_close(idle, 1008, "KeepAlive");
    wsclient_close(kept, 1000);
    assert_int_equal(tu_server_stop(&quick), 0);
}

/* SIGTERM while a client is mid-sentence: the server finishes the
 * sentence, sends its final, closes the socket with 1012 (connect again),
 * stores what it heard and exits; meanwhile it takes nothing new (503);
 * a watcher is closed with 1012 at once. */
static void test_shutdown_keeps_audio(void **state)
{
    tu_server other;
    tu_server_start(&other, NULL);
    char *resp;
    assert_int_equal(tu_http(&other, "POST", "/api/transcriptions/",
                             "{\"title\": \"shutdown\"}", &resp), 200);
    free(resp);
    size_t n;
    /* Four sentences sent at once: seconds of decoding left when the
     * signal comes (well within the 10 s the server gives them), the last
     * of them cut off by it. */
    wsclient *ws = tu_ws(&other, "/ws/transcribe/1");
    int16_t *pcm = tu_padded_speech("Please open the window.", 200, 1000, &n);
    for (int i = 0; i < 3; i++)
        tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    pcm = tu_flite("slt", "Please open the window.", &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    wsclient *watcher = tu_ws(&other, "/ws/watch/1");
    usleep(300000);
    kill(other.pid, SIGTERM);
    summary watched = {0};
    assert_int_equal(collect(watcher, 5000, &watched), 1012);
    wsclient_abort(watcher);
    /* Still finishing: new work is refused before any upgrade. */
    assert_int_equal(tu_http(&other, "GET", "/api/health", NULL, &resp), 503);
    assert_non_null(strstr(resp, "shutting down"));
    free(resp);
    summary s = {0};
    assert_int_equal(collect(ws, 20000, &s), 1012);
    assert_int_equal(s.final_count, 4);
    for (int i = 0; i < 4; i++)
        assert_true(contains_word(s.finals[i].text, "window"));
    wsclient_abort(ws);
    assert_int_equal(tu_server_stop(&other), 0);
    expect_windows_stored(&other, 4); /* each final sent */
}

/* Several people start speaking at once: the later ones wait for a
 * decoder to be built (the workers never do), and nothing is lost. */
static void test_concurrent_streams(void **state)
{
    enum { STREAMS = 4 };
    size_t n;
    double starts[3];
    int16_t *pcm = three_sentences(&n, starts);
    wsclient *ws[STREAMS];
    for (int i = 0; i < STREAMS; i++)
        ws[i] = open_new("together", NULL);
    for (size_t pos = 0; pos < n; pos += 1600)
        for (int i = 0; i < STREAMS; i++)
            wsclient_send(ws[i], WS_BINARY, pcm + pos,
                          (n - pos < 1600 ? n - pos : 1600) * sizeof(int16_t));
    free(pcm);
    for (int i = 0; i < STREAMS; i++)
        close_stream(ws[i]);
    for (int i = 0; i < STREAMS; i++) {
        summary s;
        assert_int_equal(collect(ws[i], 60000, &s), 1000);
        wsclient_abort(ws[i]);
        assert_int_equal(s.final_count, 3);
        for (int k = 0; k < 3; k++) {
            assert_true(contains_word(s.finals[k].text, key_words[k][1]));
            assert_true(s.finals[k].start >= starts[k] - 0.05);
            assert_true(s.finals[k].start <= starts[k] + 0.5);
        }
    }
    char *body;
    assert_int_equal(tu_http(&srv, "GET", "/api/health", NULL, &body), 200);
    assert_non_null(strstr(body, "\"decoders_waiting\":0"));
    assert_non_null(strstr(body, "\"decoders_in_use\":0"));
    free(body);
}

static int health_number(const tu_server *server, const char *key)
{
    char *body;
    assert_int_equal(tu_http(server, "GET", "/api/health", NULL, &body), 200);
    cJSON *json = cJSON_Parse(body);
    free(body);
    int v = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(json, key));
    cJSON_Delete(json);
    return v;
}

/* Polls the health figure key until it equals want (up to ~10 s). */
static int await_health(const tu_server *server, const char *key, int want)
{
    int v = -1;
    for (int i = 0; i < 200 && v != want; i++) {
        v = health_number(server, key);
        if (v != want)
            usleep(50000);
    }
    return v;
}

/* --spare-decoders keeps a recogniser built ahead of the next speaker. */
static void test_spare_decoders(void **state)
{
    tu_server spare;
    const char *flags[] = {"--spare-decoders", "1", NULL};
    tu_server_start(&spare, flags);
    /* The first one is built as the server starts (its model loading). */
    assert_int_equal(await_health(&spare, "decoders", 1), 1);
    char *resp;
    assert_int_equal(tu_http(&spare, "POST", "/api/transcriptions/",
                             "{\"title\": \"spare\"}", &resp), 200);
    free(resp);
    size_t n;
    int16_t *pcm = tu_flite("slt", "Please open the window.", &n);
    wsclient *ws = tu_ws(&spare, "/ws/transcribe/1");
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    close_stream(ws);
    summary s;
    assert_int_equal(collect(ws, 30000, &s), 1000);
    wsclient_abort(ws);
    assert_int_equal(s.final_count, 1);
    int decoders = 0;
    for (int i = 0; i < 100 && decoders < 2; i++) {
        decoders = health_number(&spare, "decoders");
        usleep(50000);
    }
    assert_int_equal(decoders, 2); /* the one used, and one more ahead */
    assert_int_equal(health_number(&spare, "decoders_in_use"), 0);
    assert_int_equal(tu_server_stop(&spare), 0);
}

/* A server builds 4 recognisers a worker as it starts, by default; the
 * tests' servers are started with VERBATIM_START_DECODERS=1
 * (tests/run.sh), which --start-decoders overrides. */
static void test_start_decoders(void **state)
{
    char *was = getenv("VERBATIM_START_DECODERS");
    char *saved = was ? strdup(was) : NULL;
    unsetenv("VERBATIM_START_DECODERS");
    tu_server server;
    tu_server_start(&server, NULL); /* --workers 2 */
    int decoders = 0;
    for (int i = 0; i < 600 && decoders < 8; i++) { /* ASan builds: slow */
        decoders = health_number(&server, "decoders");
        usleep(100000);
    }
    assert_int_equal(decoders, 8);
    usleep(500000);
    assert_int_equal(health_number(&server, "decoders"), 8); /* no more */
    assert_int_equal(tu_server_stop(&server), 0);
    const char *three[] = {"--start-decoders", "3", NULL};
    tu_server_start(&server, three);
    assert_int_equal(await_health(&server, "decoders", 3), 3);
    usleep(500000);
    assert_int_equal(health_number(&server, "decoders"), 3);
    assert_int_equal(tu_server_stop(&server), 0);
    if (saved != NULL)
        setenv("VERBATIM_START_DECODERS", saved, 1);
    free(saved);
}

/* Opens a live socket on a new transcription of server. */
static wsclient *open_on(tu_server *server, const char *title)
{
    char *resp, body[128], path[64];
    snprintf(body, sizeof(body), "{\"title\": \"%s\"}", title);
    assert_int_equal(tu_http(server, "POST", "/api/transcriptions/", body,
                             &resp), 200);
    cJSON *json = cJSON_Parse(resp);
    free(resp);
    snprintf(path, sizeof(path), "/ws/transcribe/%lld",
             (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(json, "id")));
    cJSON_Delete(json);
    wsclient *ws = tu_ws(server, path);
    assert_non_null(ws);
    return ws;
}

/* People who connect get their recognisers built before they speak: two
 * silent sockets, one decoder built at start, one more ahead. */
static void test_decoders_for_newcomers(void **state)
{
    tu_server server;
    tu_server_start(&server, NULL);
    assert_int_equal(await_health(&server, "decoders", 1), 1);
    wsclient *a = open_on(&server, "first"), *b = open_on(&server, "second");
    assert_int_equal(await_health(&server, "decoders", 2), 2);
    assert_int_equal(health_number(&server, "decoders_in_use"), 0);
    usleep(500000);
    assert_int_equal(health_number(&server, "decoders"), 2); /* not more */
    wsclient_abort(a);
    wsclient_abort(b);
    assert_int_equal(tu_server_stop(&server), 0);
}

/* A stream waiting for its recogniser to be built is not the decoders
 * falling behind: a newcomer is admitted meanwhile (a cold server used
 * to refuse half of a crowd with "its decoders are 0.6 s behind"). */
static void test_building_is_not_overload(void **state)
{
    tu_server server;
    const char *flags[] = {"--max-lag-ms", "300", NULL};
    tu_server_start(&server, flags);
    assert_int_equal(await_health(&server, "decoders", 1), 1);
    size_t n;
    int16_t *pcm = tu_flite("slt", "Please open the window.", &n);
    /* Three at once: one decoder is idle, the others are built while
     * their speech waits. */
    wsclient *ws[3];
    for (int i = 0; i < 3; i++)
        ws[i] = open_on(&server, "crowd");
    /* At a live pace (audio that waits keeps coming), for 0.7 s or until
     * no stream waits for a decoder any more. */
    double began = vb_monotonic_s();
    size_t pos = 0, chunk = 1600;
    int waited = 0;
    while (pos < n) {
        size_t len = n - pos < chunk ? n - pos : chunk;
        for (int i = 0; i < 3; i++)
            tu_ws_send_pcm(ws[i], pcm + pos, len, 100);
        pos += len;
        double due = began + (double)pos / 16000;
        while (vb_monotonic_s() < due)
            usleep(5000);
        if (vb_monotonic_s() - began >= 0.7) {
            waited = health_number(&server, "decoders_waiting") > 0;
            break;
        }
    }
    wsclient *late = open_on(&server, "newcomer");
    for (int i = 0; i < 3; i++)
        tu_ws_send_pcm(ws[i], pcm + pos, n - pos, 100);
    free(pcm);
    summary s;
    if (!waited) {
        wsclient_abort(late);
        for (int i = 0; i < 3; i++)
            wsclient_abort(ws[i]);
        assert_int_equal(tu_server_stop(&server), 0);
        skip(); /* built within 0.6 s: nothing waited long enough to tell */
    }
    close_stream(late);
    assert_int_equal(collect(late, 30000, &s), 1000); /* not 1013 */
    assert_int_equal(s.errors, 0);
    wsclient_abort(late);
    for (int i = 0; i < 3; i++) {
        close_stream(ws[i]);
        assert_int_equal(collect(ws[i], 30000, &s), 1000);
        assert_int_equal(s.final_count, 1);
        wsclient_abort(ws[i]);
    }
    assert_int_equal(tu_server_stop(&server), 0);
}

/* Three people speak at once on a server started with flags; afterwards
 * its idle recognisers are released down to `left`. */
static void burst_then_idle(const char *const *flags, int left)
{
    tu_server server;
    tu_server_start(&server, flags);
    size_t n;
    int16_t *pcm = tu_flite("slt", "Please open the window.", &n);
    n -= 16 * 100; /* keep the utterance open: less silence than the endpoint */
    wsclient *ws[3];
    for (int i = 0; i < 3; i++) {
        char *resp, path[64];
        assert_int_equal(tu_http(&server, "POST", "/api/transcriptions/",
                                 "{\"title\": \"burst\"}", &resp), 200);
        free(resp);
        snprintf(path, sizeof(path), "/ws/transcribe/%d", i + 1);
        ws[i] = tu_ws(&server, path);
        assert_non_null(ws[i]);
        tu_ws_send_pcm(ws[i], pcm, n, 100);
    }
    free(pcm);
    assert_int_equal(await_health(&server, "decoders_in_use", 3), 3);
    assert_true(health_number(&server, "decoders") >= 3);
    for (int i = 0; i < 3; i++) {
        close_stream(ws[i]);
        summary s;
        assert_int_equal(collect(ws[i], 30000, &s), 1000);
        wsclient_abort(ws[i]);
        assert_int_equal(s.final_count, 1);
    }
    assert_int_equal(await_health(&server, "decoders", left), left);
    assert_int_equal(health_number(&server, "decoders_in_use"), 0);
    assert_int_equal(tu_server_stop(&server), 0);
}

/* --release-decoders-after: recognisers left unused are freed, but one
 * stays ready, or the spare ones. */
static void test_release_decoders(void **state)
{
    const char *one[] = {"--release-decoders-after", "1", NULL};
    burst_then_idle(one, 1);
    const char *spare[] = {"--release-decoders-after", "1", "--spare-decoders", "2",
                           NULL};
    burst_then_idle(spare, 2);
}

/* A watcher gets the stored finals, then the live session's messages. */
static void test_watch(void **state)
{
    size_t len;
    int16_t *all = tu_padded_speech("Please open the window.", 300, 800, &len);
    long long id = tu_create(&srv, "watched");
    summary s;
    assert_int_equal(run_stream(id, NULL, all, len, &s), 1000); /* stored */

    char path[64];
    snprintf(path, sizeof(path), "/ws/watch/%lld", id);
    wsclient *watcher = tu_ws(&srv, path);
    assert_non_null(watcher);
    summary w;
    assert_int_equal(collect(watcher, 1500, &w), 0);
    assert_string_equal(w.first_type, "status");
    assert_int_equal(w.final_count, 1); /* the stored one */
    assert_true(contains_word(w.finals[0].text, "window"));

    /* A second sitting, live: the watcher sees it as it happens. */
    assert_int_equal(run_stream(id, NULL, all, len, &s), 1000);
    free(all);
    assert_int_equal(collect(watcher, 3000, &w), 0);
    assert_int_equal(w.final_count, 1);
    assert_true(w.interims >= 1);
    assert_int_equal(w.speech_started, 1);
    assert_true(w.finals[0].start >= s.finals[0].start - 0.001);
    /* Audio from a watcher is ignored; CloseStream closes it normally. */
    wsclient_send(watcher, WS_BINARY, "abcd", 4);
    close_stream(watcher);
    assert_int_equal(collect(watcher, 3000, &w), 1000);
    wsclient_abort(watcher);

    expect_close("/ws/watch/777777", 4004, "not found");
    expect_close("/ws/watch/x-y", 4001, "malformed");

    /* Deleted while watched: the watcher is told, and closed with 4004
     * (it used to stay open on a transcription that was gone). */
    long long gone = tu_create(&srv, "deleted while watched");
    snprintf(path, sizeof(path), "/ws/watch/%lld", gone);
    watcher = tu_ws(&srv, path);
    assert_non_null(watcher);
    assert_int_equal(collect(watcher, 1000, &w), 0);
    assert_string_equal(w.first_type, "status");
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/", gone);
    char *resp;
    assert_int_equal(tu_http(&srv, "DELETE", path, NULL, &resp), 204);
    free(resp);
    expect_error_close(watcher, 4004, "this transcription was deleted");
}

/* count segments stored straight into server's database (as many finals
 * as a long meeting has), starting at 0.5 s, one a second. */
static void store_many(const tu_server *server, long long id, int count)
{
    /* One statement (a transaction on both backends). */
    size_t cap = (size_t)count * 200 + 200, len = 0;
    char *sql = malloc(cap);
    assert_non_null(sql);
    len += (size_t)snprintf(sql, cap, "INSERT INTO segments (transcription_id, "
                            "text, speaker, start_time, end_time, is_final, "
                            "words) VALUES ");
    for (int i = 0; i < count; i++)
        len += (size_t)snprintf(sql + len, cap - len,
                                "%s(%lld, 'stored number %d', 'speaker_0', "
                                "%d.5, %d.9, 1, '[]')", i ? ", " : "", id, i,
                                i, i);
    assert_int_equal(tu_sql(server->db, sql), 0);
    free(sql);
}

/* A watcher of a long transcript gets every stored final once, in order
 * (sent a page at a time), then what a live session says meanwhile. */
static void test_watch_paged(void **state)
{
    long long id = tu_create(&srv, "long meeting");
    store_many(&srv, id, 350);
    char path[64];
    snprintf(path, sizeof(path), "/ws/watch/%lld", id);
    wsclient *watcher = tu_ws(&srv, path);
    assert_non_null(watcher);
    /* A live session while the stored ones are still going out. */
    size_t n;
    int16_t *pcm = tu_padded_speech("Please open the window.", 200, 1000, &n);
    summary s;
    assert_int_equal(run_stream(id, NULL, pcm, n, &s), 1000);
    free(pcm);
    assert_int_equal(s.final_count, 1);

    tu_msg *msgs;
    int close_code;
    int count = tu_ws_collect(watcher, 3000, &msgs, &close_code);
    assert_int_equal(close_code, 0);
    int stored = 0, live_finals = 0;
    for (int i = 0; i < count; i++) {
        cJSON *m = cJSON_Parse(msgs[i].text);
        const cJSON *p = cJSON_GetObjectItem(m, "payload");
        if (strcmp(cJSON_GetObjectItem(m, "type")->valuestring,
                   "transcript_segment") == 0 &&
            cJSON_IsTrue(cJSON_GetObjectItem(p, "is_final"))) {
            const char *text = cJSON_GetObjectItem(p, "text")->valuestring;
            char want[32];
            snprintf(want, sizeof(want), "stored number %d", stored);
            if (strncmp(text, "stored number", 13) == 0) {
                assert_int_equal(live_finals, 0); /* all before the live one */
                assert_string_equal(text, want);
                stored++;
            } else {
                assert_true(contains_word(text, "window"));
                assert_true(num(p, "start") > 350.0);
                live_finals++;
            }
        }
        cJSON_Delete(m);
    }
    tu_msgs_free(msgs, count);
    assert_int_equal(stored, 350);
    assert_int_equal(live_finals, 1);
    wsclient_close(watcher, 1000);
}

/* A watcher handshake on a raw socket that will never read: its receive
 * buffer is made tiny, so that the server's messages pile up. */
static int stuck_watcher(const tu_server *server, long long id)
{
    int fd = tu_connect(server, 1024);
    char req[400];
    int len = snprintf(req, sizeof(req),
                       "GET /ws/watch/%lld HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n", id, server->port);
    assert_int_equal(send(fd, req, (size_t)len, 0), len);
    return fd;
}

/* Watchers are bounded: --max-watchers of them (then 1013), and a client
 * that reads nothing is closed with 1008 once --ws-queue-kb of messages
 * wait for it, instead of the server keeping them all. */
static void test_watch_limits(void **state)
{
    tu_server server;
    const char *flags[] = {"--max-watchers", "2", "--ws-queue-kb", "16", NULL};
    tu_server_start(&server, flags);
    char *resp;
    assert_int_equal(tu_http(&server, "POST", "/api/transcriptions/",
                             "{\"title\": \"watched a lot\"}", &resp), 200);
    free(resp);
    store_many(&server, 1, 300);
    int stuck = stuck_watcher(&server, 1);
    wsclient *reader = tu_ws(&server, "/ws/watch/1");
    assert_non_null(reader);
    assert_int_equal(await_health(&server, "watchers", 2), 2);
    wsclient *third = tu_ws(&server, "/ws/watch/1");
    assert_non_null(third);
    summary s;
    assert_int_equal(collect(third, 5000, &s), 1013);
    wsclient_abort(third);
    assert_non_null(strstr(s.last_error, "limit of 2 watchers"));

    /* A live session: a few hundred kilobytes of interims and finals. */
    size_t n;
    int16_t *pcm = tu_flite("slt", "The weather is nice today and I would "
                            "like a cup of coffee while we open the window "
                            "and talk about the plans for the spring, the "
                            "garden, the roof and the long summer holiday "
                            "by the sea with all of our friends.", &n);
    wsclient *live = tu_ws(&server, "/ws/transcribe/1");
    assert_non_null(live);
    tu_ws_send_pcm(live, pcm, n, 100);
    tu_ws_send_pcm(live, pcm, n, 100);
    free(pcm);
    close_stream(live);
    assert_int_equal(collect(live, 60000, &s), 1000);
    wsclient_abort(live);
    tu_msg *msgs;
    int close_code;
    int count = tu_ws_collect(reader, 2000, &msgs, &close_code);
    size_t bytes = 0;
    for (int i = 0; i < count; i++)
        bytes += strlen(msgs[i].text);
    assert_true(bytes > 64 * 1024); /* four times the limit */
    /* The stuck one is gone; the one that reads got everything. */
    assert_int_equal(await_health(&server, "watchers", 1), 1);
    assert_int_equal(close_code, 0);
    assert_true(count > 300);
    tu_msgs_free(msgs, count);
    wsclient_close(reader, 1000);
    close(stuck);
    FILE *f = fopen(server.log_path, "r");
    assert_non_null(f);
    char line[1024];
    int closed = 0;
    while (fgets(line, sizeof(line), f))
        closed |= strstr(line, "over --ws-queue-kb") != NULL;
    fclose(f);
    assert_true(closed);
    assert_int_equal(tu_server_stop(&server), 0);
}

/* The server's processor time so far, in seconds. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    unsigned long utime = 0, stime = 0;
    const char *p = strrchr(buf, ')'); /* past the command's name */
    assert_non_null(p);
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                            "%*u %lu %lu", &utime, &stime), 2);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Started with few file descriptors, the server meets more connections
 * than it can hold: it stops accepting for a while instead of spinning
 * on accept() and logging each failure, and serves again once they go. */
static void test_out_of_descriptors(void **state)
{
    tu_server server;
    tu_server_nofile = 128;
    tu_server_start(&server, NULL);
    tu_server_nofile = 0;
    /* Idle first: on a busy machine the start-up's own work (loading the
     * recogniser) ran into the measured seconds (0.36-0.69 s of processor
     * time with the other core busy). */
    for (int i = 0; i < 40; i++) {
        double before = cpu_seconds(server.pid);
        usleep(500 * 1000);
        if (cpu_seconds(server.pid) - before < 0.02)
            break;
    }
    int conns[200], open_count = 0;
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
            break;
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(server.port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(fd, (struct sockaddr *)&a, sizeof(a)); /* EINPROGRESS */
        conns[open_count++] = fd;
    }
    sleep(1);
    double cpu = cpu_seconds(server.pid);
    sleep(3);
    double spent = cpu_seconds(server.pid) - cpu;
    for (int i = 0; i < open_count; i++)
        close(conns[i]);
    if (spent > 0.3)
        fail_msg("the server spent %.2f s of processor time in 3 s while "
                 "out of connections", spent);
    /* It serves again (the dropped connections time out or close). */
    assert_int_equal(await_health(&server, "sessions", 0), 0);
    FILE *f = fopen(server.log_path, "r");
    assert_non_null(f);
    char line[1024];
    int accept_lines = 0;
    while (fgets(line, sizeof(line), f))
        accept_lines += strstr(line, "accept") != NULL;
    fclose(f);
    assert_true(accept_lines <= 5);
    assert_int_equal(tu_server_stop(&server), 0);
}

/* ---- one live session per transcription, and resuming it ----------- */

/* Reads messages until the status; returns its time_offset and copies its
 * resume_token into token.  Fails the test if the socket closes first or
 * nothing comes for timeout_ms. */
static double await_status(wsclient *ws, int timeout_ms,
                           char token[TX_TOKEN_LEN + 1])
{
    for (;;) {
        int op;
        char *data;
        size_t len;
        int r = wsclient_recv(ws, timeout_ms, &op, &data, &len);
        if (r != 1 || op != WS_TEXT)
            fprintf(stderr, "no status: recv %d, opcode %d, close %d \"%s\"\n",
                    r, r == 1 ? op : -1, wsclient_close_code(ws),
                    wsclient_close_reason(ws));
        assert_int_equal(r, 1);
        assert_int_equal(op, WS_TEXT);
        cJSON *m = cJSON_Parse(data);
        free(data);
        const cJSON *type = cJSON_GetObjectItem(m, "type");
        if (strcmp(type->valuestring, "status") != 0) {
            cJSON_Delete(m);
            continue;
        }
        const cJSON *t = cJSON_GetObjectItem(m, "resume_token");
        assert_true(cJSON_IsString(t));
        assert_int_equal(strlen(t->valuestring), TX_TOKEN_LEN);
        for (const char *c = t->valuestring; *c; c++)
            assert_non_null(strchr("0123456789abcdef", *c));
        snprintf(token, TX_TOKEN_LEN + 1, "%s", t->valuestring);
        double offset = num(m, "time_offset");
        cJSON_Delete(m);
        return offset;
    }
}

/* The stored segments of transcription id, parsed. */
static cJSON *stored_segments(long long id)
{
    char path[96], *body;
    snprintf(path, sizeof(path), "/api/transcriptions/%lld/segments/", id);
    assert_int_equal(tu_http(&srv, "GET", path, NULL, &body), 200);
    cJSON *segs = cJSON_Parse(body);
    free(body);
    assert_non_null(segs);
    return segs;
}

/* How many segments id has stored. */
static int stored_count(long long id)
{
    cJSON *segs = stored_segments(id);
    int n = cJSON_GetArraySize(segs);
    cJSON_Delete(segs);
    return n;
}

/* s holds one final with "window", no error, and it is id's only stored
 * segment. */
static void expect_one_window(const summary *s, long long id)
{
    assert_int_equal(s->errors, 0);
    assert_int_equal(s->final_count, 1);
    assert_true(contains_word(s->finals[0].text, "window"));
    assert_int_equal(stored_count(id), 1);
}

static void test_one_live_session(void **state)
{
    long long id = tu_create(&srv, "one at a time");
    char path[160];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *first = tu_ws(&srv, path);
    char token[TX_TOKEN_LEN + 1];
    assert_float_equal(await_status(first, 5000, token), 0, 1e-9);

    /* A second session is refused, with what to do about it. */
    expect_close(path, 4409, "already has a live session; wait until it "
                 "closes, or resume your own with ?resume=");
    /* So is one with a wrong token, told so; a cut or overlong one too. */
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?resume=%032d", id, 0);
    expect_close(path, 4409, "the resume token sent is not its");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?resume=%.31s", id, token);
    expect_close(path, 4409, "not its");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?resume=%sa", id, token);
    expect_close(path, 4409, "not its");
    /* Another transcription's token is no token for this one. */
    long long other = tu_create(&srv, "someone else's");
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", other);
    wsclient *elsewhere = tu_ws(&srv, path);
    char other_token[TX_TOKEN_LEN + 1];
    await_status(elsewhere, 5000, other_token);
    assert_string_not_equal(other_token, token);
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?resume=%s", id, other_token);
    expect_close(path, 4409, "not its");
    close_stream(elsewhere);
    summary s;
    assert_int_equal(collect(elsewhere, 10000, &s), 1000);
    wsclient_abort(elsewhere);

    /* The first never noticed: it transcribes and stores as before. */
    size_t n;
    int16_t *pcm = tu_padded_speech("Please open the window.", 200, 800, &n);
    tu_ws_send_pcm(first, pcm, n, 100);
    free(pcm);
    close_stream(first);
    assert_int_equal(collect(first, 30000, &s), 1000);
    wsclient_abort(first);
    expect_one_window(&s, id);

    /* Once it has closed, the next is admitted at once, even with the
     * ended session's token (a client that reconnects after a server
     * restart brings one), and gets a token of its own. */
    snprintf(path, sizeof(path), "/ws/transcribe/%lld?resume=%s", id, token);
    wsclient *next = tu_ws(&srv, path);
    char next_token[TX_TOKEN_LEN + 1];
    assert_true(await_status(next, 5000, next_token) > 1.0);
    assert_string_not_equal(next_token, token);
    close_stream(next);
    assert_int_equal(collect(next, 10000, &s), 1000);
    wsclient_abort(next);
}

/* Another process holds the database's write lock.  For a few seconds:
 * the final is tried again and comes late, stored.  For longer: the
 * session ends with 1011 saying where the transcript is stored up to, and
 * nothing after the failed final is stored, so there is no hole a
 * resuming client would skip; every final the client saw is stored. */
static void test_store_locked(void **state)
{
    if (tu_pg())
        skip(); /* SQLite's write lock; test_store_restarted is PostgreSQL's */
    char db_path[300];
    snprintf(db_path, sizeof(db_path), "%s/verbatim.db", srv.dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    long long id = tu_create(&srv, "locked");
    char path[160];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    double held = vb_monotonic_s();
    size_t n;
    int16_t *pcm = tu_padded_speech("Please open the window.", 200, 1000, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    summary s;
    assert_int_equal(collect(ws, 1000, &s), 0);
    assert_int_equal(s.final_count, 0); /* not stored, so not sent */
    while (vb_monotonic_s() - held < 8.0)
        usleep(100000);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(collect(ws, 8000, &s), 0); /* still open */
    expect_one_window(&s, id);

    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    pcm = tu_padded_speech("I would like a cup of coffee.", 200, 1000, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    pcm = tu_padded_speech("The weather is nice today.", 200, 1000, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    free(pcm);
    assert_int_equal(collect(ws, 45000, &s), 1011);
    wsclient_abort(ws);
    assert_int_equal(s.final_count, 0);
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.last_error, "could not store"));
    assert_non_null(strstr(s.last_error, "resume from there"));
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    sleep(1); /* had anything been queued behind the failure, it would land */
    assert_int_equal(stored_count(id), 1);
}

/* Runs one of tests/lib/postgres.sh's commands (VERBATIM_TEST_PG_STOP or
 * _START). */
static void pg_control(const char *which)
{
    const char *cmd = getenv(which);
    assert_non_null(cmd);
    char quiet[1024];
    snprintf(quiet, sizeof(quiet), "%s >/dev/null", cmd);
    assert_int_equal(system(quiet), 0);
}

/* PostgreSQL stops for a few seconds mid-session and comes back (a
 * restart, a fail-over): the finals said meanwhile are held, tried again,
 * and stored and sent once it is back, in order, each once; the session
 * goes on. */
static void test_store_restarted(void **state)
{
    if (!tu_pg())
        skip(); /* run by tests/postgres.sh */
    long long id = tu_create(&srv, "restarted");
    char path[160];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(&srv, path);
    assert_non_null(ws);
    size_t n, sent = 0;
    int16_t *pcm = tu_padded_speech("Please open the window.", 200, 1000, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    sent += n;
    free(pcm);
    summary s = {0};
    assert_int_equal(collect(ws, 3000, &s), 0);
    expect_one_window(&s, id);

    pg_control("VERBATIM_TEST_PG_STOP");
    double stopped = vb_monotonic_s();
    pcm = tu_padded_speech("I would like a cup of coffee.", 200, 1000, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    sent += n;
    free(pcm);
    pcm = tu_padded_speech("The weather is nice today.", 200, 1000, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    sent += n;
    free(pcm);
    summary during = {0};
    assert_int_equal(collect(ws, 500, &during), 0);
    assert_int_equal(during.final_count, 0); /* not stored, so not sent */
    /* /api/health says so: a balancer takes the instance out. */
    char *health;
    assert_int_equal(tu_http(&srv, "GET", "/api/health", NULL, &health), 503);
    assert_non_null(strstr(health, "\"store_reachable\":false"));
    assert_non_null(strstr(health, "\"store\":\"postgresql\""));
    free(health);
    while (vb_monotonic_s() - stopped < 5.0)
        usleep(100000);
    pg_control("VERBATIM_TEST_PG_START");
    summary after = {0};
    assert_int_equal(collect(ws, 8000, &after), 0); /* still open */
    assert_int_equal(after.errors, 0);
    assert_int_equal(after.final_count, 2);
    assert_true(contains_word(after.finals[0].text, "coffee"));
    assert_true(contains_word(after.finals[1].text, "weather"));
    close_stream(ws);
    assert_int_equal(collect(ws, 10000, &after), 1000);
    wsclient_abort(ws);
    assert_int_equal(tu_http(&srv, "GET", "/api/health", NULL, &health), 200);
    assert_non_null(strstr(health, "\"store_reachable\":true"));
    free(health);
    cJSON *segs = stored_segments(id);
    assert_int_equal(cJSON_GetArraySize(segs), 3);
    const char *words[] = {"window", "coffee", "weather"};
    for (int i = 0; i < 3; i++)
        assert_true(contains_word(cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetArrayItem(segs, i), "text")), words[i]));
    cJSON_Delete(segs);
    /* The audio heard while the database was away is kept too: held and
     * stored once it was back. */
    size_t bytes;
    pcm_buf kept = kept_audio(id, &bytes);
    printf("kept %.2f s of %.2f s sent\n", kept.len / 16000.0, sent / 16000.0);
    assert_true(kept.len + 16000 / 10 >= sent);
    pcm_buf_free(&kept);
}

/* A client whose connection dropped (the server has not noticed: the old
 * socket is still open) reconnects with its token: the new socket is
 * admitted at once, the old session's last audio is still transcribed and
 * stored, and the new session's timeline starts after it. */
static void test_resume_takes_over(void **state)
{
    long long id = tu_create(&srv, "resumed");
    char path[160];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *old = tu_ws(&srv, path);
    char token[TX_TOKEN_LEN + 1];
    await_status(old, 5000, token);
    /* Speech and 300 ms of quiet: too short a pause for the endpoint, so
     * the utterance is still open when the connection "drops". */
    size_t n;
    int16_t *pcm = tu_padded_speech("The weather is nice today.", 200, 300, &n);
    tu_ws_send_pcm(old, pcm, n, 100);
    free(pcm);
    usleep(300000);

    snprintf(path, sizeof(path), "/ws/transcribe/%lld?resume=%s", id, token);
    wsclient *again = tu_ws(&srv, path);
    char again_token[TX_TOKEN_LEN + 1];
    double t0 = vb_monotonic_s();
    double offset = await_status(again, 5000, again_token);
    double waited = vb_monotonic_s() - t0;
    /* The status comes once the old session's last final is stored: its
     * offset is that final's end. */
    assert_string_equal(again_token, token); /* the same session, resumed */
    cJSON *segs = stored_segments(id);
    assert_int_equal(cJSON_GetArraySize(segs), 1);
    const cJSON *first = cJSON_GetArrayItem(segs, 0);
    assert_true(contains_word(cJSON_GetObjectItem(first, "text")->valuestring,
                              "weather"));
    double first_end = num(first, "end_time");
    assert_float_equal(offset, first_end, 0.0011);
    cJSON_Delete(segs);
    if (waited > 3.0)
        fprintf(stderr, "the resumed session's status took %.2f s\n", waited);
    assert_true(waited < 3.0);

    /* The old socket got its final, then is closed and told why. */
    summary s;
    assert_int_equal(collect(old, 5000, &s), 4409);
    wsclient_abort(old);
    assert_int_equal(s.final_count, 1);
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.last_error, "another connection resumed this "
                                         "session"));

    /* The new one goes on where it ended. */
    pcm = tu_padded_speech("Please open the window.", 200, 800, &n);
    tu_ws_send_pcm(again, pcm, n, 100);
    free(pcm);
    close_stream(again);
    assert_int_equal(collect(again, 30000, &s), 1000);
    wsclient_abort(again);
    assert_int_equal(s.final_count, 1);
    assert_true(s.finals[0].start >= first_end);
    segs = stored_segments(id);
    assert_int_equal(cJSON_GetArraySize(segs), 2);
    assert_true(contains_word(cJSON_GetObjectItem(cJSON_GetArrayItem(segs, 1),
                                                  "text")->valuestring, "window"));
    cJSON_Delete(segs);
}

/* A 16 kHz mono 16-bit WAV of pcm (malloc'd). */
static uint8_t *wav_of(const int16_t *pcm, size_t n, size_t *len)
{
    *len = 44 + n * 2;
    uint8_t *wav = malloc(*len);
    memcpy(wav, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0"
                "\0\x7d\0\0\x02\0\x10\0data\0\0\0\0", 44);
    uint32_t data = (uint32_t)(n * 2), riff = data + 36;
    memcpy(wav + 4, &riff, 4);
    memcpy(wav + 40, &data, 4);
    memcpy(wav + 44, pcm, n * 2);
    return wav;
}

/* A session's times start where the stored transcript ends at its first
 * final, not when it opened: an upload stored in between comes before
 * it.  Sessions in turn follow each other on the timeline. */
static void test_offset_at_first_final(void **state)
{
    long long id = tu_create(&srv, "offset at the first final");
    char path[160];
    snprintf(path, sizeof(path), "/ws/transcribe/%lld", id);
    wsclient *ws = tu_ws(&srv, path);
    char token[TX_TOKEN_LEN + 1];
    assert_float_equal(await_status(ws, 5000, token), 0, 1e-9);

    /* An upload is no live session: it is not refused. */
    size_t n, wav_len;
    int16_t *pcm = tu_padded_speech("I would like a cup of coffee.", 2000, 800, &n);
    uint8_t *wav = wav_of(pcm, n, &wav_len);
    free(pcm);
    char url[160], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/transcriptions/%lld/"
             "audio?wait=60", srv.port, id);
    http_result res;
    assert_int_equal(http_fetch(url, "POST", "audio/wav", NULL, wav, wav_len,
                                &res, err, sizeof(err)), 0);
    free(wav);
    assert_int_equal(res.status, 200);
    http_result_free(&res);
    cJSON *segs = stored_segments(id);
    assert_int_equal(cJSON_GetArraySize(segs), 1);
    double upload_end = num(cJSON_GetArrayItem(segs, 0), "end_time");
    cJSON_Delete(segs);
    assert_true(upload_end > 2.0);

    /* The session opened at 0 but stores its first final after that. */
    pcm = tu_padded_speech("Please open the window.", 200, 800, &n);
    tu_ws_send_pcm(ws, pcm, n, 100);
    close_stream(ws);
    summary s;
    assert_int_equal(collect(ws, 30000, &s), 1000);
    wsclient_abort(ws);
    assert_int_equal(s.final_count, 1);
    if (s.finals[0].start < upload_end)
        fprintf(stderr, "final at %.3f, upload ends at %.3f\n",
                s.finals[0].start, upload_end);
    assert_true(s.finals[0].start >= upload_end);

    /* The next session, in turn, starts after this one's end. */
    summary s2;
    assert_int_equal(run_stream(id, NULL, pcm, n, &s2), 1000);
    free(pcm);
    assert_int_equal(s2.final_count, 1);
    assert_true(s2.finals[0].start >= s.finals[0].end);
    segs = stored_segments(id);
    assert_int_equal(cJSON_GetArraySize(segs), 3);
    for (int i = 1; i < 3; i++)
        assert_true(num(cJSON_GetArrayItem(segs, i), "start_time") >=
                    num(cJSON_GetArrayItem(segs, i - 1), "end_time"));
    cJSON_Delete(segs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentences_live_and_stored),
        cmocka_unit_test(test_sentence_breaks_inside_a_final),
        cmocka_unit_test(test_audio_kept_on_the_timeline),
        cmocka_unit_test(test_raw_words),
        cmocka_unit_test(test_taught_words),
        cmocka_unit_test(test_vocabulary_on_a_slow_store),
        cmocka_unit_test(test_shutdown_while_looking_up),
        cmocka_unit_test(test_rate_and_channels),
        cmocka_unit_test(test_endpoint_after_last_word),
        cmocka_unit_test(test_phrases_of_one_utterance),
        cmocka_unit_test(test_finalize),
        cmocka_unit_test(test_disconnect_mid_utterance),
        cmocka_unit_test(test_bad_ids_and_params),
        cmocka_unit_test(test_unsupported_containers),
        cmocka_unit_test(test_oversized_frame),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_session_limit),
        cmocka_unit_test(test_shutdown_keeps_audio),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_one_live_session),
        cmocka_unit_test(test_resume_takes_over),
        cmocka_unit_test(test_store_locked),
        cmocka_unit_test(test_store_restarted),
        cmocka_unit_test(test_watch_paged),
        cmocka_unit_test(test_watch_limits),
        cmocka_unit_test(test_out_of_descriptors),
        cmocka_unit_test(test_offset_at_first_final),
        cmocka_unit_test(test_concurrent_streams),
        cmocka_unit_test(test_spare_decoders),
        cmocka_unit_test(test_release_decoders),
        cmocka_unit_test(test_start_decoders),
        cmocka_unit_test(test_decoders_for_newcomers),
        cmocka_unit_test(test_building_is_not_overload),
    };
    return cmocka_run_group_tests_name("live", tests, setup, teardown);
}
