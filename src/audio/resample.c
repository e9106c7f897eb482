/*
 * resample.c - mono float at any rate to 16 kHz int16 (see demux.h).
 *
 * libsoxr's high-quality setting is a linear-phase band-limited filter:
 * what lies above 8 kHz is removed before decimation instead of folding
 * back as aliasing, which the recogniser would hear as noise.
 */
#include <soxr.h>
#include <stdlib.h>

#include "../util/vb.h"
#include "demux.h"

struct resampler {
    soxr_t soxr; /* NULL at 16 kHz */
    int rate;
    int16_t *out; /* scratch for one push */
    size_t out_cap;
};

int resampler_create(int rate, resampler **out, char *err, size_t errlen)
{
    resampler *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return VB_ENOMEM;
    r->rate = rate;
    if (rate != AUDIO_ENGINE_RATE) {
        soxr_error_t serr = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_INT16_I);
        io.flags |= SOXR_NO_DITHER; /* the same bytes give the same samples */
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        r->soxr = soxr_create(rate, AUDIO_ENGINE_RATE, 1, &serr, &io, &q, NULL);
        if (r->soxr == NULL) {
            vb_seterr(err, errlen, "cannot resample from %d Hz: %s", rate,
                      serr ? serr : "unknown error");
            free(r);
            return VB_EINTERNAL;
        }
    }
    *out = r;
    return 0;
}

void resampler_destroy(resampler *r)
{
    if (r == NULL)
        return;
    if (r->soxr)
        soxr_delete(r->soxr);
    free(r->out);
    free(r);
}

static int reserve_out(resampler *r, size_t count)
{
    if (count <= r->out_cap)
        return 0;
    int16_t *grown = realloc(r->out, count * sizeof(int16_t));
    if (grown == NULL)
        return VB_ENOMEM;
    r->out = grown;
    r->out_cap = count;
    return 0;
}

static int16_t to_int16(float v)
{
    v *= 32768.0f;
    return (int16_t)(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
}

/* mono NULL flushes. */
static int run_soxr(resampler *r, const float *mono, size_t frames,
                    pcm_buf *out)
{
    size_t room = frames * AUDIO_ENGINE_RATE / (size_t)r->rate + 64;
    int rc = reserve_out(r, room);
    if (rc != 0)
        return rc;
    size_t left = frames;
    for (;;) {
        size_t used = 0, made = 0;
        if (soxr_process(r->soxr, mono, left, &used, r->out, room, &made))
            return VB_EINTERNAL;
        rc = pcm_buf_append(out, r->out, made);
        if (rc != 0)
            return rc;
        if (mono == NULL) {
            if (made == 0)
                return 0; /* flushed */
            continue;
        }
        mono += used;
        left -= used;
        if (left == 0)
            return 0;
    }
}

int resampler_push(resampler *r, const float *mono, size_t frames,
                   pcm_buf *out)
{
    if (frames == 0)
        return 0;
    if (r->soxr != NULL)
        return run_soxr(r, mono, frames, out);
    int rc = reserve_out(r, frames);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < frames; i++)
        r->out[i] = to_int16(mono[i]);
    return pcm_buf_append(out, r->out, frames);
}

int resampler_flush(resampler *r, pcm_buf *out)
{
    return r->soxr != NULL ? run_soxr(r, NULL, 0, out) : 0;
}
