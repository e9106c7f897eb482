/*
 * test_keywords.c - taught words: Deepgram's "WORD:BOOST" syntax and its
 * errors (asr/keywords.h), pronunciations of words the dictionary lacks
 * (asr/lts.h), and the PocketSphinx engine hearing them: a made-up name
 * is heard only by the stream that taught it, also when the next stream
 * gets the same decoder, and is written as it was spelled.
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
#include "asr/keywords.h"
#include "asr/lts.h"
#include "testutil.h"
#include "util/vb.h"

static void test_keywords_take_deepgrams_syntax(void **state)
{
    (void)state;
    asr_keyword list[ASR_KEYWORDS_MAX];
    size_t n = 0;
    char err[200];
    assert_int_equal(asr_keywords_add(list, &n, "Zentrix", err, sizeof(err)), 0);
    assert_int_equal(asr_keywords_add(list, &n, " O'Brien:2.5 , Wi-Fi:-1,,",
                                      err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].word, "Zentrix");
    assert_true(list[0].boost == 1.0f);
    assert_string_equal(list[1].word, "O'Brien");
    assert_true(list[1].boost == 2.5f);
    assert_string_equal(list[2].word, "Wi-Fi");
    assert_true(list[2].boost == -1.0f);
    /* The same word again, in another case: the later spelling and boost. */
    assert_int_equal(asr_keywords_add(list, &n, "ZENTRIX:3", err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].word, "ZENTRIX");
    assert_true(list[0].boost == 3.0f);

    char *text = asr_keywords_format(list, n);
    assert_string_equal(text, "ZENTRIX:3\nO'Brien:2.5\nWi-Fi:-1\n");
    asr_keyword again[ASR_KEYWORDS_MAX];
    size_t m = 0;
    assert_int_equal(asr_keywords_add(again, &m, text, err, sizeof(err)), 0);
    assert_int_equal(m, 3);
    for (size_t i = 0; i < m; i++) {
        assert_string_equal(again[i].word, list[i].word);
        assert_true(again[i].boost == list[i].boost);
    }
    free(text);
}

/* Each refusal names the item and says what is accepted; the list is
 * left as it was. */
static void test_bad_keywords_are_refused_with_a_reason(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *says;
    } bad[] = {
        {"two words", "\"two words\" is not one word"},
        {"x:11", "must be a number from -10 to 10"},
        {"x:-10.5", "must be a number from -10 to 10"},
        {"x:", "must be a number"},
        {"x:1e", "must be a number"},
        {"x:nan", "must be a number"},
        {":2", "\":2\" is not one word"},
        {"-dash", "is not one word"},
        {"caf\xc3\xa9", "is not one word"},
        {"ok,bad!", "\"bad!\" is not one word"},
        {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", "longer than 47"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        asr_keyword list[ASR_KEYWORDS_MAX];
        size_t n = 0;
        char err[200] = "";
        assert_int_equal(asr_keywords_add(list, &n, "Keep", err, sizeof(err)), 0);
        int rc = asr_keywords_add(list, &n, bad[i].spec, err, sizeof(err));
        if (rc != VB_EINVAL || strstr(err, bad[i].says) == NULL)
            fail_msg("\"%s\": rc %d, \"%s\"", bad[i].spec, rc, err);
        assert_int_equal(n, 1);
    }
    /* At most ASR_KEYWORDS_MAX, whether in one call or several. */
    asr_keyword list[ASR_KEYWORDS_MAX];
    size_t n = 0;
    char spec[4096] = "", err[200];
    for (int i = 0; i < ASR_KEYWORDS_MAX; i++) {
        char w[16];
        snprintf(w, sizeof(w), "w%c%c,", 'a' + i / 26, 'a' + i % 26);
        strcat(spec, w);
    }
    assert_int_equal(asr_keywords_add(list, &n, spec, err, sizeof(err)), 0);
    assert_int_equal(n, ASR_KEYWORDS_MAX);
    assert_int_equal(asr_keywords_add(list, &n, "wab", err, sizeof(err)), 0);
    assert_int_equal(asr_keywords_add(list, &n, "one", err, sizeof(err)), VB_EINVAL);
    assert_non_null(strstr(err, "more than 100 keywords"));
    assert_int_equal(n, ASR_KEYWORDS_MAX);
    /* Merging leaves out what does not fit, and says how many. */
    asr_keyword extra[2] = {{"Wab", 2}, {"Other", 1}};
    assert_int_equal(asr_keywords_merge(list, &n, extra, 2), 1);
    assert_string_equal(list[1].word, "Wab");
}

static void test_boosts_are_exponential_and_capped(void **state)
{
    (void)state;
    assert_true(asr_keyword_weight(0) == 0);
    assert_true(asr_keyword_weight(-3) == 0);
    assert_true(asr_keyword_weight(1) > 9.99 && asr_keyword_weight(1) < 10.01);
    assert_true(asr_keyword_weight(2) > 99.9 && asr_keyword_weight(2) < 100.1);
    assert_true(asr_keyword_weight(10) == asr_keyword_weight(3));
}

static void test_new_words_get_a_pronunciation(void **state)
{
    (void)state;
    char phones[256];
    assert_int_equal(lts_pronounce("Zentrix", phones, sizeof(phones)), 0);
    assert_string_equal(phones, "Z EH N T R IH K S");
    /* flite's reduced vowel is the dictionary's AH. */
    assert_int_equal(lts_pronounce("verbatim", phones, sizeof(phones)), 0);
    assert_string_equal(phones, "V ER B EY T AH M");
    assert_int_equal(lts_pronounce("O'Brien", phones, sizeof(phones)), 0);
    assert_string_equal(phones, "OW B R AY AH N");
    assert_int_equal(lts_pronounce("Wi-Fi", phones, sizeof(phones)), 0);
    assert_string_equal(phones, "W IH F IY");
    assert_int_equal(lts_pronounce("'", phones, sizeof(phones)), VB_EINVAL);
    assert_int_equal(lts_pronounce("Zentrix", phones, 8), VB_ETOOBIG);
}

/* The words of a whole recording through one utterance of a stream,
 * joined by spaces; the partial hypothesis along the way in *partial. */
static char *hear(asr_stream *stream, const int16_t *pcm, size_t count,
                  char *partial, size_t len)
{
    assert_int_equal(asr_begin(stream, NULL, NULL), 0);
    assert_int_equal(asr_feed(stream, pcm, count - 8000), 0);
    assert_int_equal(asr_partial(stream, partial, len), 0);
    assert_int_equal(asr_feed(stream, pcm + count - 8000, 8000), 0);
    asr_result result = {0};
    assert_int_equal(asr_end(stream, &result), 0);
    char *text = calloc(1, 1024);
    for (size_t i = 0; i < result.count; i++) {
        strcat(text, i ? " " : "");
        strcat(text, result.words[i].word);
    }
    asr_result_free(&result);
    return text;
}

/* The fixture that says "...the report to zentrix by friday morning", and
 * an accurate-profile engine of one decoder (max_streams 1), so that
 * every stream gets the same one. */
static asr_engine *one_decoder(int16_t **pcm, size_t *count)
{
    int rate, channels;
    *pcm = tu_read_wav("build/fixtures/taught.wav", count, &rate, &channels);
    assert_non_null(*pcm);
    assert_int_equal(rate, 16000);
    asr_params params = asr_default_params();
    params.max_streams = 1;
    const char *options[] = {"profile=accurate", NULL};
    asr_engine *engine = NULL;
    char err[256];
    assert_int_equal(asr_engine_create("pocketsphinx", &params, options,
                                       &engine, err, sizeof(err)), 0);
    return engine;
}

/*
 * One decoder, so every stream gets the same one: the
 * stream that taught "Zentrix" hears it, written as taught; a stream
 * that did not, on the decoder the first just used, does not; and the
 * first hears it again after that.
 */
static void test_a_taught_word_is_heard_by_its_stream_only(void **state)
{
    (void)state;
    size_t count;
    int16_t *pcm;
    asr_engine *engine = one_decoder(&pcm, &count);
    asr_stream *taught = NULL, *plain = NULL;
    assert_int_equal(engine->ops->stream_create(engine, &taught), 0);
    assert_int_equal(engine->ops->stream_create(engine, &plain), 0);
    asr_keyword words[2] = {{"ZenTrix", 1}, {"Qorvex", 2}};
    assert_int_equal(engine->ops->set_keywords(taught, words, 2), 0);

    char partial[1024];
    char *before = hear(plain, pcm, count, partial, sizeof(partial));
    assert_null(strstr(before, "zentrix"));
    char *heard = hear(taught, pcm, count, partial, sizeof(partial));
    if (strstr(heard, "to ZenTrix by friday") == NULL)
        fail_msg("taught: \"%s\"", heard);
    assert_null(strchr(partial, '#'));
    char *after = hear(plain, pcm, count, partial, sizeof(partial));
    if (strstr(after, "entrix") != NULL || strchr(after, '#') != NULL ||
        strstr(partial, "entrix") != NULL)
        fail_msg("not taught, after the taught stream: \"%s\" (partial "
                 "\"%s\")", after, partial);
    char *again = hear(taught, pcm, count, partial, sizeof(partial));
    assert_non_null(strstr(again, "ZenTrix"));
    /* Taught nothing (a boost of 0 adds nothing): heard as before. */
    asr_keyword none = {"Zentrix", 0};
    assert_int_equal(engine->ops->set_keywords(taught, &none, 1), 0);
    char *untaught = hear(taught, pcm, count, partial, sizeof(partial));
    assert_null(strstr(untaught, "entrix"));

    free(before);
    free(heard);
    free(after);
    free(again);
    free(untaught);
    asr_stream_destroy(taught);
    asr_stream_destroy(plain);
    engine->ops->destroy(engine);
    free(pcm);
}

/* Many words at once: Debian's sphinxbase reads freed memory when some
 * twenty are added through ps_add_word (ps_vocab.c says why it is not
 * used); taught the full hundred, a stream still decodes, under the
 * address sanitizer, and still hears its own. */
static void test_a_hundred_taught_words(void **state)
{
    (void)state;
    size_t count;
    int16_t *pcm;
    asr_engine *engine = one_decoder(&pcm, &count);
    asr_keyword words[ASR_KEYWORDS_MAX];
    size_t n = 0;
    static const char *const stems[] = {"zor", "vel", "qua", "bri", "tal"};
    static const char *const ends[] = {"vex", "nix", "dra", "mont", "quel"};
    for (int i = 0; n + 1 < ASR_KEYWORDS_MAX; i++) {
        snprintf(words[n].word, sizeof(words[n].word), "%s%s%c",
                 stems[i % 5], ends[(i / 5) % 5], 'a' + i / 25);
        words[n++].boost = 1 + (float)(i % 3);
    }
    snprintf(words[n].word, sizeof(words[n].word), "Zentrix");
    words[n++].boost = 2;
    asr_stream *stream = NULL;
    assert_int_equal(engine->ops->stream_create(engine, &stream), 0);
    assert_int_equal(engine->ops->set_keywords(stream, words, n), 0);
    char partial[1024];
    for (int round = 0; round < 2; round++) {
        char *heard = hear(stream, pcm, count, partial, sizeof(partial));
        if (strstr(heard, "Zentrix") == NULL)
            fail_msg("round %d: \"%s\"", round, heard);
        free(heard);
        /* Another list on the same decoder, then the first again. */
        assert_int_equal(engine->ops->set_keywords(stream, words + 40, 60), 0);
        free(hear(stream, pcm, count, partial, sizeof(partial)));
        assert_int_equal(engine->ops->set_keywords(stream, words, n), 0);
    }
    asr_stream_destroy(stream);
    engine->ops->destroy(engine);
    free(pcm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords_take_deepgrams_syntax),
        cmocka_unit_test(test_bad_keywords_are_refused_with_a_reason),
        cmocka_unit_test(test_boosts_are_exponential_and_capped),
        cmocka_unit_test(test_new_words_get_a_pronunciation),
        cmocka_unit_test(test_a_taught_word_is_heard_by_its_stream_only),
        cmocka_unit_test(test_a_hundred_taught_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
