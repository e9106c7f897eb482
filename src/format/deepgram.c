/* deepgram.c - Deepgram's live messages (deepgram.h). */
#include "deepgram.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepgram names its models; Verbatim's recogniser stands in for any of
 * them, and says what it is. */
#define MODEL_VERSION "verbatim-pocketsphinx"
#define MODEL_ARCH "pocketsphinx"

static double ms(double seconds)
{
    return round(seconds * 1000.0) / 1000.0;
}

void dg_uuid(char out[37])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
             b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int dg_speaker_number(const char *label)
{
    if (label == NULL || strncmp(label, "speaker_", 8) != 0)
        return -1;
    char *end;
    long n = strtol(label + 8, &end, 10);
    return *end == '\0' && n >= 0 && n < 1000 ? (int)n : -1;
}

static char *print(cJSON *msg)
{
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    return text;
}

/* One entry of a words array: words [from, from + count) of the event,
 * shown as `shown` (NULL: the word as recognised). */
static cJSON *word_entry(const dg_stream *s, const session_event *ev,
                         size_t from, size_t count, const char *shown,
                         int speaker)
{
    const asr_word *w = &ev->words[from], *last = &ev->words[from + count - 1];
    float confidence = w->confidence;
    for (size_t k = 1; k < count; k++)
        if (w[k].confidence < confidence)
            confidence = w[k].confidence;
    char word[ASR_WORD_MAX * 2];
    if (count == 1 || shown == NULL) {
        snprintf(word, sizeof(word), "%s", w->word);
    } else { /* the written form, lower case, without the sentence's marks */
        snprintf(word, sizeof(word), "%s", shown);
        size_t n = strlen(word);
        while (n > 1 && strchr(".,?!", word[n - 1]) != NULL)
            word[--n] = '\0';
        for (char *c = word; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "word", word);
    cJSON_AddNumberToObject(entry, "start", ms(w->start));
    cJSON_AddNumberToObject(entry, "end", ms(last->end));
    cJSON_AddNumberToObject(entry, "confidence",
                            round(confidence * 1000.0) / 1000.0);
    cJSON_AddStringToObject(entry, "punctuated_word", shown ? shown : w->word);
    if (s->diarize && speaker >= 0) {
        cJSON_AddNumberToObject(entry, "speaker", speaker);
        /* Deepgram's own is a model's score; this is no better than the
         * label being the live one, which may yet change. */
        cJSON_AddNumberToObject(entry, "speaker_confidence", 0.5);
    }
    return entry;
}

/* The final's text split at spaces gives each word as it is shown
 * (capitals, punctuation) when it has as many words as the recogniser
 * found, or, with smart_format, as many as the written tokens, each of
 * which then stands for the words it covers ("$5" for "five dollars", as
 * Deepgram's words do); else the word as recognised stands for itself. */
static cJSON *words_array(const dg_stream *s, const session_event *ev)
{
    cJSON *words = cJSON_CreateArray();
    char *shown = ev->text ? strdup(ev->text) : NULL;
    char *tokens[512];
    size_t n = 0, expected = ev->word_count;
    for (char *save = NULL, *t = shown ? strtok_r(shown, " ", &save) : NULL;
         t && n < 512; t = strtok_r(NULL, " ", &save))
        tokens[n++] = t;
    if (ev->spans != NULL) {
        expected = 0;
        for (size_t i = 0; i < ev->word_count; i++)
            expected += ev->spans[i] > 0;
    }
    int aligned = n == expected;
    int speaker = dg_speaker_number(ev->speaker);
    for (size_t i = 0, t = 0; i < ev->word_count; i++) {
        size_t span = aligned && ev->spans ? ev->spans[i] : 1;
        if (span == 0)
            continue;
        if (i + span > ev->word_count)
            span = ev->word_count - i;
        cJSON_AddItemToArray(words, word_entry(s, ev, i, span,
                                               aligned ? tokens[t++] : NULL,
                                               speaker));
        i += span - 1;
    }
    free(shown);
    return words;
}

static double mean_confidence(const session_event *ev)
{
    if (ev->word_count == 0)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < ev->word_count; i++)
        sum += ev->words[i].confidence;
    return round(sum / (double)ev->word_count * 1000.0) / 1000.0;
}

static cJSON *channel_list(void)
{
    cJSON *c = cJSON_CreateArray();
    cJSON_AddItemToArray(c, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(c, cJSON_CreateNumber(1));
    return c;
}

static cJSON *model_info(const dg_stream *s)
{
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "name", s->model ? s->model : "general");
    cJSON_AddStringToObject(info, "version", MODEL_VERSION);
    cJSON_AddStringToObject(info, "arch", MODEL_ARCH);
    return info;
}

char *dg_results(const dg_stream *s, const session_event *ev, int from_finalize)
{
    int final = ev->kind == SESSION_FINAL || ev->kind == SESSION_FINALIZED;
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "Results");
    cJSON_AddItemToObject(msg, "channel_index", channel_list());
    cJSON_AddNumberToObject(msg, "duration", ms(ev->end - ev->start));
    cJSON_AddNumberToObject(msg, "start", ms(ev->start));
    cJSON_AddBoolToObject(msg, "is_final", final);
    cJSON_AddBoolToObject(msg, "speech_final", final && ev->speech_final);
    cJSON_AddBoolToObject(msg, "from_finalize", final && from_finalize);
    cJSON *alt = cJSON_CreateObject();
    cJSON_AddStringToObject(alt, "transcript", ev->text ? ev->text : "");
    cJSON_AddNumberToObject(alt, "confidence", mean_confidence(ev));
    cJSON_AddItemToObject(alt, "words", words_array(s, ev));
    cJSON *alternatives = cJSON_CreateArray();
    cJSON_AddItemToArray(alternatives, alt);
    cJSON *channel = cJSON_AddObjectToObject(msg, "channel");
    cJSON_AddItemToObject(channel, "alternatives", alternatives);
    cJSON *meta = cJSON_AddObjectToObject(msg, "metadata");
    cJSON_AddStringToObject(meta, "request_id", s->request_id);
    cJSON_AddItemToObject(meta, "model_info", model_info(s));
    cJSON_AddStringToObject(meta, "model_uuid", s->request_id);
    return print(msg);
}

char *dg_speech_started(double timestamp)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "SpeechStarted");
    cJSON *channel = cJSON_AddArrayToObject(msg, "channel");
    cJSON_AddItemToArray(channel, cJSON_CreateNumber(0));
    cJSON_AddNumberToObject(msg, "timestamp", ms(timestamp));
    return print(msg);
}

char *dg_utterance_end(double last_word_end)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "UtteranceEnd");
    cJSON_AddItemToObject(msg, "channel", channel_list());
    cJSON_AddNumberToObject(msg, "last_word_end", ms(last_word_end));
    return print(msg);
}

/* The fields a live stream's Metadata and a prerecorded answer's metadata
 * share. */
static void add_metadata(cJSON *msg, const dg_stream *s, double duration,
                         const char *created, const char *const *warnings)
{
    cJSON_AddStringToObject(msg, "transaction_key", "deprecated");
    cJSON_AddStringToObject(msg, "request_id", s->request_id);
    cJSON_AddStringToObject(msg, "sha256", s->sha256);
    cJSON_AddStringToObject(msg, "created", created);
    cJSON_AddNumberToObject(msg, "duration", ms(duration));
    cJSON_AddNumberToObject(msg, "channels", 1);
    cJSON *models = cJSON_AddArrayToObject(msg, "models");
    cJSON_AddItemToArray(models, cJSON_CreateString(s->request_id));
    cJSON *info = cJSON_AddObjectToObject(msg, "model_info");
    cJSON_AddItemToObject(info, s->request_id, model_info(s));
    if (warnings != NULL && warnings[0] != NULL) {
        cJSON *list = cJSON_AddArrayToObject(msg, "warnings");
        for (int i = 0; warnings[i]; i++) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddStringToObject(w, "type", "unsupported_parameter");
            cJSON_AddStringToObject(w, "message", warnings[i]);
            cJSON_AddItemToArray(list, w);
        }
    }
}

char *dg_metadata(const dg_stream *s, double duration, const char *created,
                  const char *const *warnings)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "Metadata");
    add_metadata(msg, s, duration, created, warnings);
    return print(msg);
}

/* ---- prerecorded ----------------------------------------------------- */

/* A final of the answer: where its words are in `words` (its utterance
 * and paragraph have its index), for relabelling. */
typedef struct dg_final {
    int64_t segment_id;
    size_t first_word, words;
} dg_final;

struct dg_transcript {
    cJSON *words;       /* every word */
    cJSON *utterances;  /* one a final */
    cJSON *paragraphs;  /* one a final, its sentences split */
    char *text;         /* the finals' texts joined */
    size_t text_len;
    double confidence_sum;
    size_t word_count;
    dg_final *finals;   /* in order */
    size_t final_count, final_cap;
};

dg_transcript *dg_transcript_new(void)
{
    dg_transcript *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->words = cJSON_CreateArray();
    t->utterances = cJSON_CreateArray();
    t->paragraphs = cJSON_CreateArray();
    return t;
}

void dg_transcript_free(dg_transcript *t)
{
    if (t == NULL)
        return;
    cJSON_Delete(t->words);
    cJSON_Delete(t->utterances);
    cJSON_Delete(t->paragraphs);
    free(t->text);
    free(t->finals);
    free(t);
}

static void append_text(dg_transcript *t, const char *text)
{
    size_t n = strlen(text), sep = t->text_len > 0;
    char *grown = realloc(t->text, t->text_len + sep + n + 1);
    if (grown == NULL)
        return;
    t->text = grown;
    if (sep)
        t->text[t->text_len++] = ' ';
    memcpy(t->text + t->text_len, text, n + 1);
    t->text_len += n;
}

/* A final's sentences: its shown words cut after each one that ends in
 * . ? or !, each sentence with the times of its first and last words. */
static cJSON *sentences(const cJSON *words)
{
    cJSON *list = cJSON_CreateArray();
    char text[4096] = "";
    size_t len = 0;
    double start = -1, end = 0;
    int n = cJSON_GetArraySize(words), i = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, words) {
        i++;
        const char *shown = cJSON_GetObjectItem(w, "punctuated_word")->valuestring;
        if (start < 0)
            start = cJSON_GetObjectItem(w, "start")->valuedouble;
        end = cJSON_GetObjectItem(w, "end")->valuedouble;
        if (len + 1 < sizeof(text)) { /* a longer sentence is cut short */
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
                                    len ? " " : "", shown);
            if (len >= sizeof(text))
                len = sizeof(text) - 1;
        }
        size_t sl = strlen(shown);
        int stop = sl > 0 && strchr(".?!", shown[sl - 1]) != NULL;
        if (stop || i == n) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "text", text);
            cJSON_AddNumberToObject(s, "start", start);
            cJSON_AddNumberToObject(s, "end", end);
            cJSON_AddItemToArray(list, s);
            text[0] = '\0';
            len = 0;
            start = -1;
        }
    }
    return list;
}

void dg_transcript_add(dg_transcript *t, const dg_stream *s,
                       const session_event *ev, int64_t segment_id)
{
    if (t == NULL || ev->text == NULL || ev->text[0] == '\0')
        return;
    if (t->final_count == t->final_cap) {
        size_t cap = t->final_cap ? t->final_cap * 2 : 64;
        dg_final *grown = realloc(t->finals, cap * sizeof(*grown));
        if (grown == NULL)
            return; /* the answer lacks it, as it lacks what a full
                       cJSON array would */
        t->finals = grown;
        t->final_cap = cap;
    }
    cJSON *words = words_array(s, ev);
    t->finals[t->final_count++] = (dg_final){
        segment_id, (size_t)cJSON_GetArraySize(t->words),
        (size_t)cJSON_GetArraySize(words)};
    cJSON *w;
    cJSON_ArrayForEach(w, words)
        cJSON_AddItemToArray(t->words, cJSON_Duplicate(w, 1));
    for (size_t i = 0; i < ev->word_count; i++)
        t->confidence_sum += ev->words[i].confidence;
    t->word_count += ev->word_count;
    append_text(t, ev->text);
    int speaker = dg_speaker_number(ev->speaker);

    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "start", ms(ev->start));
    cJSON_AddNumberToObject(u, "end", ms(ev->end));
    cJSON_AddNumberToObject(u, "confidence", mean_confidence(ev));
    cJSON_AddNumberToObject(u, "channel", 0);
    cJSON_AddStringToObject(u, "transcript", ev->text);
    cJSON_AddItemToObject(u, "words", cJSON_Duplicate(words, 1));
    if (s->diarize && speaker >= 0)
        cJSON_AddNumberToObject(u, "speaker", speaker);
    char id[37];
    dg_uuid(id);
    cJSON_AddStringToObject(u, "id", id);
    cJSON_AddItemToArray(t->utterances, u);

    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToObject(p, "sentences", sentences(words));
    cJSON_AddNumberToObject(p, "num_words", (double)ev->word_count);
    cJSON_AddNumberToObject(p, "start", ms(ev->start));
    cJSON_AddNumberToObject(p, "end", ms(ev->end));
    if (s->diarize && speaker >= 0)
        cJSON_AddNumberToObject(p, "speaker", speaker);
    cJSON_AddItemToArray(t->paragraphs, p);
    cJSON_Delete(words);
}

/* Sets an object's "speaker" where it has one. */
static void set_speaker(cJSON *o, int speaker)
{
    cJSON *item = cJSON_GetObjectItem(o, "speaker");
    if (item != NULL)
        cJSON_SetNumberValue(item, speaker);
}

void dg_transcript_relabel(dg_transcript *t, int64_t segment_id, int speaker)
{
    if (t == NULL || speaker < 0)
        return;
    size_t lo = 0, hi = t->final_count; /* segment ids rise */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->finals[mid].segment_id < segment_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->final_count || t->finals[lo].segment_id != segment_id)
        return; /* not in this answer (an earlier sitting's) */
    const dg_final *f = &t->finals[lo];
    for (size_t i = 0; i < f->words; i++)
        set_speaker(cJSON_GetArrayItem(t->words, (int)(f->first_word + i)),
                    speaker);
    cJSON *u = cJSON_GetArrayItem(t->utterances, (int)lo);
    set_speaker(u, speaker);
    cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(u, "words"))
        set_speaker(w, speaker);
    set_speaker(cJSON_GetArrayItem(t->paragraphs, (int)lo), speaker);
}

/* paragraphs.transcript: each paragraph on a line of its own after a
 * blank one, "Speaker N: " before it when there are speakers. */
static char *paragraphs_text(const cJSON *paragraphs)
{
    size_t cap = 256, len = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    const cJSON *p;
    cJSON_ArrayForEach(p, paragraphs) {
        char head[32] = "";
        const cJSON *speaker = cJSON_GetObjectItem(p, "speaker");
        if (speaker != NULL)
            snprintf(head, sizeof(head), "Speaker %d: ", speaker->valueint);
        const cJSON *s;
        size_t want = len + strlen(head) + 3;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(p, "sentences"))
            want += strlen(cJSON_GetObjectItem(s, "text")->valuestring) + 1;
        if (want + 1 > cap) {
            cap = (want + 1) * 2;
            char *grown = realloc(out, cap);
            if (grown == NULL)
                break;
            out = grown;
        }
        len += (size_t)sprintf(out + len, "%s%s", len ? "\n\n" : "\n", head);
        int first = 1;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(p, "sentences")) {
            len += (size_t)sprintf(out + len, "%s%s", first ? "" : " ",
                                   cJSON_GetObjectItem(s, "text")->valuestring);
            first = 0;
        }
    }
    return out;
}

char *dg_transcript_json(const dg_transcript *t, const dg_stream *s,
                         double duration, const char *created,
                         int paragraphs, int utterances,
                         const char *const *warnings)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(doc, "metadata");
    add_metadata(meta, s, duration, created, warnings);
    cJSON *results = cJSON_AddObjectToObject(doc, "results");
    cJSON *alt = cJSON_CreateObject();
    cJSON_AddStringToObject(alt, "transcript", t->text ? t->text : "");
    cJSON_AddNumberToObject(alt, "confidence",
                            t->word_count ? round(t->confidence_sum /
                                                  (double)t->word_count * 1000.0) / 1000.0
                                          : 0);
    cJSON_AddItemToObject(alt, "words", cJSON_Duplicate(t->words, 1));
    if (paragraphs) {
        cJSON *p = cJSON_AddObjectToObject(alt, "paragraphs");
        char *text = paragraphs_text(t->paragraphs);
        cJSON_AddStringToObject(p, "transcript", text ? text : "");
        free(text);
        cJSON_AddItemToObject(p, "paragraphs", cJSON_Duplicate(t->paragraphs, 1));
    }
    cJSON *alternatives = cJSON_CreateArray();
    cJSON_AddItemToArray(alternatives, alt);
    cJSON *channel = cJSON_CreateObject();
    cJSON_AddItemToObject(channel, "alternatives", alternatives);
    cJSON *channels = cJSON_AddArrayToObject(results, "channels");
    cJSON_AddItemToArray(channels, channel);
    if (utterances)
        cJSON_AddItemToObject(results, "utterances",
                              cJSON_Duplicate(t->utterances, 1));
    return print(doc);
}
