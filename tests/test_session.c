/*
 * test_session.c - where a session ends the recogniser's phrases
 * (session.c, heard_pause()) and whose audio the workers take first
 * (urgent()), with a scripted recogniser in place of PocketSphinx: its
 * "words" are the loud stretches of the audio it is fed, and the
 * language model never sees a sentence end after them, so that only the
 * pause and the phrase's length decide.  Audio positions,
 * not clocks: the same audio gives the same answers on any machine.
 * The recogniser can also answer end later (VB_EAGAIN), as a remote
 * engine would: the session must then hold its audio until the words
 * come, and give the same results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session/session.h"
#include "testutil.h"
#include "util/vb.h"

#define RATE 16000
#define FRAME 160
#define MAX_ENDS 16
#define MAX_PENDING 4

/* What the recogniser was asked to do: each end of a phrase, with how
 * much audio the phrase had and how long ago its last loud frame ended. */
typedef struct {
    int keep;      /* 1: a phrase ended inside an utterance (a cut) */
    int fed_ms;    /* audio in the phrase, pre-roll included */
    int quiet_ms;  /* from the end of its last loud frame to its end */
} phrase_end;

struct fake_stream;

/* An end answered VB_EAGAIN: its words, to be delivered. */
typedef struct {
    asr_ended_fn ended;
    void *ctx;
    asr_result words;
    struct fake_stream *stream;
} pending_end;

typedef struct {
    asr_engine base;
    int tail_ms;   /* the words are said to end this long after the
                      loud audio: a soft ending the detector misses */
    int async_end; /* end answers VB_EAGAIN; the words come later: */
    int deliverer_on; /* ... from a thread of the engine's, at once; else
                         when the test calls deliver() */
    int fail_end;  /* the words come with this error instead */
    _Atomic int fail_feeds; /* feed answers VB_EINTERNAL */
    const char *why; /* the engine's own words for a failure, or NULL */
    pthread_cond_t changed;
    pending_end pending[MAX_PENDING];
    int pending_count, stopping;
    pthread_t deliverer;
    _Atomic int misuse; /* calls on a stream whose words are awaited */
    pthread_mutex_t lock;
    phrase_end ends[MAX_ENDS];
    int end_count;
    int feeds;     /* audio fed so far, all streams: orders their turns */
    struct fake_stream *made[2]; /* the first streams, in creation order */
    int made_count;
} fake_engine;

typedef struct fake_stream {
    asr_stream base;
    int64_t fed;       /* samples in the open phrase */
    int64_t loud_end;  /* where its last loud frame ends; -1: none */
    int phrases;       /* phrases ended so far: names the next one's word */
    int last_feed;     /* the engine's feed count at its last feed */
    _Atomic int awaiting; /* its end answered VB_EAGAIN, no words yet */
} fake_stream;

/* A stream the session must leave alone is being used. */
static void check_use(asr_stream *stream)
{
    fake_stream *s = (fake_stream *)stream;
    if (s->awaiting)
        ((fake_engine *)stream->engine)->misuse++;
}

static int fake_stream_create(asr_engine *engine, asr_stream **out)
{
    fake_stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return VB_ENOMEM;
    s->base.engine = engine;
    s->loud_end = -1;
    fake_engine *e = (fake_engine *)engine;
    if (e->made_count < 2)
        e->made[e->made_count++] = s;
    *out = &s->base;
    return 0;
}

static int fake_begin(asr_stream *stream, asr_ready_fn ready, void *ctx)
{
    (void)ready;
    (void)ctx;
    check_use(stream);
    fake_stream *s = (fake_stream *)stream;
    s->fed = 0;
    s->loud_end = -1;
    return 0;
}

static int fake_feed(asr_stream *stream, const int16_t *pcm, size_t n)
{
    check_use(stream);
    if (((fake_engine *)stream->engine)->fail_feeds)
        return VB_EINTERNAL;
    fake_stream *s = (fake_stream *)stream;
    for (size_t i = 0; i + FRAME <= n; i += FRAME) {
        double energy = 0;
        for (size_t j = 0; j < FRAME; j++)
            energy += (double)pcm[i + j] * pcm[i + j];
        if (energy / FRAME > 1000.0 * 1000.0)
            s->loud_end = s->fed + (int64_t)(i + FRAME);
    }
    s->fed += (int64_t)n;
    fake_engine *e = (fake_engine *)stream->engine;
    pthread_mutex_lock(&e->lock);
    s->last_feed = ++e->feeds;
    pthread_mutex_unlock(&e->lock);
    return 0;
}

static int fake_partial(asr_stream *stream, char *text, size_t len)
{
    check_use(stream);
    fake_stream *s = (fake_stream *)stream;
    snprintf(text, len, "%s", s->loud_end >= 0 ? "word" : "");
    return 0;
}

static double word_end(const fake_stream *s)
{
    const fake_engine *e = (const fake_engine *)s->base.engine;
    return (double)s->loud_end / RATE + e->tail_ms / 1000.0;
}

static int fake_last_word_end(asr_stream *stream, double *end,
                              double *sentence_end)
{
    check_use(stream);
    fake_stream *s = (fake_stream *)stream;
    *end = s->loud_end >= 0 ? word_end(s) : -1;
    if (sentence_end != NULL)
        *sentence_end = 0; /* never where a sentence may end */
    return 0;
}

static int fake_end(asr_stream *stream, asr_result *out, int keep,
                    asr_ended_fn ended, void *ctx)
{
    check_use(stream);
    fake_stream *s = (fake_stream *)stream;
    fake_engine *e = (fake_engine *)stream->engine;
    out->words = NULL;
    out->count = 0;
    pthread_mutex_lock(&e->lock);
    if (e->end_count < MAX_ENDS)
        e->ends[e->end_count++] = (phrase_end){
            keep, (int)(s->fed * 1000 / RATE),
            s->loud_end < 0 ? -1 : (int)((s->fed - s->loud_end) * 1000 / RATE)};
    pthread_mutex_unlock(&e->lock);
    if (s->loud_end >= 0) {
        out->words = calloc(1, sizeof(asr_word));
        if (out->words == NULL)
            return VB_ENOMEM;
        out->count = 1;
        snprintf(out->words[0].word, ASR_WORD_MAX, "w%d", ++s->phrases);
        out->words[0].end = word_end(s);
        out->words[0].start = out->words[0].end - 0.3;
        out->words[0].confidence = 1;
    }
    s->fed = 0;
    s->loud_end = -1;
    if (!e->async_end || ended == NULL)
        return 0;
    pthread_mutex_lock(&e->lock);
    assert_true(e->pending_count < MAX_PENDING);
    s->awaiting = 1;
    e->pending[e->pending_count++] = (pending_end){ended, ctx, *out, s};
    *out = (asr_result){0};
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    return VB_EAGAIN;
}

static void fake_release(asr_stream *stream) { check_use(stream); }

static void fake_stream_destroy(asr_stream *stream)
{
    check_use(stream);
    free(stream);
}

/* Waits (10 s at most) until `count` ends are awaiting their words. */
static void await_pending(fake_engine *e, int count)
{
    struct timespec due;
    clock_gettime(CLOCK_REALTIME, &due);
    due.tv_sec += 10;
    pthread_mutex_lock(&e->lock);
    while (e->pending_count < count &&
           pthread_cond_timedwait(&e->changed, &e->lock, &due) == 0)
        ;
    int n = e->pending_count;
    pthread_mutex_unlock(&e->lock);
    assert_true(n >= count);
}

/* Delivers the oldest awaited end's words (or fail_end), on this thread. */
static void deliver(fake_engine *e)
{
    await_pending(e, 1);
    pthread_mutex_lock(&e->lock);
    pending_end p = e->pending[0];
    memmove(e->pending, e->pending + 1,
            (size_t)--e->pending_count * sizeof(p));
    int rc = e->fail_end;
    pthread_mutex_unlock(&e->lock);
    p.stream->awaiting = 0; /* before: the session may use it at once */
    if (rc != 0)
        asr_result_free(&p.words);
    p.ended(p.ctx, &p.words, rc);
    asr_result_free(&p.words); /* taken by the callee: nothing is left */
}

/* The engine's own thread (deliverer_on): each end's words, at once. */
static void *deliverer_main(void *arg)
{
    fake_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->stopping || e->pending_count > 0) {
        if (e->pending_count == 0) {
            pthread_cond_wait(&e->changed, &e->lock);
            continue;
        }
        pthread_mutex_unlock(&e->lock);
        deliver(e);
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static const char *fake_stream_error(asr_stream *stream)
{
    return ((fake_engine *)stream->engine)->why;
}

static void fake_stats(asr_engine *engine, asr_stats *out)
{
    (void)engine;
    memset(out, 0, sizeof(*out));
}

static void fake_destroy(asr_engine *engine) { (void)engine; }

static const struct asr_engine_ops fake_ops = {
    .name = "fake",
    .stream_create = fake_stream_create,
    .begin = fake_begin,
    .feed = fake_feed,
    .partial = fake_partial,
    .last_word_end = fake_last_word_end,
    .end = fake_end,
    .release = fake_release,
    .stream_destroy = fake_stream_destroy,
    .stats = fake_stats,
    .stream_error = fake_stream_error,
    .destroy = fake_destroy,
};

/* What the session said. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int done;
    int finals, speech_finals, utterance_ends, errors;
    int answered;   /* finals marked as a Finalize's answer */
    int finalized;  /* Finalizes answered with no final */
    char text[256]; /* the finals' words, space-separated */
    char error[256];
} heard;

static void on_event(void *ctx, session_event *ev)
{
    heard *h = ctx;
    pthread_mutex_lock(&h->lock);
    switch (ev->kind) {
    case SESSION_FINAL:
        h->finals++;
        h->speech_finals += ev->speech_final;
        h->answered += ev->from_finalize;
        if (h->text[0])
            strncat(h->text, " ", sizeof(h->text) - strlen(h->text) - 1);
        strncat(h->text, ev->text, sizeof(h->text) - strlen(h->text) - 1);
        break;
    case SESSION_UTTERANCE_END:
        h->utterance_ends++;
        break;
    case SESSION_ERROR:
        h->errors++;
        snprintf(h->error, sizeof(h->error), "%s", ev->text);
        break;
    case SESSION_FINALIZED:
        h->finalized++;
        break;
    case SESSION_DONE:
        h->done = 1;
        pthread_cond_signal(&h->done_cond);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&h->lock);
    session_event_free(ev);
}

/* Audio built from parts: quiet (low noise) or loud (a 200 Hz tone). */
typedef struct {
    int16_t *pcm;
    size_t len;
} audio;

static void add(audio *a, int loud, int ms)
{
    size_t n = (size_t)ms * RATE / 1000;
    a->pcm = realloc(a->pcm, (a->len + n) * sizeof(int16_t));
    assert_non_null(a->pcm);
    for (size_t i = 0; i < n; i++) {
        size_t t = a->len + i;
        a->pcm[t] = loud ? (int16_t)(6000 * sin(2 * M_PI * 200 * t / RATE))
                         : (int16_t)((t * 7919 % 41) - 20);
    }
    a->len += n;
}

static void show(const fake_engine *e, const heard *h)
{
    fprintf(stderr, "finals \"%s\":", h->text);
    for (int i = 0; i < e->end_count; i++)
        fprintf(stderr, " [keep %d, %d ms, quiet %d ms]", e->ends[i].keep,
                e->ends[i].fed_ms, e->ends[i].quiet_ms);
    fprintf(stderr, "\n");
}

/* Readies a scripted recogniser: its operations, no phrase ended yet,
 * its delivering thread if it has one. */
static void engine_start(fake_engine *e)
{
    e->base.ops = &fake_ops;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->changed, NULL);
    e->end_count = 0;
    if (e->deliverer_on)
        assert_int_equal(pthread_create(&e->deliverer, NULL, deliverer_main, e), 0);
}

static void engine_stop(fake_engine *e)
{
    if (e->deliverer_on) {
        pthread_mutex_lock(&e->lock);
        e->stopping = 1;
        pthread_cond_broadcast(&e->changed);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->deliverer, NULL);
    }
    assert_int_equal(e->pending_count, 0);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->changed);
}

/* A session on e; interim_ms, max_utterance_ms 0 keep the defaults. */
static session_t *start_session_with(fake_engine *e, pool_t *pool, heard *h,
                                     int interim_ms, int max_utterance_ms)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->done_cond, NULL);
    session_params p = session_default_params();
    p.punctuate = 0;
    p.diarize = 0;
    if (interim_ms > 0)
        p.interim_ms = interim_ms;
    if (max_utterance_ms > 0)
        p.max_utterance_ms = max_utterance_ms;
    session_sink sink = {.emit = on_event, .ctx = h};
    session_t *s;
    assert_int_equal(session_create(&p, &e->base, pool, &sink, &s), 0);
    return s;
}

static session_t *start_session(fake_engine *e, pool_t *pool, heard *h)
{
    return start_session_with(e, pool, h, 0, 0);
}

static void feed_parts(session_t *s, const int *parts)
{
    audio a = {0};
    for (int i = 0; parts[i] >= 0; i += 2)
        add(&a, parts[i], parts[i + 1]);
    assert_true(session_feed(s, a.pcm, a.len * sizeof(int16_t)) >= 0);
    free(a.pcm);
}

/* Waits for the closed session's last event, then lets it go. */
static void await_done(session_t *s, heard *h)
{
    pthread_mutex_lock(&h->lock);
    while (!h->done)
        pthread_cond_wait(&h->done_cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
    session_release(s);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->done_cond);
}

static void finish_session(session_t *s, heard *h)
{
    assert_int_equal(session_close(s), 0);
    await_done(s, h);
}

/* Runs audio made of `parts` (loud or not, milliseconds; ... -1) through
 * a session on `e` whose utterances are split after max_utterance_ms (0:
 * the default); fills h. */
static void run_split(fake_engine *e, const int *parts, heard *h,
                      int max_utterance_ms)
{
    engine_start(e);
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    session_t *s = start_session_with(e, pool, h, 0, max_utterance_ms);
    feed_parts(s, parts);
    finish_session(s, h);
    pool_stop(pool);
    engine_stop(e);
    show(e, h);
}

static void run(fake_engine *e, const int *parts, heard *h)
{
    run_split(e, parts, h, 0);
}

/* A long phrase (4 s) and a pause: the recogniser's phrase ends 300 ms
 * into the pause, though no sentence end is likely there, so that its end
 * passes run before the endpoint (500 ms); the utterance still ends at
 * the endpoint with one final. */
static void test_a_long_phrase_ends_early_in_the_pause(void **state)
{
    (void)state;
    fake_engine e = {.tail_ms = 0};
    heard h;
    run(&e, (const int[]){0, 500, 1, 4000, 0, 1500, -1}, &h);
    assert_int_equal(h.errors, 0);
    assert_int_equal(e.end_count, 1);
    assert_int_equal(e.ends[0].keep, 1);
    assert_in_range(e.ends[0].quiet_ms, 300, 499);
    assert_int_equal(h.finals, 1);
    assert_int_equal(h.speech_finals, 1);
    assert_int_equal(h.utterance_ends, 1);
    assert_string_equal(h.text, "w1");
}

/* A short phrase (1 s): its end passes are short, and a pause after words
 * that need not end a sentence may be the speaker drawing breath, so it
 * ends at the endpoint, not before. */
static void test_a_short_phrase_waits_for_the_endpoint(void **state)
{
    (void)state;
    fake_engine e = {.tail_ms = 0};
    heard h;
    run(&e, (const int[]){0, 500, 1, 1000, 0, 1500, -1}, &h);
    assert_int_equal(e.end_count, 1);
    assert_int_equal(e.ends[0].keep, 0);
    assert_true(e.ends[0].quiet_ms >= 500);
    assert_int_equal(h.utterance_ends, 1);
    assert_string_equal(h.text, "w1");
}

/* The words end later than the loud audio (a soft last syllable that the
 * detector takes for quiet): the detector's 300 ms of quiet end a long
 * phrase, though the recogniser's last word ended less than 300 ms ago;
 * waiting for that would leave the end passes to the detector's endpoint. */
static void test_the_detectors_pause_ends_a_long_phrase(void **state)
{
    (void)state;
    fake_engine e = {.tail_ms = 250};
    heard h;
    run(&e, (const int[]){0, 500, 1, 4000, 0, 1500, -1}, &h);
    assert_int_equal(e.end_count, 1);
    assert_int_equal(e.ends[0].keep, 1);
    assert_in_range(e.ends[0].quiet_ms, 300, 499);
    assert_true(e.ends[0].quiet_ms - e.tail_ms < 300);
    assert_int_equal(h.utterance_ends, 1);
    assert_string_equal(h.text, "w1");
}

/* The voice comes back after such a cut: the next phrase continues the
 * same utterance, and its one final has both phrases' words in order. */
static void test_the_voice_comes_back_after_a_cut(void **state)
{
    (void)state;
    fake_engine e = {.tail_ms = 0};
    heard h;
    run(&e, (const int[]){0, 500, 1, 4000, 0, 450, 1, 1000, 0, 1500, -1}, &h);
    assert_int_equal(e.end_count, 2);
    assert_int_equal(e.ends[0].keep, 1);
    assert_int_equal(e.ends[1].keep, 0);
    assert_int_equal(h.finals, 1);
    assert_int_equal(h.utterance_ends, 1);
    assert_string_equal(h.text, "w1 w2");
}

/* Two streams wait for the one worker: one speaking, one 300 ms into a
 * pause (its endpoint, and the final, 200 ms away).  The second one's
 * audio, though it came later, is decoded first. */
static void test_a_stream_near_its_endpoint_goes_first(void **state)
{
    (void)state;
    fake_engine e = {.tail_ms = 0};
    engine_start(&e);
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    heard ha, hb;
    session_t *a = start_session(&e, pool, &ha);
    session_t *b = start_session(&e, pool, &hb);
    feed_parts(a, (const int[]){0, 500, 1, 1000, 0, 300, -1});
    feed_parts(b, (const int[]){0, 500, 1, 1000, -1});
    pool_wait_idle(pool);

    tu_hold_worker(pool);
    feed_parts(b, (const int[]){1, 100, -1});
    feed_parts(a, (const int[]){0, 100, -1});
    int before = e.feeds;
    tu_open_gate();
    pool_wait_idle(pool);
    fake_stream *fa = e.made[0], *fb = e.made[1];
    fprintf(stderr, "feeds after the gate: a %d, b %d (from %d)\n",
            fa->last_feed, fb->last_feed, before);
    assert_true(fa->last_feed > before && fb->last_feed > before);
    assert_true(fa->last_feed < fb->last_feed);

    finish_session(a, &ha);
    finish_session(b, &hb);
    assert_string_equal(ha.text, "w1");
    assert_string_equal(hb.text, "w1");
    pool_stop(pool);
    engine_stop(&e);
}

/* The scripts above again (and one split at max_utterance_ms), with an
 * engine whose end answers VB_EAGAIN and whose words come from its own
 * thread: the session stops at each end and goes on once they come, so
 * the phrases end where they did and the finals are the same; the stream
 * is never used while it waits. */
static void test_an_end_answered_later_gives_the_same_results(void **state)
{
    (void)state;
    const int scripts[][12] = {
        {0, 500, 1, 5000, 0, 1500, -1}, /* split twice (max 2 s) */
        {0, 500, 1, 4000, 0, 1500, -1},
        {0, 500, 1, 1000, 0, 1500, -1},
        {0, 500, 1, 4000, 0, 450, 1, 1000, 0, 1500, -1},
        {0, 500, 1, 1000, 0, 1500, 1, 1000, 0, 1500, -1},
        {0, 500, 1, 1000, -1}, /* still speaking at the close */
    };
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        fake_engine now = {.tail_ms = 0};
        fake_engine later = {.tail_ms = 0, .async_end = 1, .deliverer_on = 1};
        heard hn, hl;
        int max_ms = i == 0 ? 2000 : 0;
        run_split(&now, scripts[i], &hn, max_ms);
        run_split(&later, scripts[i], &hl, max_ms);
        assert_int_equal(later.misuse, 0);
        assert_int_equal(hl.errors, 0);
        assert_true(hn.finals > 0);
        assert_int_equal(hl.finals, hn.finals);
        assert_int_equal(hl.speech_finals, hn.speech_finals);
        assert_int_equal(hl.utterance_ends, hn.utterance_ends);
        assert_string_equal(hl.text, hn.text);
        assert_int_equal(later.end_count, now.end_count);
        for (int k = 0; k < now.end_count; k++) {
            assert_int_equal(later.ends[k].keep, now.ends[k].keep);
            assert_int_equal(later.ends[k].fed_ms, now.ends[k].fed_ms);
            assert_int_equal(later.ends[k].quiet_ms, now.ends[k].quiet_ms);
        }
    }
}

/* The final count of h, read under its lock. */
static int finals_of(heard *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->finals;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* While the words are awaited the session feeds nothing more: audio that
 * arrives meanwhile waits in its queue, and so does its close, which
 * comes after the last final. */
static void test_audio_waits_while_the_words_are_awaited(void **state)
{
    (void)state;
    fake_engine e = {.async_end = 1};
    engine_start(&e);
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    heard h;
    session_t *s = start_session(&e, pool, &h);
    feed_parts(s, (const int[]){0, 500, 1, 1000, 0, 1500, -1});
    await_pending(&e, 1);
    pool_wait_idle(pool);
    int feeds = e.feeds;
    feed_parts(s, (const int[]){1, 1000, 0, 1500, -1});
    pool_wait_idle(pool);
    assert_int_equal(e.feeds, feeds);
    assert_true(session_queued_bytes(s) > 0);
    assert_int_equal(finals_of(&h), 0);

    deliver(&e); /* w1; the second utterance's end is awaited next */
    await_pending(&e, 1);
    assert_true(e.feeds > feeds);
    assert_int_equal(finals_of(&h), 1);
    assert_int_equal(session_close(s), 0);
    pool_wait_idle(pool);
    pthread_mutex_lock(&h.lock);
    assert_int_equal(h.done, 0);
    pthread_mutex_unlock(&h.lock);
    deliver(&e);
    await_done(s, &h);
    assert_int_equal(e.misuse, 0);
    assert_int_equal(h.errors, 0);
    assert_int_equal(h.utterance_ends, 2);
    assert_string_equal(h.text, "w1 w2");
    pool_stop(pool);
    engine_stop(&e);
}

/* Someone who keeps talking for 20 s, with only the short gaps between
 * words (80 ms), gets a final every 8 s at the latest (the default
 * max_utterance_ms), each at a gap: three, none marked speech_final but
 * the last, at the endpoint.  (bench/continuous.sh measures real finals.) */
static void test_continuous_speech_gets_finals_every_8_s(void **state)
{
    (void)state;
    int parts[4 * 42 + 5] = {0, 500};
    size_t n = 2;
    for (int k = 0; k < 42; k++) { /* 42 x 480 ms: 20.2 s */
        parts[n++] = 1;
        parts[n++] = 400;
        parts[n++] = 0;
        parts[n++] = 80;
    }
    parts[n++] = 0;
    parts[n++] = 1500;
    parts[n] = -1;
    fake_engine e = {.tail_ms = 0};
    heard h;
    run(&e, parts, &h);
    assert_int_equal(h.errors, 0);
    assert_int_equal(h.finals, 3);
    assert_int_equal(h.speech_finals, 1);
    assert_int_equal(h.utterance_ends, 1);
    for (int k = 0; k < e.end_count; k++)
        assert_true(e.ends[k].fed_ms <= 8000);
}

/* Finalize and the close each end an open utterance whose words come
 * later: each final comes once they do, the Finalize's marked as its
 * answer.  A Finalize with no utterance open is answered all the same. */
static void test_finalize_and_close_wait_for_the_words(void **state)
{
    (void)state;
    fake_engine e = {.async_end = 1};
    engine_start(&e);
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    heard h;
    session_t *s = start_session(&e, pool, &h);
    feed_parts(s, (const int[]){0, 500, 1, 1000, -1});
    assert_int_equal(session_finalize(s), 0);
    await_pending(&e, 1);
    pool_wait_idle(pool);
    assert_int_equal(finals_of(&h), 0);
    deliver(&e);
    feed_parts(s, (const int[]){0, 1500, -1});
    assert_int_equal(session_finalize(s), 0); /* nothing being said */
    feed_parts(s, (const int[]){0, 300, 1, 1000, -1});
    assert_int_equal(session_close(s), 0);
    await_pending(&e, 1);
    pool_wait_idle(pool);
    assert_int_equal(finals_of(&h), 1);
    deliver(&e);
    await_done(s, &h);
    assert_int_equal(e.misuse, 0);
    assert_int_equal(h.errors, 0);
    assert_int_equal(h.finals, 2);
    assert_int_equal(h.answered, 1);
    assert_int_equal(h.finalized, 1);
    assert_int_equal(h.utterance_ends, 2);
    assert_string_equal(h.text, "w1 w2");
    pool_stop(pool);
    engine_stop(&e);
}

/* The words come with an error, or the last feed before the end failed
 * while they were awaited: the session reports it (1011), in the
 * engine's own words when it has some, emits no final for the phrase,
 * and still closes. */
static void test_a_failed_end_answered_later_fails_the_session(void **state)
{
    (void)state;
    for (int feed_fails = 0; feed_fails <= 1; feed_fails++) {
        fake_engine e = {.async_end = 1,
                         .fail_end = feed_fails ? 0 : VB_EINTERNAL,
                         .why = feed_fails ? "the service refused the key"
                                           : NULL};
        engine_start(&e);
        pool_t *pool;
        assert_int_equal(pool_start(1, &pool), 0);
        heard h;
        /* No interims: none flushes the last feed before the end. */
        session_t *s = start_session_with(&e, pool, &h, 100000, 0);
        feed_parts(s, (const int[]){0, 500, 1, 1000, -1});
        pool_wait_idle(pool);
        e.fail_feeds = feed_fails;
        assert_int_equal(session_finalize(s), 0);
        deliver(&e);
        finish_session(s, &h);
        fprintf(stderr, "feed fails %d: %d errors, %d finals\n", feed_fails,
                h.errors, h.finals);
        assert_int_equal(e.misuse, 0);
        assert_int_equal(h.errors, 1);
        assert_string_equal(h.error, feed_fails
                                         ? "the service refused the key"
                                         : "decoding failed: internal error");
        assert_int_equal(h.finals, 0);
        pool_stop(pool);
        engine_stop(&e);
    }
}

/* A feed fails in the middle of an utterance: the session reports it,
 * and at the close gives the stream's utterance up, waiting for that end
 * too when it answers later, before its last event. */
static void test_a_session_failed_mid_utterance_ends_it_at_the_close(void **state)
{
    (void)state;
    fake_engine e = {.async_end = 1};
    engine_start(&e);
    pool_t *pool;
    assert_int_equal(pool_start(1, &pool), 0);
    heard h;
    session_t *s = start_session_with(&e, pool, &h, 100000, 0);
    feed_parts(s, (const int[]){0, 500, 1, 1000, -1});
    pool_wait_idle(pool);
    e.fail_feeds = 1;
    feed_parts(s, (const int[]){1, 300, -1});
    pool_wait_idle(pool);
    pthread_mutex_lock(&h.lock);
    assert_int_equal(h.errors, 1);
    pthread_mutex_unlock(&h.lock);
    assert_int_equal(session_close(s), 0);
    await_pending(&e, 1); /* the utterance given up */
    pool_wait_idle(pool);
    pthread_mutex_lock(&h.lock);
    assert_int_equal(h.done, 0);
    pthread_mutex_unlock(&h.lock);
    deliver(&e);
    await_done(s, &h);
    assert_int_equal(e.misuse, 0);
    assert_int_equal(h.errors, 1);
    assert_int_equal(h.finals, 0);
    pool_stop(pool);
    engine_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_long_phrase_ends_early_in_the_pause),
        cmocka_unit_test(test_a_stream_near_its_endpoint_goes_first),
        cmocka_unit_test(test_a_short_phrase_waits_for_the_endpoint),
        cmocka_unit_test(test_the_detectors_pause_ends_a_long_phrase),
        cmocka_unit_test(test_the_voice_comes_back_after_a_cut),
        cmocka_unit_test(test_an_end_answered_later_gives_the_same_results),
        cmocka_unit_test(test_audio_waits_while_the_words_are_awaited),
        cmocka_unit_test(test_continuous_speech_gets_finals_every_8_s),
        cmocka_unit_test(test_finalize_and_close_wait_for_the_words),
        cmocka_unit_test(test_a_failed_end_answered_later_fails_the_session),
        cmocka_unit_test(test_a_session_failed_mid_utterance_ends_it_at_the_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
