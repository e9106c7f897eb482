/*
 * audio.h - from the bytes a client sends to 16 kHz mono 16-bit samples.
 *
 * An audio_input_t looks at the first bytes of a stream to tell what it
 * is (docs/protocol.md 2.2): "RIFF....WAVE" is WAV and its header says the format;
 * 1A 45 DF A3 is WebM/Matroska and "OggS" is Ogg, each carrying Opus
 * (webm.c, ogg.c, opus.c); anything else is raw PCM as the client
 * declared it (encoding, sample rate, channels).  Bytes may arrive split
 * anywhere, even one at a time, and are decoded as soon as they complete
 * a sample frame or a compressed packet.  Channels are mixed down and
 * other rates resampled with libsoxr's band-limited resampler.
 *
 * audio_file_t (file.c) decodes a whole recording held in memory, in any
 * format FFmpeg's libraries know (FLAC, MP3, M4A/AAC, ...), for uploads
 * and the command line.
 *
 * No global state; one audio_input_t belongs to one stream and is used by
 * one thread at a time.
 */
#ifndef VB_AUDIO_H
#define VB_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#define AUDIO_ENGINE_RATE 16000
#define AUDIO_MIN_RATE 8000
#define AUDIO_MAX_RATE 48000
#define AUDIO_MAX_CHANNELS 8

typedef enum {
    AUDIO_LINEAR16, /* signed 16-bit little-endian */
    AUDIO_LINEAR32, /* 32-bit float little-endian */
    AUDIO_MULAW     /* G.711 mu-law, 8 bits */
} audio_encoding;

typedef struct audio_format {
    audio_encoding encoding;
    int sample_rate;
    int channels;
    int pcm_only; /* 1: raw PCM for sure; never look for a header */
} audio_format;

/* A growable buffer of 16 kHz mono samples. */
typedef struct pcm_buf {
    int16_t *samples;
    size_t len, cap;
} pcm_buf;

int pcm_buf_append(pcm_buf *buf, const int16_t *samples, size_t count);
void pcm_buf_free(pcm_buf *buf);

/* linear16, 16000 Hz, mono. */
audio_format audio_format_default(void);
/* Parses "linear16", "linear32", "mulaw"; VB_EINVAL otherwise. */
int audio_encoding_parse(const char *name, audio_encoding *out);
/* 0, or VB_EINVAL with a message when rate or channels are out of range. */
int audio_format_check(const audio_format *fmt, char *err, size_t errlen);

typedef struct audio_input audio_input_t;

/* declared describes raw PCM; a WAV header, when present, overrides it. */
int audio_input_create(const audio_format *declared, audio_input_t **out);
void audio_input_destroy(audio_input_t *in);

/* Appends the samples that these bytes complete to out.  Returns 0, or
 * VB_EUNSUPPORTED / VB_EINVAL with a message (the stream cannot go on;
 * samples already appended are valid), or VB_ENOMEM. */
int audio_input_feed(audio_input_t *in, const uint8_t *data, size_t len,
                     pcm_buf *out, char *err, size_t errlen);
/* The stream has ended: appends what the resampler still holds. */
int audio_input_finish(audio_input_t *in, pcm_buf *out, char *err,
                       size_t errlen);
/* "WAV, 44100 Hz, 2 channels, 16-bit PCM", or "unknown yet". */
const char *audio_input_describe(const audio_input_t *in);

/* A whole recording held in memory (not copied: it must outlive the
 * audio_file_t).  With raw non-NULL, data that is not WAV, WebM or Ogg is
 * raw PCM in that format; with raw NULL it must be a file format FFmpeg
 * recognises.  Errors: VB_EINVAL (empty or damaged), VB_EUNSUPPORTED
 * (format or codec unknown), with a message naming what was found. */
typedef struct audio_file audio_file_t;
int audio_file_open(const uint8_t *data, size_t len, const audio_format *raw,
                    audio_file_t **out, char *err, size_t errlen);
/* Appends at least `want` more 16 kHz samples to out unless the file ends
 * first.  Returns 0, 1 when the whole file is decoded, or an error (the
 * samples appended before it are good; the file is then done). */
int audio_file_read(audio_file_t *f, pcm_buf *out, size_t want, char *err,
                    size_t errlen);
/* How much of the file has been read, 0 to 1. */
double audio_file_progress(const audio_file_t *f);
/* The recording's length in seconds as far as known: the container's
 * where it says, else extrapolated from what has been decoded of how much
 * of the file (0 before anything is decoded). */
double audio_file_length(const audio_file_t *f);
const char *audio_file_describe(const audio_file_t *f);
void audio_file_close(audio_file_t *f);

#endif
