/*
 * demux.h - the audio module's own container parsers and decoders, inside
 * the module (input.c uses them; the fuzz targets in tests/ call them
 * directly).  Not for use outside src/audio/ and its tests.
 *
 * The two demuxers take the bytes of a WebM/Matroska or Ogg stream in
 * pieces of any size, down to one byte, and hand the compressed packets of
 * the stream's first audio track to a demux_sink, in order, as soon as
 * each is complete.  They never buffer more than one element or page, so
 * memory stays bounded whatever the stream's length.  Errors come back as
 * VB_EINVAL (damaged or truncated data) or VB_EUNSUPPORTED (a codec other
 * than Opus), with a message naming what was found; after one the parser
 * accepts nothing more.
 *
 * One parser belongs to one stream and one thread at a time.
 */
#ifndef VB_AUDIO_DEMUX_H
#define VB_AUDIO_DEMUX_H

#include <stddef.h>
#include <stdint.h>

#include "audio.h"

typedef struct demux_sink {
    /* The audio track is known: codec_private is the Opus identification
     * header ("OpusHead"...). */
    int (*track)(void *ctx, const uint8_t *codec_private, size_t len,
                 char *err, size_t errlen);
    /* One compressed packet of that track. */
    int (*packet)(void *ctx, const uint8_t *data, size_t len, char *err,
                  size_t errlen);
    void *ctx;
} demux_sink;

typedef struct webm_demux webm_demux;
int webm_demux_create(const demux_sink *sink, webm_demux **out);
int webm_demux_feed(webm_demux *d, const uint8_t *data, size_t len,
                    char *err, size_t errlen);
/* The stream ended: VB_EINVAL if it ended inside an element. */
int webm_demux_finish(webm_demux *d, char *err, size_t errlen);
void webm_demux_destroy(webm_demux *d);
/* Bytes the demuxer holds for partial elements (for the tests: it must
 * stay bounded by the largest element, whatever the pieces). */
size_t webm_demux_buffered(const webm_demux *d);

typedef struct ogg_demux ogg_demux;
int ogg_demux_create(const demux_sink *sink, ogg_demux **out);
int ogg_demux_feed(ogg_demux *d, const uint8_t *data, size_t len, char *err,
                   size_t errlen);
int ogg_demux_finish(ogg_demux *d, char *err, size_t errlen);
void ogg_demux_destroy(ogg_demux *d);
/* Ogg's CRC-32 of a whole page, its CRC field (bytes 22-25) counted as
 * 0 (for writers too: keep.c). */
uint32_t ogg_page_crc(const uint8_t *page, size_t len);

/* An Opus decoder built from an "OpusHead" header (RFC 7845 5.1).  Its
 * output is mono float at 48 kHz with the encoder's pre-skip removed. */
typedef struct opus_in opus_in;
int opus_in_create(const uint8_t *head, size_t len, opus_in **out,
                   char *err, size_t errlen);
/* Decodes one packet; *mono points into the decoder (valid until the next
 * call) and *frames is how many samples it holds. */
int opus_in_decode(opus_in *d, const uint8_t *packet, size_t len,
                   const float **mono, size_t *frames, char *err,
                   size_t errlen);
int opus_in_channels(const opus_in *d);
void opus_in_destroy(opus_in *d);

/* A band-limited resampler (libsoxr, high quality) from `rate` to 16 kHz,
 * or a plain conversion when the rate is 16 kHz already. */
typedef struct resampler resampler;
int resampler_create(int rate, resampler **out, char *err, size_t errlen);
/* Appends the 16 kHz samples that `frames` more mono samples complete. */
int resampler_push(resampler *r, const float *mono, size_t frames,
                   pcm_buf *out);
/* The input has ended: appends what the filter still holds. */
int resampler_flush(resampler *r, pcm_buf *out);
void resampler_destroy(resampler *r);

#endif
