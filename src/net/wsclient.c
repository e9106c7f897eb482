/* wsclient.c - blocking WebSocket client (see wsclient.h). */
#include "wsclient.h"

#include <errno.h>
#include <libwebsockets.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../util/vb.h"
#include "client.h"

struct wsclient {
    int fd;
    uint8_t *in;        /* received bytes not yet parsed */
    size_t in_len, in_cap;
    char *msg;          /* a fragmented message being joined */
    size_t msg_len;
    int msg_opcode;
    int close_code;
    char close_reason[128];
    int closed;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reads more bytes into c->in; 1 read, 0 timeout, <0 error or EOF. */
static int read_more(wsclient *c, int timeout_ms)
{
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms);
    if (r == 0)
        return 0;
    if (r < 0)
        return errno == EINTR ? 0 : VB_EIO;
    if (c->in_len + 65536 > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
        while (cap < c->in_len + 65536)
            cap *= 2;
        uint8_t *grown = realloc(c->in, cap);
        if (grown == NULL)
            return VB_ENOMEM;
        c->in = grown;
        c->in_cap = cap;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, 65536, 0);
    if (n <= 0)
        return VB_EIO;
    c->in_len += (size_t)n;
    return 1;
}

/* Sends the upgrade request and checks the server's answer. */
static int handshake(wsclient *c, const char *host, const char *port,
                     const char *path, const char *headers, char *err,
                     size_t errlen)
{
    uint8_t nonce[16];
    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
        memset(nonce, 0x5a, sizeof(nonce));
    char key[32], request[2048];
    lws_b64_encode_string((const char *)nonce, sizeof(nonce), key, sizeof(key));
    int n = snprintf(request, sizeof(request),
                     "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n", path, host, port, key,
                     headers ? headers : "");
    if (n >= (int)sizeof(request) || net_send_all(c->fd, request, (size_t)n) != 0) {
        vb_seterr(err, errlen, "cannot send the WebSocket handshake");
        return VB_EIO;
    }
    long long deadline = now_ms() + 10000;
    uint8_t *end = NULL;
    while (end == NULL) {
        long long left = deadline - now_ms();
        int r = left > 0 ? read_more(c, (int)left) : 0;
        if (r <= 0) {
            vb_seterr(err, errlen, "the server did not complete the "
                      "WebSocket handshake");
            return VB_EIO;
        }
        end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    }
    size_t head_len = (size_t)(end - c->in) + 4;
    char *head = strndup((const char *)c->in, head_len);
    if (head == NULL)
        return VB_ENOMEM;
    int status = 0;
    sscanf(head, "HTTP/1.%*d %d", &status);

    char accept_src[128], expected[64];
    unsigned char digest[20];
    snprintf(accept_src, sizeof(accept_src),
             "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    lws_SHA1((const unsigned char *)accept_src, strlen(accept_src), digest);
    lws_b64_encode_string((const char *)digest, 20, expected, sizeof(expected));
    int accepted = status == 101 && strcasestr(head, expected) != NULL;
    size_t body_len = 0;
    const char *cl = accepted ? NULL : strcasestr(head, "\r\ncontent-length:");
    if (cl != NULL)
        body_len = (size_t)strtoul(cl + 17, NULL, 10);
    free(head);
    memmove(c->in, c->in + head_len, c->in_len - head_len);
    c->in_len -= head_len;
    if (!accepted) {
        /* The body with the reason may come in a later packet than the
         * head (it did, now and then, on loopback): a second for it. */
        long long until = now_ms() + 1000;
        if (body_len > 4096) /* the reason is near the start */
            body_len = 4096;
        while (c->in_len < body_len && now_ms() < until &&
               read_more(c, (int)(until - now_ms())) > 0)
            ;
        /* The server's reason, when its JSON body came with the head. */
        char detail[300] = "";
        const char *d = memmem(c->in, c->in_len, "\"detail\":\"", 10);
        if (d != NULL) {
            d += 10;
            size_t k = 0, left = c->in_len - (size_t)(d - (const char *)c->in);
            while (k < left && k + 1 < sizeof(detail) && d[k] != '"')
                k++;
            snprintf(detail, sizeof(detail), ": %.*s", (int)k, d);
        }
        vb_seterr(err, errlen, "the server refused the WebSocket (HTTP %d%s)",
                  status, detail);
        return VB_EIO;
    }
    return 0;
}

int wsclient_connect(const char *url, wsclient **out, char *err, size_t errlen)
{
    return wsclient_connect_with(url, NULL, out, err, errlen);
}

int wsclient_connect_with(const char *url, const char *headers, wsclient **out,
                          char *err, size_t errlen)
{
    char host[256], port[16], path[2048];
    if (net_split_url(url, "ws", host, sizeof(host), port, sizeof(port), path,
                      sizeof(path)) != 0) {
        vb_seterr(err, errlen, "bad URL %s: expected ws://HOST:PORT/PATH", url);
        return VB_EINVAL;
    }
    wsclient *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return VB_ENOMEM;
    c->fd = net_dial(host, port, err, errlen);
    if (c->fd < 0) {
        int rc = c->fd;
        free(c);
        return rc;
    }
    int rc = handshake(c, host, port, path, headers, err, errlen);
    if (rc != 0) {
        wsclient_abort(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int send_frame(wsclient *c, int opcode, const void *data, size_t len)
{
    uint8_t head[14];
    size_t h = 0;
    head[h++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        head[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        head[h++] = 0x80 | 126;
        head[h++] = (uint8_t)(len >> 8);
        head[h++] = (uint8_t)len;
    } else {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            head[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t mask[4];
    if (getrandom(mask, 4, 0) != 4)
        memset(mask, 0x3c, 4);
    memcpy(head + h, mask, 4);
    h += 4;
    uint8_t *frame = malloc(h + len);
    if (frame == NULL)
        return VB_ENOMEM;
    memcpy(frame, head, h);
    const uint8_t *src = data;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = src[i] ^ mask[i & 3];
    int rc = net_send_all(c->fd, frame, h + len);
    free(frame);
    return rc;
}

int wsclient_send(wsclient *c, int opcode, const void *data, size_t len)
{
    if (c->closed)
        return VB_EIO;
    return send_frame(c, opcode, data, len);
}

int wsclient_send_raw(wsclient *c, const void *data, size_t len)
{
    return net_send_all(c->fd, data, len);
}

/* Takes one whole frame from c->in; 1 done, 0 need more bytes. */
static int take_frame(wsclient *c, int *fin, int *opcode, uint8_t **payload,
                      size_t *len)
{
    if (c->in_len < 2)
        return 0;
    size_t h = 2;
    uint64_t n = c->in[1] & 0x7F;
    int masked = c->in[1] & 0x80;
    if (n == 126) {
        if (c->in_len < 4)
            return 0;
        n = (uint64_t)c->in[2] << 8 | c->in[3];
        h = 4;
    } else if (n == 127) {
        if (c->in_len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | c->in[2 + i];
        h = 10;
    }
    if (masked)
        h += 4;
    if (c->in_len < h + n)
        return 0;
    *fin = c->in[0] & 0x80;
    *opcode = c->in[0] & 0x0F;
    *payload = malloc(n + 1);
    if (*payload == NULL)
        return VB_ENOMEM;
    memcpy(*payload, c->in + h, n);
    if (masked)
        for (uint64_t i = 0; i < n; i++)
            (*payload)[i] ^= c->in[h - 4 + (i & 3)];
    (*payload)[n] = 0;
    *len = n;
    memmove(c->in, c->in + h + n, c->in_len - h - n);
    c->in_len -= h + n;
    return 1;
}

int wsclient_recv(wsclient *c, int timeout_ms, int *opcode, char **data,
                  size_t *len)
{
    if (c->closed)
        return VB_EIO;
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        int fin, op;
        uint8_t *payload;
        size_t n;
        int got = take_frame(c, &fin, &op, &payload, &n);
        if (got < 0)
            return got;
        if (got == 0) {
            /* Past the deadline (at once for 0) one more look, without
             * waiting, takes what has already arrived. */
            long long left = deadline < 0 ? -1 : deadline - now_ms();
            int r = read_more(c, deadline < 0 ? -1 : left > 0 ? (int)left : 0);
            if (r < 0) {
                c->closed = 1;
                return r;
            }
            if (r == 0 && deadline >= 0 && now_ms() >= deadline)
                return 0;
            continue;
        }
        if (op == 9) { /* ping */
            send_frame(c, 10, payload, n);
            free(payload);
            continue;
        }
        if (op == 10) { /* pong */
            free(payload);
            continue;
        }
        if (op == WS_CLOSE) {
            c->close_code = n >= 2 ? (payload[0] << 8 | payload[1]) : 1005;
            snprintf(c->close_reason, sizeof(c->close_reason), "%.*s",
                     n > 2 ? (int)(n - 2) : 0, n > 2 ? (char *)payload + 2 : "");
            send_frame(c, WS_CLOSE, payload, n >= 2 ? 2 : 0);
            c->closed = 1;
            *opcode = WS_CLOSE;
            *data = (char *)payload;
            *len = n;
            return 1;
        }
        if (op != 0) {
            free(c->msg);
            c->msg = NULL;
            c->msg_len = 0;
            c->msg_opcode = op;
        }
        char *joined = realloc(c->msg, c->msg_len + n + 1);
        if (joined == NULL) {
            free(payload);
            return VB_ENOMEM;
        }
        memcpy(joined + c->msg_len, payload, n);
        c->msg = joined;
        c->msg_len += n;
        c->msg[c->msg_len] = 0;
        free(payload);
        if (!fin)
            continue;
        *opcode = c->msg_opcode;
        *data = c->msg;
        *len = c->msg_len;
        c->msg = NULL;
        c->msg_len = 0;
        return 1;
    }
}

int wsclient_fd(const wsclient *c)
{
    return c->fd;
}

int wsclient_close_code(const wsclient *c)
{
    return c->close_code;
}

const char *wsclient_close_reason(const wsclient *c)
{
    return c->close_reason;
}

void wsclient_close(wsclient *c, int code)
{
    if (c == NULL)
        return;
    if (!c->closed) {
        uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        send_frame(c, WS_CLOSE, payload, code ? 2 : 0);
        long long deadline = now_ms() + 2000;
        while (!c->closed && now_ms() < deadline) {
            int op;
            char *data;
            size_t len;
            int r = wsclient_recv(c, (int)(deadline - now_ms()), &op, &data, &len);
            if (r == 1)
                free(data);
            if (r <= 0)
                break;
        }
    }
    wsclient_abort(c);
}

void wsclient_abort(wsclient *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c->in);
    free(c->msg);
    free(c);
}
