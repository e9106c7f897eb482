/*
 * session.h - one live transcription stream.
 *
 * A session takes the bytes a client sends, turns them into 16 kHz audio
 * (audio/), finds where utterances begin and end (audio/vad.h), has the
 * recogniser decode them (asr/engine.h) and reports what happens as
 * session events: interim text, final text with word timings, speech
 * started, utterance ended, an error, and done.  It knows nothing of
 * sockets or JSON: the caller's emit function turns events into messages.
 *
 * Threads.  session_feed(), session_finalize() and session_close() are
 * called by the connection's thread (the I/O thread); they only queue and
 * never wait for decoding.  The decoding runs on the worker pool, one
 * worker at a time per session, in slices so that sessions share workers
 * fairly.  emit and wake are called on a worker thread, events strictly in
 * order.
 *
 * Lifetime.  session_create() returns a session holding one reference for
 * the caller.  After session_close() the session still decodes everything
 * queued, emits SESSION_DONE last, and is freed when the caller has called
 * session_release() and the work is done.
 */
#ifndef VB_SESSION_H
#define VB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../asr/engine.h"
#include "../audio/audio.h"
#include "../diarize/diarize.h"
#include "../util/meter.h"
#include "../util/pool.h"

typedef enum {
    SESSION_INTERIM,        /* text, start, end, speaker (or NULL) */
    SESSION_FINAL,          /* text, words, start, end, speech_final,
                               from_finalize, speaker and voice (NULL
                               without diarization) */
    SESSION_SPEECH_STARTED,
    SESSION_UTTERANCE_END,
    SESSION_FINALIZED,      /* a Finalize ended no final: start = end =
                               where the audio is */
    SESSION_STATUS,         /* text: the recogniser changed (its engine
                               went over to the fallback) */
    SESSION_ERROR,          /* text; close_code: 1003 client's audio, 1011 ours */
    SESSION_DONE            /* the last event: all audio is decoded */
} session_event_kind;

typedef struct session_event {
    session_event_kind kind;
    char *text;
    asr_word *words;        /* times on the transcription's timeline */
    size_t word_count;
    double start, end;
    int speech_final;
    int from_finalize;      /* the last final a Finalize brought */
    unsigned short *spans;  /* with smart_format: per word, how many words
                               the written token it begins stands for (0:
                               part of an earlier one); NULL: one each */
    int close_code;
    char *speaker;          /* "speaker_N" or NULL */
    char *voice;            /* a final's voice statistics, as text */
    double arrived_at;      /* an interim's or final's: when the audio
                               that brought it came (monotonic seconds),
                               for metrics.h; 0: not measured */
} session_event;

void session_event_free(session_event *ev);

/* Receives each event; takes ownership (free with session_event_free). */
typedef void (*session_emit_fn)(void *ctx, session_event *ev);
/* The queue fell below the low-water mark: reading may resume. */
typedef void (*session_wake_fn)(void *ctx);

typedef struct session_params {
    int64_t transcription_id;
    double time_offset;   /* where this session's audio starts (seconds) */
    audio_format format;  /* raw PCM as declared; WAV headers override */
    int punctuate;        /* final text as sentences */
    int smart_format;     /* numbers, dates, times... written (smartfmt.h) */
    int interim_ms;       /* audio between interim results */
    int endpoint_ms;      /* silence that ends an utterance */
    int max_utterance_ms; /* longer speech is split (final, not speech_final) */
    size_t queue_high;    /* bytes queued before session_feed says stop */
    size_t queue_low;     /* ... and below which wake is called */
    int diarize;          /* label speakers (diarize.h) */
    int min_speakers, max_speakers; /* hints; 0: none */
    size_t slice_bytes;   /* queued bytes one turn on a worker takes (at
                             least one feed's worth): smaller turns for
                             a session that is always behind (an upload)
                             keep live sessions' latency */
    int measure_latency;  /* a live stream: its results carry arrived_at,
                             for the latency histograms (an upload's
                             would measure its queue) */
    meter *audio_meter;   /* counts the seconds of audio decoded, beside
                             the pool's busy time (NULL: not counted) */
    char engine[24];      /* the engine the client asked for by name ("":
                             the server's); its caller picks it, the
                             session is given it */
    asr_keyword keywords[ASR_KEYWORDS_MAX]; /* words to hear (keywords.h) */
    size_t keyword_count;
    int held;             /* input is queued but nothing is decoded until
                             session_begin(): the caller first teaches it
                             what the store knows (speakers, vocabulary) */
} session_params;

session_params session_default_params(void);

typedef struct session session_t;

/* The audio as the session hears it (16 kHz mono), every sample once, in
 * order, on the session's worker, as it is decoded. */
typedef void (*session_audio_fn)(void *ctx, const int16_t *pcm, size_t n);

typedef struct session_sink {
    session_emit_fn emit;
    session_wake_fn wake;
    session_audio_fn audio; /* NULL: not wanted */
    void *ctx;
} session_sink;

int session_create(const session_params *params, asr_engine *engine,
                   pool_t *pool, const session_sink *sink, session_t **out);
/* A session created `held` starts decoding what it was given; also
 * before session_close() of a held session, whose done would otherwise
 * never come.  1 if it was held, 0 if it had begun already. */
int session_begin(session_t *s);
/* Queues audio bytes.  Returns 1 when the queue is over its high-water
 * mark (the caller should stop reading until wake), 0 otherwise, or
 * VB_ENOMEM. */
int session_feed(session_t *s, const void *data, size_t len);
/* A speaker the transcription already has (earlier sessions), so that
 * the same voice keeps its label.  Any thread; takes effect at once. */
int session_seed_speaker(session_t *s, int speaker, const voice_stats *voice);
/* The transcription's own vocabulary (keywords.h), which the session's
 * `keywords` add to and override: the recogniser hears them from its
 * next utterance on.  Any thread. */
int session_add_vocabulary(session_t *s, const asr_keyword *words, size_t count);
/* Ends the current utterance once the audio queued so far is decoded. */
int session_finalize(session_t *s);
/* No more audio: decode what is queued, then emit SESSION_DONE. */
int session_close(session_t *s);
size_t session_queued_bytes(session_t *s);
/* How long the oldest input still queued has waited (seconds): how far
 * behind the live audio the session's results are. */
double session_lag(session_t *s);
/* Another reference (for another thread that must reach the session). */
void session_retain(session_t *s);
void session_release(session_t *s);

#endif
