/* wsproto.c - the texts of Verbatim's WebSocket messages (wsproto.h). */
#include "wsproto.h"

#include <cJSON.h>
#include <math.h>

static double ms(double seconds)
{
    return round(seconds * 1000.0) / 1000.0;
}

static char *print_message(const char *type, cJSON *payload)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", type);
    cJSON_AddItemToObject(msg, "payload", payload);
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    return text;
}

char *wsproto_status(const char *text, double time_offset,
                     const char *resume_token)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "status");
    cJSON_AddStringToObject(msg, "payload", text);
    /* Verbatim's additions: where the stored transcript ends as the
     * session opens (its times start there unless something else is
     * stored before its first final), and what takes the session over
     * after a dropped connection (protocol.md 2.8). */
    if (time_offset >= 0)
        cJSON_AddNumberToObject(msg, "time_offset", ms(time_offset));
    if (resume_token != NULL)
        cJSON_AddStringToObject(msg, "resume_token", resume_token);
    char *out = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    return out;
}

const char wsproto_deleted[] =
    "{\"type\":\"error\",\"payload\":\"" WSPROTO_DELETED "\"}";

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

char *wsproto_utterance_end(const session_event *ev, double offset)
{
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "type", "utterance_end");
    /* Verbatim's addition: where in the audio the pause became long
     * enough to end the utterance (or the audio ended). */
    cJSON_AddNumberToObject(payload, "end", ms(ev->end + offset));
    return print_message("event", payload);
}


/* [{"word", "start", "end", "confidence"}, ...] on the timeline. */
static cJSON *words_array(const session_event *ev, double offset)
{
    cJSON *words = cJSON_CreateArray();
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
    return words;
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
    if (final)
        cJSON_AddItemToObject(p, "words", words_array(ev, offset));
    return print_message("transcript_segment", p);
}

char *wsproto_words(const session_event *ev, double offset)
{
    cJSON *words = words_array(ev, offset);
    char *text = cJSON_PrintUnformatted(words);
    cJSON_Delete(words);
    return text;
}

/* A segment as a stored final's payload has it (wsproto_stored_segment). */
static cJSON *stored_payload(const store_segment *seg)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "text", seg->text);
    cJSON_AddBoolToObject(p, "is_final", 1);
    cJSON_AddBoolToObject(p, "speech_final", 1);
    if (seg->speaker)
        cJSON_AddStringToObject(p, "speaker", seg->speaker);
    else
        cJSON_AddNullToObject(p, "speaker");
    cJSON_AddNumberToObject(p, "start", ms(seg->start_time));
    cJSON_AddNumberToObject(p, "end", ms(seg->end_time));
    cJSON *words = seg->words_json ? cJSON_Parse(seg->words_json) : NULL;
    cJSON_AddItemToObject(p, "words", words ? words : cJSON_CreateArray());
    cJSON_AddNumberToObject(p, "id", (double)seg->id);
    return p;
}

char *wsproto_stored_segment(const store_segment *seg)
{
    return print_message("transcript_segment", stored_payload(seg));
}

char *wsproto_segment_updated(const store_segment *seg)
{
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "type", "segment_updated");
    cJSON_AddItemToObject(payload, "segment", stored_payload(seg));
    return print_message("event", payload);
}

char *wsproto_speakers_named(const store_speaker *names, size_t count)
{
    cJSON *map = cJSON_CreateObject();
    for (size_t i = 0; i < count; i++)
        cJSON_AddStringToObject(map, names[i].label, names[i].name);
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "type", "speakers_named");
    cJSON_AddItemToObject(payload, "names", map);
    return print_message("event", payload);
}

char *wsproto_speakers_updated(const wsproto_relabel *changes, size_t count)
{
    cJSON *segments = cJSON_CreateArray();
    for (size_t i = 0; i < count; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "id", (double)changes[i].segment_id);
        cJSON_AddStringToObject(item, "speaker", changes[i].speaker);
        cJSON_AddItemToArray(segments, item);
    }
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "type", "speakers_updated");
    cJSON_AddItemToObject(payload, "segments", segments);
    return print_message("event", payload);
}
