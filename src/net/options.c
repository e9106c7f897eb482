/*
 * options.c - a stream's options from its URL's query, the same for a
 * live socket (/ws/transcribe/{id}?...) and an upload (POST .../audio?...):
 * encoding, sample_rate and channels of raw PCM, punctuate, diarize,
 * smart_format, keywords and the speaker hints.  A bad value is refused
 * with a message that names the option, what it accepts and what was
 * sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "net_internal.h"

int net_whole_number(const char *value, long min, long max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* value as it may be quoted back to the client: at most 40 characters of
 * printable ASCII, anything else as '?' (a close reason and a text
 * message must be valid UTF-8, and the URL may have held any bytes). */
const char *net_shown(const char *value, char *buf, size_t len)
{
    size_t n = 0;
    for (; *value && n < 60 && n + 1 < len; value++)
        buf[n++] = *value >= 0x20 && *value < 0x7f ? *value : '?';
    buf[n] = '\0';
    return buf;
}

static int is_on(const char *value)
{
    return strcmp(value, "false") != 0 && strcmp(value, "0") != 0;
}

int net_stream_option(session_params *p, int *format_given, const char *key,
                      const char *value, char *err, size_t errlen)
{
    char quoted[48];
    if (strcmp(key, "encoding") == 0) {
        if (audio_encoding_parse(value, &p->format.encoding) != 0) {
            vb_seterr(err, errlen, "unknown encoding \"%s\"; use "
                      "linear16, linear32 or mulaw",
                      net_shown(value, quoted, sizeof(quoted)));
            return VB_EINVAL;
        }
        *format_given = 1;
    } else if (strcmp(key, "sample_rate") == 0) {
        if (net_whole_number(value, AUDIO_MIN_RATE, AUDIO_MAX_RATE,
                         &p->format.sample_rate) != 0) {
            vb_seterr(err, errlen, "sample_rate must be a whole number of Hz "
                      "from %d to %d, not \"%s\"", AUDIO_MIN_RATE,
                      AUDIO_MAX_RATE, net_shown(value, quoted, sizeof(quoted)));
            return VB_EINVAL;
        }
        *format_given = 1;
    } else if (strcmp(key, "channels") == 0) {
        if (net_whole_number(value, 1, AUDIO_MAX_CHANNELS, &p->format.channels) != 0) {
            vb_seterr(err, errlen, "channels must be a whole number from 1 to "
                      "%d, not \"%s\"", AUDIO_MAX_CHANNELS,
                      net_shown(value, quoted, sizeof(quoted)));
            return VB_EINVAL;
        }
        *format_given = 1;
    } else if (strcmp(key, "punctuate") == 0) {
        p->punctuate = is_on(value);
    } else if (strcmp(key, "diarize") == 0) {
        p->diarize = is_on(value);
    } else if (strcmp(key, "smart_format") == 0) {
        p->smart_format = is_on(value);
    } else if (strcmp(key, "keywords") == 0) { /* repeated: all of them */
        if (asr_keywords_add(p->keywords, &p->keyword_count, value, err,
                             errlen) != 0)
            return VB_EINVAL;
    } else if (strcmp(key, "min_speakers") == 0 || strcmp(key, "max_speakers") == 0) {
        int *hint = key[1] == 'i' ? &p->min_speakers : &p->max_speakers;
        if (net_whole_number(value, 1, 32, hint) != 0) {
            vb_seterr(err, errlen, "%s must be a whole number from 1 to 32, "
                      "not \"%s\"", key, net_shown(value, quoted, sizeof(quoted)));
            return VB_EINVAL;
        }
    } else if (strcmp(key, "engine") == 0) {
        size_t n = strlen(value);
        if (n == 0 || n >= sizeof(p->engine) ||
            strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-_") != n) {
            vb_seterr(err, errlen, "engine must be an engine's name such as "
                      "pocketsphinx, not \"%s\"",
                      net_shown(value, quoted, sizeof(quoted)));
            return VB_EINVAL;
        }
        memcpy(p->engine, value, n + 1);
    } else {
        return 0;
    }
    return 1;
}

int net_stream_options_check(const session_params *p, char *err, size_t errlen)
{
    if (p->min_speakers && p->max_speakers && p->min_speakers > p->max_speakers) {
        vb_seterr(err, errlen, "min_speakers (%d) is more than max_speakers (%d)",
                  p->min_speakers, p->max_speakers);
        return VB_EINVAL;
    }
    return 0;
}
