/*
 * test_diarize.c - speaker labels from the audio (diarize/): a two-voice
 * conversation gets two labels with the turns in the right places, also
 * when one speaker follows the other with no pause; one voice gets one
 * label, also in two short sentences; re-clustering keeps the labels and honours the speaker hints;
 * voice statistics survive storage as text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "audio/demux.h"
#include "diarize/diarize.h"
#include "testutil.h"
#include "util/vb.h"

typedef struct {
    int16_t *pcm;
    size_t len;
    double start[8], end[8]; /* each turn's speech, seconds */
    int turns;
} conversation;

/* Turns of flite speech with `gap_ms` of silence between them. */
static conversation converse(const char *const *voices, const char *const *texts,
                             int turns, int gap_ms)
{
    conversation c = {0};
    for (int i = 0; i < turns; i++) {
        size_t n;
        int16_t *speech = tu_flite(voices[i], texts[i], &n);
        assert_non_null(speech);
        c.start[i] = (double)c.len / 16000;
        tu_append(&c.pcm, &c.len, speech, n, i + 1 < turns ? gap_ms : 300);
        c.end[i] = c.start[i] + (double)n / 16000;
        free(speech);
    }
    c.turns = turns;
    return c;
}

static diarize_features *features_of(const conversation *c)
{
    diarize_features *f;
    assert_int_equal(diarize_features_create(&f), 0);
    /* In pieces of odd sizes, as a session would give them. */
    for (size_t pos = 0; pos < c->len; pos += 777) {
        size_t n = c->len - pos < 777 ? c->len - pos : 777;
        assert_int_equal(diarize_features_push(f, c->pcm + pos, n), 0);
    }
    return f;
}

static const char *const texts[] = {
    "Good morning everyone, thank you for joining the call today.",
    "Thanks. I have a few updates about the budget for next quarter.",
    "Great, please go ahead and share them with the whole team.",
    "We spent less than planned on travel but more on equipment.",
};

static void test_two_voices_two_labels(void **state)
{
    static const char *const voices[] = {"slt", "rms", "slt", "rms"};
    conversation c = converse(voices, texts, 4, 800);
    diarize_features *f = features_of(&c);
    diarize_params p = diarize_default_params();
    diarize_tracker *t;
    assert_int_equal(diarize_tracker_create(&p, &t), 0);
    int label[4];
    voice_stats voice[4];
    for (int i = 0; i < 4; i++) {
        diarize_part parts[4];
        size_t n = diarize_tracker_label(t, f, c.start[i], c.end[i], parts, 4);
        assert_int_equal(n, 1); /* one voice per turn: not cut */
        label[i] = parts[0].speaker;
        voice[i] = parts[0].voice;
        assert_true(parts[0].voice.n > 100);
    }
    assert_int_equal(label[0], 0);
    assert_int_equal(label[1], 1);
    assert_int_equal(label[2], 0);
    assert_int_equal(label[3], 1);
    assert_int_equal(diarize_tracker_speakers(t), 2);
    /* While the third turn is under way, it is already known as slt's. */
    assert_int_equal(diarize_tracker_peek(t, f, c.start[2], c.start[2] + 1.5), 0);
    assert_int_equal(diarize_tracker_peek(t, f, c.start[2], c.start[2] + 0.3), -1);

    /* Re-clustering agrees, keeping the labels. */
    int labels[4];
    assert_int_equal(diarize_refine(&p, voice, label, 4, labels, NULL), 2);
    assert_memory_equal(labels, label, sizeof(label));
    /* With a hint of one speaker, everything is one. */
    p.max_speakers = 1;
    assert_int_equal(diarize_refine(&p, voice, label, 4, labels, NULL), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(labels[i], labels[0]);
    /* And a hint of at least 3 splits someone. */
    p.max_speakers = 0;
    p.min_speakers = 3;
    assert_int_equal(diarize_refine(&p, voice, label, 4, labels, NULL), 3);
    diarize_tracker_destroy(t);
    diarize_features_destroy(f);
    free(c.pcm);
}

/* rms answers slt with no pause: one utterance, cut where the voice
 * changes (within half a second of it). */
static void test_change_inside_an_utterance(void **state)
{
    static const char *const voices[] = {"slt", "rms"};
    conversation c = converse(voices, texts, 2, 0);
    diarize_features *f = features_of(&c);
    diarize_params p = diarize_default_params();
    diarize_tracker *t;
    assert_int_equal(diarize_tracker_create(&p, &t), 0);
    diarize_part parts[4];
    size_t n = diarize_tracker_label(t, f, c.start[0], c.end[1], parts, 4);
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].speaker, 0);
    assert_int_equal(parts[1].speaker, 1);
    if (fabs(parts[0].end - c.end[0]) > 0.5)
        fail_msg("cut at %.2f s, the voice changed at %.2f s", parts[0].end,
                 c.end[0]);
    assert_true(parts[0].start == c.start[0] && parts[1].end == c.end[1]);
    diarize_tracker_destroy(t);
    diarize_features_destroy(f);
    free(c.pcm);
}

/* A short reply (under the 2 s that may found a speaker on its own) after
 * a pause too short to end the utterance: cut off where the voice
 * changes, it is a new speaker. */
static void test_short_reply_inside_an_utterance(void **state)
{
    static const char *const voices[] = {"slt", "rms"};
    static const char *const said[] = {texts[1], "Yes, go ahead with that."};
    conversation c = converse(voices, said, 2, 250);
    diarize_features *f = features_of(&c);
    diarize_params p = diarize_default_params();
    for (int strict = 0; strict < 2; strict++) {
        /* strict: the reply is held to the 2 s of a whole utterance,
         * without the mean test (whose clear shift needs only 1 s) */
        if (strict) {
            p.min_cut_voice_s = p.min_voice_s;
            p.shift_lambda = 0;
        }
        diarize_tracker *t;
        assert_int_equal(diarize_tracker_create(&p, &t), 0);
        diarize_part parts[4];
        size_t n = diarize_tracker_label(t, f, c.start[0], c.end[1], parts, 4);
        assert_int_equal(n, strict ? 1 : 2);
        assert_int_equal(diarize_tracker_speakers(t), strict ? 1 : 2);
        if (!strict && fabs(parts[0].end - c.end[0]) > 0.5)
            fail_msg("cut at %.2f s, the reply started at %.2f s", parts[0].end,
                     c.start[1]);
        if (!strict) /* less speech than may found a speaker on its own */
            assert_true(parts[1].voice.n < p.min_voice_s * DIARIZE_FRAME_RATE);
        diarize_tracker_destroy(t);
    }
    diarize_features_destroy(f);
    free(c.pcm);
}

static void test_one_voice_one_label(void **state)
{
    static const char *const voices[] = {"awb", "awb", "awb", "awb"};
    conversation c = converse(voices, texts, 4, 700);
    diarize_features *f = features_of(&c);
    diarize_params p = diarize_default_params();
    diarize_tracker *t;
    assert_int_equal(diarize_tracker_create(&p, &t), 0);
    for (int i = 0; i < 4; i++) {
        diarize_part parts[4];
        size_t n = diarize_tracker_label(t, f, c.start[i], c.end[i], parts, 4);
        assert_int_equal(n, 1);
        assert_int_equal(parts[0].speaker, 0);
    }
    assert_int_equal(diarize_tracker_speakers(t), 1);
    diarize_tracker_destroy(t);
    diarize_features_destroy(f);
    free(c.pcm);
}

/* The README's example, as flite says it: two short sentences of one
 * voice with a short pause, one utterance.  Each half is under the 3 s a
 * full covariance needs; compared by diagonal models they differed by
 * what was said, and the utterance was cut into two speakers, live and
 * re-clustered.  They are one speaker. */
static void test_short_sentences_of_one_voice(void **state)
{
    static const char *const voices[] = {"slt"};
    static const char *const said[] = {
        "Please open the window. I would like a cup of coffee."};
    conversation c = converse(voices, said, 1, 300);
    diarize_features *f = features_of(&c);
    diarize_params p = diarize_default_params();
    diarize_tracker *t;
    assert_int_equal(diarize_tracker_create(&p, &t), 0);
    diarize_part parts[4];
    size_t n = diarize_tracker_label(t, f, c.start[0], c.end[0], parts, 4);
    assert_int_equal(n, 1);
    assert_int_equal(parts[0].speaker, 0);
    diarize_tracker_destroy(t);

    /* Re-clustering the two sentences as separate segments, once labelled
     * apart: one speaker. */
    voice_stats voice[2];
    double half = (c.start[0] + c.end[0]) / 2;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(diarize_tracker_create(&p, &t), 0);
        assert_int_equal(diarize_tracker_label(t, f, i ? half : c.start[0],
                                               i ? c.end[0] : half, parts, 1), 1);
        voice[i] = parts[0].voice;
        assert_true(voice_is_short(&voice[i]));
        diarize_tracker_destroy(t);
    }
    int label[2] = {0, 1}, labels[2];
    assert_int_equal(diarize_refine(&p, voice, label, 2, labels, NULL), 1);
    assert_int_equal(labels[0], 0);
    assert_int_equal(labels[1], 0);
    diarize_features_destroy(f);
    free(c.pcm);
}

/* 16 kHz raw or WAV speech of pocketsphinx-testdata, cut to at most
 * `seconds`. */
static int16_t *testdata(const char *name, double seconds, size_t *n)
{
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/pocketsphinx/test/data/%s", name);
    int16_t *pcm;
    if (strstr(name, ".wav") != NULL) {
        int rate, channels;
        pcm = tu_read_wav(path, n, &rate, &channels);
        assert_non_null(pcm);
        assert_int_equal(rate, 16000);
    } else {
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        *n = (size_t)ftell(f) / 2;
        rewind(f);
        pcm = malloc(*n * 2);
        assert_non_null(pcm);
        assert_int_equal(fread(pcm, 2, *n, f), *n);
        fclose(f);
    }
    if (*n > (size_t)(seconds * 16000))
        *n = (size_t)(seconds * 16000);
    return pcm;
}

/* Two real people taking turns (the LibriVox reader, the CMU speaker),
 * the first turn short: the CMU speaker's 1.5 s "go forward ten meters"
 * sounded like the reader to the diagonal models of two short stretches,
 * and every later turn joined one speaker.  The mean-shift test tells
 * them apart; the reader's other recording stays the reader's. */
/* The audio as a telephone carries it: 300-3400 Hz at 8 kHz (a
 * windowed-sinc band-pass, every other sample kept), then back to 16 kHz
 * through the resampler a session uses, which fills the empty band. */
static void telephone(conversation *c)
{
    enum { TAPS = 101 };
    const double pi = 3.14159265358979323846;
    double taps[TAPS];
    for (int i = 0; i < TAPS; i++) {
        int k = i - TAPS / 2;
        double lo = 300.0 / 16000, hi = 3400.0 / 16000;
        double band = k == 0 ? 2 * (hi - lo)
                             : (sin(2 * pi * hi * k) - sin(2 * pi * lo * k)) / (pi * k);
        taps[i] = band * (0.42 - 0.5 * cos(2 * pi * i / (TAPS - 1)) +
                          0.08 * cos(4 * pi * i / (TAPS - 1)));
    }
    size_t n8 = c->len / 2;
    float *narrow = malloc(n8 * sizeof(*narrow));
    assert_non_null(narrow);
    for (size_t j = 0; j < n8; j++) {
        double y = 0;
        for (int i = 0; i < TAPS; i++) {
            long at = (long)(2 * j) - i + TAPS / 2;
            if (at >= 0 && at < (long)c->len)
                y += taps[i] * c->pcm[at];
        }
        narrow[j] = (float)(y / 32768.0);
    }
    resampler *r;
    char err[128];
    pcm_buf out = {0};
    assert_int_equal(resampler_create(8000, &r, err, sizeof(err)), 0);
    assert_int_equal(resampler_push(r, narrow, n8, &out), 0);
    assert_int_equal(resampler_flush(r, &out), 0);
    resampler_destroy(r);
    free(narrow);
    free(c->pcm);
    c->pcm = out.samples;
    c->len = out.len;
}

/* Two real people (a LibriVox reader, the CMU speaker of goforward and
 * numbers) take turns, the first one short; on the telephone too. */
static void real_voices_take_turns(int on_the_telephone)
{
    static const struct {
        const char *file;
        double seconds;
        int speaker;
    } turns[] = {
        {"librivox/sense_and_sensibility_01_austen_64kb-0930.wav", 2.6, 0},
        {"goforward.raw", 9, 1},
        {"librivox/sense_and_sensibility_01_austen_64kb-0870.wav", 7, 0},
        {"numbers.raw", 9, 1},
        {"librivox/sense_and_sensibility_01_austen_64kb-0880.wav", 6, 0},
    };
    conversation c = {0};
    for (int i = 0; i < 5; i++) {
        size_t n;
        int16_t *pcm = testdata(turns[i].file, turns[i].seconds, &n);
        c.start[i] = (double)c.len / 16000;
        tu_append(&c.pcm, &c.len, pcm, n, 600);
        c.end[i] = c.start[i] + (double)n / 16000;
        free(pcm);
    }
    if (on_the_telephone)
        telephone(&c);
    diarize_features *f = features_of(&c);
    diarize_params p = diarize_default_params();
    diarize_tracker *t;
    assert_int_equal(diarize_tracker_create(&p, &t), 0);
    for (int i = 0; i < 5; i++) {
        diarize_part parts[4];
        size_t n = diarize_tracker_label(t, f, c.start[i], c.end[i], parts, 4);
        assert_int_equal(n, 1);
        if (parts[0].speaker != turns[i].speaker)
            fail_msg("turn %d (%s): speaker %d, not %d", i, turns[i].file,
                     parts[0].speaker, turns[i].speaker);
        /* Telephone audio is told by its high band alone. */
        if (voice_is_narrow(&parts[0].voice) != on_the_telephone)
            fail_msg("turn %d: high band varies by %.2f dB: %s", i,
                     voice_high_spread(&parts[0].voice),
                     on_the_telephone ? "not taken for telephone audio"
                                      : "taken for telephone audio");
    }
    assert_int_equal(diarize_tracker_speakers(t), 2);
    diarize_tracker_destroy(t);
    diarize_features_destroy(f);
    free(c.pcm);
}

static void test_real_voices_take_turns(void **state)
{
    real_voices_take_turns(0);
}

/* Their voices lie closer together in the band a telephone leaves: with
 * the wideband weight of the mean test the CMU speaker's turns joined the
 * reader's. */
static void test_real_voices_take_turns_on_the_telephone(void **state)
{
    real_voices_take_turns(1);
}

/* A speaker known from an earlier session keeps its label. */
static void test_seeded_speaker(void **state)
{
    static const char *const voices[] = {"rms", "kal16"};
    conversation c = converse(voices, texts, 2, 800);
    diarize_features *f = features_of(&c);
    diarize_params p = diarize_default_params();
    diarize_tracker *first, *second;
    assert_int_equal(diarize_tracker_create(&p, &first), 0);
    diarize_part parts[4];
    assert_int_equal(diarize_tracker_label(first, f, c.start[0], c.end[0], parts, 4), 1);
    /* The second session knows rms as speaker_3 (say) from the store. */
    assert_int_equal(diarize_tracker_create(&p, &second), 0);
    assert_int_equal(diarize_tracker_seed(second, 3, &parts[0].voice), 0);
    assert_int_equal(diarize_tracker_label(second, f, c.start[0], c.end[0], parts, 4), 1);
    assert_int_equal(parts[0].speaker, 3);
    assert_int_equal(diarize_tracker_label(second, f, c.start[1], c.end[1], parts, 4), 1);
    assert_int_equal(parts[0].speaker, 4); /* a new voice: a new label */
    assert_int_equal(diarize_tracker_seed(second, 99, &parts[0].voice), VB_EINVAL);
    diarize_tracker_destroy(first);
    diarize_tracker_destroy(second);
    diarize_features_destroy(f);
    free(c.pcm);
}

static void test_voice_as_text(void **state)
{
    voice_stats v = {0}, back;
    float frame[DIARIZE_ROW] = {0};
    for (int i = 0; i < 500; i++) {
        for (int d = 0; d < DIARIZE_DIMS; d++)
            frame[d] = (float)(sin(i * 0.1 + d) * 20 + d);
        frame[DIARIZE_DIMS] = (float)(i % 4) * 10; /* the high band, dB */
        voice_add_frame(&v, frame, 1);
    }
    char text[4096];
    size_t at;
    assert_int_equal(voice_format(&v, text, sizeof(text)), 0);
    assert_int_equal(voice_parse(text, &back), 0);
    assert_true(back.n == v.n);
    for (int d = 0; d < DIARIZE_DIMS; d++)
        assert_true(fabs(back.sum[d] - v.sum[d]) <= 1e-6 * fabs(v.sum[d]) + 1e-9);
    for (int p = 0; p < DIARIZE_PAIRS; p++)
        assert_true(fabs(back.cross[p] - v.cross[p]) <= 1e-6 * fabs(v.cross[p]) + 1e-9);
    assert_true(fabs(voice_delta_bic(&v, &back, 1.0) -
                     voice_delta_bic(&v, &v, 1.0)) < 1e-3);
    assert_true(back.banded == 500);
    assert_true(fabs(voice_high_spread(&back) - sqrt(125.0)) < 1e-6);
    assert_false(voice_is_narrow(&back));
    /* A voice stored before the high band was kept: unknown. */
    size_t full = strlen(text);
    for (int i = 0; i < 3; i++)
        *strrchr(text, ' ') = '\0';
    assert_int_equal(voice_parse(text, &back), 0);
    assert_true(back.n == v.n && back.banded == 0);
    assert_true(voice_high_spread(&back) == -1);
    assert_false(voice_is_narrow(&back));
    /* Part of the band, or a negative sum of squares, is refused. */
    at = strlen(text);
    snprintf(text + at, sizeof(text) - at, " 500 10");
    assert_int_equal(voice_parse(text, &back), VB_EINVAL);
    snprintf(text + at, sizeof(text) - at, " 500 10 -1");
    assert_int_equal(voice_parse(text, &back), VB_EINVAL);
    assert_true(full > at);
    assert_int_equal(voice_parse("12 3 4", &back), VB_EINVAL);
    /* Voices stored by the diagonal model (n, 19 sums, 19 squares) are
     * refused, so re-clustering leaves those segments' labels alone. */
    at = (size_t)snprintf(text, sizeof(text), "500");
    for (int i = 0; i < 2 * DIARIZE_DIMS; i++)
        at += (size_t)snprintf(text + at, sizeof(text) - at, " %d", i + 1);
    assert_int_equal(voice_parse(text, &back), VB_EINVAL);
    assert_int_equal(voice_parse("", &back), VB_EINVAL);
    assert_int_equal(voice_format(&v, text, 20), VB_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_voices_two_labels),
        cmocka_unit_test(test_change_inside_an_utterance),
        cmocka_unit_test(test_short_reply_inside_an_utterance),
        cmocka_unit_test(test_one_voice_one_label),
        cmocka_unit_test(test_short_sentences_of_one_voice),
        cmocka_unit_test(test_real_voices_take_turns),
        cmocka_unit_test(test_real_voices_take_turns_on_the_telephone),
        cmocka_unit_test(test_seeded_speaker),
        cmocka_unit_test(test_voice_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
