/* deepgram.c - Deepgram's live messages (deepgram.h). */
#include "deepgram.h"

#include <cJSON.h>
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

/* The final's text split at spaces gives each word as it is shown
 * (capitals, punctuation) when it has as many words as the recogniser
 * found; else the word as recognised stands for itself. */
static cJSON *words_array(const dg_stream *s, const session_event *ev)
{
    cJSON *words = cJSON_CreateArray();
    char *shown = ev->text ? strdup(ev->text) : NULL;
    char *tokens[512];
    size_t n = 0;
    for (char *save = NULL, *t = shown ? strtok_r(shown, " ", &save) : NULL;
         t && n < 512; t = strtok_r(NULL, " ", &save))
        tokens[n++] = t;
    int aligned = n == ev->word_count;
    int speaker = dg_speaker_number(ev->speaker);
    for (size_t i = 0; i < ev->word_count; i++) {
        const asr_word *w = &ev->words[i];
        cJSON *word = cJSON_CreateObject();
        cJSON_AddStringToObject(word, "word", w->word);
        cJSON_AddNumberToObject(word, "start", ms(w->start));
        cJSON_AddNumberToObject(word, "end", ms(w->end));
        cJSON_AddNumberToObject(word, "confidence",
                                round(w->confidence * 1000.0) / 1000.0);
        cJSON_AddStringToObject(word, "punctuated_word",
                                aligned ? tokens[i] : w->word);
        if (s->diarize && speaker >= 0) {
            cJSON_AddNumberToObject(word, "speaker", speaker);
            /* Deepgram's own is a model's score; this is no better than
             * the label being the live one, which may yet change. */
            cJSON_AddNumberToObject(word, "speaker_confidence", 0.5);
        }
        cJSON_AddItemToArray(words, word);
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
    int final = ev->kind == SESSION_FINAL;
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

char *dg_metadata(const dg_stream *s, double duration, const char *created,
                  const char *const *warnings)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "Metadata");
    cJSON_AddStringToObject(msg, "transaction_key", "deprecated");
    cJSON_AddStringToObject(msg, "request_id", s->request_id);
    cJSON_AddStringToObject(msg, "sha256", "");
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
    return print(msg);
}
