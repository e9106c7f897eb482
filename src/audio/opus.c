/*
 * opus.c - Opus packets to mono float at 48 kHz (see demux.h).
 *
 * The identification header (RFC 7845 section 5.1, the same bytes in Ogg
 * and as Matroska's CodecPrivate) gives the channel count, the pre-skip
 * (encoder delay, in 48 kHz samples, dropped from the start of the
 * output), the output gain and the channel mapping.  libopus's multistream
 * decoder covers every mapping family; family 0 is one stream of one or
 * two channels.  Decoding always runs at 48 kHz, Opus's own rate, and
 * resampler.c takes it to 16 kHz, so that the band limit is soxr's.
 */
#include <opus/opus_multistream.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "demux.h"

#define OPUS_RATE 48000
#define OPUS_MAX_FRAME 5760 /* 120 ms at 48 kHz, the longest packet */

struct opus_in {
    OpusMSDecoder *dec;
    int channels;
    int skip;         /* pre-skip samples still to drop */
    float *pcm;       /* interleaved, OPUS_MAX_FRAME * channels */
    float *mono;      /* OPUS_MAX_FRAME */
};

int opus_in_create(const uint8_t *head, size_t len, opus_in **out,
                   char *err, size_t errlen)
{
    if (len < 19 || memcmp(head, "OpusHead", 8) != 0) {
        vb_seterr(err, errlen, "the Opus track has no valid OpusHead header");
        return VB_EINVAL;
    }
    if ((head[8] & 0xF0) != 0) {
        vb_seterr(err, errlen, "Opus header version %u is not supported",
                  head[8]);
        return VB_EUNSUPPORTED;
    }
    int channels = head[9];
    int pre_skip = head[10] | head[11] << 8;
    int16_t gain = (int16_t)(head[16] | head[17] << 8);
    int family = head[18];
    unsigned char mapping[255] = {0, 1};
    int streams = 1, coupled = channels == 2;
    if (channels == 0) {
        vb_seterr(err, errlen, "the Opus header says 0 channels");
        return VB_EINVAL;
    }
    if (family == 0) {
        if (channels > 2) {
            vb_seterr(err, errlen, "Opus mapping family 0 with %d channels",
                      channels);
            return VB_EINVAL;
        }
    } else {
        if (len < 21 + (size_t)channels) {
            vb_seterr(err, errlen, "the Opus header's channel table is short");
            return VB_EINVAL;
        }
        streams = head[19];
        coupled = head[20];
        memcpy(mapping, head + 21, (size_t)channels);
    }
    opus_in *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return VB_ENOMEM;
    int oerr = OPUS_OK;
    d->dec = opus_multistream_decoder_create(OPUS_RATE, channels, streams,
                                             coupled, mapping, &oerr);
    if (d->dec == NULL) {
        vb_seterr(err, errlen, "the Opus header is not usable: %s",
                  opus_strerror(oerr));
        free(d);
        return VB_EINVAL;
    }
    if (gain != 0)
        opus_multistream_decoder_ctl(d->dec, OPUS_SET_GAIN(gain));
    d->channels = channels;
    d->skip = pre_skip;
    d->pcm = malloc(sizeof(float) * OPUS_MAX_FRAME * (size_t)channels);
    d->mono = malloc(sizeof(float) * OPUS_MAX_FRAME);
    if (d->pcm == NULL || d->mono == NULL) {
        opus_in_destroy(d);
        return VB_ENOMEM;
    }
    *out = d;
    return 0;
}

void opus_in_destroy(opus_in *d)
{
    if (d == NULL)
        return;
    if (d->dec)
        opus_multistream_decoder_destroy(d->dec);
    free(d->pcm);
    free(d->mono);
    free(d);
}

int opus_in_channels(const opus_in *d)
{
    return d->channels;
}

int opus_in_decode(opus_in *d, const uint8_t *packet, size_t len,
                   const float **mono, size_t *frames, char *err,
                   size_t errlen)
{
    *frames = 0;
    *mono = d->mono;
    if (len == 0)
        return 0; /* an empty packet carries nothing (a gap marker) */
    if (len > 0x7FFFFFFF) {
        vb_seterr(err, errlen, "an Opus packet is too large");
        return VB_EINVAL;
    }
    int n = opus_multistream_decode_float(d->dec, packet, (opus_int32)len,
                                          d->pcm, OPUS_MAX_FRAME, 0);
    if (n < 0) {
        vb_seterr(err, errlen, "a damaged Opus packet (%s)", opus_strerror(n));
        return VB_EINVAL;
    }
    int start = d->skip < n ? d->skip : n;
    d->skip -= start;
    for (int i = start; i < n; i++) {
        float sum = 0;
        for (int c = 0; c < d->channels; c++)
            sum += d->pcm[i * d->channels + c];
        d->mono[i - start] = sum / (float)d->channels;
    }
    *frames = (size_t)(n - start);
    return 0;
}
