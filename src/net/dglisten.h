/*
 * dglisten.h - Deepgram's live API on Verbatim's sockets: /v1/listen.
 *
 * A client written for Deepgram (its SDKs, its integrations) opens
 * /v1/listen with Deepgram's query parameters and gets Deepgram's
 * messages (format/deepgram.h) from the same sessions as Verbatim's own
 * sockets: ws.c runs the connection; this file reads the options, picks
 * which results a Deepgram client asked for and renders them.  Each
 * connection is stored as a new transcription (docs/deepgram.md).
 */
#ifndef VB_NET_DGLISTEN_H
#define VB_NET_DGLISTEN_H

#include <libwebsockets.h>

#include "../format/deepgram.h"
#include "../session/session.h"
#include "../transcription/transcription.h"

typedef struct dg_listen dg_listen;

/* Reads a query ("a=1&b=2", as sent) into params (Deepgram's defaults:
 * no punctuation, no speakers, no interim results unless asked).  NULL
 * with err set when a value is bad (a socket is then closed with 1008,
 * as Deepgram closes it). */
dg_listen *dg_listen_open(const char *query, session_params *params, char *err,
                          size_t errlen);
void dg_listen_free(dg_listen *dg);
/* The transcription's title: the tag, else the time. */
void dg_listen_title(const dg_listen *dg, char *out, size_t len);
/* The client sent Finalize: the next final answers it. */
void dg_listen_finalize(dg_listen *dg);
/* The Deepgram message for a result, or NULL when the client did not ask
 * for that kind (interims, VAD events, utterance ends).  Run threads. */
char *dg_listen_render(dg_listen *dg, const tx_result *result);
/* The Metadata message, sent before the close. */
char *dg_listen_metadata(dg_listen *dg);

/* Prerecorded (POST /v1/listen): each result of the upload's run, in
 * order (the finals are kept), then the answer; duration: the audio's
 * seconds.  Any thread. */
void dg_listen_collect(dg_listen *dg, const tx_result *result);
/* The run's re-clustering (a speakers_updated message; others are left
 * alone): the kept finals take their new labels, so that the answer has
 * the labels the transcription keeps. */
void dg_listen_speakers(dg_listen *dg, const char *message);
char *dg_listen_prerecorded(dg_listen *dg, double duration);
const char *dg_listen_request_id(const dg_listen *dg);
/* Prerecorded: where the answer goes instead of the response (callback=),
 * or NULL; and with which method, "POST" or "PUT" (callback_method=). */
const char *dg_listen_callback(const dg_listen *dg);
const char *dg_listen_callback_method(const dg_listen *dg);
/* The recording a prerecorded request sent (its SHA-256 is reported). */
void dg_listen_body(dg_listen *dg, const unsigned char *data, size_t len);

/* Deepgram closes a stream that sent nothing, not even KeepAlive, for
 * about 10 s (its error NET-0001). */
#define DG_IDLE_S 10

#endif
