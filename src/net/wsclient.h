/*
 * wsclient.h - a small blocking WebSocket client (RFC 6455) over plain
 * TCP, for `verbatim stream` and the integration tests.
 *
 * One connection, used by one thread.  Messages are whole: fragments are
 * joined, pings answered.  ws:// only (no TLS).  Errors are negative VB_E*
 * codes with a message in the caller's buffer.
 */
#ifndef VB_WSCLIENT_H
#define VB_WSCLIENT_H

#include <stddef.h>

enum { WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8 };

typedef struct wsclient wsclient;

/* url: ws://HOST[:PORT]/PATH[?QUERY] */
int wsclient_connect(const char *url, wsclient **out, char *err,
                     size_t errlen);
/* The same with more handshake headers ("Name: value\r\n" each), as an
 * API key; a refusal's message has the status and the server's reason. */
int wsclient_connect_with(const char *url, const char *headers, wsclient **out,
                          char *err, size_t errlen);
/* Sends one message (WS_TEXT or WS_BINARY) as one frame. */
int wsclient_send(wsclient *c, int opcode, const void *data, size_t len);
/* Sends raw bytes as they are (tests of malformed frames). */
int wsclient_send_raw(wsclient *c, const void *data, size_t len);
/*
 * Waits up to timeout_ms (-1: forever; 0: takes only what has arrived)
 * for the next message.  Returns 1 with *opcode, *data (malloc'd,
 * NUL-terminated) and *len; 0 on timeout; or a negative code when the
 * connection failed.  A close from the server is returned as opcode
 * WS_CLOSE with wsclient_close_code() set; later calls return VB_EIO.
 */
int wsclient_recv(wsclient *c, int timeout_ms, int *opcode, char **data,
                  size_t *len);
/* The connection's socket, to poll() for POLLIN among others; then
 * wsclient_recv(c, 0, ...) takes what has arrived. */
int wsclient_fd(const wsclient *c);
/* The close code the server sent (1005 when it sent none), or 0. */
int wsclient_close_code(const wsclient *c);
const char *wsclient_close_reason(const wsclient *c);
/* Sends a close frame with code (0: none) and waits briefly for the
 * server's close, then frees the client. */
void wsclient_close(wsclient *c, int code);
/* Drops the TCP connection with no close handshake, and frees. */
void wsclient_abort(wsclient *c);

#endif
