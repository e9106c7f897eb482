/*
 * test_engine.c - the PocketSphinx engine (asr/engine.h) on its own: an
 * utterance that had words when it ended keeps them; a decoder kept
 * between phrases is the stream's own until released; a stream's words
 * do not depend on what other streams said on the same decoders; a model
 * loaded in the background serves the streams that began meanwhile, or
 * fails them when it cannot be loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr/engine.h"
#include "testutil.h"
#include "util/vb.h"

#define LIBRIVOX "/usr/share/pocketsphinx/test/data/librivox/"

/* A PocketSphinx engine of the given profile, through the registry;
 * max_streams 0 keeps the default (no cap). */
static asr_engine *engine_of(const char *profile, int max_streams)
{
    asr_params params = asr_default_params();
    params.max_streams = max_streams;
    char option[64];
    snprintf(option, sizeof(option), "profile=%s", profile);
    const char *options[] = {option, NULL};
    asr_engine *engine = NULL;
    char err[256];
    assert_int_equal(asr_engine_create("pocketsphinx", &params, options,
                                       &engine, err, sizeof(err)), 0);
    return engine;
}
#define RECORDING LIBRIVOX "sense_and_sensibility_01_austen_64kb-0930.wav"

/*
 * The fast profile's best path through the word lattice fails on this
 * recording cut after 317 frames (3.17 s: "Failed to find DAG node
 * corresponding to </s>"), and PocketSphinx then gives no words at all
 * for an utterance whose hypothesis had nine.  The session ends
 * utterances at pauses, anywhere, so the lengths around it are tried;
 * each must keep its words.
 */
#define FIRST_FRAMES 312
#define LAST_FRAMES 322

static void test_an_utterance_keeps_its_words_wherever_it_ends(void **state)
{
    (void)state;
    size_t count;
    int rate, channels;
    int16_t *pcm = tu_read_wav(RECORDING, &count, &rate, &channels);
    assert_non_null(pcm);
    assert_int_equal(rate, 16000);
    assert_int_equal(channels, 1);

    asr_engine *engine = engine_of("fast", 0);

    for (int frames = FIRST_FRAMES; frames <= LAST_FRAMES; frames++) {
        asr_stream *stream = NULL;
        assert_int_equal(engine->ops->stream_create(engine, &stream), 0);
        assert_int_equal(asr_begin(stream, NULL, NULL), 0);
        size_t n = (size_t)frames * 160;
        assert_true(n <= count);
        assert_int_equal(asr_feed(stream, pcm, n), 0);
        char partial[1024];
        assert_int_equal(asr_partial(stream, partial, sizeof(partial)), 0);
        asr_result result = {0};
        assert_int_equal(asr_end(stream, &result), 0);
        if (partial[0] != '\0' && result.count == 0)
            fail_msg("%d frames: \"%s\" heard, no words at the end", frames,
                     partial);
        asr_result_free(&result);
        asr_stream_destroy(stream);
    }
    engine->ops->destroy(engine);
    free(pcm);
}

static _Atomic int ready_calls;
static void on_ready(void *ctx)
{
    (void)ctx;
    ready_calls++;
}

/* Waits up to 30 s for *count to reach want; checks it is exactly that. */
static void await_count(_Atomic int *count, int want)
{
    for (int i = 0; i < 600 && *count < want; i++)
        usleep(50 * 1000);
    assert_int_equal(*count, want);
}

/* A stream that ends a phrase keeping its decoder begins the next at
 * once, even when no other decoder is free; release gives it back. */
static void test_a_kept_decoder_is_not_lent_out(void **state)
{
    (void)state;
    asr_engine *engine = engine_of("fast", 1);
    asr_stream *a = NULL, *b = NULL;
    assert_int_equal(engine->ops->stream_create(engine, &a), 0);
    assert_int_equal(engine->ops->stream_create(engine, &b), 0);
    int16_t quiet[1600] = {0};
    asr_result result = {0};

    assert_int_equal(asr_begin(a, on_ready, NULL), 0);
    assert_int_equal(asr_feed(a, quiet, 1600), 0);
    assert_int_equal(asr_end_keep(a, &result), 0);
    asr_result_free(&result);
    assert_int_equal(asr_feed(a, quiet, 1600), VB_EINVAL); /* no utterance */
    ready_calls = 0;
    assert_int_equal(asr_begin(b, on_ready, NULL), VB_EAGAIN); /* a has it */
    assert_int_equal(asr_begin(a, on_ready, NULL), 0);         /* at once */
    assert_int_equal(asr_feed(a, quiet, 1600), 0);
    assert_int_equal(asr_end_keep(a, &result), 0);
    asr_result_free(&result);
    assert_int_equal(ready_calls, 0);
    asr_release(a);
    assert_int_equal(ready_calls, 1); /* b got it */
    asr_release(a);                   /* nothing kept: nothing happens */
    assert_int_equal(asr_feed(b, quiet, 1600), 0);
    assert_int_equal(asr_end(b, &result), 0);
    asr_result_free(&result);

    asr_stream_destroy(a);
    asr_stream_destroy(b);
    engine->ops->destroy(engine);
}

/* An utterance's words, as one string. */
static void decode(asr_stream *stream, const int16_t *pcm, size_t count,
                   char *words, size_t len)
{
    assert_int_equal(asr_feed(stream, pcm, count), 0);
    asr_result result = {0};
    assert_int_equal(asr_end(stream, &result), 0);
    words[0] = '\0';
    for (size_t i = 0; i < result.count; i++) {
        strncat(words, result.words[i].word, len - strlen(words) - 2);
        strcat(words, " ");
    }
    asr_result_free(&result);
}

/*
 * PocketSphinx keeps its noise estimate in the decoder: LibriVox 0870
 * decoded after a flite sentence begins "but mr john", after itself "and
 * mr john".  A stream whose own decoder is free gets it back, and one
 * that gets another's starts the estimate afresh, so that a stream's
 * words do not depend on what other streams said.
 */
static void test_a_streams_words_do_not_depend_on_other_streams(void **state)
{
    (void)state;
    size_t count, other_count;
    int rate, channels;
    int16_t *pcm = tu_read_wav(LIBRIVOX "sense_and_sensibility_01_austen_64kb-0870.wav",
                               &count, &rate, &channels);
    assert_non_null(pcm);
    int16_t *other = tu_flite("kal16", "The river flows through the center of the town.",
                              &other_count);
    assert_non_null(other);
    char fresh[1024], alone[1024], first[1024], again[1024], theirs[1024];

    /* One stream, twice the same recording. */
    asr_engine *engine = engine_of("accurate", 2);
    asr_stream *a = NULL, *b = NULL;
    assert_int_equal(engine->ops->stream_create(engine, &a), 0);
    assert_int_equal(asr_begin(a, NULL, NULL), 0);
    decode(a, pcm, count, fresh, sizeof(fresh));
    assert_int_equal(asr_begin(a, NULL, NULL), 0);
    decode(a, pcm, count, alone, sizeof(alone));
    asr_stream_destroy(a);
    engine->ops->destroy(engine);

    /* The same, while another stream speaks on the other decoder and
     * gives it back last. */
    engine = engine_of("accurate", 2);
    assert_int_equal(engine->ops->stream_create(engine, &a), 0);
    assert_int_equal(engine->ops->stream_create(engine, &b), 0);
    assert_int_equal(asr_begin(a, NULL, NULL), 0);
    ready_calls = 0;
    int rc = asr_begin(b, on_ready, NULL);
    if (rc == VB_EAGAIN) { /* its decoder is being built */
        await_count(&ready_calls, 1);
    } else {
        assert_int_equal(rc, 0);
    }
    decode(a, pcm, count, first, sizeof(first));
    decode(b, other, other_count, theirs, sizeof(theirs));
    assert_int_equal(asr_begin(a, NULL, NULL), 0);
    decode(a, pcm, count, again, sizeof(again));
    assert_string_equal(again, alone);
    asr_stream_destroy(a);
    asr_stream_destroy(b);
    engine->ops->destroy(engine);

    /* A new stream on the one decoder, which has just heard another
     * stream: the same words as on a decoder fresh from its build. */
    engine = engine_of("accurate", 1);
    assert_int_equal(engine->ops->stream_create(engine, &b), 0);
    assert_int_equal(asr_begin(b, NULL, NULL), 0);
    decode(b, other, other_count, theirs, sizeof(theirs));
    asr_stream_destroy(b);
    assert_int_equal(engine->ops->stream_create(engine, &a), 0);
    assert_int_equal(asr_begin(a, NULL, NULL), 0);
    decode(a, pcm, count, again, sizeof(again));
    assert_string_equal(again, fresh);
    asr_stream_destroy(a);
    engine->ops->destroy(engine);
    free(other);
    free(pcm);
}

static asr_engine *engine_in_background(asr_params params,
                                        const char *const *options,
                                        asr_failed_fn failed)
{
    params.load_in_background = 1;
    params.failed = failed;
    asr_engine *engine = NULL;
    char err[256];
    assert_int_equal(asr_engine_create("pocketsphinx", &params, options,
                                       &engine, err, sizeof(err)), 0);
    return engine;
}

/* A server answers while its model loads (load_in_background): a stream
 * that begins meanwhile waits for the first decoder and gets the words a
 * model loaded before it would have given; so does one created meanwhile
 * that gets the decoder after another stream (one decoder at most): it
 * starts from the model's cepstral mean, not the other stream's. */
static void test_a_stream_waits_for_a_model_loading_in_the_background(void **state)
{
    (void)state;
    size_t count;
    int rate, channels;
    int16_t *pcm = tu_read_wav(LIBRIVOX "sense_and_sensibility_01_austen_64kb-0870.wav",
                               &count, &rate, &channels);
    assert_non_null(pcm);
    size_t other_count;
    int16_t *other = tu_flite("kal16", "The river flows through the center of the town.",
                              &other_count);
    assert_non_null(other);
    char before[1024], meanwhile[1024], after_other[1024], theirs[1024];
    asr_engine *engine = engine_of("accurate", 0);
    asr_stream *a = NULL;
    assert_int_equal(engine->ops->stream_create(engine, &a), 0);
    assert_int_equal(asr_begin(a, NULL, NULL), 0);
    decode(a, pcm, count, before, sizeof(before));
    asr_stream_destroy(a);
    engine->ops->destroy(engine);

    asr_params params = asr_default_params();
    params.max_streams = 1;
    engine = engine_in_background(params, NULL, NULL);
    asr_stats st;
    engine->ops->stats(engine, &st);
    assert_int_equal(st.loading, 1); /* a decoder takes 0.2 s or more */
    assert_int_equal(st.decoders, 0);
    asr_stream *b = NULL, *c = NULL;
    assert_int_equal(engine->ops->stream_create(engine, &a), 0);
    assert_int_equal(engine->ops->stream_create(engine, &b), 0);
    assert_int_equal(engine->ops->stream_create(engine, &c), 0);
    ready_calls = 0;
    assert_int_equal(asr_begin(a, on_ready, NULL), VB_EAGAIN);
    assert_int_equal(asr_begin(b, on_ready, NULL), VB_EAGAIN);
    await_count(&ready_calls, 1); /* a's turn */
    engine->ops->stats(engine, &st);
    assert_int_equal(st.loading, 0);
    assert_int_equal(st.decoders, 1);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.waiting, 1);
    decode(a, pcm, count, meanwhile, sizeof(meanwhile));
    assert_true(strlen(before) > 20);
    assert_string_equal(meanwhile, before);
    /* b has the decoder now: it speaks another voice; c follows on it. */
    await_count(&ready_calls, 2);
    decode(b, other, other_count, theirs, sizeof(theirs));
    assert_int_equal(asr_begin(c, on_ready, NULL), 0);
    decode(c, pcm, count, after_other, sizeof(after_other));
    assert_string_equal(after_other, before);
    asr_stream_destroy(a);
    asr_stream_destroy(b);
    asr_stream_destroy(c);
    engine->ops->destroy(engine);
    free(other);
    free(pcm);
}

static _Atomic int failed_calls;
static char failed_why[1024];
static void on_failed(void *ctx, const char *why)
{
    (void)ctx;
    snprintf(failed_why, sizeof(failed_why), "%s", why);
    failed_calls++;
}

/* A model that turns out not to load (its files are there, empty): the
 * stream waiting for it is woken without a decoder, later ones are
 * refused, and the owner is told why, once. */
static void test_a_model_that_fails_in_the_background_fails_its_streams(void **state)
{
    (void)state;
    char dir[] = "/tmp/vb-test-model-XXXXXX", path[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/en-us", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    const char *files[] = {"en-us.lm.bin", "cmudict-en-us.dict"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    char model_dir[512];
    snprintf(model_dir, sizeof(model_dir), "model-dir=%s", dir);
    const char *options[] = {model_dir, NULL};
    failed_calls = 0;
    ready_calls = 0;
    asr_engine *engine = engine_in_background(asr_default_params(), options,
                                              on_failed);
    asr_stream *a = NULL, *b = NULL;
    assert_int_equal(engine->ops->stream_create(engine, &a), 0);
    int rc = asr_begin(a, on_ready, NULL);
    if (rc == VB_EAGAIN) { /* it waited: woken without a decoder */
        await_count(&ready_calls, 1);
        int16_t quiet[160] = {0};
        assert_int_equal(asr_feed(a, quiet, 160), VB_EINVAL);
    } else {
        assert_int_equal(rc, VB_EINTERNAL); /* it failed already */
    }
    await_count(&failed_calls, 1);
    assert_non_null(strstr(failed_why, "could not load the model"));
    assert_non_null(strstr(failed_why, dir));
    assert_int_equal(engine->ops->stream_create(engine, &b), 0);
    assert_int_equal(asr_begin(b, on_ready, NULL), VB_EINTERNAL);
    asr_stats st;
    engine->ops->stats(engine, &st);
    assert_int_equal(st.loading, 0);
    assert_int_equal(st.decoders, 0);
    assert_int_equal(st.waiting, 0);
    asr_stream_destroy(a);
    asr_stream_destroy(b);
    engine->ops->destroy(engine);
    assert_int_equal(failed_calls, 1);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/en-us", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_utterance_keeps_its_words_wherever_it_ends),
        cmocka_unit_test(test_a_kept_decoder_is_not_lent_out),
        cmocka_unit_test(test_a_streams_words_do_not_depend_on_other_streams),
        cmocka_unit_test(test_a_stream_waits_for_a_model_loading_in_the_background),
        cmocka_unit_test(test_a_model_that_fails_in_the_background_fails_its_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
