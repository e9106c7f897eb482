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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "demux.h"

#define WAV_HEADER_LIMIT (64 * 1024)

enum input_state { SNIFF, HEADER, BODY, FAILED };
enum sample_kind { PCM_U8, PCM_S16, PCM_S24, PCM_S32, PCM_F32, PCM_MULAW };
enum container { RAW, WAV, WEBM, OGG };

struct audio_input {
    enum input_state state;
    audio_format declared;
    enum sample_kind kind;
    int rate, channels, bytes_per_sample;
    enum container container;
    webm_demux *webm;  /* WEBM */
    ogg_demux *ogg;    /* OGG */
    opus_in *opus;     /* WEBM and OGG, once the track is known */
    pcm_buf *out;      /* during a feed: where the demuxer's audio goes */
    uint8_t *header; /* bytes collected in SNIFF and HEADER */
    size_t header_len;
    uint8_t carry[AUDIO_MAX_CHANNELS * 4]; /* part of one frame */
    size_t carry_len;
    resampler *resampler;
    float *mono;      /* scratch: one feed's frames, mixed down */
    size_t mono_cap;
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
    audio_format fmt = {AUDIO_LINEAR16, AUDIO_ENGINE_RATE, 1, 0};
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
    resampler_destroy(in->resampler);
    webm_demux_destroy(in->webm);
    ogg_demux_destroy(in->ogg);
    opus_in_destroy(in->opus);
    free(in->header);
    free(in->mono);
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
    audio_format fmt = {AUDIO_LINEAR16, in->rate, in->channels, 0};
    int rc = audio_format_check(&fmt, err, errlen);
    if (rc == 0)
        rc = resampler_create(in->rate, &in->resampler, err, errlen);
    if (rc != 0)
        return rc;
    snprintf(in->description, sizeof(in->description),
             "%s, %d Hz, %d channel%s, %s",
             in->container == WAV ? "WAV" : "raw", in->rate, in->channels,
             in->channels == 1 ? "" : "s", kind_name(in->kind));
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
    return resampler_push(in->resampler, in->mono, frames, out);
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

/* ---- WebM and Ogg: a demuxer hands Opus packets to a decoder ---- */

static int on_track(void *ctx, const uint8_t *head, size_t len, char *err,
                    size_t errlen)
{
    audio_input_t *in = ctx;
    if (in->opus != NULL) {
        vb_seterr(err, errlen, "a second Opus header in one stream");
        return VB_EINVAL;
    }
    int rc = opus_in_create(head, len, &in->opus, err, errlen);
    if (rc == 0)
        rc = resampler_create(48000, &in->resampler, err, errlen);
    if (rc != 0)
        return rc;
    in->channels = opus_in_channels(in->opus);
    snprintf(in->description, sizeof(in->description),
             "%s with Opus, %d channel%s", in->container == WEBM ? "WebM" : "Ogg",
             in->channels, in->channels == 1 ? "" : "s");
    return 0;
}

static int on_packet(void *ctx, const uint8_t *data, size_t len, char *err,
                     size_t errlen)
{
    audio_input_t *in = ctx;
    const float *mono = NULL;
    size_t frames = 0;
    int rc = opus_in_decode(in->opus, data, len, &mono, &frames, err, errlen);
    if (rc == 0)
        rc = resampler_push(in->resampler, mono, frames, in->out);
    return rc;
}

static int start_compressed(audio_input_t *in, enum container container)
{
    demux_sink sink = {on_track, on_packet, in};
    in->container = container;
    in->state = BODY;
    snprintf(in->description, sizeof(in->description), "%s",
             container == WEBM ? "WebM" : "Ogg");
    return container == WEBM ? webm_demux_create(&sink, &in->webm)
                             : ogg_demux_create(&sink, &in->ogg);
}

static int feed_compressed(audio_input_t *in, const uint8_t *data, size_t len,
                           pcm_buf *out, char *err, size_t errlen)
{
    in->out = out;
    int rc = in->webm ? webm_demux_feed(in->webm, data, len, err, errlen)
                      : ogg_demux_feed(in->ogg, data, len, err, errlen);
    in->out = NULL;
    return rc;
}

/* Raw PCM, or WAV's samples; compressed data goes to its demuxer. */
static int feed_body(audio_input_t *in, const uint8_t *data, size_t len,
                     pcm_buf *out, char *err, size_t errlen)
{
    if (in->container == WEBM || in->container == OGG)
        return feed_compressed(in, data, len, out, err, errlen);
    return convert(in, data, len, out);
}

/* Decides the format from the first bytes; 1 when decided, 0 for more. */
static int sniff(audio_input_t *in, int at_end, char *err, size_t errlen)
{
    const uint8_t *h = in->header;
    size_t n = in->header_len;
    if (in->declared.pcm_only) {
        int rc = start_raw(in, err, errlen);
        return rc != 0 ? rc : 1;
    }
    static const uint8_t ebml[4] = {0x1A, 0x45, 0xDF, 0xA3};
    if (n >= 4 && memcmp(h, ebml, 4) == 0) {
        int rc = start_compressed(in, WEBM);
        return rc != 0 ? rc : 1;
    }
    if (n >= 4 && memcmp(h, "OggS", 4) == 0) {
        int rc = start_compressed(in, OGG);
        return rc != 0 ? rc : 1;
    }
    if (n >= 4 && memcmp(h, "RIFF", 4) == 0) {
        if (n < 12 && !at_end)
            return 0;
        if (n >= 12 && memcmp(h + 8, "WAVE", 4) == 0) {
            in->container = WAV;
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
        if (in->state == BODY) { /* every byte so far is the stream's */
            rc = feed_body(in, in->header, in->header_len, out, err, errlen);
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
        rc = feed_body(in, data, len, out, err, errlen);
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
    if (rc == 0 && in->webm != NULL)
        rc = webm_demux_finish(in->webm, err, errlen);
    if (rc == 0 && in->ogg != NULL)
        rc = ogg_demux_finish(in->ogg, err, errlen);
    /* Even after damage, what the resampler holds is good audio. */
    if ((in->state == BODY || in->state == FAILED) && in->resampler) {
        int flushed = resampler_flush(in->resampler, out);
        rc = rc != 0 ? rc : flushed;
    }
    if (rc < 0)
        in->state = FAILED;
    return rc;
}
