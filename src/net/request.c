/*
 * request.c - the one entrance of the server's requests.  An HTTP request
 * (http.c) and a WebSocket handshake (server.c's filter, before the
 * upgrade) are read into the same net_request and routed by the one route
 * table (api_route_match), then checked here before any handler runs.
 * This is where authentication will decide req->principal.
 *
 * Also with no authentication, a web page the user happens to visit must
 * not reach the server through the user's browser: a browser sends the
 * page's Origin with every request that can change something and with
 * every WebSocket handshake, and those from another origin are refused;
 * and a Host the server does not answer for is refused, which stops DNS
 * rebinding (a hostile name made to point at 127.0.0.1, whose pages
 * would otherwise count as the server's own).
 *
 * Behind a proxy (nginx) every connection comes from the proxy: the
 * client's address (for --rate-limit and the log) and whether it used TLS
 * (for the cookie's Secure) are in X-Forwarded-For and X-Forwarded-Proto.
 * Anyone can send those headers, so they are believed only on a
 * connection from an address of --trusted-proxy.
 */
#include <arpa/inet.h>
#include <cJSON.h>
#include <sodium.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/vb.h"
#include "ratelimit.h"
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

/* text as an address, IPv4 as IPv4-mapped IPv6 so that both forms of
 * one address compare equal.  0, or -1 when it is not an address. */
static int parse_address(const char *text, struct in6_addr *out)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, sizeof(*out));
        out->s6_addr[10] = out->s6_addr[11] = 0xff;
        memcpy(&out->s6_addr[12], &v4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

static int is_trusted_proxy(const server *srv, const char *address)
{
    struct in6_addr a;
    if (srv->proxy_count == 0 || parse_address(address, &a) != 0)
        return 0;
    for (int i = 0; i < srv->proxy_count; i++)
        if (memcmp(&srv->proxies[i], &a, sizeof(a)) == 0)
            return 1;
    return 0;
}

/* The client behind the proxies: X-Forwarded-For read from its right
 * end (what the nearest proxy added), past the entries that are trusted
 * proxies themselves; the first other one is the client.  Anything to
 * its left was sent by the client and proves nothing.  Leaves peer as it
 * is when the header is absent or its entry is not an address. */
static void forwarded_client(const server *srv, struct lws *wsi, char *peer,
                             size_t len)
{
    char list[512] = "";
    /* A header libwebsockets knows by a token of its own; several of
     * them come joined with commas. */
    if (lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_X_FORWARDED_FOR) <= 0)
        return;
    char *end = list + strlen(list);
    while (end > list) {
        char *start = end;
        while (start > list && start[-1] != ',')
            start--;
        char item[64];
        char *from = start + strspn(start, " \t");
        size_t n = (size_t)(end - from);
        while (n > 0 && (from[n - 1] == ' ' || from[n - 1] == '\t'))
            n--;
        snprintf(item, sizeof(item), "%.*s", (int)n, from);
        struct in6_addr parsed;
        if (parse_address(item, &parsed) != 0)
            return; /* not an address: believe none of it */
        if (!is_trusted_proxy(srv, item) || start == list) {
            snprintf(peer, len, "%s", item);
            return;
        }
        end = start - 1; /* past the comma */
    }
}

void net_request_read(const server *srv, struct lws *wsi, int websocket,
                      net_request *out)
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
    out->via_proxy = is_trusted_proxy(srv, out->peer);
    if (out->via_proxy)
        forwarded_client(srv, wsi, out->peer, sizeof(out->peer));
    api_route_match(out->method, out->path, &out->route);
    if (lws_hdr_copy(wsi, out->range, sizeof(out->range),
                     WSI_TOKEN_HTTP_RANGE) < 0)
        out->range[0] = '\0';
    size_t n = sizeof(out->session_token);
    if (lws_http_cookie_get(wsi, AUTH_COOKIE, out->session_token, &n) != 0)
        out->session_token[0] = '\0';
    char proto[16] = "";
    if (out->via_proxy)
        lws_hdr_custom_copy(wsi, proto, sizeof(proto), "x-forwarded-proto:", 18);
    out->secure = lws_is_ssl(wsi) || strcasecmp(proto, "https") == 0;
}

/* Calls take(srv, item) for each entry of a comma-separated list, its
 * leading spaces dropped (up to 127 bytes of it). */
static void each_item(server *srv, const char *list,
                      void (*take)(server *srv, const char *item))
{
    while (list && *list) {
        size_t n = strcspn(list, ",");
        size_t skip = strspn(list, " ");
        skip = skip < n ? skip : n;
        char item[128];
        snprintf(item, sizeof(item), "%.*s", (int)(n - skip), list + skip);
        if (item[0])
            take(srv, item);
        list += n + (list[n] == ',');
    }
}

static void add_origin(server *srv, const char *origin)
{
    if (srv->origin_count < (int)(sizeof(srv->origins) / sizeof(srv->origins[0])))
        snprintf(srv->origins[srv->origin_count++], sizeof(srv->origins[0]),
                 "%s", origin);
}

static void add_host(server *srv, const char *name)
{
    if (strcmp(name, "*") == 0) { /* --allowed-hosts '*' */
        srv->any_host = 1;
        return;
    }
    for (int i = 0; i < srv->host_count; i++)
        if (strcasecmp(srv->hosts[i], name) == 0)
            return;
    if (srv->host_count < (int)(sizeof(srv->hosts) / sizeof(srv->hosts[0])))
        snprintf(srv->hosts[srv->host_count++], sizeof(srv->hosts[0]), "%s",
                 name);
}

/* --trusted-proxy's addresses; 0, or VB_EINVAL for one that is not an
 * IP address (a name would need resolving, and could change). */
static int add_proxies(server *srv, const char *list, char *err, size_t errlen)
{
    srv->proxy_count = 0;
    while (list && *list) {
        size_t n = strcspn(list, ",");
        char item[64];
        size_t skip = strspn(list, " ");
        skip = skip < n ? skip : n;
        size_t len = n - skip;
        snprintf(item, sizeof(item), "%.*s", (int)(len < 63 ? len : 63),
                 list + skip);
        item[strcspn(item, " ")] = '\0';
        if (item[0]) {
            int max = (int)(sizeof(srv->proxies) / sizeof(srv->proxies[0]));
            if (srv->proxy_count >= max) {
                vb_seterr(err, errlen, "--trusted-proxy: at most %d addresses",
                          max);
                return VB_EINVAL;
            }
            if (len > 63 ||
                parse_address(item, &srv->proxies[srv->proxy_count]) != 0) {
                vb_seterr(err, errlen, "--trusted-proxy: \"%s\" is not an IP "
                          "address", item);
                return VB_EINVAL;
            }
            srv->proxy_count++;
        }
        list += n + (list[n] == ',');
    }
    return 0;
}

int net_access_init(server *srv, char *err, size_t errlen)
{
    srv->origin_count = 0;
    each_item(srv, srv->cfg.cors_origins, add_origin);
    srv->host_count = 0;
    add_host(srv, "localhost");
    add_host(srv, "127.0.0.1");
    add_host(srv, "::1");
    const char *listen = srv->cfg.host;
    int wildcard = strcmp(listen, "0.0.0.0") == 0 || strcmp(listen, "::") == 0 ||
                   listen[0] == '\0';
    if (!wildcard) {
        add_host(srv, listen);
    } else { /* every address of this machine, and its name */
        struct ifaddrs *all = NULL;
        if (getifaddrs(&all) == 0) {
            for (struct ifaddrs *a = all; a; a = a->ifa_next) {
                char text[INET6_ADDRSTRLEN] = "";
                if (a->ifa_addr == NULL)
                    continue;
                if (a->ifa_addr->sa_family == AF_INET)
                    inet_ntop(AF_INET, &((struct sockaddr_in *)a->ifa_addr)->sin_addr,
                              text, sizeof(text));
                else if (a->ifa_addr->sa_family == AF_INET6)
                    inet_ntop(AF_INET6,
                              &((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr,
                              text, sizeof(text));
                if (text[0])
                    add_host(srv, text);
            }
            freeifaddrs(all);
        }
        char name[128];
        if (gethostname(name, sizeof(name)) == 0) {
            name[sizeof(name) - 1] = '\0';
            add_host(srv, name);
        }
    }
    each_item(srv, srv->cfg.allowed_hosts, add_host);
    return add_proxies(srv, srv->cfg.trusted_proxies, err, errlen);
}

int net_origin_listed(const server *srv, const char *origin)
{
    for (int i = 0; i < srv->origin_count; i++)
        if (strcmp(srv->origins[i], "*") == 0 ||
            strcmp(srv->origins[i], origin) == 0)
            return 1;
    return 0;
}

/* "Example.com:8000", "[::1]:8000" -> the name, without the port. */
static void host_name(const char *host, char *out, size_t len)
{
    size_t n;
    if (host[0] == '[') {
        host++;
        n = strcspn(host, "]");
    } else {
        n = strcspn(host, ":");
    }
    if (n > 0 && host[n - 1] == '.') /* "localhost." is localhost */
        n--;
    snprintf(out, len, "%.*s", (int)n, host);
}

static int host_known(const server *srv, const char *host)
{
    char name[256];
    host_name(host, name, sizeof(name));
    for (int i = 0; i < srv->host_count; i++)
        if (strcasecmp(srv->hosts[i], name) == 0)
            return 1;
    return 0;
}

/* Is the page's origin this server, as the browser reached it? */
static int same_origin(const net_request *req)
{
    const char *o = req->origin;
    if (strncasecmp(o, "http://", 7) == 0)
        o += 7;
    else if (strncasecmp(o, "https://", 8) == 0)
        o += 8;
    else
        return 0; /* "null": a sandboxed page or a file */
    return req->host[0] && strcasecmp(o, req->host) == 0;
}

static int changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* The key the client sent: "Authorization: Token KEY" (or Bearer), or,
 * on a handshake, the subprotocols "token, KEY" (browsers cannot set
 * headers on a WebSocket).  0 with key set, -1 when none. */
static int presented_key(const net_request *req, char *key, size_t len)
{
    char authorization[256] = "", protocols[256] = "";
    lws_hdr_copy(req->wsi, authorization, sizeof(authorization),
                 WSI_TOKEN_HTTP_AUTHORIZATION);
    if (req->websocket)
        lws_hdr_copy(req->wsi, protocols, sizeof(protocols), WSI_TOKEN_PROTOCOL);
    int rc = auth_key_from_headers(authorization, req->websocket ? protocols : NULL,
                                   key, len);
    sodium_memzero(authorization, sizeof(authorization));
    sodium_memzero(protocols, sizeof(protocols));
    return rc;
}

/* With keys required: who the key (or the web app's session) is, and
 * whether it may do this.  A key sent wins over a cookie. */
static int check_key(server *srv, net_request *req, char *why, size_t len)
{
    char key[256];
    if (presented_key(req, key, sizeof(key)) != 0) {
        if (req->session_token[0]) {
            req->via_session = 1;
            req->scope = auth_sessions_check(srv->keys, req->session_token,
                                             req->principal,
                                             sizeof(req->principal));
            if (req->scope != AUTH_NONE)
                goto scope;
            snprintf(why, len, "the session has ended (it expired, was signed "
                     "out, or its key was revoked): sign in again");
            return 401;
        }
        snprintf(why, len, "an API key is required: send \"Authorization: "
                 "Token KEY\"%s (make a key with `verbatim keys create`)",
                 req->websocket ? " or the subprotocols \"token, KEY\"" : "");
        req->refusal = METRICS_REFUSED_AUTH;
        return 401;
    }
    req->scope = auth_keys_check(srv->keys, key, req->principal,
                                 sizeof(req->principal));
    sodium_memzero(key, sizeof(key));
    if (req->scope == AUTH_NONE) {
        snprintf(why, len, "the API key is not valid (mistyped, or revoked)");
        req->refusal = METRICS_REFUSED_AUTH;
        return 401;
    }
scope:
    if ((int)req->scope < (int)req->route.scope) {
        snprintf(why, len, "the key \"%s\" has the scope %s; this needs %s",
                 req->principal, auth_scope_name(req->scope),
                 auth_scope_name((auth_scope)req->route.scope));
        req->refusal = METRICS_REFUSED_AUTH;
        return 403;
    }
    return 0;
}

int net_request_check(server *srv, net_request *req, char *why, size_t len)
{
    char quoted[96];
    if (srv->draining) { /* a proxy tries another instance on 503 */
        snprintf(why, len, "the server is shutting down: try again in a "
                 "moment (another instance may answer)");
        req->refusal = METRICS_REFUSED_SHUTTING_DOWN;
        req->retry_after = 1;
        return 503;
    }
    if (!srv->any_host && req->host[0] && !host_known(srv, req->host)) {
        net_shown(req->host, quoted, sizeof(quoted));
        snprintf(why, len, "this server does not answer for the host name "
                 "\"%s\"; its operator can allow it with --allowed-hosts",
                 quoted);
        req->refusal = METRICS_REFUSED_HOST;
        return 421;
    }
    if ((req->websocket || changes_state(req->method)) && req->origin[0] &&
        !same_origin(req) && !net_origin_listed(srv, req->origin)) {
        net_shown(req->origin, quoted, sizeof(quoted));
        snprintf(why, len, "a web page from %s may not %s here; the server's "
                 "operator can allow that origin with --cors-origins", quoted,
                 req->websocket ? "open a WebSocket" : "change anything");
        req->refusal = METRICS_REFUSED_ORIGIN;
        return 403;
    }
    int limited = srv->limiter != NULL &&
                  (strncmp(req->path, "/api/", 5) == 0 ||
                   strncmp(req->path, "/ws/", 4) == 0 ||
                   strncmp(req->path, "/v1/", 4) == 0) &&
                  strcmp(req->path, "/api/health") != 0;
    if (limited && rate_limiter_take(srv->limiter, req->peer, vb_monotonic_s(),
                                     &req->retry_after) != 0) {
        snprintf(why, len, "too many requests from %s: at most %d a minute "
                 "(--rate-limit); try again in %d s", req->peer,
                 srv->cfg.rate_limit, req->retry_after);
        req->refusal = METRICS_REFUSED_RATE_LIMIT;
        return 429;
    }
    if (req->websocket && req->route.kind != API_ROUTE_WEBSOCKET) {
        snprintf(why, len, "No WebSocket endpoint at this path");
        req->refusal = METRICS_REFUSED_BAD_REQUEST;
        return 404;
    }
    if (!req->websocket && req->route.kind == API_ROUTE_WEBSOCKET) {
        snprintf(why, len, "This is a WebSocket endpoint: connect with a "
                 "WebSocket client (Upgrade: websocket)");
        req->refusal = METRICS_REFUSED_BAD_REQUEST;
        return 426;
    }
    if (srv->keys != NULL && req->route.scope != API_SCOPE_PUBLIC)
        return check_key(srv, req, why, len);
    if (srv->keys != NULL) { /* public: who asks, if anyone (GET /api/session) */
        char ignored[256];
        if (check_key(srv, req, ignored, sizeof(ignored)) != 0) {
            req->principal[0] = '\0';
            req->scope = AUTH_NONE;
        }
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

int net_add_security_headers(struct lws *wsi, int status, int retry_after,
                             unsigned char **p, unsigned char *end)
{
    static const char challenge[] = "Token realm=\"verbatim\"";
    if (status == 401 &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                    (const unsigned char *)challenge,
                                    (int)sizeof(challenge) - 1, p, end))
        return 1;
    char seconds[16];
    int n = snprintf(seconds, sizeof(seconds), "%d", retry_after);
    if (retry_after > 0 &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                    (const unsigned char *)seconds, n, p, end))
        return 1;
    static const char *const headers[][2] = {
        /* The web app is files of its own: no inline script or style, no
         * other site's, and no framing (clickjacking). */
        {"content-security-policy:",
         "default-src 'self'; script-src 'self'; style-src 'self'; "
         "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
         "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
        {"x-content-type-options:", "nosniff"},
        {"referrer-policy:", "no-referrer"},
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)headers[i][0],
                                        (const unsigned char *)headers[i][1],
                                        (int)strlen(headers[i][1]), p, end))
            return 1;
    return 0;
}

int net_refuse_upgrade(struct lws *wsi, int status, const char *why,
                       int retry_after)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", why);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = body ? strlen(body) : 0;
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json",
                                    n, &p, end) == 0 &&
        net_add_security_headers(wsi, status, retry_after, &p, end) == 0 &&
        lws_finalize_write_http_header(wsi, start, &p, end) == 0 && n > 0 &&
        n <= sizeof(buf) - LWS_PRE) {
        memcpy(start, body, n);
        lws_write(wsi, start, n, LWS_WRITE_HTTP_FINAL);
    }
    free(body);
    return 1;
}
