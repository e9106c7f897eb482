/*
 * file.c - a whole recording in memory to 16 kHz mono (see audio.h).
 *
 * WAV, WebM and Ogg, and raw PCM when the caller declared it, go through
 * the same audio_input_t as live streams, so that a file and a stream of
 * the same bytes decode to the same samples and fail with the same
 * messages.  Everything else is handed to FFmpeg's libavformat and
 * libavcodec, which know FLAC, MP3, M4A/AAC and much more; libswresample
 * only mixes their output down to mono float at the file's own rate, and
 * resample.c's soxr filter takes it to 16 kHz like every other input.
 *
 * The data is read from memory through a custom AVIOContext that can
 * seek, because an M4A file may keep its index (the moov atom) at the end.
 * Reading is incremental (audio_file_read decodes about as much as it is
 * asked for), so that a caller can feed a session and report progress
 * without holding the whole decoded recording.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "demux.h"

#define STEP_BYTES 16384
#define AVIO_BUFFER 32768

struct audio_file {
    const uint8_t *data;
    size_t len, pos;
    audio_input_t *input;   /* our own parsers, or NULL for libav */
    AVFormatContext *fmt;
    AVIOContext *avio;
    AVCodecContext *codec;
    SwrContext *swr;
    AVPacket *packet;
    AVFrame *frame;
    resampler *resampler;
    float *mono;
    int mono_cap;
    int stream_index;
    int ended;
    int raw_declared;
    size_t produced;        /* samples decoded so far */
    char description[128];
};

static int read_mem(void *opaque, uint8_t *buf, int size)
{
    audio_file_t *f = opaque;
    size_t left = f->len - f->pos;
    if (left == 0)
        return AVERROR_EOF;
    size_t n = left < (size_t)size ? left : (size_t)size;
    memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    return (int)n;
}

static int64_t seek_mem(void *opaque, int64_t offset, int whence)
{
    audio_file_t *f = opaque;
    int64_t base = 0;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return (int64_t)f->len;
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (int64_t)f->pos; break;
    case SEEK_END: base = (int64_t)f->len; break;
    default: return -1;
    }
    if (base + offset < 0 || base + offset > (int64_t)f->len)
        return -1;
    f->pos = (size_t)(base + offset);
    return (int64_t)f->pos;
}

static int is_ours(const uint8_t *d, size_t len)
{
    static const uint8_t ebml[4] = {0x1A, 0x45, 0xDF, 0xA3};
    return len >= 4 && (memcmp(d, ebml, 4) == 0 || memcmp(d, "OggS", 4) == 0 ||
                        (len >= 12 && memcmp(d, "RIFF", 4) == 0 &&
                         memcmp(d + 8, "WAVE", 4) == 0));
}

static int av_failed(char *err, size_t errlen, const char *what, int averr)
{
    char text[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, text, sizeof(text));
    vb_seterr(err, errlen, "%s: %s", what, text);
    return VB_EINVAL;
}

static int open_codec(audio_file_t *f, char *err, size_t errlen)
{
    const AVCodec *dec = NULL;
    int idx = av_find_best_stream(f->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &dec, 0);
    if (idx == AVERROR_STREAM_NOT_FOUND) {
        vb_seterr(err, errlen, "the %s file has no audio stream",
                  f->fmt->iformat->name);
        return VB_EUNSUPPORTED;
    }
    if (idx < 0 || dec == NULL) {
        const char *codec = idx >= 0 ? avcodec_get_name(
            f->fmt->streams[idx]->codecpar->codec_id) : "an unknown codec";
        vb_seterr(err, errlen, "the %s file's audio is %s, which this "
                  "server cannot decode", f->fmt->iformat->name, codec);
        return VB_EUNSUPPORTED;
    }
    f->stream_index = idx;
    AVCodecParameters *par = f->fmt->streams[idx]->codecpar;
    f->codec = avcodec_alloc_context3(dec);
    if (f->codec == NULL)
        return VB_ENOMEM;
    f->codec->thread_count = 1;
    int rc = avcodec_parameters_to_context(f->codec, par);
    if (rc >= 0)
        rc = avcodec_open2(f->codec, dec, NULL);
    if (rc < 0)
        return av_failed(err, errlen, "cannot open the audio decoder", rc);
    int rate = f->codec->sample_rate;
    if (rate <= 0 || rate > 384000) {
        vb_seterr(err, errlen, "the file declares a sample rate of %d Hz", rate);
        return VB_EINVAL;
    }
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    rc = swr_alloc_set_opts2(&f->swr, &mono, AV_SAMPLE_FMT_FLT, rate,
                             &f->codec->ch_layout, f->codec->sample_fmt, rate,
                             0, NULL);
    if (rc >= 0)
        rc = swr_init(f->swr);
    if (rc < 0)
        return av_failed(err, errlen, "cannot convert the file's samples", rc);
    snprintf(f->description, sizeof(f->description), "%s with %s, %d Hz, "
             "%d channel%s", f->fmt->iformat->name, dec->name, rate,
             f->codec->ch_layout.nb_channels,
             f->codec->ch_layout.nb_channels == 1 ? "" : "s");
    return resampler_create(rate, &f->resampler, err, errlen);
}

static int open_libav(audio_file_t *f, char *err, size_t errlen)
{
    av_log_set_level(AV_LOG_QUIET);
    uint8_t *buffer = av_malloc(AVIO_BUFFER);
    f->fmt = avformat_alloc_context();
    f->packet = av_packet_alloc();
    f->frame = av_frame_alloc();
    if (buffer == NULL || f->fmt == NULL || f->packet == NULL ||
        f->frame == NULL) {
        av_free(buffer);
        return VB_ENOMEM;
    }
    f->avio = avio_alloc_context(buffer, AVIO_BUFFER, 0, f, read_mem, NULL,
                                 seek_mem);
    if (f->avio == NULL) {
        av_free(buffer);
        return VB_ENOMEM;
    }
    f->fmt->pb = f->avio;
    f->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    if (avformat_open_input(&f->fmt, NULL, NULL, NULL) < 0) {
        f->fmt = NULL; /* freed by avformat_open_input on failure */
        vb_seterr(err, errlen, "the file's format was not recognised; "
                  "supported: WAV, FLAC, MP3, Ogg/Opus, WebM, M4A/AAC and "
                  "other formats FFmpeg reads");
        return VB_EUNSUPPORTED;
    }
    int rc = avformat_find_stream_info(f->fmt, NULL);
    if (rc < 0)
        return av_failed(err, errlen, "the file could not be read", rc);
    return open_codec(f, err, errlen);
}

int audio_file_open(const uint8_t *data, size_t len, const audio_format *raw,
                    audio_file_t **out, char *err, size_t errlen)
{
    if (len == 0) {
        vb_seterr(err, errlen, "the recording is empty");
        return VB_EINVAL;
    }
    audio_file_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return VB_ENOMEM;
    f->data = data;
    f->len = len;
    f->raw_declared = raw != NULL;
    int rc;
    if (raw != NULL || is_ours(data, len)) {
        audio_format fmt = raw ? *raw : audio_format_default();
        rc = audio_input_create(&fmt, &f->input);
    } else {
        rc = open_libav(f, err, errlen);
    }
    if (rc != 0) {
        audio_file_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void audio_file_close(audio_file_t *f)
{
    if (f == NULL)
        return;
    audio_input_destroy(f->input);
    avcodec_free_context(&f->codec);
    if (f->fmt)
        avformat_close_input(&f->fmt);
    if (f->avio) {
        av_freep(&f->avio->buffer);
        avio_context_free(&f->avio);
    }
    swr_free(&f->swr);
    av_packet_free(&f->packet);
    av_frame_free(&f->frame);
    resampler_destroy(f->resampler);
    free(f->mono);
    free(f);
}

const char *audio_file_describe(const audio_file_t *f)
{
    return f->input ? audio_input_describe(f->input) : f->description;
}

double audio_file_progress(const audio_file_t *f)
{
    return f->len ? (double)f->pos / (double)f->len : 1.0;
}

double audio_file_length(const audio_file_t *f)
{
    /* FFmpeg reads ahead (its probe takes up to megabytes), so its
     * containers' own duration, where they have one, is the better. */
    if (f->fmt != NULL && f->fmt->duration > 0)
        return (double)f->fmt->duration / AV_TIME_BASE;
    double progress = audio_file_progress(f);
    return progress > 0 ? (double)f->produced / AUDIO_ENGINE_RATE / progress : 0;
}

/* Mixes a decoded frame down and resamples it into out. */
static int take_frame(audio_file_t *f, pcm_buf *out)
{
    int n = swr_get_out_samples(f->swr, f->frame->nb_samples);
    if (n > f->mono_cap) {
        float *grown = realloc(f->mono, sizeof(float) * (size_t)n);
        if (grown == NULL)
            return VB_ENOMEM;
        f->mono = grown;
        f->mono_cap = n;
    }
    uint8_t *dst = (uint8_t *)f->mono;
    int made = swr_convert(f->swr, &dst, n,
                           (const uint8_t **)f->frame->extended_data,
                           f->frame->nb_samples);
    if (made < 0)
        return VB_EINTERNAL;
    return resampler_push(f->resampler, f->mono, (size_t)made, out);
}

/* Decodes one more packet's worth; 1 at the end of the file. */
static int libav_step(audio_file_t *f, pcm_buf *out, char *err, size_t errlen)
{
    int rc = av_read_frame(f->fmt, f->packet);
    if (rc == AVERROR_EOF) {
        rc = avcodec_send_packet(f->codec, NULL); /* drain */
    } else if (rc < 0) {
        return av_failed(err, errlen, "the file is damaged", rc);
    } else {
        if (f->packet->stream_index != f->stream_index) {
            av_packet_unref(f->packet);
            return 0;
        }
        rc = avcodec_send_packet(f->codec, f->packet);
        av_packet_unref(f->packet);
    }
    if (rc < 0 && rc != AVERROR_EOF)
        return av_failed(err, errlen, "the file's audio is damaged", rc);
    for (;;) {
        rc = avcodec_receive_frame(f->codec, f->frame);
        if (rc == AVERROR(EAGAIN))
            return 0;
        if (rc == AVERROR_EOF)
            return 1;
        if (rc < 0)
            return av_failed(err, errlen, "the file's audio is damaged", rc);
        rc = take_frame(f, out);
        av_frame_unref(f->frame);
        if (rc != 0)
            return rc;
    }
}

int audio_file_read(audio_file_t *f, pcm_buf *out, size_t want, char *err,
                    size_t errlen)
{
    if (f->ended)
        return 1;
    size_t start = out->len, goal = out->len + want;
    int rc = 0;
    while (rc == 0 && out->len < goal) {
        if (f->input != NULL) {
            size_t n = f->len - f->pos < STEP_BYTES ? f->len - f->pos : STEP_BYTES;
            if (n == 0) {
                rc = audio_input_finish(f->input, out, err, errlen);
                rc = rc != 0 ? rc : 1;
            } else {
                rc = audio_input_feed(f->input, f->data + f->pos, n, out, err,
                                      errlen);
                f->pos += n;
            }
            if (rc == VB_EUNSUPPORTED && f->produced + out->len == start &&
                !f->raw_declared) {
                /* Ogg or WebM with another codec than Opus (Vorbis, FLAC,
                 * ...): a file may have it, and libav can decode it. */
                audio_input_destroy(f->input);
                f->input = NULL;
                f->pos = 0;
                rc = open_libav(f, err, errlen);
            }
        } else {
            rc = libav_step(f, out, err, errlen);
        }
    }
    f->produced += out->len - start;
    if (rc < 0 && f->input != NULL) { /* keep what came before damage */
        char ignored[64];
        audio_input_finish(f->input, out, ignored, sizeof(ignored));
    }
    if (rc != 0 && f->resampler != NULL) {
        int flushed = resampler_flush(f->resampler, out);
        rc = rc == 1 && flushed != 0 ? flushed : rc;
    }
    if (rc != 0)
        f->ended = 1;
    return rc;
}
