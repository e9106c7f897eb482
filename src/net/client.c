/* client.c - URL splitting, TCP dialling and a blocking HTTP request. */
#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/vb.h"

int net_split_url(const char *url, const char *scheme, char *host,
                  size_t hostlen, char *port, size_t portlen, char *path,
                  size_t pathlen)
{
    size_t sl = strlen(scheme);
    if (strncmp(url, scheme, sl) != 0 || strncmp(url + sl, "://", 3) != 0)
        return VB_EINVAL;
    const char *h = url + sl + 3;
    size_t hl = strcspn(h, ":/?");
    if (hl == 0 || hl >= hostlen)
        return VB_EINVAL;
    snprintf(host, hostlen, "%.*s", (int)hl, h);
    const char *rest = h + hl;
    snprintf(port, portlen, "80");
    if (*rest == ':') {
        size_t pl = strcspn(rest + 1, "/?");
        if (pl == 0 || pl >= portlen)
            return VB_EINVAL;
        snprintf(port, portlen, "%.*s", (int)pl, rest + 1);
        rest += 1 + pl;
    }
    snprintf(path, pathlen, "%s%s", *rest == '/' ? "" : "/", rest);
    return 0;
}

int net_dial(const char *host, const char *port, char *err, size_t errlen)
{
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        vb_seterr(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return VB_EIO;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        vb_seterr(err, errlen, "cannot connect to %s:%s: %s", host, port,
                  strerror(saved));
        return VB_EIO;
    }
    return fd;
}

int net_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return VB_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void http_result_free(http_result *res)
{
    free(res->body);
    free(res->headers);
    res->body = NULL;
    res->headers = NULL;
}

int http_fetch(const char *url, const char *method, const char *content_type,
               const char *extra_headers, const void *body, size_t body_len,
               http_result *out, char *err, size_t errlen)
{
    char host[256], port[16], path[2048];
    memset(out, 0, sizeof(*out));
    if (net_split_url(url, "http", host, sizeof(host), port, sizeof(port), path,
                      sizeof(path)) != 0) {
        vb_seterr(err, errlen, "bad URL %s: expected http://HOST:PORT/PATH", url);
        return VB_EINVAL;
    }
    int fd = net_dial(host, port, err, errlen);
    if (fd < 0)
        return fd;
    char head[3072];
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                     method, path, host, port,
                     content_type ? content_type : "application/json",
                     body ? body_len : 0, extra_headers ? extra_headers : "");
    if (n >= (int)sizeof(head)) {
        close(fd);
        vb_seterr(err, errlen, "request headers too long");
        return VB_EINVAL;
    }
    int rc = net_send_all(fd, head, (size_t)n);
    if (rc == 0 && body && body_len)
        rc = net_send_all(fd, body, body_len);
    char *resp = NULL;
    size_t len = 0, cap = 0;
    while (rc == 0) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 30000) <= 0) {
            rc = VB_EIO;
            break;
        }
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *grown = realloc(resp, cap);
            if (grown == NULL) {
                rc = VB_ENOMEM;
                break;
            }
            resp = grown;
        }
        ssize_t got = recv(fd, resp + len, 4096, 0);
        if (got < 0) {
            rc = VB_EIO;
            break;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        /* A complete response with Content-Length ends here even if the
         * server keeps the connection open. */
        resp[len] = '\0';
        char *end = strstr(resp, "\r\n\r\n");
        const char *cl = end ? strcasestr(resp, "\r\ncontent-length:") : NULL;
        if (end && cl && cl < end &&
            len >= (size_t)(end + 4 - resp) + strtoul(cl + 17, NULL, 10))
            break;
    }
    close(fd);
    char *end = rc == 0 && resp ? strstr(resp, "\r\n\r\n") : NULL;
    if (end == NULL || sscanf(resp, "HTTP/1.%*d %d", &out->status) != 1) {
        free(resp);
        vb_seterr(err, errlen, "no valid HTTP response from %s:%s", host, port);
        return rc ? rc : VB_EIO;
    }
    size_t head_len = (size_t)(end + 4 - resp);
    out->body_len = len - head_len;
    out->body = malloc(out->body_len + 1);
    out->headers = strndup(resp, head_len);
    if (out->body == NULL || out->headers == NULL) {
        free(resp);
        http_result_free(out);
        return VB_ENOMEM;
    }
    memcpy(out->body, end + 4, out->body_len);
    out->body[out->body_len] = '\0';
    free(resp);
    return 0;
}
