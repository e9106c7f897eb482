/*
 * uploads.c - the upload jobs as the API shows them: GET .../audio and
 * .../audio/{job} read them from the store (any instance can answer for a
 * job another one ran), and net/upload.c answers its POST with the same
 * JSON.
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "routes.h"

/* In thousandths, cut rather than rounded: progress never shows done
 * early. */
static double thousandths(double v)
{
    return floor(v * 1000) / 1000;
}

/* A job whose runner stopped saving it is over: the server running it
 * stopped (a crash, a kill) before it finished. */
static int is_stale(const store_upload *u, double now)
{
    return strcmp(u->status, "running") == 0 &&
           now - u->updated_at > API_UPLOAD_STALE_S;
}

static cJSON *upload_json(const store_upload *u, double now)
{
    int stale = is_stale(u, now);
    const char *error = stale ? "the server transcribing the recording "
                                "stopped before it finished (the segments "
                                "stored until then are kept)"
                              : u->error;
    char url[128];
    snprintf(url, sizeof(url), "/api/transcriptions/%lld/audio/%lld",
             (long long)u->transcription_id, (long long)u->id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)u->id);
    cJSON_AddNumberToObject(o, "transcription_id", (double)u->transcription_id);
    cJSON_AddStringToObject(o, "status", stale ? "failed" : u->status);
    cJSON_AddNumberToObject(o, "progress", thousandths(u->progress));
    cJSON_AddNumberToObject(o, "audio_seconds", thousandths(u->audio_seconds));
    cJSON_AddNumberToObject(o, "time_offset", thousandths(u->time_offset));
    cJSON_AddNumberToObject(o, "segments", u->segments);
    if (u->format[0])
        cJSON_AddStringToObject(o, "format", u->format);
    else
        cJSON_AddNullToObject(o, "format");
    if (error[0])
        cJSON_AddStringToObject(o, "error", error);
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddStringToObject(o, "created_at", u->created_at);
    cJSON_AddStringToObject(o, "url", url);
    return o;
}

void api_upload_response(const store_upload *u, double now, int detail,
                         int status, api_response *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *o = upload_json(u, now);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (detail && cJSON_IsString(error))
        cJSON_AddStringToObject(o, "detail", error->valuestring);
    route_respond_json(out, status, o);
}

void handle_upload_list(const route_call *call, api_response *out)
{
    store_upload *jobs = NULL;
    size_t n = 0;
    int rc = store_upload_list(call->ctx->store, call->id, &jobs, &n);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    double now = (double)time(NULL);
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, upload_json(&jobs[i], now));
    free(jobs);
    route_respond_json(out, 200, list);
}

void handle_upload_get(const route_call *call, api_response *out)
{
    store_upload u;
    int rc = store_upload_get(call->ctx->store, call->id, call->sid, &u);
    if (rc != 0)
        route_store_error(out, rc);
    else
        api_upload_response(&u, (double)time(NULL), 0, 200, out);
}
