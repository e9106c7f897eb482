/*
 * engine.h - the speech recogniser behind a small vtable.
 *
 * An asr_engine holds what every stream shares (model files, a pool of
 * decoders); an asr_stream is one audio source.  The caller (the session)
 * decides where utterances begin and end with its voice activity
 * detector and drives the stream:
 *
 *     begin -> feed, feed, partial, feed ... -> end -> begin ...
 *
 * A stream holds recogniser memory only between begin and end: the
 * PocketSphinx engine lends it a decoder from its pool for that time and
 * keeps the stream's own adaptation state (cepstral mean) across loans,
 * so a connected but silent stream costs a few hundred bytes.
 *
 * begin never blocks: when no decoder is free it answers VB_EAGAIN, and
 * the engine calls the ready callback (on a thread of its own) once one
 * has been given to the stream and its utterance has begun, or once the
 * model has failed to load (load_in_background), when feeding the stream
 * fails.  Meanwhile the stream must not be fed, ended or destroyed.
 *
 * end need not block either: an engine whose last words take time (a
 * remote service's final answer) may answer VB_EAGAIN and deliver them
 * later through the ended callback, with the same rule meanwhile.
 * PocketSphinx always answers at once.
 *
 * Threading: the engine's functions are thread-safe; one stream is used
 * by one thread at a time (any thread).  Errors are negative VB_E* codes.
 */
#ifndef VB_ASR_ENGINE_H
#define VB_ASR_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "keywords.h"

#define ASR_SAMPLE_RATE 16000
#define ASR_WORD_MAX 64

typedef struct asr_engine asr_engine;
typedef struct asr_stream asr_stream;

typedef struct asr_word {
    char word[ASR_WORD_MAX];
    double start, end; /* seconds from the beginning of the utterance */
    float confidence;  /* 0..1 */
    unsigned char sentence_end; /* a sentence ends after it: the session's
                                   judgement (engines need not set it) */
    /* How much likelier the language model finds a sentence ending after
     * it than the words running on into the next of its phrase, from the
     * words on either side; 0 when unknown or for the phrase's last word
     * (engines need not set it). */
    float break_odds;
} asr_word;

typedef struct asr_result {
    asr_word *words;
    size_t count;
    /* When the phrase follows the stream's previous one directly (that
     * one ended with keep): asr_word.break_odds between the previous
     * phrase's last word and this one's first. */
    double break_odds;
} asr_result;

void asr_result_free(asr_result *result);

/* A stream told VB_EAGAIN by begin now has its decoder. */
typedef void (*asr_ready_fn)(void *ctx);
/* A stream told VB_EAGAIN by end has its utterance's words: rc 0 and the
 * words in *result, which the callee takes (asr_result_free()), or a
 * negative VB_E* code and no words.  Called once, on any thread, perhaps
 * before end has returned. */
typedef void (*asr_ended_fn)(void *ctx, asr_result *result, int rc);

typedef struct asr_stats {
    int decoders;   /* built so far */
    int in_use;     /* lent to streams */
    int waiting;    /* streams waiting for one */
    int loading;    /* the first decoder is being built (load_in_background) */
    /* A remote engine's service (0 for a local one): connections open,
     * the mean time from a phrase's end to its words over the last ones
     * (ms, -1 before any), and connections that failed so far. */
    int remote;
    int upstream_open;
    double upstream_latency_ms;
    long upstream_failures;
} asr_stats;

/* The model could not be loaded after all (load_in_background): why, as
 * a sentence for the log.  Called once, on the engine's thread. */
typedef void (*asr_failed_fn)(void *ctx, const char *why);

/* What every engine takes; an engine's own settings come as options
 * (asr_engine_create()). */
typedef struct asr_params {
    int max_streams;       /* streams inside an utterance at once; 0: no cap */
    int threads;           /* threads of the engine's own (PocketSphinx:
                              building decoders); 0: one */
    /* Load the model (PocketSphinx: the dictionary paired with the
     * language model, and the first decoder, which proves the model loads)
     * on a thread of the engine's instead of before create returns: a
     * server answers at once, streams that begin meanwhile wait for it.
     * If it cannot be loaded, every stream waiting and every later begin
     * fails and failed(ctx, why) is called. */
    int load_in_background;
    asr_failed_fn failed;
    void *failed_ctx;
    /* An engine whose streams this one's continue on when theirs cannot
     * go on (a remote service that stays down); NULL: none.  It must
     * outlive this engine.  PocketSphinx ignores it. */
    asr_engine *fallback;
} asr_params;

asr_params asr_default_params(void);

/*
 * The engines, by name (registry.c).  options is a NULL-terminated list
 * of "KEY=VALUE" strings, the engine's own settings (PocketSphinx:
 * model-dir, profile...); a key given twice counts as its last value.
 * name NULL is ASR_DEFAULT_ENGINE.
 *
 * asr_engine_check() says whether name and options would be accepted,
 * without loading anything, so that a command can refuse a mistake as
 * bad usage before it starts.  Both answer VB_EINVAL for an unknown name
 * (the message lists the known engines) or a bad option (it names the
 * option and what the engine accepts); asr_engine_create() answers other
 * errors when the engine cannot start (a model that does not load).
 */
#define ASR_DEFAULT_ENGINE "pocketsphinx"

int asr_engine_check(const char *name, const char *const *options, char *err,
                     size_t errlen);
int asr_engine_create(const char *name, const asr_params *params,
                      const char *const *options, asr_engine **out, char *err,
                      size_t errlen);
/* The known engines' names, comma-separated, for help texts. */
const char *asr_engine_names(void);

struct asr_engine_ops {
    const char *name;
    int (*stream_create)(asr_engine *engine, asr_stream **out);
    /* Starts an utterance: 0, or VB_EAGAIN (ready(ctx) comes later). */
    int (*begin)(asr_stream *stream, asr_ready_fn ready, void *ctx);
    int (*feed)(asr_stream *stream, const int16_t *samples, size_t count);
    /* The current hypothesis, raw words; "" when there is none yet. */
    int (*partial)(asr_stream *stream, char *text, size_t len);
    /* Where the current hypothesis's last word ends, in seconds from the
     * utterance's start; -1 when it has no word yet.  sentence_end (may be
     * NULL): the language model's probability that a sentence ends after
     * the hypothesis's last words (0 without a word). */
    int (*last_word_end)(asr_stream *stream, double *end, double *sentence_end);
    /* Ends the utterance: 0 with its words in out (free with
     * asr_result_free), or VB_EAGAIN when they come later through
     * ended(ctx, ...).  ended NULL: the caller cannot wait, and an engine
     * that would answer later blocks instead.  keep: the stream keeps its
     * decoder for the next begin (which then cannot wait) until release. */
    int (*end)(asr_stream *stream, asr_result *out, int keep,
               asr_ended_fn ended, void *ctx);
    /* Gives back a decoder kept by end(keep); nothing otherwise. */
    void (*release)(asr_stream *stream);
    /* Also ends an utterance left open, dropping its words. */
    void (*stream_destroy)(asr_stream *stream);
    void (*stats)(asr_engine *engine, asr_stats *out);
    /* Why the stream's last call failed, as a sentence a user can act on
     * (a remote service that refused the key); NULL when the code says
     * enough.  May be NULL (no engine message ever). */
    const char *(*stream_error)(asr_stream *stream);
    /* Something the user should hear of that changed how the stream is
     * recognised (it went over to the fallback engine): copies it into
     * text once and answers 1, else 0.  Any thread.  May be NULL. */
    int (*stream_notice)(asr_stream *stream, char *text, size_t len);
    /* Words the stream's utterances should also hear (keywords.h), from
     * its next begin on, replacing any given before; the engine copies
     * them.  Words the engine cannot use are skipped (a boost of 0 or
     * less).  Called between utterances.  May be NULL: the engine learns
     * no words. */
    int (*set_keywords)(asr_stream *stream, const asr_keyword *words,
                        size_t count);
    void (*destroy)(asr_engine *engine);
};

struct asr_engine {
    const struct asr_engine_ops *ops;
};

/* Every engine's stream starts with this. */
struct asr_stream {
    asr_engine *engine;
};

static inline int asr_begin(asr_stream *s, asr_ready_fn ready, void *ctx)
{
    return s->engine->ops->begin(s, ready, ctx);
}
static inline int asr_feed(asr_stream *s, const int16_t *pcm, size_t n)
{
    return s->engine->ops->feed(s, pcm, n);
}
static inline int asr_partial(asr_stream *s, char *text, size_t len)
{
    return s->engine->ops->partial(s, text, len);
}
static inline int asr_last_word_end(asr_stream *s, double *end,
                                    double *sentence_end)
{
    return s->engine->ops->last_word_end(s, end, sentence_end);
}
/* Ends the utterance, waiting for its words if the engine must. */
static inline int asr_end(asr_stream *s, asr_result *out)
{
    return s->engine->ops->end(s, out, 0, NULL, NULL);
}
/* Ends the utterance but keeps the decoder for the next asr_begin(). */
static inline int asr_end_keep(asr_stream *s, asr_result *out)
{
    return s->engine->ops->end(s, out, 1, NULL, NULL);
}
/* Ends the utterance (keep as above) without waiting: VB_EAGAIN when its
 * words come later through ended(ctx, ...). */
static inline int asr_end_async(asr_stream *s, asr_result *out, int keep,
                                asr_ended_fn ended, void *ctx)
{
    return s->engine->ops->end(s, out, keep, ended, ctx);
}
static inline void asr_release(asr_stream *s)
{
    s->engine->ops->release(s);
}
static inline const char *asr_stream_error(asr_stream *s)
{
    return s->engine->ops->stream_error ? s->engine->ops->stream_error(s)
                                        : NULL;
}
static inline int asr_stream_notice(asr_stream *s, char *text, size_t len)
{
    return s->engine->ops->stream_notice
               ? s->engine->ops->stream_notice(s, text, len) : 0;
}
static inline void asr_stream_destroy(asr_stream *s)
{
    if (s != NULL)
        s->engine->ops->stream_destroy(s);
}

#endif
