/* wsproto.c - the server's WebSocket message texts (PROTOCOL.md 1, step 3). */
#include <cJSON.h>
#include <math.h>

#include "net_internal.h"

static char *print_message(const char *type, cJSON *payload)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", type);
    cJSON_AddItemToObject(msg, "payload", payload);
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    return text;
}

char *wsproto_status(const char *text)
{
    return print_message("status", cJSON_CreateString(text));
}

char *wsproto_error(const char *text)
{
    return print_message("error", cJSON_CreateString(text));
}

char *wsproto_event(const char *type)
{
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "type", type);
    return print_message("event", payload);
}

static double ms(double seconds)
{
    return round(seconds * 1000.0) / 1000.0;
}

char *wsproto_segment(const session_event *ev, double offset,
                      const char *speaker)
{
    int final = ev->kind == SESSION_FINAL;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "text", ev->text ? ev->text : "");
    cJSON_AddBoolToObject(p, "is_final", final);
    cJSON_AddBoolToObject(p, "speech_final", final && ev->speech_final);
    if (speaker)
        cJSON_AddStringToObject(p, "speaker", speaker);
    else
        cJSON_AddNullToObject(p, "speaker");
    cJSON_AddNumberToObject(p, "start", ms(ev->start + offset));
    cJSON_AddNumberToObject(p, "end", ms(ev->end + offset));
    if (final) {
        cJSON *words = cJSON_AddArrayToObject(p, "words");
        for (size_t i = 0; i < ev->word_count; i++) {
            const asr_word *w = &ev->words[i];
            cJSON *word = cJSON_CreateObject();
            cJSON_AddStringToObject(word, "word", w->word);
            cJSON_AddNumberToObject(word, "start", ms(w->start + offset));
            cJSON_AddNumberToObject(word, "end", ms(w->end + offset));
            cJSON_AddNumberToObject(word, "confidence",
                                    round(w->confidence * 1000.0) / 1000.0);
            cJSON_AddItemToArray(words, word);
        }
    }
    return print_message("transcript_segment", p);
}
