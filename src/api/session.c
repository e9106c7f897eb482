/*
 * session.c - the web app's sign-in (routes.h): a key, sent once in
 * Authorization, traded for a session cookie.
 *
 * A page cannot keep a key out of reach of its own scripts, and asking
 * for it on every visit would teach people to paste keys into places.
 * The cookie is HttpOnly (no script reads it) and SameSite=Strict (no
 * other site's page makes the browser send it); the store keeps only its
 * hash.  It opens what its key opens, for AUTH_SESSION_S.
 */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../auth/auth.h"
#include "../util/log.h"
#include "../util/vb.h"
#include "routes.h"

static const char *const scope_names[] = {"", "read", "write", "admin"};

/* {"auth", "signed_in", "key", "scope", "via"} for the request. */
static cJSON *describe(const api_request *req)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "auth", req->auth_required ? "required" : "off");
    int signed_in = req->auth_required && req->principal && req->principal[0];
    cJSON_AddBoolToObject(json, "signed_in", signed_in);
    if (signed_in) {
        cJSON_AddStringToObject(json, "key", req->principal);
        if (req->scope > 0 && req->scope <= 3)
            cJSON_AddStringToObject(json, "scope", scope_names[req->scope]);
        cJSON_AddStringToObject(json, "via", req->via_session ? "session" : "key");
    }
    return json;
}

void handle_session_get(const route_call *call, api_response *out)
{
    route_respond_json(out, 200, describe(call->req));
}

void handle_session_create(const route_call *call, api_response *out)
{
    const api_request *req = call->req;
    if (!req->auth_required) { /* nothing to sign in to */
        route_respond_json(out, 200, describe(req));
        return;
    }
    if (req->via_session || req->principal == NULL || req->principal[0] == '\0') {
        api_error_response(401, "sign in with a key: send \"Authorization: "
                           "Token KEY\" (a session cannot make another)", out);
        return;
    }
    char token[AUTH_KEY_LEN + 2];
    store_web_session ws = {0};
    if (auth_session_new(token) != 0) {
        api_error_response(500, "no randomness to make a session with", out);
        return;
    }
    auth_key_hash(token, ws.hash);
    snprintf(ws.key_name, sizeof(ws.key_name), "%s", req->principal);
    ws.created_at = (int64_t)time(NULL);
    ws.expires_at = ws.created_at + AUTH_SESSION_S;
    int rc = store_session_add(call->ctx->store, &ws);
    if (rc != 0) {
        route_store_error(out, rc);
        return;
    }
    if (call->ctx->session_changed)
        call->ctx->session_changed(call->ctx->session_ctx, ws.hash, ws.key_name,
                                   ws.expires_at);
    snprintf(out->set_cookie, sizeof(out->set_cookie),
             "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
             AUTH_COOKIE, token, AUTH_SESSION_S, req->secure ? "; Secure" : "");
    char expires[40];
    time_t t = (time_t)ws.expires_at;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON *json = describe(req);
    cJSON_DeleteItemFromObject(json, "via");
    cJSON_AddStringToObject(json, "via", "session");
    cJSON_AddStringToObject(json, "expires_at", expires);
    log_info("auth", "key \"%s\" signed in a browser session", ws.key_name);
    route_respond_json(out, 200, json);
}

void handle_session_end(const route_call *call, api_response *out)
{
    const api_request *req = call->req;
    if (req->session_token && req->session_token[0]) {
        char hash[AUTH_HASH_HEX + 1];
        auth_key_hash(req->session_token, hash);
        int rc = store_session_end(call->ctx->store, hash);
        if (rc != 0 && rc != VB_ENOTFOUND) {
            route_store_error(out, rc);
            return;
        }
        if (call->ctx->session_changed)
            call->ctx->session_changed(call->ctx->session_ctx, hash, "", 0);
    }
    /* Cleared in the browser whether or not the store still had it. */
    snprintf(out->set_cookie, sizeof(out->set_cookie),
             "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", AUTH_COOKIE);
    out->status = 204;
}
