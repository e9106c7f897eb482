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

#include "format/export.h"
#include "format/format.h"

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
    check(blank, 3, 1, "Ok.");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentence),
        cmocka_unit_test(test_pronoun_i),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_subtitles_keep_text_in_its_cue),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
