/*
 * decode.c - a recording file (or stdin) to 16 kHz mono samples, for the
 * commands that work on whole files: transcribe, stream (for formats the
 * server does not read itself) and bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/vb.h"
#include "cli.h"

int cli_read_all(const char *path, unsigned char **data, size_t *len)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (in == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap), *grown;
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, in);
        if (n < cap)
            break;
        grown = realloc(buf, cap *= 2);
        if (grown == NULL)
            free(buf);
        buf = grown;
    }
    int failed = buf == NULL || ferror(in);
    if (in != stdin)
        fclose(in);
    if (failed) {
        fprintf(stderr, "%s: cannot read the file\n", path);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* What a file that is no recording looks like, for the message: text, or
 * its first bytes. */
static void describe_head(const unsigned char *data, size_t len, char *out,
                          size_t outlen)
{
    size_t n = len < 64 ? len : 64, printable = 0;
    for (size_t i = 0; i < n; i++)
        printable += (data[i] >= 0x20 && data[i] < 0x7f) || data[i] == '\n' ||
                     data[i] == '\r' || data[i] == '\t' || data[i] >= 0x80;
    if (n > 0 && printable == n) {
        snprintf(out, outlen, "it looks like text");
        return;
    }
    snprintf(out, outlen, "it begins with the bytes");
    for (size_t i = 0; i < n && i < 8; i++) {
        size_t l = strlen(out);
        snprintf(out + l, outlen - l, " %02x", data[i]);
    }
}

int cli_is_pipe(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0)
        return 1;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

int cli_decode(const char *command, const char *path, const audio_format *raw,
               const audio_format *fallback, pcm_buf *out)
{
    unsigned char *data;
    size_t len;
    if (cli_read_all(path, &data, &len) != 0)
        return -1;
    char err[256] = "";
    audio_file_t *f = NULL;
    int rc = audio_file_open(data, len, raw, &f, err, sizeof(err));
    if (rc == VB_EUNSUPPORTED && raw == NULL && strstr(err, "not recognised")) {
        if (fallback == NULL) { /* raw PCM only when declared, or stdin */
            char what[96];
            describe_head(data, len, what, sizeof(what));
            fprintf(stderr, "verbatim %s: %s is not a recording in a format "
                    "this program reads (WAV, FLAC, MP3, Ogg, WebM, M4A...): "
                    "%s.  For raw PCM, say so with --encoding, --sample-rate "
                    "or --channels\n", command, path, what);
            free(data);
            return -1;
        }
        fprintf(stderr, "verbatim %s: %s is not a format FFmpeg knows: reading "
                "it as raw %d Hz PCM (--sample-rate, --channels and --encoding "
                "describe raw audio)\n", command, path, fallback->sample_rate);
        rc = audio_file_open(data, len, fallback, &f, err, sizeof(err));
    }
    while (rc == 0)
        rc = audio_file_read(f, out, 1u << 20, err, sizeof(err));
    audio_file_close(f);
    free(data);
    if (rc < 0) {
        fprintf(stderr, "verbatim %s: %s: %s\n", command, path, err);
        if (out->len == 0)
            return -1;
        fprintf(stderr, "verbatim %s: going on with the %.1f s decoded "
                "before the problem\n", command,
                (double)out->len / AUDIO_ENGINE_RATE);
        return 1;
    }
    return 0;
}
