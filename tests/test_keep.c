/* test_keep.c - kept audio (audio/keep.c): speech encoded into packet
 * runs and written out as Ogg Opus decodes again, through this project's
 * own Ogg parser and through FFmpeg's, with each run at its place on the
 * timeline, silence between, and a run cut where the next begins. */
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
#include "audio/keep.h"
#include "testutil.h"

/* Encodes pcm into a packet run (taken by the caller). */
static strbuf encode_run(const int16_t *pcm, size_t n)
{
    keep_encoder *e;
    assert_int_equal(keep_encoder_create(&e), 0);
    strbuf run = {0};
    /* In uneven pieces, as a session's audio comes. */
    int packets = 0;
    for (size_t at = 0; at < n;) {
        size_t take = n - at < 777 ? n - at : 777;
        int rc = keep_encoder_push(e, pcm + at, take, &run);
        assert_true(rc >= 0);
        packets += rc;
        at += take;
    }
    packets += keep_encoder_flush(e, &run);
    keep_encoder_free(e);
    assert_int_equal(packets, (int)((n + KEEP_FRAME - 1) / KEEP_FRAME));
    return run;
}

static pcm_buf decode(const uint8_t *ogg, size_t len, int ours)
{
    audio_format raw = audio_format_default();
    audio_file_t *f;
    char err[256] = "";
    if (audio_file_open(ogg, len, ours ? &raw : NULL, &f, err, sizeof(err)) != 0)
        fail_msg("open: %s", err);
    pcm_buf out = {0};
    int rc;
    while ((rc = audio_file_read(f, &out, 16000, err, sizeof(err))) == 0)
        ;
    if (rc != 1)
        fail_msg("read: %s", err);
    audio_file_close(f);
    return out;
}

static double rms(const int16_t *s, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)s[i] * s[i];
    return n ? sqrt(sum / n) : 0;
}

/* The level of each 100 ms of a and b agree (decoded speech is not the
 * same samples, but it is as loud at the same times). */
static void same_envelope(const int16_t *a, const int16_t *b, size_t n)
{
    int loud = 0;
    for (size_t at = 0; at + 1600 <= n; at += 1600) {
        double ra = rms(a + at, 1600), rb = rms(b + at, 1600);
        if (ra > 300) {
            loud++;
            if (rb < ra * 0.5 || rb > ra * 2)
                fail_msg("at %.1f s: level %.0f, decoded %.0f", at / 16000.0,
                         ra, rb);
        }
    }
    assert_true(loud >= 10);
}

static void test_runs_on_the_timeline(void **state)
{
    (void)state;
    size_t n1, n2;
    int16_t *one = tu_flite("slt", "The weather is nice today.", &n1);
    int16_t *two = tu_flite("rms", "Please open the window.", &n2);
    strbuf r1 = encode_run(one, n1), r2 = encode_run(two, n2);
    assert_float_equal(keep_run_seconds((uint8_t *)r1.data, r1.len),
                       ((n1 + KEEP_FRAME - 1) / KEEP_FRAME) * KEEP_PACKET_S, 1e-9);
    /* Run two starts 2 s after run one ends: silence between. */
    double gap_at = n1 / 16000.0, second = ceil(gap_at) + 2.0;
    keep_run runs[2] = {{(uint8_t *)r1.data, r1.len, 0},
                        {(uint8_t *)r2.data, r2.len, second}};
    size_t len;
    uint8_t *ogg = keep_ogg(runs, 2, &len);
    assert_non_null(ogg);
    /* About 16 kbit/s: 2 KB a second, with the pages around them. */
    double seconds = second + n2 / 16000.0;
    fprintf(stderr, "%.2f s in %zu bytes: %.2f MB per 10 minutes\n", seconds,
            len, len / seconds * 600 / 1e6);
    assert_true(len / seconds < 2600);
    for (int ours = 0; ours < 2; ours++) {
        pcm_buf pcm = decode(ogg, len, ours);
        double got = pcm.len / 16000.0;
        if (fabs(got - seconds) > 0.05)
            fail_msg("%s: %.3f s decoded, %.3f s wanted",
                     ours ? "ours" : "FFmpeg", got, seconds);
        /* Each run where it belongs (the encoder's delay is 6.5 ms). */
        size_t lag = 104;
        same_envelope(one, pcm.samples + lag, n1 - lag);
        size_t s2 = (size_t)(second * 16000) + lag;
        same_envelope(two, pcm.samples + s2, n2 - lag - 1600);
        size_t quiet_from = n1 + 3200, quiet_to = (size_t)(second * 16000) - 800;
        assert_true(rms(pcm.samples + quiet_from, quiet_to - quiet_from) < 30);
        pcm_buf_free(&pcm);
    }
    free(ogg);

    /* A run starting before the one before it ends cuts that one off. */
    runs[1].offset = 1.0;
    ogg = keep_ogg(runs, 2, &len);
    pcm_buf pcm = decode(ogg, len, 1);
    assert_float_equal(pcm.len / 16000.0, 1.0 + n2 / 16000.0, 0.05);
    same_envelope(two, pcm.samples + 16000 + 104, n2 - 104 - 1600);
    pcm_buf_free(&pcm);
    free(ogg);

    /* No runs: a valid file without audio. */
    ogg = keep_ogg(NULL, 0, &len);
    assert_non_null(ogg);
    pcm = decode(ogg, len, 1);
    assert_int_equal(pcm.len, 0);
    pcm_buf_free(&pcm);
    free(ogg);
    free(r1.data);
    free(r2.data);
    free(one);
    free(two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_on_the_timeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
