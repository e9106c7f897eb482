/* dglisten.c - Deepgram's live options and messages (dglisten.h). */
#include "dglisten.h"

#include <cJSON.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../util/vb.h"
#include "net_internal.h"

#define MAX_WARNINGS 8

struct dg_listen {
    dg_stream stream;
    char model[48];
    char tag[128];
    int interim_results, vad_events, utterance_end;
    int utterances, paragraphs;  /* prerecorded: what the answer holds */
    char callback[512];          /* prerecorded: where it goes, or "" */
    int callback_put;
    dg_transcript *transcript;   /* prerecorded: the finals so far */
    char *warnings[MAX_WARNINGS + 1];
    int warning_count;
    pthread_mutex_t lock;   /* guards the fields below (run threads) */
    int finalize_pending;
    double audio_end;       /* the furthest result end seen */
    double last_word_end;
};

static int on(const char *value)
{
    return strcmp(value, "true") == 0 || strcmp(value, "1") == 0;
}

static void warn(dg_listen *dg, const char *key)
{
    char text[160], quoted[48];
    snprintf(text, sizeof(text), "the parameter %s is not supported by this "
             "server and was ignored", net_shown(key, quoted, sizeof(quoted)));
    if (dg->warning_count < MAX_WARNINGS)
        dg->warnings[dg->warning_count++] = strdup(text);
}

/* One query parameter: 0, or -1 with err set. */
static int take(dg_listen *dg, session_params *p, int *format_given,
                const char *key, const char *value, char *err, size_t errlen)
{
    char quoted[48];
    if (strcmp(key, "encoding") == 0 || strcmp(key, "sample_rate") == 0 ||
        strcmp(key, "channels") == 0 || strcmp(key, "punctuate") == 0 ||
        strcmp(key, "diarize") == 0 || strcmp(key, "keywords") == 0)
        return net_stream_option(p, format_given, key, value, err, errlen) < 0
                   ? -1 : 0;
    if (strcmp(key, "smart_format") == 0) {
        if (on(value)) {
            p->punctuate = 1; /* as Deepgram's smart_format does */
            p->smart_format = 1;
            dg->paragraphs = 1;
        }
    } else if (strcmp(key, "interim_results") == 0) {
        dg->interim_results = on(value);
    } else if (strcmp(key, "vad_events") == 0) {
        dg->vad_events = on(value);
    } else if (strcmp(key, "utterance_end_ms") == 0) {
        int ms;
        if (net_whole_number(value, 1000, 5000, &ms) != 0) {
            vb_seterr(err, errlen, "utterance_end_ms must be a whole number of "
                      "milliseconds from 1000 to 5000, not \"%s\"",
                      net_shown(value, quoted, sizeof(quoted)));
            return -1;
        }
        dg->utterance_end = 1;
    } else if (strcmp(key, "endpointing") == 0) {
        int ms;
        if (strcmp(value, "false") == 0) {
            p->endpoint_ms = p->max_utterance_ms; /* only the length cuts */
        } else if (net_whole_number(value, 0, 60000, &ms) != 0) {
            vb_seterr(err, errlen, "endpointing must be a number of "
                      "milliseconds or false, not \"%s\"",
                      net_shown(value, quoted, sizeof(quoted)));
            return -1;
        } else {
            /* The recogniser's own endpoint needs 200 ms of quiet. */
            p->endpoint_ms = ms < 200 ? 200 : ms;
        }
    } else if (strcmp(key, "callback") == 0) {
        if (strlen(value) >= sizeof(dg->callback)) {
            vb_seterr(err, errlen, "callback must be a URL of fewer than %zu "
                      "characters", sizeof(dg->callback));
            return -1;
        }
        snprintf(dg->callback, sizeof(dg->callback), "%s", value);
    } else if (strcmp(key, "callback_method") == 0) {
        if (strcasecmp(value, "post") != 0 && strcasecmp(value, "put") != 0) {
            vb_seterr(err, errlen, "callback_method must be post or put, not "
                      "\"%s\"", net_shown(value, quoted, sizeof(quoted)));
            return -1;
        }
        dg->callback_put = strcasecmp(value, "put") == 0;
    } else if (strcmp(key, "utterances") == 0) {
        dg->utterances = on(value);
    } else if (strcmp(key, "paragraphs") == 0) {
        dg->paragraphs = on(value);
    } else if (strcmp(key, "model") == 0) {
        snprintf(dg->model, sizeof(dg->model), "%s", value);
    } else if (strcmp(key, "tag") == 0) { /* repeated: all of them */
        size_t n = strlen(dg->tag);
        snprintf(dg->tag + n, sizeof(dg->tag) - n, "%s%s", n ? ", " : "", value);
    } else if (strcmp(key, "language") == 0) {
        if (strncmp(value, "en", 2) != 0)
            warn(dg, "language (this server's recogniser knows English)");
    } else {
        warn(dg, key);
    }
    return 0;
}

dg_listen *dg_listen_open(const char *query, session_params *p, char *err,
                          size_t errlen)
{
    dg_listen *dg = calloc(1, sizeof(*dg));
    if (dg == NULL) {
        vb_seterr(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&dg->lock, NULL);
    dg_uuid(dg->stream.request_id);
    /* Deepgram's defaults, not Verbatim's. */
    p->punctuate = 0;
    p->diarize = 0;
    int format_given = 0;
    while (query != NULL && *query) {
        size_t n = strcspn(query, "&");
        char pair[512];
        snprintf(pair, sizeof(pair), "%.*s", (int)(n < 511 ? n : 511), query);
        query += n + (query[n] == '&');
        char *value = strchr(pair, '=');
        if (value == NULL)
            continue;
        *value++ = '\0'; /* libwebsockets has decoded %XX already */
        if (take(dg, p, &format_given, pair, value, err, errlen) != 0) {
            dg_listen_free(dg);
            return NULL;
        }
    }
    if (net_stream_options_check(p, err, errlen) != 0) {
        dg_listen_free(dg);
        return NULL;
    }
    dg->stream.model = dg->model[0] ? dg->model : "general";
    dg->stream.diarize = p->diarize;
    return dg;
}

void dg_listen_free(dg_listen *dg)
{
    if (dg == NULL)
        return;
    for (int i = 0; i < dg->warning_count; i++)
        free(dg->warnings[i]);
    dg_transcript_free(dg->transcript);
    pthread_mutex_destroy(&dg->lock);
    free(dg);
}

void dg_listen_title(const dg_listen *dg, char *out, size_t len)
{
    if (dg->tag[0]) {
        snprintf(out, len, "%s", dg->tag);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, len, "Deepgram stream %Y-%m-%d %H:%M:%S UTC", &tm);
}

void dg_listen_finalize(dg_listen *dg)
{
    pthread_mutex_lock(&dg->lock);
    dg->finalize_pending = 1;
    pthread_mutex_unlock(&dg->lock);
}

char *dg_listen_render(dg_listen *dg, const tx_result *result)
{
    const session_event *ev = result->ev;
    pthread_mutex_lock(&dg->lock);
    if (ev->end > dg->audio_end)
        dg->audio_end = ev->end;
    int from_finalize = 0;
    if (ev->kind == SESSION_FINAL || ev->kind == SESSION_FINALIZED) {
        /* The session marks the last final a Finalize brought, or says
         * that it brought none. */
        from_finalize = dg->finalize_pending &&
                        (ev->from_finalize || ev->kind == SESSION_FINALIZED);
        if (from_finalize)
            dg->finalize_pending = 0;
    }
    if (ev->kind == SESSION_FINAL) {
        if (ev->word_count > 0)
            dg->last_word_end = ev->words[ev->word_count - 1].end;
    }
    double last_word_end = dg->last_word_end;
    pthread_mutex_unlock(&dg->lock);
    switch (ev->kind) {
    case SESSION_INTERIM:
        return dg->interim_results ? dg_results(&dg->stream, ev, 0) : NULL;
    case SESSION_FINAL:
        return dg_results(&dg->stream, ev, from_finalize);
    case SESSION_FINALIZED: /* an empty final, as Deepgram answers one */
        return from_finalize ? dg_results(&dg->stream, ev, 1) : NULL;
    case SESSION_SPEECH_STARTED:
        return dg->vad_events ? dg_speech_started(ev->start) : NULL;
    case SESSION_UTTERANCE_END:
        return dg->utterance_end ? dg_utterance_end(last_word_end) : NULL;
    default:
        return NULL;
    }
}

/* Now, as Deepgram's `created` has it. */
static void created_now(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

char *dg_listen_metadata(dg_listen *dg)
{
    char created[40];
    created_now(created, sizeof(created));
    pthread_mutex_lock(&dg->lock);
    double duration = dg->audio_end;
    pthread_mutex_unlock(&dg->lock);
    return dg_metadata(&dg->stream, duration, created,
                       (const char *const *)dg->warnings);
}

void dg_listen_collect(dg_listen *dg, const tx_result *result)
{
    const session_event *ev = result->ev;
    pthread_mutex_lock(&dg->lock);
    if (ev->end > dg->audio_end)
        dg->audio_end = ev->end;
    if (ev->kind == SESSION_FINAL) {
        if (dg->transcript == NULL)
            dg->transcript = dg_transcript_new();
        dg_transcript_add(dg->transcript, &dg->stream, ev, result->segment_id);
    }
    pthread_mutex_unlock(&dg->lock);
}

void dg_listen_speakers(dg_listen *dg, const char *message)
{
    cJSON *msg = cJSON_Parse(message);
    const cJSON *payload = cJSON_GetObjectItem(msg, "payload");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(payload, "type"));
    if (type != NULL && strcmp(type, "speakers_updated") == 0) {
        pthread_mutex_lock(&dg->lock);
        const cJSON *seg;
        cJSON_ArrayForEach(seg, cJSON_GetObjectItem(payload, "segments")) {
            const cJSON *id = cJSON_GetObjectItem(seg, "id");
            const char *label = cJSON_GetStringValue(cJSON_GetObjectItem(seg, "speaker"));
            if (cJSON_IsNumber(id))
                dg_transcript_relabel(dg->transcript, (int64_t)id->valuedouble,
                                      dg_speaker_number(label));
        }
        pthread_mutex_unlock(&dg->lock);
    }
    cJSON_Delete(msg);
}

char *dg_listen_prerecorded(dg_listen *dg, double duration)
{
    char created[40];
    created_now(created, sizeof(created));
    pthread_mutex_lock(&dg->lock);
    if (dg->transcript == NULL)
        dg->transcript = dg_transcript_new();
    char *text = dg->transcript
                     ? dg_transcript_json(dg->transcript, &dg->stream, duration,
                                          created, dg->paragraphs,
                                          dg->utterances,
                                          (const char *const *)dg->warnings)
                     : NULL;
    pthread_mutex_unlock(&dg->lock);
    return text;
}

const char *dg_listen_callback(const dg_listen *dg)
{
    return dg->callback[0] ? dg->callback : NULL;
}

const char *dg_listen_callback_method(const dg_listen *dg)
{
    return dg->callback_put ? "PUT" : "POST";
}

const char *dg_listen_request_id(const dg_listen *dg)
{
    return dg->stream.request_id;
}

void dg_listen_body(dg_listen *dg, const unsigned char *data, size_t len)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, data, len);
    sodium_bin2hex(dg->stream.sha256, sizeof(dg->stream.sha256), digest,
                   sizeof(digest));
}
