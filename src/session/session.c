/*
 * session.c - queueing, scheduling and the utterance state machine of one
 * live stream (see session.h).
 *
 * The I/O thread appends items (audio bytes, Finalize, close) to `queue`
 * under `lock` and, if the session is not already scheduled, submits it
 * to the worker pool.  run_slice() takes a bounded amount of the queue,
 * processes it without the lock, and resubmits the session if more is
 * waiting, so one fast sender cannot starve other sessions.
 *
 * Each 10 ms frame goes through the voice activity detector.  Outside an
 * utterance the last frames wait in a pre-roll ring; when speech starts,
 * the recogniser is given the ring (so the first syllable is not cut) and
 * then every frame until the endpoint, with an interim result every
 * interim_ms of audio (at the end of the message that completes it).
 * The recogniser takes an utterance phrase by phrase: at a pause it ends
 * its phrase (see heard_pause()), so that the passes it runs at the end
 * of an utterance are done while the pause lasts, and the final is ready
 * when the pause becomes the endpoint; if the voice comes back instead,
 * the next phrase begins with the pause's audio as its pre-roll.
 * Times are counted in samples from the start of
 * this session's audio and shifted by time_offset onto the
 * transcription's timeline.
 *
 * The recogniser may make the session wait twice in a phrase: at its
 * beginning for a decoder (begin answers VB_EAGAIN), and at its end for
 * the words (end answers VB_EAGAIN: a remote engine's last answer).
 * Either way the session stops where it is, keeps its input queued, and
 * goes on from there (resume()) when the engine's callback says so.
 */
#include "session.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audio/vad.h"
#include "../format/format.h"
#include "../format/smartfmt.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/vb.h"

#define PREROLL_FRAMES 30      /* 300 ms of audio before speech is detected */
#define FEED_SAMPLES 1600      /* hand the recogniser 100 ms at a time */
#define SLICE_BYTES (256 * 1024)
/* See heard_pause(). */
#define QUIET_MS 200
#define CUT_MS 150
#define CUT_QUIET_MS 100
#define CUT_SENTENCE_END 0.1
#define SENTENCE_MARK 0.1
#define BREAK_ODDS 0.1
#define BREAK_PAUSE_MS 100
#define LATE_CUT_MS 300
#define LONG_PHRASE_MS 3000
/* See process_frame(): finals in continuous speech. */
#define SPLIT_SOON_MS 1000
#define SPLIT_GAP_MS 60
/* See urgent(). */
#define URGENT_BYTES (64 * 1024)
#define URGENT_BEFORE_MS 300

enum item_kind { ITEM_AUDIO, ITEM_FINALIZE, ITEM_CLOSE };
/* What begins when a decoder comes (0: nothing waits for one). */
enum begin_mode { BEGIN_PHRASE = 1, BEGIN_UTTERANCE, BEGIN_ANNOUNCED };
/* What follows when an ended phrase's words come (0: none are awaited):
 * a cut inside an utterance, the utterance's end (speech_final), its end
 * at max_utterance_ms (a new one begins, not speech_final), its end as
 * the voice comes back after a cut (the same, the new one beginning with
 * the pre-roll: see between_phrases()), or nothing (a failed session
 * giving its decoder back). */
enum then { THEN_CUT = 1, THEN_END, THEN_SPLIT, THEN_RESUME, THEN_DROP };
#define MAX_PARTS 8            /* speaker turns one utterance may split into */

struct item {
    enum item_kind kind;
    struct item *next;
    double queued_at;     /* monotonic seconds */
    size_t len;
    uint8_t data[];
};

/* A list of taught words waiting for the worker. */
struct vocabulary {
    size_t count;
    asr_keyword words[ASR_KEYWORDS_MAX];
};

struct session {
    session_params params;
    session_sink sink;
    pool_t *pool;
    char tag[32];

    /* Taught words for the engine, set from any thread, given to the
     * stream on the worker (session_add_vocabulary()). */
    _Atomic(struct vocabulary *) vocab_pending;

    pthread_mutex_t lock; /* guards the fields down to `refs` */
    struct item *head, *tail;
    size_t queued_bytes;
    int scheduled, closed, was_high;
    int held;                 /* nothing decoded until session_begin() */
    int waiting;          /* for a decoder or for words: input waits */
    int for_decoder;      /* waiting for a decoder being built ... */
    double decoder_came;  /* ... until then (monotonic s): session_lag() */
    int urgent;           /* the next slice may hold the endpoint (urgent()) */
    int parked;           /* waiting, and no slice is running */
    int refs;
    asr_result ended;     /* words delivered by the engine's callback */
    int ended_rc;

    /* Worker side: touched only by the worker running the session. */
    asr_stream *stream;
    audio_input_t *input;
    vad_t vad;
    pcm_buf pcm;              /* converted samples not yet framed */
    int16_t preroll[PREROLL_FRAMES][VAD_FRAME];
    int preroll_count, preroll_next;
    int16_t feed[FEED_SAMPLES];
    int feed_len;
    int64_t frames_done;      /* 10 ms frames through the detector */
    int64_t frames_counted;   /* of which in the metrics (count_decoded) */
    enum begin_mode begin_pending; /* begins when the decoder comes */
    enum then end_pending;    /* follows when the words come */
    int flush_rc;             /* the last feed before that end failed */
    int in_utterance;         /* from speech_started to the final */
    int decoding;             /* the recogniser has a phrase of it open */
    int64_t utt_start_sample;
    int64_t utt_samples, since_interim;
    int64_t phrase_start_sample;
    asr_result settled;       /* the utterance's ended phrases' words, on
                                 the timeline */
    size_t settled_cap;
    diarize_features *features; /* NULL without diarization */
    diarize_tracker *tracker; /* under tracker_lock: seeds come from the
                                 store's thread */
    pthread_mutex_t tracker_lock;
    double item_arrived;      /* when the input being handled came
                                 (monotonic seconds): results it brings
                                 are measured from there */
    double cut_sentence_end;  /* the language model's sentence end where
                                 the phrase being ended was cut */
    int finalizing;           /* the utterance ends for a Finalize */
    int finalize_answered;    /* ... and its finals were emitted */
    int failed;               /* an error was sent: take no more audio */
    int broken;               /* the recogniser failed: decode nothing more */
    int closing, done;
};

session_params session_default_params(void)
{
    session_params p = {
        .transcription_id = 0,
        .time_offset = 0,
        .format = audio_format_default(),
        .punctuate = 1,
        .interim_ms = 250,
        .endpoint_ms = 500,
        .max_utterance_ms = 8000,
        .queue_high = 4u << 20,
        .queue_low = 1u << 20,
        .slice_bytes = SLICE_BYTES,
        .diarize = 1,
    };
    return p;
}

void session_event_free(session_event *ev)
{
    if (ev == NULL)
        return;
    free(ev->text);
    free(ev->words);
    free(ev->speaker);
    free(ev->voice);
    free(ev->spans);
    free(ev);
}

static void emit(session_t *s, session_event_kind kind, char *text,
                 double start, double end)
{
    session_event *ev = calloc(1, sizeof(*ev));
    if (ev == NULL) {
        free(text);
        log_error(s->tag, "out of memory; an event was lost");
        return;
    }
    ev->kind = kind;
    ev->text = text;
    ev->start = start;
    ev->end = end;
    s->sink.emit(s->sink.ctx, ev);
}

static void emit_error(session_t *s, int close_code, const char *message)
{
    session_event *ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return;
    ev->kind = SESSION_ERROR;
    ev->text = strdup(message);
    ev->close_code = close_code;
    s->sink.emit(s->sink.ctx, ev);
    s->failed = 1;
}

static double timeline(const session_t *s, int64_t sample)
{
    return s->params.time_offset + (double)sample / AUDIO_ENGINE_RATE;
}

static int64_t current_sample(const session_t *s)
{
    return s->frames_done * VAD_FRAME;
}

static int flush_feed(session_t *s)
{
    if (s->feed_len == 0)
        return 0;
    int rc = asr_feed(s->stream, s->feed, (size_t)s->feed_len);
    s->feed_len = 0;
    return rc;
}

static int feed_frame(session_t *s, const int16_t *frame, int count)
{
    if (s->feed_len + count > FEED_SAMPLES) {
        int rc = flush_feed(s);
        if (rc != 0)
            return rc;
    }
    memcpy(s->feed + s->feed_len, frame, (size_t)count * sizeof(int16_t));
    s->feed_len += count;
    return 0;
}

static void decoder_ready(void *arg);
static void run_slice(void *arg);

/* The decoder has come: begin the utterance (unless this is its next
 * phrase) and hand the recogniser the pre-roll. */
static int phrase_begun(session_t *s, enum begin_mode mode)
{
    int rc = 0;
    int64_t start = current_sample(s) - (int64_t)s->preroll_count * VAD_FRAME;
    if (mode != BEGIN_PHRASE) {
        s->in_utterance = 1;
        s->utt_start_sample = start;
        s->utt_samples = current_sample(s) - start;
        s->since_interim = s->utt_samples;
    }
    if (mode == BEGIN_ANNOUNCED)
        emit(s, SESSION_SPEECH_STARTED, NULL, timeline(s, start),
             timeline(s, start));
    s->decoding = 1;
    s->phrase_start_sample = start;
    int first = (s->preroll_next - s->preroll_count + PREROLL_FRAMES) %
                PREROLL_FRAMES;
    for (int i = 0; i < s->preroll_count && rc == 0; i++)
        rc = feed_frame(s, s->preroll[(first + i) % PREROLL_FRAMES], VAD_FRAME);
    s->preroll_count = 0;
    return rc;
}

/*
 * Starts an utterance, or its next phrase, whose audio begins
 * `preroll_count` frames back.  When no decoder is free the session stops
 * taking input (VB_EAGAIN) until decoder_ready() says one has come;
 * nothing is lost meanwhile, the audio waits in the queue.
 */
static int begin_utterance(session_t *s, enum begin_mode mode)
{
    pthread_mutex_lock(&s->lock);
    s->waiting = 1; /* before begin: ready may come at once, on any thread */
    s->for_decoder = 1;
    pthread_mutex_unlock(&s->lock);
    int rc = asr_begin(s->stream, decoder_ready, s);
    if (rc == VB_EAGAIN) {
        s->begin_pending = mode;
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    s->waiting = 0;
    s->for_decoder = 0;
    pthread_mutex_unlock(&s->lock);
    return rc != 0 ? rc : phrase_begun(s, mode);
}

/* Session seconds (not shifted onto the timeline): the features' clock. */
static double seconds(int64_t sample)
{
    return (double)sample / AUDIO_ENGINE_RATE;
}

static char *speaker_label(int index)
{
    char label[DIARIZE_LABEL_MAX];
    diarize_label(index, label, sizeof(label));
    return strdup(label);
}

/* Samples of speech between interim results. */
static int64_t interim_interval(const session_t *s)
{
    return (int64_t)s->params.interim_ms * AUDIO_ENGINE_RATE / 1000;
}

/* The settled words, each followed by a space, as many as fit in `len`
 * with room for more; returns the length written. */
static size_t settled_text(const session_t *s, char *text, size_t len)
{
    size_t n = 0;
    text[0] = '\0';
    for (size_t i = 0; i < s->settled.count; i++) {
        size_t w = strlen(s->settled.words[i].word);
        if (n + w + 2 > len)
            break;
        memcpy(text + n, s->settled.words[i].word, w);
        n += w;
        text[n++] = ' ';
        text[n] = '\0';
    }
    return n;
}

static int send_interim(session_t *s)
{
    int rc = flush_feed(s);
    if (rc != 0)
        return rc;
    s->since_interim = 0;
    char text[4096];
    size_t n = settled_text(s, text, sizeof(text));
    rc = asr_partial(s->stream, text + n, sizeof(text) - n);
    if (rc == 0 && text[n] == '\0') {
        /* No (new) word yet: ask again after 100 ms rather than the whole
         * interval, so that the first words show as soon as they are
         * heard (the question costs next to nothing). */
        if (interim_interval(s) > FEED_SAMPLES)
            s->since_interim = interim_interval(s) - FEED_SAMPLES;
    }
    if (rc != 0 || text[n] == '\0')
        return rc;
    char *copy = strdup(text);
    session_event *ev = calloc(1, sizeof(*ev));
    if (copy == NULL || ev == NULL) {
        free(copy);
        free(ev);
        return VB_ENOMEM;
    }
    ev->kind = SESSION_INTERIM;
    ev->text = copy;
    if (s->params.measure_latency)
        ev->arrived_at = s->item_arrived;
    ev->start = timeline(s, s->utt_start_sample);
    ev->end = timeline(s, s->utt_start_sample + s->utt_samples);
    if (s->tracker != NULL) {
        pthread_mutex_lock(&s->tracker_lock);
        int who = diarize_tracker_peek(
            s->tracker, s->features, seconds(s->utt_start_sample),
            seconds(s->utt_start_sample + s->utt_samples));
        pthread_mutex_unlock(&s->tracker_lock);
        ev->speaker = who >= 0 ? speaker_label(who) : NULL;
    }
    s->sink.emit(s->sink.ctx, ev);
    return 0;
}

/* A final's text with its spoken forms written (smartfmt.h), and which
 * words each written token stands for (ev->spans); NULL when out of
 * memory. */
static char *smart_text(session_event *ev, const char *const *words,
                        const unsigned char *ends, size_t count,
                        int punctuate)
{
    sf_token *tokens = malloc(count * sizeof(*tokens));
    const char **shown = malloc(count * sizeof(*shown));
    unsigned char *token_ends = calloc(count, 1);
    ev->spans = calloc(count, sizeof(*ev->spans));
    char *text = NULL;
    if (tokens != NULL && shown != NULL && token_ends != NULL &&
        ev->spans != NULL) {
        size_t n = smartfmt(words, count, tokens);
        for (size_t k = 0; k < n; k++) {
            shown[k] = tokens[k].text;
            ev->spans[tokens[k].first] = (unsigned short)tokens[k].count;
            token_ends[k] = ends != NULL &&
                            ends[tokens[k].first + tokens[k].count - 1];
        }
        text = format_text(shown, token_ends, n, punctuate);
    }
    free(tokens);
    free(shown);
    free(token_ends);
    return text;
}

/* One final result: words [from, to) of the utterance, said by `part`
 * (NULL: no diarization). */
static int emit_final(session_t *s, const asr_result *r, size_t from,
                      size_t to, const diarize_part *part, int speech_final,
                      int from_finalize)
{
    size_t count = to - from;
    const char **words = malloc(count * sizeof(char *));
    session_event *ev = calloc(1, sizeof(*ev));
    asr_word *copy = malloc(count * sizeof(asr_word));
    if (words == NULL || ev == NULL || copy == NULL) {
        free(words);
        free(ev);
        free(copy);
        return VB_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        copy[i] = r->words[from + i];
        words[i] = copy[i].word;
    }
    ev->kind = SESSION_FINAL;
    ev->words = copy;
    ev->word_count = count;
    unsigned char *ends = malloc(count);
    for (size_t i = 0; ends != NULL && i < count; i++)
        ends[i] = copy[i].sentence_end;
    if (s->params.smart_format)
        ev->text = smart_text(ev, words, ends, count, s->params.punctuate);
    else
        ev->text = format_text(words, ends, count, s->params.punctuate);
    free(ends);
    free(words);
    ev->start = copy[0].start;
    ev->end = copy[count - 1].end;
    ev->speech_final = speech_final;
    ev->from_finalize = from_finalize;
    int failed = ev->text == NULL;
    if (part != NULL && part->speaker >= 0) {
        char voice[4096];
        ev->speaker = speaker_label(part->speaker);
        if (voice_format(&part->voice, voice, sizeof(voice)) == 0)
            ev->voice = strdup(voice);
        failed |= ev->speaker == NULL || ev->voice == NULL;
    }
    if (failed) {
        session_event_free(ev);
        return VB_ENOMEM;
    }
    if (s->params.measure_latency)
        ev->arrived_at = s->item_arrived;
    s->sink.emit(s->sink.ctx, ev);
    return 0;
}

/* The utterance's finals: one, or one per speaker when the voice changed
 * inside it (each word goes to the part its middle falls in).
 * from_finalize: the last one answers a Finalize. */
static int emit_finals(session_t *s, const asr_result *r,
                       const diarize_part *parts, size_t nparts,
                       int speech_final, int from_finalize)
{
    if (r->count == 0)
        return 0;
    if (nparts <= 1)
        return emit_final(s, r, 0, r->count, nparts ? &parts[0] : NULL,
                          speech_final, from_finalize);
    size_t from = 0;
    for (size_t p = 0; p < nparts && from < r->count; p++) {
        double cut = p + 1 < nparts
                         ? s->params.time_offset + parts[p].end : INFINITY;
        size_t to = from;
        while (to < r->count &&
               (r->words[to].start + r->words[to].end) / 2 < cut)
            to++;
        if (to == from)
            continue; /* a part with no words of its own */
        int rc = emit_final(s, r, from, to, &parts[p],
                            speech_final && to == r->count,
                            from_finalize && to == r->count);
        if (rc != 0)
            return rc;
        from = to;
    }
    return 0;
}

/* Where the last settled word ends, in session seconds (the words are on
 * the timeline); only when there is one. */
static double settled_end(const session_t *s)
{
    return s->settled.words[s->settled.count - 1].end - s->params.time_offset;
}

/* Adds a phrase's words to the utterance's, onto the timeline. */
static int settle(session_t *s, const asr_result *phrase)
{
    if (s->settled.count + phrase->count > s->settled_cap) {
        size_t cap = 2 * (s->settled.count + phrase->count);
        asr_word *grown = realloc(s->settled.words, cap * sizeof(asr_word));
        if (grown == NULL)
            return VB_ENOMEM;
        s->settled.words = grown;
        s->settled_cap = cap;
    }
    double base = timeline(s, s->phrase_start_sample);
    for (size_t i = 0; i < phrase->count; i++) {
        asr_word *w = &s->settled.words[s->settled.count++];
        *w = phrase->words[i];
        w->start += base;
        w->end += base;
        /* A sentence ends at a pause inside the phrase where the words on
         * both sides say so; at its end, phrase_came() judges. */
        w->sentence_end =
            i + 1 < phrase->count && w->break_odds >= BREAK_ODDS &&
            phrase->words[i + 1].start - phrase->words[i].end >=
                BREAK_PAUSE_MS / 1000.0;
    }
    return 0;
}

static void phrase_ended(void *arg, asr_result *words, int rc);
static int phrase_came(session_t *s, enum then then, int rc,
                       asr_result *words);

/*
 * Ends the recogniser's phrase: its words join the settled ones, then
 * `then` follows (phrase_came()), at once or, when the engine answers
 * later (VB_EAGAIN, passed on), once they have come (resume()).  keep:
 * the stream keeps its decoder for the utterance's next phrase, so that
 * it never waits for one when the voice comes back.
 */
static int end_phrase(session_t *s, int keep, enum then then)
{
    int rc = 0;
    if (then == THEN_DROP)
        s->feed_len = 0; /* a failed session's audio: not worth decoding */
    else
        rc = flush_feed(s);
    asr_result words = {0};
    pthread_mutex_lock(&s->lock);
    s->waiting = 1; /* before end: ended may come at once, on any thread */
    pthread_mutex_unlock(&s->lock);
    int end_rc = asr_end_async(s->stream, &words, keep, phrase_ended, s);
    s->decoding = 0;
    if (end_rc == VB_EAGAIN) {
        s->end_pending = then;
        s->flush_rc = rc;
        return end_rc;
    }
    pthread_mutex_lock(&s->lock);
    s->waiting = 0;
    pthread_mutex_unlock(&s->lock);
    return phrase_came(s, then, rc != 0 ? rc : end_rc, &words);
}

/* The utterance's last phrase has ended (rc: how): emits its final result
 * (when it has words) and, for THEN_END, the utterance end (speech_final);
 * for THEN_SPLIT and THEN_RESUME the next utterance begins. */
static int utterance_ended(session_t *s, int rc, enum then then)
{
    int speech_final = then == THEN_END;
    s->in_utterance = 0;
    if (then != THEN_RESUME) /* the next utterance's pre-roll comes after */
        s->preroll_count = 0;
    diarize_part parts[MAX_PARTS];
    size_t nparts = 0;
    if (rc == 0 && s->tracker != NULL && s->settled.count > 0) {
        pthread_mutex_lock(&s->tracker_lock);
        nparts = diarize_tracker_label(
            s->tracker, s->features, seconds(s->utt_start_sample),
            seconds(s->utt_start_sample + s->utt_samples), parts, MAX_PARTS);
        pthread_mutex_unlock(&s->tracker_lock);
    }
    int finalizing = s->finalizing;
    s->finalizing = 0;
    if (rc == 0)
        rc = emit_finals(s, &s->settled, parts, nparts, speech_final,
                         finalizing);
    if (rc == 0 && finalizing && s->settled.count == 0)
        emit(s, SESSION_FINALIZED, NULL, timeline(s, current_sample(s)),
             timeline(s, current_sample(s)));
    s->settled.count = 0;
    if (rc != 0)
        return rc;
    if (speech_final) {
        double now = timeline(s, s->utt_start_sample + s->utt_samples);
        emit(s, SESSION_UTTERANCE_END, NULL, now, now);
    }
    return then == THEN_SPLIT || then == THEN_RESUME
               ? begin_utterance(s, BEGIN_UTTERANCE) : 0;
}

/* Ends the utterance (THEN_END or THEN_SPLIT); VB_EAGAIN while its last
 * phrase's words are awaited. */
static int end_utterance(session_t *s, enum then then)
{
    if (s->decoding)
        return end_phrase(s, 0, then);
    asr_release(s->stream); /* kept since the last phrase */
    return utterance_ended(s, 0, then);
}

static void preroll_push(session_t *s, const int16_t *frame)
{
    memcpy(s->preroll[s->preroll_next], frame, sizeof(s->preroll[0]));
    s->preroll_next = (s->preroll_next + 1) % PREROLL_FRAMES;
    if (s->preroll_count < PREROLL_FRAMES)
        s->preroll_count++;
}

/* Seconds since the utterance's last word ended, as far as the recogniser
 * can tell now; -1 before its first word.  `in_phrase`: that word is in
 * the open phrase. */
static double since_last_word(session_t *s, int *in_phrase,
                              double *sentence_end)
{
    double end = -1;
    *in_phrase = 0;
    *sentence_end = 0;
    if (s->decoding && asr_last_word_end(s->stream, &end, sentence_end) == 0 &&
        end >= 0) {
        *in_phrase = 1;
        end += seconds(s->phrase_start_sample);
    } else if (s->settled.count > 0) {
        end = settled_end(s);
    } else {
        return -1;
    }
    return seconds(current_sample(s)) - end;
}

enum pause { PAUSE_NONE, PAUSE_CUT, PAUSE_END };

/*
 * What a pause means.  The endpoint comes sooner than the detector's
 * own: QUIET_MS of quiet and the last word ended the endpoint setting
 * ago (breath and room echo keep the detector in speech, not the
 * recogniser).
 *
 * Before that, at CUT_MS after the last word, the recogniser's phrase
 * ends (PAUSE_CUT) where the language model gives a sentence end a
 * probability of CUT_SENTENCE_END or more, so that the passes run at an
 * utterance's end run in the rest of the pause instead of after the
 * endpoint.  Only where a sentence may end: the next phrase starts
 * without the words before it as context.  A phrase of LONG_PHRASE_MS
 * or more also ends at LATE_CUT_MS of quiet whatever the model says
 * (long_phrase_paused()), since its end passes are long.
 *
 * Asked only while the detector hears quiet, at every 100 ms of the
 * utterance's audio (not when a client's messages happen to end, so the
 * same audio is cut at the same places).  The figures behind each
 * threshold: bench/NOTES.md, "When the final comes" and "Where a
 * phrase is cut".
 */
static int long_phrase_paused(session_t *s, double quiet)
{
    int long_phrase = current_sample(s) - s->phrase_start_sample >=
                      (int64_t)LONG_PHRASE_MS * AUDIO_ENGINE_RATE / 1000;
    return long_phrase && (quiet >= LATE_CUT_MS / 1000.0 ||
                           vad_quiet_ms(&s->vad) >= LATE_CUT_MS);
}

static int heard_pause(session_t *s, enum pause *pause, double *sentence_end)
{
    *pause = PAUSE_NONE;
    *sentence_end = 0;
    if (vad_quiet_ms(&s->vad) < CUT_QUIET_MS)
        return 0;
    if (s->decoding) {
        if (s->utt_samples % FEED_SAMPLES != 0)
            return 0;
        int rc = flush_feed(s);
        if (rc != 0)
            return rc;
    }
    int in_phrase;
    double quiet = since_last_word(s, &in_phrase, sentence_end);
    if (quiet >= s->params.endpoint_ms / 1000.0 &&
        vad_quiet_ms(&s->vad) >= QUIET_MS)
        *pause = PAUSE_END;
    else if (in_phrase && quiet >= CUT_MS / 1000.0 &&
             *sentence_end >= CUT_SENTENCE_END)
        *pause = PAUSE_CUT;
    else if (in_phrase && long_phrase_paused(s, quiet))
        *pause = PAUSE_CUT;
    return 0;
}

/* A frame between two phrases of an utterance: it waits in the pre-roll
 * until the voice comes back (the next phrase) or the endpoint. */
static int between_phrases(session_t *s, const int16_t *frame, vad_event ev)
{
    preroll_push(s, frame);
    if (ev == VAD_SPEECH_END)
        return end_utterance(s, THEN_END);
    if (vad_voice_heard(&s->vad)) {
        /* The speaker goes on after a pause that was no endpoint: past
         * 5/8 of max_utterance_ms, what was said so far is a final, and
         * the rest a new utterance (see process_frame()). */
        if (s->settled.count > 0 &&
            s->utt_samples * 1000 >= (int64_t)s->params.max_utterance_ms *
                                         AUDIO_ENGINE_RATE * 5 / 8)
            return end_utterance(s, THEN_RESUME);
        return begin_utterance(s, BEGIN_PHRASE);
    }
    enum pause pause;
    double sentence_end;
    int rc = heard_pause(s, &pause, &sentence_end);
    if (rc == 0 && pause == PAUSE_END) {
        vad_reset_to_silence(&s->vad);
        return end_utterance(s, THEN_END);
    }
    return rc;
}

/* Ends the recogniser's phrase at a pause (cut_done() follows). */
static int cut_phrase(session_t *s)
{
    return end_phrase(s, 1, THEN_CUT);
}

/* After a cut: the pause's audio since the last word stays in the
 * pre-roll, so the next phrase, if the voice comes back, begins with it,
 * as an utterance begins with the quiet before it. */
static void cut_done(session_t *s)
{
    if (s->settled.count == 0)
        return;
    int64_t quiet = current_sample(s) -
                    (int64_t)(settled_end(s) * AUDIO_ENGINE_RATE);
    if (quiet < 0)
        quiet = 0;
    if (s->preroll_count > quiet / VAD_FRAME)
        s->preroll_count = (int)(quiet / VAD_FRAME);
}

/* An ended phrase's words (rc: how it ended), then what follows them. */
static int phrase_came(session_t *s, enum then then, int rc,
                       asr_result *words)
{
    /* The cut before this phrase ended a sentence only if the words on
     * both sides agree (asr_result.break_odds; 0: the engine cannot say):
     * a pause inside a sentence often follows words that could end one. */
    if (rc == 0 && s->settled.count > 0 && words->count > 0 &&
        words->break_odds > 0 && words->break_odds < BREAK_ODDS)
        s->settled.words[s->settled.count - 1].sentence_end = 0;
    if (rc == 0 && then != THEN_DROP)
        rc = settle(s, words);
    asr_result_free(words);
    switch (then) {
    case THEN_CUT:
        /* Cut where the language model found a sentence end likely
         * enough: the text says so.  Figures: bench/NOTES.md, "Sentences
         * inside a final". */
        if (rc == 0 && s->settled.count > 0 &&
            s->cut_sentence_end >= SENTENCE_MARK)
            s->settled.words[s->settled.count - 1].sentence_end = 1;
        s->cut_sentence_end = 0;
        if (rc == 0)
            cut_done(s);
        return rc;
    case THEN_END:
    case THEN_SPLIT:
    case THEN_RESUME:
        return utterance_ended(s, rc, then);
    default: /* THEN_DROP: the session has failed already */
        return 0;
    }
}

/* One 10 ms frame; `left`: whole frames after it in the audio at hand. */
static int process_frame(session_t *s, const int16_t *frame, size_t left)
{
    vad_event ev = vad_process(&s->vad, frame);
    int rc = 0;
    if (s->features != NULL) {
        if (diarize_features_push(s->features, frame, VAD_FRAME) != 0)
            return VB_ENOMEM;
        if (s->frames_done % 100 == 0) /* keep what an utterance may need */
            diarize_features_forget(
                s->features, s->in_utterance ? seconds(s->utt_start_sample) - 1
                                             : seconds(current_sample(s)) - 2);
    }
    if (!s->in_utterance) {
        preroll_push(s, frame);
        s->frames_done++;
        if (ev == VAD_SPEECH_START)
            rc = begin_utterance(s, BEGIN_ANNOUNCED);
        return rc;
    }
    s->frames_done++;
    s->utt_samples += VAD_FRAME;
    s->since_interim += VAD_FRAME;
    if (!s->decoding)
        return between_phrases(s, frame, ev);
    preroll_push(s, frame); /* see cut_phrase() */
    rc = feed_frame(s, frame, VAD_FRAME);
    /* An interim that falls due less than FEED_SAMPLES before the end of
     * the audio at hand (a client's 100 ms message) waits for that end, so
     * that it covers everything received: fresher by up to 100 ms. */
    if (rc == 0 && s->since_interim >= interim_interval(s) &&
        (left == 0 || left * VAD_FRAME >= FEED_SAMPLES))
        rc = send_interim(s);
    if (rc != 0)
        return rc;
    if (ev == VAD_SPEECH_END)
        return end_utterance(s, THEN_END);
    enum pause pause;
    double sentence_end;
    rc = heard_pause(s, &pause, &sentence_end);
    if (rc != 0)
        return rc;
    int64_t ms = s->utt_samples * 1000 / AUDIO_ENGINE_RATE;
    int64_t max = s->params.max_utterance_ms;
    switch (pause) {
    case PAUSE_END:
        vad_reset_to_silence(&s->vad);
        return end_utterance(s, THEN_END);
    case PAUSE_CUT:
        s->cut_sentence_end = sentence_end;
        return cut_phrase(s);
    case PAUSE_NONE:
        break;
    }
    /* Someone who keeps talking gets a final (not speech_final) every
     * max_utterance_ms at the latest: from a second before it the phrase
     * is cut at any gap between words, and if the voice comes back the
     * words so far are the final (between_phrases()); at it, whatever is
     * being said.  A pause that turns out to be the endpoint still ends
     * the utterance with speech_final.  Figures: bench/NOTES.md, "Finals
     * in continuous speech". */
    if (ms >= max)
        return end_utterance(s, THEN_SPLIT);
    if (ms >= max - SPLIT_SOON_MS && vad_quiet_ms(&s->vad) >= SPLIT_GAP_MS)
        return cut_phrase(s);
    return rc;
}

/* Runs whole frames through the detector and the recogniser.  Returns
 * VB_EAGAIN when it stopped to wait for a decoder or for a phrase's words
 * (the rest stays in s->pcm). */
static int process_pcm(session_t *s)
{
    size_t pos = 0;
    int rc = 0;
    while (rc == 0 && s->pcm.len - pos >= VAD_FRAME) {
        rc = process_frame(s, s->pcm.samples + pos,
                           (s->pcm.len - pos) / VAD_FRAME - 1);
        pos += VAD_FRAME;
    }
    if (pos > 0 && pos < s->pcm.len)
        memmove(s->pcm.samples, s->pcm.samples + pos,
                (s->pcm.len - pos) * sizeof(int16_t));
    s->pcm.len -= pos;
    return rc;
}

static void fail(session_t *s, int rc, const char *what)
{
    s->broken = 1;
    char msg[400];
    const char *why = s->stream ? asr_stream_error(s->stream) : NULL;
    if (why != NULL) /* the engine's own words: a refused key, say */
        snprintf(msg, sizeof(msg), "%s", why);
    else
        snprintf(msg, sizeof(msg), "%s: %s", what, vb_strerror(rc));
    log_error(s->tag, "%s", msg);
    emit_error(s, 1011, msg);
}

/* Samples from `from` on in s->pcm are newly decoded: the sink hears them. */
static void heard(session_t *s, size_t from)
{
    if (s->sink.audio != NULL && s->pcm.len > from)
        s->sink.audio(s->sink.ctx, s->pcm.samples + from, s->pcm.len - from);
}

/* Returns VB_EAGAIN when it stopped to wait for the engine, else 0. */
static int handle_audio(session_t *s, const uint8_t *data, size_t len)
{
    char err[256] = "";
    size_t before = s->pcm.len;
    int rc = audio_input_feed(s->input, data, len, &s->pcm, err, sizeof(err));
    if (s->pcm.len > before)
        metrics_count_audio_received((int64_t)(s->pcm.len - before));
    heard(s, before);
    if (rc == VB_EUNSUPPORTED || rc == VB_EINVAL) {
        log_warn(s->tag, "audio rejected: %s", err);
        emit_error(s, 1003, err);
        /* What was decodable before the problem still counts: it is
         * decoded when the input closes. */
        return 0;
    }
    if (rc == 0)
        rc = process_pcm(s);
    if (rc != 0 && rc != VB_EAGAIN)
        fail(s, rc, "decoding failed");
    return rc == VB_EAGAIN ? rc : 0;
}

/* The client's Finalize: the open utterance ends now.  Its last final
 * says it answers the Finalize (from_finalize); when there is none (no
 * utterance open, or one with no words), SESSION_FINALIZED says so, so
 * that a client waiting for that answer need not guess.  Returns
 * VB_EAGAIN while the utterance's last words are awaited: it runs again
 * after them, and finds the Finalize answered. */
static int handle_finalize(session_t *s)
{
    if (s->finalize_answered) { /* running again after the engine's wait */
        s->finalize_answered = 0;
        return 0;
    }
    if (!s->in_utterance) {
        emit(s, SESSION_FINALIZED, NULL, timeline(s, current_sample(s)),
             timeline(s, current_sample(s)));
        return 0;
    }
    vad_reset_to_silence(&s->vad);
    s->finalizing = 1;
    int rc = end_utterance(s, THEN_END);
    if (rc == VB_EAGAIN) {
        s->finalize_answered = 1;
        return rc;
    }
    if (rc != 0)
        fail(s, rc, "decoding failed");
    return 0;
}

/* Adds the frames decoded since it last ran to the meter and the
 * metrics; on the session's worker. */
static void count_decoded(session_t *s)
{
    int64_t frames = s->frames_done - s->frames_counted;
    s->frames_counted = s->frames_done;
    if (frames <= 0)
        return;
    if (s->params.audio_meter)
        meter_add(s->params.audio_meter, seconds(frames * VAD_FRAME));
    metrics_count_audio_decoded(frames * VAD_FRAME);
}

/* The end of the input: flush the resampler, decode the last partial
 * frame, settle the open utterance, then announce the end.  Returns
 * VB_EAGAIN when it has to wait for a decoder or for words first (it
 * runs again, and goes on from where it stopped). */
static int handle_close(session_t *s)
{
    if (!s->closing) { /* once, even when it runs again after a wait */
        s->closing = 1;
        char err[256] = "";
        size_t before = s->pcm.len;
        int rc = audio_input_finish(s->input, &s->pcm, err, sizeof(err));
        heard(s, before);
        if (rc == VB_EINVAL || rc == VB_EUNSUPPORTED) {
            log_warn(s->tag, "audio rejected at end: %s", err);
            if (!s->failed)
                emit_error(s, 1003, err);
        }
    }
    if (!s->broken) {
        int rc = process_pcm(s);
        if (rc == VB_EAGAIN)
            return rc;
        if (s->in_utterance) /* the last partial frame */
            s->utt_samples += (int64_t)s->pcm.len;
        if (rc == 0 && s->decoding && s->pcm.len > 0)
            rc = feed_frame(s, s->pcm.samples, (int)s->pcm.len);
        s->pcm.len = 0;
        if (rc == 0 && s->in_utterance)
            rc = end_utterance(s, THEN_END);
        if (rc == VB_EAGAIN)
            return rc;
        if (rc != 0)
            fail(s, rc, "decoding failed");
    }
    /* Failed mid-utterance: give the decoder back. */
    if (s->decoding && end_phrase(s, 0, THEN_DROP) == VB_EAGAIN)
        return VB_EAGAIN;
    asr_release(s->stream);
    s->in_utterance = 0;
    s->done = 1;
    count_decoded(s); /* before done reaches a client that reads the metrics */
    emit(s, SESSION_DONE, NULL, 0, 0);
    return 0;
}

static void session_free(session_t *s)
{
    asr_result_free(&s->settled);
    asr_result_free(&s->ended);
    asr_stream_destroy(s->stream); /* ends an utterance left open */
    audio_input_destroy(s->input);
    diarize_features_destroy(s->features);
    diarize_tracker_destroy(s->tracker);
    pthread_mutex_destroy(&s->tracker_lock);
    free(atomic_load(&s->vocab_pending));
    pcm_buf_free(&s->pcm);
    for (struct item *it = s->head, *next; it; it = next) {
        next = it->next;
        free(it);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Drops one reference; the last one frees.  Called with the lock held;
 * returns 1 when the session is gone (the lock with it). */
static int unref_locked(session_t *s)
{
    assert(vb_mutex_held(&s->lock) && s->refs > 0);
    if (--s->refs > 0)
        return 0;
    pthread_mutex_unlock(&s->lock);
    session_free(s);
    return 1;
}

/* The engine's wait is over: the session goes back on the pool, if its
 * slice has parked.  Called with the lock held; unlocks. */
static void unpark(session_t *s)
{
    assert(vb_mutex_held(&s->lock));
    s->waiting = 0;
    int submit = s->parked; /* else run_slice is still on it, and sees */
    s->parked = 0;
    pthread_mutex_unlock(&s->lock);
    if (submit)
        pool_submit(s->pool, run_slice, s); /* the parked slice's reference */
}

/* A decoder came for the utterance that was waiting for one (this runs
 * on the engine's thread). */
static void decoder_ready(void *arg)
{
    session_t *s = arg;
    pthread_mutex_lock(&s->lock);
    s->for_decoder = 0;
    s->decoder_came = vb_monotonic_s();
    unpark(s);
}

/* The words of a phrase whose end answered VB_EAGAIN (on the engine's
 * thread): kept for resume(). */
static void phrase_ended(void *arg, asr_result *words, int rc)
{
    session_t *s = arg;
    pthread_mutex_lock(&s->lock);
    if (words != NULL) {
        s->ended = *words;
        *words = (asr_result){0};
    }
    s->ended_rc = rc;
    unpark(s);
}

/* Carries on after a wait: the utterance has begun, or the phrase's words
 * have come. */
static int resume(session_t *s)
{
    int rc;
    if (s->end_pending) {
        enum then then = s->end_pending;
        s->end_pending = 0;
        pthread_mutex_lock(&s->lock);
        asr_result words = s->ended;
        int end_rc = s->ended_rc;
        s->ended = (asr_result){0};
        pthread_mutex_unlock(&s->lock);
        rc = phrase_came(s, then, s->flush_rc != 0 ? s->flush_rc : end_rc,
                         &words);
    } else if (s->begin_pending) {
        enum begin_mode mode = s->begin_pending;
        s->begin_pending = 0;
        rc = phrase_begun(s, mode);
    } else {
        return 0;
    }
    if (rc == 0 && !s->broken)
        rc = process_pcm(s);
    if (rc != 0 && rc != VB_EAGAIN)
        fail(s, rc, "decoding failed");
    return rc == VB_EAGAIN ? rc : 0;
}

/* Gives the stream the vocabulary session_add_vocabulary() left, if any:
 * on the worker, between the stream's calls. */
static void teach_pending(session_t *s)
{
    struct vocabulary *v = atomic_exchange(&s->vocab_pending, NULL);
    if (v == NULL)
        return;
    asr_engine *engine = s->stream->engine;
    if (engine->ops->set_keywords != NULL &&
        engine->ops->set_keywords(s->stream, v->words, v->count) != 0)
        log_warn(s->tag, "the transcription's vocabulary could not be "
                 "taught to the recogniser");
    free(v);
}

int session_add_vocabulary(session_t *s, const asr_keyword *words, size_t count)
{
    struct vocabulary *v = malloc(sizeof(*v));
    if (v == NULL)
        return VB_ENOMEM;
    v->count = 0;
    size_t left = asr_keywords_merge(v->words, &v->count, words, count);
    left += asr_keywords_merge(v->words, &v->count, s->params.keywords,
                               s->params.keyword_count);
    if (left > 0)
        log_warn(s->tag, "%zu taught words past the %d a session hears were "
                 "left out", left, ASR_KEYWORDS_MAX);
    free(atomic_exchange(&s->vocab_pending, v));
    return 0;
}

/* 0 when the item is done with; VB_EAGAIN when the session waits for the
 * engine (audio items are then consumed already, others run again). */
static int handle_item(session_t *s, struct item *it)
{
    if (s->done)
        return 0;
    s->item_arrived = it->queued_at;
    if (it->kind == ITEM_CLOSE)
        return handle_close(s);

    if (s->failed)
        return 0;
    teach_pending(s);
    if (it->kind == ITEM_AUDIO)
        return handle_audio(s, it->data, it->len);
    return handle_finalize(s);
}

/*
 * Whether the session's next slice goes before the others waiting for a
 * worker (but those that have waited POOL_URGENT_LEAD, pool.h): when
 * its utterance is in a pause that is within URGENT_BEFORE_MS of the
 * endpoint (so also the slices that end the recogniser's phrase in
 * such a pause, whose end passes the final waits for), or the client
 * asked for the final.  Near the knee the
 * workers' queue holds every other stream's next 100 ms, and the final,
 * which the speaker waits for, would wait behind them all.  Only while
 * little waits in the session's queue: a client sending faster than real
 * time (an upload) takes its turn like everyone.  Called with the lock
 * held; s->urgent is set at the end of each slice.  Figures:
 * bench/NOTES.md, "Urgent slices: measured".
 */
static int urgent(const session_t *s, enum item_kind kind)
{
    assert(vb_mutex_held((pthread_mutex_t *)&s->lock));
    if (s->queued_bytes > URGENT_BYTES)
        return 0;
    return kind != ITEM_AUDIO || s->urgent;
}

/* Puts the session's next slice on the pool; `first`: ahead of the
 * ordinary ones (urgent()). */
static int schedule(session_t *s, int first)
{
    return first ? pool_submit_urgent(s->pool, run_slice, s)
                  : pool_submit(s->pool, run_slice, s);
}

/* Tells the client what the engine says changed (it went over to its
 * fallback), before the results that follow from it. */
static void announce(session_t *s)
{
    char notice[400];
    char *copy;
    if (!s->done && asr_stream_notice(s->stream, notice, sizeof(notice)) &&
        (copy = strdup(notice)) != NULL) {
        log_warn(s->tag, "%s", notice);
        emit(s, SESSION_STATUS, copy, timeline(s, current_sample(s)),
             timeline(s, current_sample(s)));
    }
}

static void run_slice(void *arg)
{
    session_t *s = arg;
    announce(s);
    int paused = resume(s) == VB_EAGAIN;
    struct item *batch = NULL, *last = NULL;
    size_t taken = 0;
    pthread_mutex_lock(&s->lock);
    if (!paused) {
        batch = s->head;
        for (struct item *it = s->head; it && taken < s->params.slice_bytes; it = it->next) {
            last = it;
            taken += it->len;
        }
        s->head = last ? last->next : NULL;
        if (s->head == NULL)
            s->tail = NULL;
        if (last)
            last->next = NULL;
        s->queued_bytes -= taken;
    }
    int wake = s->was_high && s->queued_bytes < s->params.queue_low;
    if (wake)
        s->was_high = 0;
    pthread_mutex_unlock(&s->lock);

    if (wake && s->sink.wake)
        s->sink.wake(s->sink.ctx);
    struct item *it = batch;
    while (it != NULL && !paused) {
        struct item *next = it->next;
        paused = handle_item(s, it) == VB_EAGAIN;
        if (paused && it->kind != ITEM_AUDIO)
            break; /* it runs again once the engine has answered */
        taken -= it->len;
        free(it);
        it = next;
    }
    count_decoded(s);
    announce(s);

    pthread_mutex_lock(&s->lock);
    if (it != NULL) { /* what was not handled goes back to the front */
        struct item *end = it;
        while (end->next)
            end = end->next;
        end->next = s->head;
        s->head = it;
        if (s->tail == NULL)
            s->tail = end;
        s->queued_bytes += taken;
    }
    if (s->waiting) {
        /* Parked until decoder_ready() or phrase_ended(); it stays
         * scheduled (so enqueue does not run it) and keeps its reference. */
        s->parked = 1;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->urgent = s->in_utterance &&
                vad_quiet_ms(&s->vad) >= s->params.endpoint_ms - URGENT_BEFORE_MS;
    if (s->head != NULL || s->begin_pending || s->end_pending) {
        int first = s->head != NULL && urgent(s, s->tail->kind);
        pthread_mutex_unlock(&s->lock);
        schedule(s, first); /* keeps the scheduled reference */
        return;
    }
    s->scheduled = 0;
    if (!unref_locked(s))
        pthread_mutex_unlock(&s->lock);
}

/* Called with the lock held, which it lets go: a session with queued
 * input, not held and not on the pool already, goes on it, holding a
 * reference of its own.  0, or VB_ENOMEM (logged). */
static int start_turn(session_t *s)
{
    int submit = s->head != NULL && !s->scheduled && !s->held;
    if (submit) {
        s->scheduled = 1;
        s->refs++;
    }
    int first = submit && urgent(s, s->tail->kind);
    pthread_mutex_unlock(&s->lock);
    if (submit && schedule(s, first) != 0) {
        log_error(s->tag, "cannot schedule the session: out of memory");
        return VB_ENOMEM;
    }
    return 0;
}

static int enqueue(session_t *s, enum item_kind kind, const void *data,
                   size_t len)
{
    struct item *it = malloc(sizeof(*it) + len);
    if (it == NULL)
        return VB_ENOMEM;
    it->kind = kind;
    it->next = NULL;
    it->len = len;
    it->queued_at = vb_monotonic_s();
    if (len)
        memcpy(it->data, data, len);
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        pthread_mutex_unlock(&s->lock);
        free(it);
        return VB_EINVAL;
    }
    if (kind == ITEM_CLOSE)
        s->closed = 1;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->queued_bytes += len;
    int high = s->queued_bytes > s->params.queue_high;
    if (high)
        s->was_high = 1;
    return start_turn(s) != 0 ? VB_ENOMEM : high;
}

int session_create(const session_params *params, asr_engine *engine,
                   pool_t *pool, const session_sink *sink, session_t **out)
{
    session_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return VB_ENOMEM;
    s->params = *params;
    s->sink = *sink;
    s->pool = pool;
    s->refs = 1;
    s->held = params->held;
    snprintf(s->tag, sizeof(s->tag), "t=%lld", (long long)params->transcription_id);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->tracker_lock, NULL);
    vad_params vp = vad_default_params();
    vp.endpoint_ms = params->endpoint_ms;
    vad_init(&s->vad, &vp);
    int rc = engine->ops->stream_create(engine, &s->stream);
    if (rc == 0 && params->keyword_count > 0 && engine->ops->set_keywords)
        rc = engine->ops->set_keywords(s->stream, params->keywords,
                                       params->keyword_count);
    if (rc == 0)
        rc = audio_input_create(&params->format, &s->input);
    if (rc == 0 && params->diarize) {
        diarize_params dp = diarize_default_params();
        dp.min_speakers = params->min_speakers;
        dp.max_speakers = params->max_speakers;
        rc = diarize_features_create(&s->features);
        if (rc == 0)
            rc = diarize_tracker_create(&dp, &s->tracker);
    }
    if (rc != 0) {
        session_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int session_begin(session_t *s)
{
    pthread_mutex_lock(&s->lock);
    int was_held = s->held;
    s->held = 0;
    start_turn(s);
    return was_held;
}

int session_feed(session_t *s, const void *data, size_t len)
{
    return len ? enqueue(s, ITEM_AUDIO, data, len) : 0;
}

int session_seed_speaker(session_t *s, int speaker, const voice_stats *voice)
{
    if (s->tracker == NULL)
        return 0;
    /* At once, from this thread: audio already queued is labelled
     * knowing this voice. */
    pthread_mutex_lock(&s->tracker_lock);
    int rc = diarize_tracker_seed(s->tracker, speaker, voice);
    pthread_mutex_unlock(&s->tracker_lock);
    return rc;
}

int session_finalize(session_t *s)
{
    int rc = enqueue(s, ITEM_FINALIZE, NULL, 0);
    return rc < 0 ? rc : 0;
}

int session_close(session_t *s)
{
    int rc = enqueue(s, ITEM_CLOSE, NULL, 0);
    return rc < 0 ? rc : 0;
}

size_t session_queued_bytes(session_t *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->queued_bytes;
    pthread_mutex_unlock(&s->lock);
    return n;
}

double session_lag(session_t *s)
{
    pthread_mutex_lock(&s->lock);
    /* Input held for the store or waiting for a decoder to be built
     * (a moment's work when many begin at once, not the decoders'
     * pace) is not behind: counted from when its decoder came. */
    double lag = 0;
    if (s->head != NULL && !s->held && !s->for_decoder)
        lag = vb_monotonic_s() - fmax(s->head->queued_at, s->decoder_came);
    pthread_mutex_unlock(&s->lock);
    return lag;
}

void session_retain(session_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->refs++;
    pthread_mutex_unlock(&s->lock);
}

void session_release(session_t *s)
{
    pthread_mutex_lock(&s->lock);
    if (!unref_locked(s))
        pthread_mutex_unlock(&s->lock);
}
