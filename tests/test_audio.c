/*
 * test_audio.c - format sniffing, WAV headers split at every byte, sample
 * conversion, resampling and the voice activity detector (audio/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "audio/vad.h"
#include "util/vb.h"

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xFFFF);
    put16(p + 2, v >> 16);
}

/* A WAV file: a LIST chunk before data, as many tools write. */
static size_t make_wav(uint8_t *out, unsigned tag, int channels, int rate,
                       int bits, const uint8_t *samples, size_t len)
{
    memcpy(out, "RIFF\0\0\0\0WAVE", 12);
    memcpy(out + 12, "fmt ", 4);
    put32(out + 16, 16);
    put16(out + 20, tag);
    put16(out + 22, (unsigned)channels);
    put32(out + 24, (uint32_t)rate);
    put32(out + 28, (uint32_t)(rate * channels * bits / 8));
    put16(out + 32, (unsigned)(channels * bits / 8));
    put16(out + 34, (unsigned)bits);
    memcpy(out + 36, "LIST\x05\0\0\0abcde\0", 14); /* odd size: padded */
    memcpy(out + 50, "data", 4);
    put32(out + 54, (uint32_t)len);
    memcpy(out + 58, samples, len);
    return 58 + len;
}

static audio_input_t *input(void)
{
    audio_format fmt = audio_format_default();
    audio_input_t *in;
    assert_int_equal(audio_input_create(&fmt, &in), 0);
    return in;
}

/* Feeds data in pieces of `step` bytes; returns the samples made. */
static pcm_buf feed_in_steps(audio_input_t *in, const uint8_t *data,
                             size_t len, size_t step)
{
    pcm_buf out = {0};
    char err[128];
    for (size_t pos = 0; pos < len; pos += step) {
        size_t n = len - pos < step ? len - pos : step;
        assert_int_equal(audio_input_feed(in, data + pos, n, &out, err,
                                          sizeof(err)), 0);
    }
    assert_int_equal(audio_input_finish(in, &out, err, sizeof(err)), 0);
    return out;
}

static void test_raw_pcm_passes_through(void **state)
{
    int16_t samples[1000];
    for (int i = 0; i < 1000; i++)
        samples[i] = (int16_t)(i * 37 - 18000);
    for (size_t step = 1; step <= 7; step++) {
        audio_input_t *in = input();
        pcm_buf out = feed_in_steps(in, (uint8_t *)samples, sizeof(samples), step);
        assert_int_equal(out.len, 1000);
        assert_memory_equal(out.samples, samples, sizeof(samples));
        assert_non_null(strstr(audio_input_describe(in), "raw"));
        pcm_buf_free(&out);
        audio_input_destroy(in);
    }
}

/* A stereo 16-bit WAV split at every possible byte gives the same mono
 * samples: the average of the channels. */
static void test_wav_split_anywhere(void **state)
{
    int16_t stereo[400];
    for (int i = 0; i < 200; i++) {
        stereo[2 * i] = (int16_t)(i * 100);
        stereo[2 * i + 1] = (int16_t)(i * 100 + 50);
    }
    uint8_t wav[2048];
    size_t len = make_wav(wav, 1, 2, 16000, 16, (uint8_t *)stereo, sizeof(stereo));
    for (size_t step = 1; step <= len; step += (step < 70 ? 1 : 97)) {
        audio_input_t *in = input();
        pcm_buf out = feed_in_steps(in, wav, len, step);
        assert_int_equal(out.len, 200);
        for (int i = 0; i < 200; i++)
            assert_int_equal(out.samples[i], i * 100 + 25);
        assert_non_null(strstr(audio_input_describe(in), "WAV, 16000 Hz, 2 channels"));
        pcm_buf_free(&out);
        audio_input_destroy(in);
    }
}

static void test_wav_sample_formats(void **state)
{
    uint8_t wav[256];
    /* 8-bit unsigned: 128 is silence, 255 almost full scale. */
    uint8_t u8[4] = {128, 255, 0, 128};
    audio_input_t *in = input();
    pcm_buf out = feed_in_steps(in, wav, make_wav(wav, 1, 1, 16000, 8, u8, 4), 5);
    assert_int_equal(out.len, 4);
    assert_int_equal(out.samples[0], 0);
    assert_true(out.samples[1] > 32000);
    assert_int_equal(out.samples[2], -32768);
    pcm_buf_free(&out);
    audio_input_destroy(in);

    /* 24-bit: 0x400000 is half scale. */
    uint8_t s24[6] = {0x00, 0x00, 0x40, 0x00, 0x00, 0xC0};
    in = input();
    out = feed_in_steps(in, wav, make_wav(wav, 1, 1, 16000, 24, s24, 6), 3);
    assert_int_equal(out.len, 2);
    assert_int_equal(out.samples[0], 16384);
    assert_int_equal(out.samples[1], -16384);
    pcm_buf_free(&out);
    audio_input_destroy(in);

    /* 32-bit float, clipped beyond +-1; NaN becomes silence. */
    float f32[4] = {0.5f, -2.0f, NAN, 0.25f};
    in = input();
    out = feed_in_steps(in, wav, make_wav(wav, 3, 1, 16000, 32, (uint8_t *)f32, 16), 1);
    assert_int_equal(out.len, 4);
    assert_int_equal(out.samples[0], 16384);
    assert_int_equal(out.samples[1], -32768);
    assert_int_equal(out.samples[2], 0);
    assert_int_equal(out.samples[3], 8192);
    pcm_buf_free(&out);
    audio_input_destroy(in);
}

static void test_mulaw_raw(void **state)
{
    audio_format fmt = {AUDIO_MULAW, 16000, 1, 0};
    audio_input_t *in;
    assert_int_equal(audio_input_create(&fmt, &in), 0);
    uint8_t bytes[4] = {0xFF, 0x7F, 0x80, 0x00}; /* +0, -0, max, min */
    pcm_buf out = feed_in_steps(in, bytes, 4, 4);
    assert_int_equal(out.len, 4);
    assert_true(abs(out.samples[0]) < 16 && abs(out.samples[1]) < 16);
    assert_true(out.samples[2] > 30000);
    assert_true(out.samples[3] < -30000);
    pcm_buf_free(&out);
    audio_input_destroy(in);
}

/* One second at 44.1 kHz becomes one second at 16 kHz, and a 440 Hz tone
 * keeps its level. */
static void test_resample_length_and_level(void **state)
{
    audio_format fmt = {AUDIO_LINEAR16, 44100, 1, 0};
    audio_input_t *in;
    assert_int_equal(audio_input_create(&fmt, &in), 0);
    int16_t *tone = malloc(44100 * sizeof(int16_t));
    for (int i = 0; i < 44100; i++)
        tone[i] = (int16_t)(10000 * sin(2 * M_PI * 440 * i / 44100.0));
    pcm_buf out = feed_in_steps(in, (uint8_t *)tone, 44100 * 2, 4410 * 2);
    assert_true(labs((long)out.len - 16000) <= 2);
    double energy = 0;
    for (size_t i = 2000; i < 14000; i++)
        energy += (double)out.samples[i] * out.samples[i];
    double rms = sqrt(energy / 12000);
    assert_true(fabs(rms - 10000 / sqrt(2)) < 300);
    free(tone);
    pcm_buf_free(&out);
    audio_input_destroy(in);
}

static void expect_failure(const uint8_t *data, size_t len, int code,
                           const char *part)
{
    audio_input_t *in = input();
    pcm_buf out = {0};
    char err[200] = "";
    assert_int_equal(audio_input_feed(in, data, len, &out, err, sizeof(err)), code);
    assert_non_null(strstr(err, part));
    /* Once failed, it stays failed. */
    assert_int_not_equal(audio_input_feed(in, data, len, &out, err, sizeof(err)), 0);
    pcm_buf_free(&out);
    audio_input_destroy(in);
}

static void test_rejections(void **state)
{
    /* An empty EBML header, then a byte that cannot begin an element. */
    static const uint8_t webm[] = {0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x00};
    expect_failure(webm, sizeof(webm), VB_EINVAL, "damaged WebM data near byte 6");
    uint8_t ogg[27] = "OggS\x01";
    expect_failure(ogg, sizeof(ogg), VB_EINVAL, "no page starts here");
    ogg[4] = 0; /* version 0, no segments, but a checksum of zero */
    ogg[22] = 1;
    expect_failure(ogg, sizeof(ogg), VB_EINVAL, "checksum");
    uint8_t wav[128];
    uint8_t zero[4] = {0};
    size_t len = make_wav(wav, 0x55, 1, 16000, 16, zero, 4); /* MP3 in WAV */
    expect_failure(wav, len, VB_EUNSUPPORTED, "format tag 85");
    len = make_wav(wav, 1, 1, 96000, 16, zero, 4);
    expect_failure(wav, len, VB_EINVAL, "sample rate 96000");
    len = make_wav(wav, 1, 12, 16000, 16, zero, 4);
    expect_failure(wav, len, VB_EINVAL, "12 channels");

    /* A stream that ends inside its WAV header. */
    audio_input_t *in = input();
    pcm_buf out = {0};
    char err[200];
    assert_int_equal(audio_input_feed(in, wav, 20, &out, err, sizeof(err)), 0);
    assert_int_equal(audio_input_finish(in, &out, err, sizeof(err)), VB_EINVAL);
    assert_non_null(strstr(err, "header"));
    audio_input_destroy(in);

    audio_format bad = {AUDIO_LINEAR16, 4000, 1, 0};
    assert_int_equal(audio_format_check(&bad, err, sizeof(err)), VB_EINVAL);
    audio_encoding enc;
    assert_int_equal(audio_encoding_parse("linear32", &enc), 0);
    assert_int_equal(enc, AUDIO_LINEAR32);
    assert_int_equal(audio_encoding_parse("flac", &enc), VB_EINVAL);
}

/* Fewer than four bytes in all: raw PCM, decided at the end. */
static void test_tiny_stream(void **state)
{
    audio_input_t *in = input();
    uint8_t two[2] = {0x10, 0x00};
    pcm_buf out = feed_in_steps(in, two, 2, 1);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.samples[0], 16);
    pcm_buf_free(&out);
    audio_input_destroy(in);
}

static int run_vad(vad_t *vad, const int16_t *frame, int frames, vad_event want)
{
    for (int i = 0; i < frames; i++)
        if (vad_process(vad, frame) == want)
            return i;
    return -1;
}

static void test_vad(void **state)
{
    vad_params p = vad_default_params();
    vad_t vad;
    vad_init(&vad, &p);
    int16_t silence[VAD_FRAME] = {0}, hiss[VAD_FRAME], voice[VAD_FRAME];
    unsigned seed = 1;
    for (int i = 0; i < VAD_FRAME; i++) {
        hiss[i] = (int16_t)((int)((seed = seed * 1103515245u + 12345u) >> 16) % 200 - 100);
        voice[i] = (int16_t)(8000 * sin(2 * M_PI * 200 * i / 16000.0));
    }
    /* Steady hiss and digital silence are not speech. */
    assert_int_equal(run_vad(&vad, hiss, 300, VAD_SPEECH_START), -1);
    assert_int_equal(run_vad(&vad, silence, 100, VAD_SPEECH_START), -1);
    /* A loud voice starts speech within the start window... */
    int at = run_vad(&vad, voice, 20, VAD_SPEECH_START);
    assert_true(at >= 0 && at < p.start_window);
    assert_int_equal(vad_process(&vad, voice), VAD_SPEECH);
    /* ...and the endpoint comes after endpoint_ms of quiet. */
    at = run_vad(&vad, hiss, 200, VAD_SPEECH_END);
    assert_int_equal(at + 1, p.endpoint_ms / 10);
    assert_int_equal(vad_process(&vad, hiss), VAD_SILENCE);
    /* A Finalize in the middle of speech resets to silence. */
    run_vad(&vad, voice, 20, VAD_SPEECH_START);
    vad_reset_to_silence(&vad);
    assert_false(vad.in_speech);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_pcm_passes_through),
        cmocka_unit_test(test_wav_split_anywhere),
        cmocka_unit_test(test_wav_sample_formats),
        cmocka_unit_test(test_mulaw_raw),
        cmocka_unit_test(test_resample_length_and_level),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_tiny_stream),
        cmocka_unit_test(test_vad),
    };
    return cmocka_run_group_tests_name("audio", tests, NULL, NULL);
}
