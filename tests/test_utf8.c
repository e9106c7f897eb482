/* test_utf8.c - UTF-8 checks and cuts (util/utf8.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

static int valid(const char *s)
{
    return utf8_valid(s, strlen(s));
}

static void test_valid(void **state)
{
    assert_true(valid(""));
    assert_true(valid("plain ASCII"));
    assert_true(valid("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x99"));
    assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last */
    assert_true(valid("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
}

static void test_invalid(void **state)
{
    static const char *const bad[] = {
        "\xff", "\xfe", "a\x80", "\xc3",          /* stray, cut short */
        "\xe6\x97", "\xe6\x97x",                    /* cut short */
        "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", /* overlong '/' */
        "\xed\xa0\x80", "\xed\xbf\xbf",             /* surrogates */
        "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", /* past U+10FFFF */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (valid(bad[i]))
            fail_msg("case %zu taken as valid", i);
    /* The length given is what counts, not a NUL. */
    assert_false(utf8_valid("\xc3\xa9", 1));
    assert_true(utf8_valid("ab\xff", 2));
}

static void test_chars(void **state)
{
    assert_int_equal(utf8_chars("", 0), 0);
    assert_int_equal(utf8_chars("abc", 3), 3);
    const char *s = "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\x99";
    assert_int_equal(utf8_chars(s, strlen(s)), 8);
}

static void test_prefix(void **state)
{
    const char *s = "a\xc3\xa9\xe6\x97\xa5"; /* 1 + 2 + 3 bytes */
    assert_int_equal(utf8_prefix(s, 100), 6); /* all of it */
    assert_int_equal(utf8_prefix(s, 6), 6);
    assert_int_equal(utf8_prefix(s, 5), 3);   /* not inside the last */
    assert_int_equal(utf8_prefix(s, 4), 3);
    assert_int_equal(utf8_prefix(s, 3), 3);
    assert_int_equal(utf8_prefix(s, 2), 1);   /* not inside the second */
    assert_int_equal(utf8_prefix(s, 1), 1);
    assert_int_equal(utf8_prefix(s, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_chars),
        cmocka_unit_test(test_prefix),
    };
    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
