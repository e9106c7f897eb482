/*
 * fuzz_common.h - what the fuzz targets share: a demux sink that decodes
 * every packet the way audio/input.c does, and a way to cut the input
 * into pieces so that the parsers' resumption at every byte is exercised.
 */
#ifndef VB_FUZZ_COMMON_H
#define VB_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "audio/demux.h"

typedef struct {
    opus_in *opus;
    resampler *resampler;
    pcm_buf out;
} fuzz_decoder;

static int fuzz_track(void *ctx, const uint8_t *head, size_t len, char *err,
                      size_t errlen)
{
    fuzz_decoder *d = ctx;
    if (d->opus != NULL)
        return -1;
    int rc = opus_in_create(head, len, &d->opus, err, errlen);
    if (rc == 0)
        rc = resampler_create(48000, &d->resampler, err, errlen);
    return rc;
}

static int fuzz_packet(void *ctx, const uint8_t *data, size_t len, char *err,
                       size_t errlen)
{
    fuzz_decoder *d = ctx;
    if (d->opus == NULL)
        return 0;
    const float *mono;
    size_t frames;
    int rc = opus_in_decode(d->opus, data, len, &mono, &frames, err, errlen);
    if (rc == 0)
        rc = resampler_push(d->resampler, mono, frames, &d->out);
    d->out.len = 0; /* keep memory flat */
    return rc;
}

static void fuzz_decoder_free(fuzz_decoder *d)
{
    opus_in_destroy(d->opus);
    resampler_destroy(d->resampler);
    pcm_buf_free(&d->out);
}

/* The first byte of the input chooses the piece size (1-256 bytes). */
static size_t fuzz_piece(const uint8_t **data, size_t *len)
{
    if (*len == 0)
        return 1;
    size_t piece = (size_t)(*data)[0] + 1;
    (*data)++;
    (*len)--;
    return piece;
}

#endif
