/*
 * routes.h - the table of REST routes, shared by the router (api.c) and
 * the OpenAPI document (openapi.c).  Internal to the api module.
 */
#ifndef VB_API_ROUTES_H
#define VB_API_ROUTES_H

#include <stdint.h>

#include "api.h"

typedef struct route_call {
    const api_context *ctx;
    const api_request *req;
    const struct route *route;
    int64_t id;  /* {id}: a transcription */
    int64_t sid; /* {sid}: a segment */
} route_call;

typedef void (*route_handler)(const route_call *call, api_response *out);

typedef struct route {
    const char *method;
    const char *pattern;        /* "{id}": a transcription id, "{sid}": a
                                   segment id */
    route_handler handler;
    const char *operation_id;
    const char *summary;
    const char *request_schema; /* component name of the JSON body, or NULL */
    int status;                 /* on success */
    const char *response_schema;/* component name, "[]Name" for an array,
                                   NULL for no body */
    const char *response_type;  /* when not application/json */
    int not_found, invalid;     /* may answer 404 / 422 */
    api_place place;            /* which connection answers it (api.h) */
} route;

extern const route api_routes[];
extern const int api_route_count;

#endif
