/*
 * test_registry.c - engines by name (asr/registry.c): the default, the
 * message for a name that is not an engine's, the option list's shape,
 * and PocketSphinx's options as its engine reads them.  Engines are made
 * with load_in_background, so that only the files are looked for: these
 * tests are about names and options, not decoding.
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
#include "util/vb.h"

#define MODEL "/usr/share/pocketsphinx/model/en-us"

static char err[512];

static int check(const char *name, const char *const *options)
{
    err[0] = '\0';
    return asr_engine_check(name, options, err, sizeof(err));
}

/* Creates (loading nothing yet) and destroys; returns create's answer. */
static int create(const char *name, const char *const *options,
                  const char **engine_name)
{
    asr_params params = asr_default_params();
    params.load_in_background = 1;
    asr_engine *engine = NULL;
    err[0] = '\0';
    int rc = asr_engine_create(name, &params, options, &engine, err,
                               sizeof(err));
    if (rc == 0) {
        if (engine_name != NULL)
            *engine_name = engine->ops->name;
        engine->ops->destroy(engine);
    } else {
        assert_null(engine);
    }
    return rc;
}

static void test_pocketsphinx_is_the_default(void **state)
{
    (void)state;
    assert_string_equal(ASR_DEFAULT_ENGINE, "pocketsphinx");
    assert_string_equal(asr_engine_names(), "pocketsphinx, deepgram");
    const char *name = NULL;
    assert_int_equal(create(NULL, NULL, &name), 0);
    assert_string_equal(name, "pocketsphinx");
    assert_int_equal(create("pocketsphinx", NULL, &name), 0);
    assert_string_equal(name, "pocketsphinx");
    assert_int_equal(check(NULL, NULL), 0);
    const char *none[] = {NULL};
    assert_int_equal(check("pocketsphinx", none), 0);
}

static void test_an_unknown_engine_is_named_with_the_known_ones(void **state)
{
    (void)state;
    assert_int_equal(check("deepgramm", NULL), VB_EINVAL);
    assert_string_equal(err, "unknown engine \"deepgramm\" (known engines: "
                             "pocketsphinx, deepgram)");
    assert_int_equal(create("PocketSphinx", NULL, NULL), VB_EINVAL);
    assert_string_equal(err, "unknown engine \"PocketSphinx\" (known engines: "
                             "pocketsphinx, deepgram)");
    assert_int_equal(check("", NULL), VB_EINVAL);
}

static void test_an_option_must_be_key_equals_value(void **state)
{
    (void)state;
    const char *bare[] = {"profile=fast", "fast", NULL};
    assert_int_equal(check(NULL, bare), VB_EINVAL);
    assert_string_equal(err, "engine option \"fast\" is not KEY=VALUE");
    const char *no_key[] = {"=fast", NULL};
    assert_int_equal(create(NULL, no_key, NULL), VB_EINVAL);
    assert_string_equal(err, "engine option \"=fast\" is not KEY=VALUE");
}

/* Each bad option says which, and what is accepted. */
static void test_a_bad_pocketsphinx_option_is_refused(void **state)
{
    (void)state;
    const struct {
        const char *option, *message;
    } cases[] = {
        {"beam=1e-40", "pocketsphinx has no option \"beam\" (its options: "
                       "model-dir, hmm, lm, dict, profile, spare-decoders, "
                       "start-decoders, release-decoders-after)"},
        {"profile=quick", "pocketsphinx option profile must be accurate or "
                          "fast, not \"quick\""},
        {"spare-decoders=65", "pocketsphinx option spare-decoders must be a "
                              "whole number from 0 to 64, not \"65\""},
        {"spare-decoders=two", "pocketsphinx option spare-decoders must be a "
                               "whole number from 0 to 64, not \"two\""},
        {"start-decoders=257", "pocketsphinx option start-decoders must be a "
                               "whole number from 0 to 256, not \"257\""},
        {"release-decoders-after=-1", "pocketsphinx option "
                                      "release-decoders-after must be a whole "
                                      "number from 0 to 31536000, not \"-1\""},
        {"release-decoders-after=", "pocketsphinx option "
                                    "release-decoders-after must be a whole "
                                    "number from 0 to 31536000, not \"\""},
        {"model-dir=", "pocketsphinx option model-dir needs a path"},
        {"dict=", "pocketsphinx option dict needs a path"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *options[] = {"profile=fast", cases[i].option, NULL};
        assert_int_equal(check("pocketsphinx", options), VB_EINVAL);
        assert_string_equal(err, cases[i].message);
        assert_int_equal(create("pocketsphinx", options, NULL), VB_EINVAL);
        assert_string_equal(err, cases[i].message);
    }
}

/* Good options are taken; a key given twice counts as its last value;
 * the files may be named one by one; a model that is not there is a
 * failure to start (not bad usage). */
static void test_pocketsphinx_reads_its_options(void **state)
{
    (void)state;
    const char *good[] = {"profile=accurate", "profile=fast",
                          "spare-decoders=64", "start-decoders=2",
                          "release-decoders-after=0",
                          "model-dir=" MODEL, NULL};
    assert_int_equal(check(NULL, good), 0);
    assert_int_equal(create(NULL, good, NULL), 0);

    const char *last_wins[] = {"model-dir=/nonexistent", "model-dir=" MODEL,
                               NULL};
    assert_int_equal(create(NULL, last_wins, NULL), 0);
    const char *last_fails[] = {"model-dir=" MODEL, "model-dir=/nonexistent",
                                NULL};
    assert_int_equal(check(NULL, last_fails), 0); /* nothing looked for */
    assert_int_equal(create(NULL, last_fails, NULL), VB_ENOTFOUND);
    assert_non_null(strstr(err, "acoustic model not found at "
                                "/nonexistent/en-us"));

    const char *files[] = {"model-dir=/nonexistent", "hmm=" MODEL "/en-us",
                           "lm=" MODEL "/en-us.lm.bin",
                           "dict=" MODEL "/cmudict-en-us.dict", NULL};
    assert_int_equal(create(NULL, files, NULL), 0);
    const char *no_dict[] = {"dict=/nonexistent.dict", NULL};
    assert_int_equal(create(NULL, no_dict, NULL), VB_ENOTFOUND);
    assert_non_null(strstr(err, "dictionary not found at /nonexistent.dict"));
}

/* The deepgram engine: its key from the option or DEEPGRAM_API_KEY, and
 * never missing; a URL it can connect to; each bad option named. */
static void test_a_bad_deepgram_option_is_refused(void **state)
{
    (void)state;
    unsetenv("DEEPGRAM_API_KEY");
    assert_int_equal(check("deepgram", NULL), VB_EINVAL);
    assert_string_equal(err, "the deepgram engine needs an API key: set "
                             "DEEPGRAM_API_KEY or give --deepgram-key");
    const struct {
        const char *option, *message;
    } cases[] = {
        {"profile=fast", "deepgram has no option \"profile\" (its options: "
                         "key, url, model, language, ca)"},
        {"url=api.deepgram.com", "deepgram option url must look like "
                                 "wss://HOST[:PORT][/PATH], not "
                                 "\"api.deepgram.com\""},
        {"url=ftp://host/v1/listen", "deepgram option url must look like "
                                     "wss://HOST[:PORT][/PATH], not "
                                     "\"ftp://host/v1/listen\""},
        {"url=wss://", "deepgram option url must look like "
                       "wss://HOST[:PORT][/PATH], not \"wss://\""},
        {"url=ws://host:0/v1/listen", "deepgram option url has a bad port: "
                                      "\"ws://host:0/v1/listen\""},
        {"url=ws://host:80x", "deepgram option url has a bad port: "
                              "\"ws://host:80x\""},
        {"model=nova 2", "deepgram option model must be a model's name such "
                         "as nova-2"},
        {"language=en&x=1", "deepgram option language must be a language "
                            "code such as en-US"},
        {"ca=/nonexistent/ca.pem", "deepgram option ca: cannot read "
                                   "/nonexistent/ca.pem"},
        {"key=", "the deepgram engine needs an API key: set "
                 "DEEPGRAM_API_KEY or give --deepgram-key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *options[] = {"key=k", cases[i].option, NULL};
        assert_int_equal(check("deepgram", options), VB_EINVAL);
        assert_string_equal(err, cases[i].message);
        assert_int_equal(create("deepgram", options, NULL), VB_EINVAL);
        assert_string_equal(err, cases[i].message);
    }
}

/* Good options are taken, the key also from the environment; creating
 * the engine connects to nothing (streams do), so it starts without the
 * service. */
static void test_deepgram_reads_its_options(void **state)
{
    (void)state;
    const char *name = NULL;
    const char *all[] = {"key=k", "url=https://127.0.0.1:9", "model=nova-3",
                         "language=en-GB", "ca=/etc/hostname", NULL};
    assert_int_equal(create("deepgram", all, &name), 0);
    assert_string_equal(name, "deepgram");
    setenv("DEEPGRAM_API_KEY", "from-the-environment", 1);
    assert_int_equal(check("deepgram", NULL), 0);
    const char *plain[] = {"url=ws://127.0.0.1:9/v1/listen?tier=x", NULL};
    assert_int_equal(create("deepgram", plain, NULL), 0);
    unsetenv("DEEPGRAM_API_KEY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pocketsphinx_is_the_default),
        cmocka_unit_test(test_an_unknown_engine_is_named_with_the_known_ones),
        cmocka_unit_test(test_an_option_must_be_key_equals_value),
        cmocka_unit_test(test_a_bad_pocketsphinx_option_is_refused),
        cmocka_unit_test(test_pocketsphinx_reads_its_options),
        cmocka_unit_test(test_a_bad_deepgram_option_is_refused),
        cmocka_unit_test(test_deepgram_reads_its_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
