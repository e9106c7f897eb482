/*
 * deepgram.h - the texts of Deepgram's live transcription messages
 * (/v1/listen), as Deepgram documents them and its SDKs parse them:
 * Results, SpeechStarted, UtteranceEnd and Metadata.  Times are seconds
 * from the start of the connection's audio.  All return malloc'd JSON
 * text, or NULL when out of memory.  Any thread.
 */
#ifndef VB_FORMAT_DEEPGRAM_H
#define VB_FORMAT_DEEPGRAM_H

#include "../session/session.h"

/* What every message of one connection carries. */
typedef struct dg_stream {
    char request_id[37];   /* a UUID */
    const char *model;     /* the model asked for ("nova-2"...) */
    int diarize;           /* words carry speaker numbers */
    char sha256[65];       /* of a prerecorded body, in hex; "" live */
} dg_stream;

/* A new random UUID (version 4) in out[37]. */
void dg_uuid(char out[37]);
/* An interim (is_final false) or final result; from_finalize: the final
 * answers the client's Finalize. */
char *dg_results(const dg_stream *s, const session_event *ev, int from_finalize);
char *dg_speech_started(double timestamp);
char *dg_utterance_end(double last_word_end);
/* The last message before the close: the audio's duration in seconds,
 * created: ISO 8601; warnings: NULL-terminated texts, or NULL. */
char *dg_metadata(const dg_stream *s, double duration, const char *created,
                  const char *const *warnings);
/* The speaker number of a "speaker_N" label, or -1. */
int dg_speaker_number(const char *label);

/* A prerecorded answer, built from the finals as they come. */
typedef struct dg_transcript dg_transcript;
dg_transcript *dg_transcript_new(void);
void dg_transcript_free(dg_transcript *t);
/* A final result, in order, stored as segment_id (ids rise). */
void dg_transcript_add(dg_transcript *t, const dg_stream *s,
                       const session_event *ev, int64_t segment_id);
/* The re-clustering moved segment_id to another speaker: its words,
 * utterance and paragraph say so (nothing when it is not in t). */
void dg_transcript_relabel(dg_transcript *t, int64_t segment_id, int speaker);
/* Deepgram's answer to POST /v1/listen: metadata, and results with the
 * one channel's transcript, words and (asked for) paragraphs and
 * utterances. */
char *dg_transcript_json(const dg_transcript *t, const dg_stream *s,
                         double duration, const char *created,
                         int paragraphs, int utterances,
                         const char *const *warnings);

#endif
