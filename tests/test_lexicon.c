/*
 * test_lexicon.c - trimming a dictionary to its language model's words
 * (asr/lexicon.h), with the en-us language model of pocketsphinx-en-us.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asr/lexicon.h"
#include "util/vb.h"

#define LM "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"

static char dir[64];
static char dict[128];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/vblexicon-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(dict, sizeof(dict), "%s/words.dict", dir);
    return 0;
}

static int teardown(void **state)
{
    unlink(dict);
    rmdir(dir);
    return 0;
}

static void write_dict(const char *text)
{
    FILE *f = fopen(dict, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The whole content of the trimmed copy, read as a decoder reads it. */
static char *read_trimmed(int fd)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_keeps_the_models_words_and_their_alternates(void **state)
{
    write_dict("hello HH AH L OW\n"
               "hello(2) HH EH L OW\n"
               "zzqxvwj Z Z K\n"
               "\n"
               "the DH AH\n"
               "qqzzyxw(2) K Z\n"
               "read(2) R EH D\n");
    int fd = -1;
    lexicon_trim_stats stats;
    char err[256] = "";
    assert_int_equal(lexicon_trim(dict, LM, &fd, &stats, err, sizeof(err)), 0);
    assert_true(fd >= 0);
    assert_int_equal(stats.total, 6);
    assert_int_equal(stats.kept, 4);
    assert_string_equal(read_trimmed(fd), "hello HH AH L OW\n"
                                          "hello(2) HH EH L OW\n"
                                          "the DH AH\n"
                                          "read(2) R EH D\n");
    /* Read twice: every decoder built later reads it from the start. */
    assert_string_equal(read_trimmed(fd), "hello HH AH L OW\n"
                                          "hello(2) HH EH L OW\n"
                                          "the DH AH\n"
                                          "read(2) R EH D\n");
    close(fd);
}

static void test_a_dictionary_of_other_words_is_refused(void **state)
{
    write_dict("zzqxvwj Z Z K\nqqzzyxw K Z\n");
    int fd = 123;
    lexicon_trim_stats stats;
    char err[256] = "";
    assert_int_equal(lexicon_trim(dict, LM, &fd, &stats, err, sizeof(err)),
                     VB_EINVAL);
    assert_int_equal(fd, -1);
    assert_int_equal(stats.total, 2);
    assert_non_null(strstr(err, "not a pair"));
    assert_non_null(strstr(err, dict));
}

static void test_missing_files_are_named(void **state)
{
    int fd;
    lexicon_trim_stats stats;
    char err[256] = "";
    assert_int_equal(lexicon_trim("/nonexistent/words.dict", LM, &fd, &stats,
                                  err, sizeof(err)), VB_EIO);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err, "/nonexistent/words.dict"));

    write_dict("hello HH AH L OW\n");
    err[0] = '\0';
    assert_int_equal(lexicon_trim(dict, "/nonexistent/lm.bin", &fd, &stats,
                                  err, sizeof(err)), VB_EIO);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err, "language model /nonexistent/lm.bin"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keeps_the_models_words_and_their_alternates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_dictionary_of_other_words_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_files_are_named, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
