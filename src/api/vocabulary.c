/*
 * vocabulary.c - GET and PUT /api/transcriptions/{id}/vocabulary/: the
 * words every session and upload of a transcription should hear
 * (asr/keywords.h), beside any `keywords` a stream asks for itself.
 *
 * The body and the answer: {"keywords": [{"word": "Zentrix", "boost": 2},
 * ...]}; a PUT may also give an item as Deepgram's "Zentrix:2".  PUT
 * replaces the whole list; sessions that start afterwards use it.
 */
#include <ctype.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../asr/keywords.h"
#include "../store/store.h"
#include "../util/log.h"
#include "../util/vb.h"
#include "routes.h"

static void respond_list(api_response *out, const asr_keyword *list, size_t n)
{
    cJSON *json = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(json, "keywords");
    for (size_t i = 0; i < n; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "word", list[i].word);
        cJSON_AddNumberToObject(item, "boost", list[i].boost);
        cJSON_AddItemToArray(items, item);
    }
    route_respond_json(out, 200, json);
}

void handle_vocabulary_get(const route_call *call, api_response *out)
{
    char *text = NULL;
    int rc = store_vocabulary_get(call->ctx->store, call->id, &text);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    asr_keyword *list = malloc(ASR_KEYWORDS_MAX * sizeof(*list));
    size_t n = 0;
    char why[200];
    if (list == NULL) {
        api_error_response(500, "Out of memory", out);
    } else {
        /* Stored only after the same check: a failure here is a damaged
         * row, answered with what could be read. */
        if (asr_keywords_add(list, &n, text, why, sizeof(why)) != 0)
            log_warn("api", "transcription %lld: stored vocabulary: %s",
                     (long long)call->id, why);
        respond_list(out, list, n);
    }
    free(list);
    free(text);
}

/* One item of the body as "WORD:BOOST" into spec; 0, or -1 after filling
 * a 422 response. */
static int item_spec(const cJSON *item, char *spec, size_t len,
                     api_response *out)
{
    /* A word too long for spec is cut, and still too long for
     * asr_keywords_add(), which says so. */
    if (cJSON_IsString(item)) {
        snprintf(spec, len, "%s", item->valuestring);
        if (strpbrk(spec, ",\n") == NULL)
            return 0;
    } else if (cJSON_IsObject(item)) {
        const cJSON *word = cJSON_GetObjectItemCaseSensitive(item, "word");
        const cJSON *boost = cJSON_GetObjectItemCaseSensitive(item, "boost");
        if (cJSON_IsString(word) && strpbrk(word->valuestring, ",\n:") == NULL &&
            (boost == NULL || cJSON_IsNumber(boost))) {
            if (boost != NULL)
                snprintf(spec, len, "%.60s:%.17g", word->valuestring,
                         boost->valuedouble);
            else
                snprintf(spec, len, "%.60s", word->valuestring);
            return 0;
        }
    }
    route_invalid(out, "keyword_type", "body", "keywords",
                  "Each keyword is {\"word\": \"Zentrix\", \"boost\": 2} "
                  "(boost optional, default 1) or \"Zentrix:2\"", item);
    return -1;
}

void handle_vocabulary_set(const route_call *call, api_response *out)
{
    store_transcription t;
    int rc = store_transcription_get(call->ctx->store, call->id, &t);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    cJSON *doc = route_object_body(call->req, out);
    if (doc == NULL)
        return;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "keywords");
    if (!cJSON_IsArray(items)) {
        route_invalid(out, "list_type", "body", "keywords",
                      "keywords should be a list of words", items);
        cJSON_Delete(doc);
        return;
    }
    asr_keyword *list = malloc(ASR_KEYWORDS_MAX * sizeof(*list));
    size_t n = 0;
    if (list == NULL) {
        cJSON_Delete(doc);
        api_error_response(500, "Out of memory", out);
        return;
    }
    for (const cJSON *item = items->child; item != NULL; item = item->next) {
        char spec[ASR_KEYWORD_MAX + 64], why[200];
        if (item_spec(item, spec, sizeof(spec), out) != 0)
            goto done;
        if (asr_keywords_add(list, &n, spec, why, sizeof(why)) != 0) {
            why[0] = (char)toupper((unsigned char)why[0]);
            route_invalid(out, "keyword_invalid", "body", "keywords", why, item);
            goto done;
        }
    }
    char *text = asr_keywords_format(list, n);
    rc = text ? store_vocabulary_set(call->ctx->store, call->id, text)
              : VB_ENOMEM;
    free(text);
    if (rc == VB_ENOMEM)
        api_error_response(500, "Out of memory", out);
    else if (rc != 0)
        route_store_error(out, rc);
    else
        respond_list(out, list, n);
done:
    free(list);
    cJSON_Delete(doc);
}
