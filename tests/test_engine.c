/*
 * test_engine.c - the PocketSphinx engine (asr/engine.h) on its own: an
 * utterance that had words when it ended keeps them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/engine.h"
#include "testutil.h"
#include "util/vb.h"

#define LIBRIVOX "/usr/share/pocketsphinx/test/data/librivox/"
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

    asr_params params = asr_default_params();
    assert_int_equal(asr_profile_parse("fast", &params), 0);
    asr_engine *engine = NULL;
    char err[256];
    assert_int_equal(asr_pocketsphinx_create(&params, &engine, err, sizeof(err)), 0);

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_utterance_keeps_its_words_wherever_it_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
