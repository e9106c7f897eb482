/*
 * input.c - format sniffing, WAV header parsing and sample conversion
 * (see audio.h).
 *
 * The input moves through three states: SNIFF (collecting the first bytes
 * to tell the format), HEADER (collecting a WAV header up to its "data"
 * chunk) and BODY (converting whole sample frames; a frame split between
 * two feeds waits in `carry`).  A failure moves it to FAILED for good.
 */
#include "audio.h"

#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"

#define WAV_HEADER_LIMIT (64 * 1024)

enum input_state { SNIFF, HEADER, BODY, FAILED };
enum sample_kind { PCM_U8, PCM_S16, PCM_S24, PCM_S32, PCM_F32, PCM_MULAW };

struct audio_input {
    enum input_state state;
    audio_format declared;
    enum sample_kind kind;
    int rate, channels, bytes_per_sample;
    int is_wav;
    uint8_t *header; /* bytes collected in SNIFF and HEADER */
    size_t header_len;
    uint8_t carry[AUDIO_MAX_CHANNELS * 4]; /* part of one frame */
    size_t carry_len;
    soxr_t resampler; /* NULL when the rate is already 16 kHz */
    float *mono;      /* scratch: one feed's frames, mixed down */
    size_t mono_cap;
    int16_t *resampled;
    size_t resampled_cap;
    char description[96];
};

int pcm_buf_append(pcm_buf *buf, const int16_t *samples, size_t count)
{
    if (count == 0)
        return 0;
    if (buf->len + count > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->len + count)
            cap *= 2;
        int16_t *grown = realloc(buf->samples, cap * sizeof(int16_t));
        if (grown == NULL)
            return VB_ENOMEM;
        buf->samples = grown;
        buf->cap = cap;
    }
    memcpy(buf->samples + buf->len, samples, count * sizeof(int16_t));
    buf->len += count;
    return 0;
}

void pcm_buf_free(pcm_buf *buf)
{
    free(buf->samples);
    memset(buf, 0, sizeof(*buf));
}

audio_format audio_format_default(void)
{
    audio_format fmt = {AUDIO_LINEAR16, AUDIO_ENGINE_RATE, 1};
    return fmt;
}

int audio_encoding_parse(const char *name, audio_encoding *out)
{
    if (strcmp(name, "linear16") == 0)
        *out = AUDIO_LINEAR16;
    else if (strcmp(name, "linear32") == 0)
        *out = AUDIO_LINEAR32;
    else if (strcmp(name, "mulaw") == 0)
        *out = AUDIO_MULAW;
    else
        return VB_EINVAL;
    return 0;
}

int audio_format_check(const audio_format *fmt, char *err, size_t errlen)
{
    if (fmt->sample_rate < AUDIO_MIN_RATE || fmt->sample_rate > AUDIO_MAX_RATE) {
        vb_seterr(err, errlen, "sample rate %d Hz is outside %d-%d Hz",
                  fmt->sample_rate, AUDIO_MIN_RATE, AUDIO_MAX_RATE);
        return VB_EINVAL;
    }
    if (fmt->channels < 1 || fmt->channels > AUDIO_MAX_CHANNELS) {
        vb_seterr(err, errlen, "%d channels is outside 1-%d", fmt->channels,
                  AUDIO_MAX_CHANNELS);
        return VB_EINVAL;
    }
    return 0;
}

int audio_input_create(const audio_format *declared, audio_input_t **out)
{
    audio_input_t *in = calloc(1, sizeof(*in));
    if (in == NULL)
        return VB_ENOMEM;
    in->declared = *declared;
    snprintf(in->description, sizeof(in->description), "unknown yet");
    *out = in;
    return 0;
}

void audio_input_destroy(audio_input_t *in)
{
    if (in == NULL)
        return;
    if (in->resampler)
        soxr_delete(in->resampler);
    free(in->header);
    free(in->mono);
    free(in->resampled);
    free(in);
}

const char *audio_input_describe(const audio_input_t *in)
{
    return in->description;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static const char *kind_name(enum sample_kind kind)
{
    static const char *const names[] = {"8-bit PCM", "16-bit PCM",
                                        "24-bit PCM", "32-bit PCM",
                                        "32-bit float", "mu-law"};
    return names[kind];
}

/* Sets up conversion once the format is known. */
static int start_body(audio_input_t *in, char *err, size_t errlen)
{
    audio_format fmt = {AUDIO_LINEAR16, in->rate, in->channels};
    int rc = audio_format_check(&fmt, err, errlen);
    if (rc != 0)
        return rc;
    if (in->rate != AUDIO_ENGINE_RATE) {
        soxr_error_t serr = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_INT16_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        in->resampler = soxr_create(in->rate, AUDIO_ENGINE_RATE, 1, &serr, &io,
                                    &q, NULL);
        if (in->resampler == NULL) {
            vb_seterr(err, errlen, "cannot resample from %d Hz: %s", in->rate,
                      serr ? serr : "unknown error");
            return VB_EINTERNAL;
        }
    }
    snprintf(in->description, sizeof(in->description),
             "%s, %d Hz, %d channel%s, %s", in->is_wav ? "WAV" : "raw",
             in->rate, in->channels, in->channels == 1 ? "" : "s",
             kind_name(in->kind));
    in->state = BODY;
    return 0;
}

static int start_raw(audio_input_t *in, char *err, size_t errlen)
{
    static const enum sample_kind kinds[] = {PCM_S16, PCM_F32, PCM_MULAW};
    static const int sizes[] = {2, 4, 1};
    in->kind = kinds[in->declared.encoding];
    in->bytes_per_sample = sizes[in->declared.encoding];
    in->rate = in->declared.sample_rate;
    in->channels = in->declared.channels;
    return start_body(in, err, errlen);
}

/* Reads the "fmt " chunk of a WAV header. */
static int parse_wav_fmt(audio_input_t *in, const uint8_t *p, uint32_t size,
                         char *err, size_t errlen)
{
    if (size < 16) {
        vb_seterr(err, errlen, "WAV header: fmt chunk is too short");
        return VB_EINVAL;
    }
    unsigned tag = le16(p);
    if (tag == 0xFFFE && size >= 26)
        tag = le16(p + 24); /* WAVE_FORMAT_EXTENSIBLE: the sub-format */
    in->channels = le16(p + 2);
    in->rate = (int)le32(p + 4);
    int bits = le16(p + 14);
    in->bytes_per_sample = (bits + 7) / 8;
    if (tag == 1 && bits == 8)
        in->kind = PCM_U8;
    else if (tag == 1 && bits == 16)
        in->kind = PCM_S16;
    else if (tag == 1 && bits == 24)
        in->kind = PCM_S24;
    else if (tag == 1 && bits == 32)
        in->kind = PCM_S32;
    else if (tag == 3 && bits == 32)
        in->kind = PCM_F32;
    else if (tag == 7 && bits == 8)
        in->kind = PCM_MULAW;
    else {
        vb_seterr(err, errlen,
                  "WAV with format tag %u and %d bits per sample is not "
                  "supported; use PCM (8, 16, 24 or 32 bit), float or mu-law",
                  tag, bits);
        return VB_EUNSUPPORTED;
    }
    return 0;
}

/*
 * Walks the chunks collected so far.  Returns 1 when the data chunk was
 * reached (*body_at is where its samples begin), 0 when more bytes are
 * needed, or a negative error.
 */
static int parse_wav_header(audio_input_t *in, size_t *body_at, char *err,
                            size_t errlen)
{
    const uint8_t *h = in->header;
    size_t pos = 12;
    int have_fmt = 0;
    while (pos + 8 <= in->header_len) {
        uint32_t size = le32(h + pos + 4);
        if (memcmp(h + pos, "data", 4) == 0) {
            if (!have_fmt) {
                vb_seterr(err, errlen, "WAV header: data before fmt chunk");
                return VB_EINVAL;
            }
            *body_at = pos + 8;
            return 1;
        }
        size_t next = pos + 8 + size + (size & 1);
        if (next > in->header_len)
            return 0; /* chunk not complete yet */
        if (memcmp(h + pos, "fmt ", 4) == 0) {
            int rc = parse_wav_fmt(in, h + pos + 8, size, err, errlen);
            if (rc != 0)
                return rc;
            have_fmt = 1;
        }
        pos = next;
    }
    return 0;
}

static float mulaw_to_float(uint8_t byte)
{
    byte = (uint8_t)~byte;
    int sign = byte & 0x80, exponent = (byte >> 4) & 7, mantissa = byte & 15;
    int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    return (float)(sign ? -magnitude : magnitude) / 32768.0f;
}

static float sample_at(const audio_input_t *in, const uint8_t *p)
{
    switch (in->kind) {
    case PCM_U8: return ((float)p[0] - 128.0f) / 128.0f;
    case PCM_S16: return (float)(int16_t)le16(p) / 32768.0f;
    case PCM_S24: {
        int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 |
                              (uint32_t)p[2] << 24);
        return (float)(v >> 8) / 8388608.0f;
    }
    case PCM_S32: return (float)((double)(int32_t)le32(p) / 2147483648.0);
    case PCM_F32: {
        uint32_t bits = le32(p);
        float v;
        memcpy(&v, &bits, sizeof(v));
        return v != v ? 0.0f : v; /* NaN from garbage becomes silence */
    }
    case PCM_MULAW: return mulaw_to_float(p[0]);
    }
    return 0.0f;
}

static int reserve(void **buf, size_t *cap, size_t count, size_t size)
{
    if (count <= *cap)
        return 0;
    void *grown = realloc(*buf, count * size);
    if (grown == NULL)
        return VB_ENOMEM;
    *buf = grown;
    *cap = count;
    return 0;
}

/* Converts `frames` whole frames of mono floats to 16 kHz int16 in out. */
static int emit_mono(audio_input_t *in, size_t frames, pcm_buf *out)
{
    if (in->resampler == NULL) {
        int rc = reserve((void **)&in->resampled, &in->resampled_cap, frames,
                         sizeof(int16_t));
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < frames; i++) {
            float v = in->mono[i] * 32768.0f;
            v = v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v;
            in->resampled[i] = (int16_t)v;
        }
        return pcm_buf_append(out, in->resampled, frames);
    }
    size_t room = frames * AUDIO_ENGINE_RATE / (size_t)in->rate + 64;
    int rc = reserve((void **)&in->resampled, &in->resampled_cap, room,
                     sizeof(int16_t));
    if (rc != 0)
        return rc;
    const float *src = frames ? in->mono : NULL;
    size_t left = frames;
    do {
        size_t used = 0, made = 0;
        soxr_error_t serr = soxr_process(in->resampler, src, left, &used,
                                         in->resampled, room, &made);
        if (serr != NULL)
            return VB_EINTERNAL;
        rc = pcm_buf_append(out, in->resampled, made);
        if (rc != 0)
            return rc;
        if (src != NULL) {
            src += used;
            left -= used;
        }
        if (src == NULL && made == 0)
            break; /* flushed */
    } while (left > 0 || src == NULL);
    return 0;
}

static int convert(audio_input_t *in, const uint8_t *data, size_t len,
                   pcm_buf *out)
{
    size_t frame_bytes = (size_t)in->bytes_per_sample * (size_t)in->channels;
    /* Complete a frame left over from the previous feed. */
    if (in->carry_len > 0) {
        size_t need = frame_bytes - in->carry_len;
        size_t take = len < need ? len : need;
        memcpy(in->carry + in->carry_len, data, take);
        in->carry_len += take;
        data += take;
        len -= take;
        if (in->carry_len < frame_bytes)
            return 0;
    }
    size_t frames = len / frame_bytes + (in->carry_len == frame_bytes);
    int rc = reserve((void **)&in->mono, &in->mono_cap, frames ? frames : 1,
                     sizeof(float));
    if (rc != 0)
        return rc;
    size_t f = 0;
    if (in->carry_len == frame_bytes) {
        float sum = 0;
        for (int c = 0; c < in->channels; c++)
            sum += sample_at(in, in->carry + c * in->bytes_per_sample);
        in->mono[f++] = sum / (float)in->channels;
        in->carry_len = 0;
    }
    for (; f < frames; data += frame_bytes, len -= frame_bytes) {
        float sum = 0;
        for (int c = 0; c < in->channels; c++)
            sum += sample_at(in, data + c * in->bytes_per_sample);
        in->mono[f++] = sum / (float)in->channels;
    }
    memcpy(in->carry, data, len);
    in->carry_len = len;
    return frames ? emit_mono(in, frames, out) : 0;
}

static int append_header(audio_input_t *in, const uint8_t *data, size_t len)
{
    uint8_t *grown = realloc(in->header, in->header_len + len);
    if (grown == NULL)
        return VB_ENOMEM;
    in->header = grown;
    memcpy(in->header + in->header_len, data, len);
    in->header_len += len;
    return 0;
}

/* Decides the format from the first bytes; 1 when decided, 0 for more. */
static int sniff(audio_input_t *in, int at_end, char *err, size_t errlen)
{
    const uint8_t *h = in->header;
    size_t n = in->header_len;
    static const uint8_t ebml[4] = {0x1A, 0x45, 0xDF, 0xA3};
    if (n >= 4 && memcmp(h, ebml, 4) == 0) {
        vb_seterr(err, errlen, "WebM/Matroska audio is not supported by this "
                  "server yet; send WAV or raw PCM (linear16, linear32, mulaw)");
        return VB_EUNSUPPORTED;
    }
    if (n >= 4 && memcmp(h, "OggS", 4) == 0) {
        vb_seterr(err, errlen, "Ogg audio is not supported by this server "
                  "yet; send WAV or raw PCM (linear16, linear32, mulaw)");
        return VB_EUNSUPPORTED;
    }
    if (n >= 4 && memcmp(h, "RIFF", 4) == 0) {
        if (n < 12 && !at_end)
            return 0;
        if (n >= 12 && memcmp(h + 8, "WAVE", 4) == 0) {
            in->is_wav = 1;
            in->state = HEADER;
            return 1;
        }
    } else if (n < 4 && !at_end) {
        return 0;
    }
    int rc = start_raw(in, err, errlen);
    return rc != 0 ? rc : 1;
}

/* Moves buffered header bytes on once the state has advanced. */
static int advance(audio_input_t *in, int at_end, pcm_buf *out, char *err,
                   size_t errlen)
{
    if (in->state == SNIFF) {
        int rc = sniff(in, at_end, err, errlen);
        if (rc <= 0)
            return rc;
        if (in->state == BODY) { /* raw: every byte so far is audio */
            rc = convert(in, in->header, in->header_len, out);
            in->header_len = 0;
            return rc;
        }
    }
    if (in->state == HEADER) {
        size_t body_at = 0;
        int rc = parse_wav_header(in, &body_at, err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (in->header_len > WAV_HEADER_LIMIT) {
                vb_seterr(err, errlen, "WAV header is over %d bytes",
                          WAV_HEADER_LIMIT);
                return VB_EINVAL;
            }
            if (at_end) {
                vb_seterr(err, errlen, "WAV stream ended inside its header");
                return VB_EINVAL;
            }
            return 0;
        }
        rc = start_body(in, err, errlen);
        if (rc != 0)
            return rc;
        rc = convert(in, in->header + body_at, in->header_len - body_at, out);
        in->header_len = 0;
        return rc;
    }
    return 0;
}

int audio_input_feed(audio_input_t *in, const uint8_t *data, size_t len,
                     pcm_buf *out, char *err, size_t errlen)
{
    int rc;
    switch (in->state) {
    case FAILED:
        vb_seterr(err, errlen, "audio stream already failed");
        return VB_EINVAL;
    case BODY:
        rc = convert(in, data, len, out);
        break;
    default:
        rc = append_header(in, data, len);
        if (rc == 0)
            rc = advance(in, 0, out, err, errlen);
    }
    if (rc < 0)
        in->state = FAILED;
    return rc;
}

int audio_input_finish(audio_input_t *in, pcm_buf *out, char *err,
                       size_t errlen)
{
    int rc = 0;
    if (in->state == SNIFF || in->state == HEADER) {
        if (in->header_len == 0)
            return 0;
        rc = advance(in, 1, out, err, errlen);
    }
    if (rc == 0 && in->state == BODY && in->resampler != NULL)
        rc = emit_mono(in, 0, out);
    if (rc < 0)
        in->state = FAILED;
    return rc;
}
