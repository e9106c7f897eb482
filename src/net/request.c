/*
 * request.c - the one entrance of the server's requests.  An HTTP request
 * (http.c) and a WebSocket handshake (server.c's filter, before the
 * upgrade) are read into the same net_request and routed by the one route
 * table (api_route_match), then checked here before any handler runs.
 * This is where authentication will decide req->principal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* lws keeps the URI under its method's token. */
static const struct {
    enum lws_token_indexes token;
    const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PATCH_URI, "PATCH"},   {WSI_TOKEN_PUT_URI, "PUT"},
    {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

void net_request_read(struct lws *wsi, int websocket, net_request *out)
{
    memset(out, 0, sizeof(*out));
    out->wsi = wsi;
    out->websocket = websocket;
    snprintf(out->method, sizeof(out->method), "GET");
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0) {
            snprintf(out->method, sizeof(out->method), "%s", methods[i].name);
            lws_hdr_copy(wsi, out->path, sizeof(out->path), methods[i].token);
            break;
        }
    }
    /* The arguments come as fragments; join them as they were sent. */
    size_t qlen = 0;
    char frag[512];
    for (int i = 0; qlen + 1 < sizeof(out->query) &&
                    lws_hdr_copy_fragment(wsi, frag, sizeof(frag),
                                          WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
        qlen += (size_t)snprintf(out->query + qlen, sizeof(out->query) - qlen,
                                 "%s%s", i ? "&" : "", frag);
    lws_hdr_copy(wsi, out->origin, sizeof(out->origin), WSI_TOKEN_ORIGIN);
    lws_hdr_copy(wsi, out->host, sizeof(out->host), WSI_TOKEN_HOST);
    lws_get_peer_simple(wsi, out->peer, sizeof(out->peer));
    api_route_match(out->method, out->path, &out->route);
}

int net_request_check(server *srv, const net_request *req, char *why,
                      size_t len)
{
    (void)srv;
    if (req->websocket && req->route.kind != API_ROUTE_WEBSOCKET) {
        snprintf(why, len, "No WebSocket endpoint at this path");
        return 404;
    }
    if (!req->websocket && req->route.kind == API_ROUTE_WEBSOCKET) {
        snprintf(why, len, "This is a WebSocket endpoint: connect with a "
                 "WebSocket client (Upgrade: websocket)");
        return 426;
    }
    return 0;
}

int net_path_id(const char *segment, int64_t *out)
{
    if (segment[0] < '0' || segment[0] > '9' || strlen(segment) > 18)
        return -1;
    char *end;
    long long v = strtoll(segment, &end, 10);
    if (*end != '\0' || v <= 0)
        return -1;
    *out = v;
    return 0;
}
