/*
 * test_codecs.c - WebM/Opus and Ogg/Opus streams split at every byte and
 * at random places, damaged and unsupported streams, and whole files in
 * the formats FFmpeg decodes (audio/webm.c, ogg.c, opus.c, file.c).
 *
 * The inputs are made by tests/fixtures/make.sh (flite speech encoded by
 * the ffmpeg tool) in build/fixtures/, or $VB_FIXTURES.
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
#include "testutil.h"
#include "util/vb.h"

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

static blob load(const char *name)
{
    blob b;
    b.data = tu_fixture(name, &b.len);
    return b;
}

/* Feeds the stream in pieces: of `step` bytes, or of random sizes up to
 * 200 when step is 0.  Returns the feed and finish codes in *rc. */
static pcm_buf decode(const blob *b, size_t step, unsigned seed, int *rc,
                      char *err, size_t errlen)
{
    audio_format fmt = audio_format_default();
    audio_input_t *in;
    assert_int_equal(audio_input_create(&fmt, &in), 0);
    pcm_buf out = {0};
    *rc = 0;
    for (size_t pos = 0; pos < b->len && *rc == 0;) {
        size_t n = step ? step : 1 + (size_t)(rand_r(&seed) % 200);
        n = n < b->len - pos ? n : b->len - pos;
        *rc = audio_input_feed(in, b->data + pos, n, &out, err, errlen);
        pos += n;
    }
    int fin = audio_input_finish(in, &out, err, errlen);
    *rc = *rc ? *rc : fin;
    audio_input_destroy(in);
    return out;
}

static size_t wav_samples(void)
{
    blob wav = load("speech.wav");
    int rc;
    char err[200];
    pcm_buf ref = decode(&wav, 65536, 0, &rc, err, sizeof(err));
    assert_int_equal(rc, 0);
    size_t n = ref.len;
    pcm_buf_free(&ref);
    free(wav.data);
    return n;
}

/* Whatever the split, the decoded samples are the same, and as long as
 * the original speech (the encoder's delay is removed). */
static void check_split_anywhere(const char *name, const char *describes)
{
    blob b = load(name);
    int rc;
    char err[200] = "";
    pcm_buf whole = decode(&b, b.len, 0, &rc, err, sizeof(err));
    assert_int_equal(rc, 0);
    size_t expected = wav_samples();
    assert_true(whole.len + 320 >= expected && whole.len <= expected + 320);
    double energy = 0;
    for (size_t i = 0; i < whole.len; i++)
        energy += (double)whole.samples[i] * whole.samples[i];
    assert_true(energy / (double)whole.len > 1e5); /* speech, not silence */

    pcm_buf bytewise = decode(&b, 1, 0, &rc, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_int_equal(bytewise.len, whole.len);
    assert_memory_equal(bytewise.samples, whole.samples, whole.len * 2);
    pcm_buf_free(&bytewise);
    for (unsigned seed = 1; seed <= 20; seed++) {
        pcm_buf random = decode(&b, 0, seed, &rc, err, sizeof(err));
        assert_int_equal(rc, 0);
        assert_int_equal(random.len, whole.len);
        assert_memory_equal(random.samples, whole.samples, whole.len * 2);
        pcm_buf_free(&random);
    }
    audio_format fmt = audio_format_default();
    audio_input_t *in;
    assert_int_equal(audio_input_create(&fmt, &in), 0);
    pcm_buf tmp = {0};
    assert_int_equal(audio_input_feed(in, b.data, b.len, &tmp, err,
                                      sizeof(err)), 0);
    assert_non_null(strstr(audio_input_describe(in), describes));
    audio_input_destroy(in);
    pcm_buf_free(&tmp);
    pcm_buf_free(&whole);
    free(b.data);
}

static void test_webm_split_anywhere(void **state)
{
    check_split_anywhere("speech.webm", "WebM with Opus, 1 channel");
    check_split_anywhere("speech_live.webm", "WebM with Opus");
    check_split_anywhere("speech_video.webm", "WebM with Opus");
}

static void test_ogg_split_anywhere(void **state)
{
    check_split_anywhere("speech.ogg", "Ogg with Opus, 1 channel");
    check_split_anywhere("speech_stereo.ogg", "Ogg with Opus, 2 channels");
}

static int count_packet(void *ctx, const uint8_t *data, size_t len,
                        char *err, size_t errlen)
{
    (*(int *)ctx)++;
    return 0;
}

static int accept_track(void *ctx, const uint8_t *head, size_t len, char *err,
                        size_t errlen)
{
    return len >= 8 && memcmp(head, "OpusHead", 8) == 0 ? 0 : VB_EINVAL;
}

/* Small elements split between pieces, over and over, must not make the
 * demuxer's buffer grow (it once doubled at every split). */
static void test_webm_memory_stays_bounded(void **state)
{
    blob b = load("speech_live.webm");
    for (size_t piece = 1; piece <= 13; piece += 3) {
        int packets = 0;
        demux_sink sink = {accept_track, count_packet, &packets};
        webm_demux *d;
        assert_int_equal(webm_demux_create(&sink, &d), 0);
        char err[200];
        for (size_t pos = 0; pos < b.len; pos += piece) {
            size_t n = b.len - pos < piece ? b.len - pos : piece;
            assert_int_equal(webm_demux_feed(d, b.data + pos, n, err,
                                             sizeof(err)), 0);
        }
        assert_int_equal(webm_demux_finish(d, err, sizeof(err)), 0);
        assert_true(packets > 150); /* 20 ms packets of ~3.8 s */
        assert_true(webm_demux_buffered(d) <= 4096);
        webm_demux_destroy(d);
    }
    free(b.data);
}

/* Narrowband input gets its empty upper band filled with quiet noise
 * (resample.c says why); wideband input is left alone. */
static void test_narrowband_fill(void **state)
{
    float silence[8000] = {0};
    pcm_buf out = {0};
    char err[100];
    resampler *r;
    assert_int_equal(resampler_create(8000, &r, err, sizeof(err)), 0);
    assert_int_equal(resampler_push(r, silence, 8000, &out), 0);
    assert_int_equal(resampler_flush(r, &out), 0);
    assert_true(out.len > 15900 && out.len < 16100);
    double power = 0, lag1 = 0;
    for (size_t i = 1; i < out.len; i++) {
        power += (double)out.samples[i] * out.samples[i];
        lag1 += (double)out.samples[i] * out.samples[i - 1];
    }
    double rms = sqrt(power / (double)out.len);
    assert_true(rms > 60 && rms < 250);  /* about -48 dBFS */
    assert_true(lag1 / power < -0.5);    /* above 4 kHz: sign flips */
    resampler_destroy(r);
    pcm_buf_free(&out);

    assert_int_equal(resampler_create(22050, &r, err, sizeof(err)), 0);
    assert_int_equal(resampler_push(r, silence, 8000, &out), 0);
    assert_int_equal(resampler_flush(r, &out), 0);
    for (size_t i = 0; i < out.len; i++)
        assert_int_equal(out.samples[i], 0);
    resampler_destroy(r);
    pcm_buf_free(&out);
}

/* Damage: the error names it, and the audio before it is kept. */
static void test_damaged_streams(void **state)
{
    blob b = load("truncated.webm");
    int rc;
    char err[200] = "";
    pcm_buf out = decode(&b, 100, 0, &rc, err, sizeof(err));
    assert_int_equal(rc, VB_EINVAL);
    assert_non_null(strstr(err, "WebM stream was cut off"));
    assert_true(out.len > AUDIO_ENGINE_RATE); /* over a second before it */
    pcm_buf_free(&out);
    free(b.data);

    b = load("corrupt.ogg");
    out = decode(&b, 100, 0, &rc, err, sizeof(err));
    assert_int_equal(rc, VB_EINVAL);
    assert_non_null(strstr(err, "damaged Ogg data"));
    assert_non_null(strstr(err, "checksum"));
    assert_true(out.len > AUDIO_ENGINE_RATE / 2);
    pcm_buf_free(&out);
    free(b.data);
}

static void test_unsupported_codecs(void **state)
{
    static const struct {
        const char *file, *names;
    } cases[] = {{"speech_vorbis.ogg", "Vorbis audio; supported in Ogg: Opus"},
                 {"speech_vorbis.webm", "codec A_VORBIS; supported in WebM"}};
    for (size_t i = 0; i < 2; i++) {
        blob b = load(cases[i].file);
        int rc;
        char err[200] = "";
        pcm_buf out = decode(&b, 1000, 0, &rc, err, sizeof(err));
        assert_int_equal(rc, VB_EUNSUPPORTED);
        assert_non_null(strstr(err, cases[i].names));
        assert_int_equal(out.len, 0);
        pcm_buf_free(&out);
        free(b.data);
    }
}

/* A whole file: 0 and the samples, or the error (samples kept). */
static int decode_file(const char *name, const audio_format *raw,
                       pcm_buf *out, char *err, size_t errlen)
{
    blob b = load(name);
    audio_file_t *f = NULL;
    int rc = audio_file_open(b.data, b.len, raw, &f, err, errlen);
    while (rc == 0)
        rc = audio_file_read(f, out, 4000, err, errlen);
    if (f != NULL)
        assert_non_null(audio_file_describe(f));
    audio_file_close(f);
    free(b.data);
    return rc == 1 ? 0 : rc;
}

/* Every format decodes to the speech's length (lossy coders add up to a
 * few tens of milliseconds of padding). */
static void test_files_in_every_format(void **state)
{
    static const char *const files[] = {
        "speech.wav", "speech.flac", "speech.mp3", "speech.m4a",
        "speech.ogg", "speech.webm", "speech_vorbis.ogg", "speech_vorbis.webm",
        "speech_8k.wav", "speech_22k.wav", "speech_44k_stereo.wav",
        "speech_48k_float.wav", "speech_48k_s24_stereo.wav"};
    size_t expected = wav_samples();
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        pcm_buf out = {0};
        char err[200] = "";
        int rc = decode_file(files[i], NULL, &out, err, sizeof(err));
        if (rc != 0)
            fail_msg("%s: %s", files[i], err);
        if (out.len + 800 < expected || out.len > expected + 1600)
            fail_msg("%s: %zu samples, expected about %zu", files[i],
                     out.len, expected);
        pcm_buf_free(&out);
    }
}

static void test_file_errors(void **state)
{
    char err[200] = "";
    audio_file_t *f = NULL;
    static const uint8_t junk[64] = "this is a text file, not a recording";
    assert_int_equal(audio_file_open(junk, 0, NULL, &f, err, sizeof(err)),
                     VB_EINVAL);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(audio_file_open(junk, sizeof(junk), NULL, &f, err,
                                     sizeof(err)), VB_EUNSUPPORTED);
    assert_non_null(strstr(err, "not recognised"));
    assert_null(f);
    /* Declared raw PCM: the same bytes are samples. */
    audio_format raw = audio_format_default();
    pcm_buf out = {0};
    assert_int_equal(audio_file_open(junk, sizeof(junk), &raw, &f, err,
                                     sizeof(err)), 0);
    assert_int_equal(audio_file_read(f, &out, 1000, err, sizeof(err)), 1);
    assert_int_equal(out.len, 32);
    audio_file_close(f);
    pcm_buf_free(&out);

    /* Damage part way: the error, and the audio before it. */
    int rc = decode_file("truncated.webm", NULL, &out, err, sizeof(err));
    assert_int_equal(rc, VB_EINVAL);
    assert_non_null(strstr(err, "cut off"));
    assert_true(out.len > AUDIO_ENGINE_RATE);
    pcm_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webm_split_anywhere),
        cmocka_unit_test(test_ogg_split_anywhere),
        cmocka_unit_test(test_webm_memory_stays_bounded),
        cmocka_unit_test(test_narrowband_fill),
        cmocka_unit_test(test_damaged_streams),
        cmocka_unit_test(test_unsupported_codecs),
        cmocka_unit_test(test_files_in_every_format),
        cmocka_unit_test(test_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
