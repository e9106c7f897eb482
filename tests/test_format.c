/* test_format.c - display text of an utterance (format/format.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentence),
        cmocka_unit_test(test_pronoun_i),
        cmocka_unit_test(test_empty_and_single),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
