/* test_format.c - display text of an utterance (format/format.h), and
 * what people typed kept inside its cue in the subtitle exports
 * (format/export.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "format/deepgram.h"
#include "format/export.h"
#include "format/format.h"
#include "format/realign.h"

static void check(const char *const *words, size_t n, int punctuate,
                  const char *expected)
{
    char *text = format_utterance(words, n, punctuate);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
}

static void test_sentence(void **state)
{
    const char *words[] = {"he", "was", "not", "an", "ill", "disposed", "man"};
    check(words, 7, 1, "He was not an ill disposed man.");
    check(words, 7, 0, "he was not an ill disposed man");
}

static void test_pronoun_i(void **state)
{
    const char *words[] = {"i", "think", "i'm", "right", "and", "i'll", "go",
                           "if", "it", "is", "ice"};
    check(words, 11, 1, "I think I'm right and I'll go if it is ice.");
    check(words, 11, 0, "i think i'm right and i'll go if it is ice");
}

static void test_empty_and_single(void **state)
{
    check(NULL, 0, 1, "");
    check(NULL, 0, 0, "");
    const char *one[] = {"yes"};
    check(one, 1, 1, "Yes.");
    const char *blank[] = {"", "ok", ""};
    check(blank, 3, 1, "OK."); /* as the word list spells it */
}

/* Sentences inside one utterance: each gets its mark and the next its
 * capital; one that begins as a question does gets a question mark. */
static void test_sentences_and_questions(void **state)
{
    const char *words[] = {"please", "open", "the", "window", "can", "you",
                           "hear", "me"};
    const unsigned char ends[] = {0, 0, 0, 1, 0, 0, 0, 0};
    char *text = format_text(words, ends, 8, 1);
    assert_string_equal(text, "Please open the window. Can you hear me?");
    free(text);
    text = format_text(words, ends, 8, 0);
    assert_string_equal(text, "please open the window can you hear me");
    free(text);
    const char *asked[] = {"how", "are", "you"};
    check(asked, 3, 1, "How are you?");
    const char *told[] = {"howard", "is", "here"};
    check(told, 3, 1, "Howard is here.");
}

/* Names as the system's word list writes them; words it also has in
 * lower case stay lower case. */
static void test_names(void **state)
{
    const char *words[] = {"sheila", "flew", "from", "chicago", "to",
                           "paris", "in", "march", "with", "bill's", "nasa",
                           "badge"};
    check(words, 12, 1, "Sheila flew from Chicago to Paris in march with "
                        "bill's NASA badge.");
    const char *possessive[] = {"we", "saw", "sheila's", "car"};
    check(possessive, 4, 1, "We saw Sheila's car.");
    check(words, 12, 0, "sheila flew from chicago to paris in march with "
                        "bill's nasa badge");
}

/* A sentence ends with a full stop after a written form too ("10%",
 * "$5"), not after one that ends a sentence already ("p.m.", "?"). */
static void test_full_stop_after_written_forms(void **state)
{
    const char *percent[] = {"sales", "rose", "10%"};
    check(percent, 3, 1, "Sales rose 10%.");
    const char *time[] = {"at", "3:30", "p.m."};
    check(time, 3, 1, "At 3:30 p.m.");
    const char *asked[] = {"really?"};
    check(asked, 1, 1, "Really?");
}

/* Does "-->" stand only in lines that are a cue's timing and nothing
 * else ("00:00:01,000 --> 00:00:02,000")? */
static int only_timing_arrows(const char *text)
{
    int arrows = 0;
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        const char *a = strstr(line, "-->");
        if (a != NULL && a < line + n) {
            if (n != 29 || a != line + 13 || line[0] != '0')
                return 0;
            arrows++;
        }
        line += n + (line[n] == '\n');
    }
    return arrows > 0;
}

/* A corrected text and a speaker name holding a line break, "-->" and
 * markup cannot add a cue or a tag to SRT or WebVTT. */
static void test_subtitles_keep_text_in_its_cue(void **state)
{
    store_transcription t = {.id = 1, .title = "t"};
    store_segment seg = {.id = 1, .transcription_id = 1,
                         .text = "hello\r\n00:00:09.000 --> 00:00:10.000\n"
                                 "<b>forged</b> & done",
                         .speaker = "speaker_0", .start_time = 1,
                         .end_time = 2, .is_final = 1};
    store_speaker name = {.label = "speaker_0",
                          .name = "Eve>\n\n99\n00:00:01,000 --> 00:00:02,000"};
    export_doc doc = {&t, &seg, 1, &name, 1};
    char *srt = export_render(&doc, EXPORT_SRT);
    char *vtt = export_render(&doc, EXPORT_VTT);
    assert_non_null(srt);
    assert_non_null(vtt);
    /* "-->" only on the cues' own timing lines, and each cue numbered in
     * turn (no forged "99") */
    assert_true(only_timing_arrows(srt));
    assert_true(only_timing_arrows(vtt));
    assert_null(strstr(srt, "\n99\n"));
    assert_null(strstr(vtt, "<b>"));
    assert_non_null(strstr(vtt, "&lt;b&gt;forged&lt;/b&gt; &amp; done"));
    assert_non_null(strstr(vtt, "<v Eve&gt;"));
    assert_null(strchr(srt, '\r'));
    free(srt);
    free(vtt);
}

/* Deepgram's Results: each word keeps its recognised form, and takes its
 * shown form from the final's text when the two have as many words;
 * speakers as numbers only when asked. */
static void test_deepgram_results(void **state)
{
    asr_word words[3] = {{"hello", 0.1, 0.4, 0.9f, 0, 0}, {"world", 0.5, 0.9, 0.8f, 0, 0},
                         {"again", 1.0, 1.3, 0.7f, 0, 0}};
    session_event ev = {.kind = SESSION_FINAL, .text = "Hello world, again.",
                        .words = words, .word_count = 3, .start = 0.1,
                        .end = 1.3, .speech_final = 1, .speaker = "speaker_2"};
    dg_stream s = {.request_id = "00000000-0000-4000-8000-000000000000",
                   .model = "nova-2", .diarize = 1};
    char *text = dg_results(&s, &ev, 1);
    cJSON *msg = cJSON_Parse(text);
    free(text);
    assert_string_equal(cJSON_GetObjectItem(msg, "type")->valuestring, "Results");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(msg, "from_finalize")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(msg, "speech_final")));
    cJSON *alt = cJSON_GetArrayItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(msg, "channel"), "alternatives"), 0);
    assert_float_equal(cJSON_GetObjectItem(alt, "confidence")->valuedouble, 0.8, 1e-6);
    cJSON *w1 = cJSON_GetArrayItem(cJSON_GetObjectItem(alt, "words"), 1);
    assert_string_equal(cJSON_GetObjectItem(w1, "word")->valuestring, "world");
    assert_string_equal(cJSON_GetObjectItem(w1, "punctuated_word")->valuestring,
                        "world,");
    assert_int_equal(cJSON_GetObjectItem(w1, "speaker")->valueint, 2);
    cJSON_Delete(msg);
    /* A text that does not split into the same words: recognised forms. */
    ev.text = "Hello-world again.";
    s.diarize = 0;
    text = dg_results(&s, &ev, 0);
    msg = cJSON_Parse(text);
    free(text);
    alt = cJSON_GetArrayItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(msg, "channel"), "alternatives"), 0);
    w1 = cJSON_GetArrayItem(cJSON_GetObjectItem(alt, "words"), 1);
    assert_string_equal(cJSON_GetObjectItem(w1, "punctuated_word")->valuestring,
                        "world");
    assert_null(cJSON_GetObjectItem(w1, "speaker"));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(msg, "from_finalize")));
    cJSON_Delete(msg);
    assert_int_equal(dg_speaker_number("speaker_12"), 12);
    assert_int_equal(dg_speaker_number("speaker_x"), -1);
    assert_int_equal(dg_speaker_number(NULL), -1);
}

/* A corrected segment's words: kept words keep their times, new ones
 * share the time of those they replaced by their letters. */
static void expect_words(const char *json, const char *const *words,
                         const double (*times)[2], const double *conf, int n)
{
    cJSON *arr = cJSON_Parse(json);
    assert_non_null(arr);
    if (cJSON_GetArraySize(arr) != n)
        fail_msg("%s", json);
    for (int i = 0; i < n; i++) {
        const cJSON *w = cJSON_GetArrayItem(arr, i);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(w, "word")), words[i]);
        assert_float_equal(cJSON_GetObjectItem(w, "start")->valuedouble, times[i][0], 0.0011);
        assert_float_equal(cJSON_GetObjectItem(w, "end")->valuedouble, times[i][1], 0.0011);
        assert_float_equal(cJSON_GetObjectItem(w, "confidence")->valuedouble, conf[i], 1e-9);
    }
    cJSON_Delete(arr);
}

static void test_realign_words(void **state)
{
    (void)state;
    static const char heard[] =
        "[{\"word\":\"sam\",\"start\":1.0,\"end\":1.3,\"confidence\":0.4},"
        "{\"word\":\"queue\",\"start\":1.3,\"end\":1.6,\"confidence\":0.5},"
        "{\"word\":\"for\",\"start\":1.6,\"end\":1.8,\"confidence\":0.9},"
        "{\"word\":\"calling\",\"start\":1.8,\"end\":2.3,\"confidence\":0.8}]";
    char *out = realign_words(heard, "Thank you for calling.", 1.0, 2.3);
    /* "thank" and "you" share 1.0-1.6 as 6:4 (letters and a space). */
    expect_words(out, (const char *const[]){"thank", "you", "for", "calling"},
                 (const double[][2]){{1.0, 1.36}, {1.36, 1.6}, {1.6, 1.8}, {1.8, 2.3}},
                 (const double[]){1, 1, 0.9, 0.8}, 4);
    free(out);
    /* A word left out, one put in the middle, case and punctuation. */
    out = realign_words(heard, "SAM: for, er, calling!", 1.0, 2.3);
    expect_words(out, (const char *const[]){"sam", "for", "er", "calling"},
                 (const double[][2]){{1.0, 1.3}, {1.6, 1.8}, {1.8, 1.8}, {1.8, 2.3}},
                 (const double[]){0.4, 0.9, 1, 0.8}, 4);
    free(out);
    /* No word times kept: the segment's span, shared. */
    out = realign_words(NULL, "one two", 3.0, 4.0);
    expect_words(out, (const char *const[]){"one", "two"},
                 (const double[][2]){{3.0, 3.5}, {3.5, 4.0}}, (const double[]){1, 1}, 2);
    free(out);
    out = realign_words("not json", "a - b", 0.0, 0.5);
    expect_words(out, (const char *const[]){"a", "-", "b"},
                 (const double[][2]){{0, 1.0 / 6}, {1.0 / 6, 2.0 / 6}, {2.0 / 6, 0.5}},
                 (const double[]){1, 1, 1}, 3);
    free(out);
    out = realign_words(heard, "   ", 1.0, 2.3);
    assert_string_equal(out, "[]");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deepgram_results),
        cmocka_unit_test(test_realign_words),
        cmocka_unit_test(test_sentence),
        cmocka_unit_test(test_pronoun_i),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_full_stop_after_written_forms),
        cmocka_unit_test(test_sentences_and_questions),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_subtitles_keep_text_in_its_cue),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
