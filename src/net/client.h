/*
 * client.h - what Verbatim's own clients (verbatim stream, the tests) use
 * to reach a server: URL splitting, a TCP connection, and one blocking
 * HTTP/1.1 request.  The WebSocket client is in wsclient.h.
 */
#ifndef VB_NET_CLIENT_H
#define VB_NET_CLIENT_H

#include <stddef.h>

/* Splits SCHEME://HOST[:PORT][/PATH] (scheme "ws" or "http").  path gets
 * at least "/". */
int net_split_url(const char *url, const char *scheme, char *host,
                  size_t hostlen, char *port, size_t portlen, char *path,
                  size_t pathlen);
/* Writes all of data (retrying short writes); 0 or VB_EIO. */
int net_send_all(int fd, const void *data, size_t len);
/* A connected TCP socket, or a negative VB_E* code. */
int net_dial(const char *host, const char *port, char *err, size_t errlen);

typedef struct http_result {
    int status;
    char *headers; /* the response's header lines, malloc'd */
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
} http_result;

/* One request with Connection: close.  body and extra_headers (whole
 * lines, each ending in CRLF) may be NULL. */
int http_fetch(const char *url, const char *method, const char *content_type,
               const char *extra_headers, const void *body, size_t body_len,
               http_result *out, char *err, size_t errlen);
void http_result_free(http_result *res);

#endif
