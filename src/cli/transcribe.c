/*
 * transcribe.c - `verbatim transcribe FILE`: recognise a recording here,
 * with no server, through the same session code the server uses, and print
 * the final segments with their times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../asr/engine.h"
#include "../session/session.h"
#include "../util/log.h"
#include "../util/pool.h"
#include "cli.h"

typedef struct {
    double start, end;
    int speaker;          /* live label's index, -1 when none */
    voice_stats voice;
    int has_voice;
} printed_final;

typedef struct {
    int failed, json;
    printed_final *finals; /* kept for the re-clustering at the end */
    size_t count, cap;
} printer;

static void keep_final(printer *p, const session_event *ev)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        printed_final *grown = realloc(p->finals, cap * sizeof(*grown));
        if (grown == NULL)
            return;
        p->finals = grown;
        p->cap = cap;
    }
    printed_final *f = &p->finals[p->count++];
    f->start = ev->start;
    f->end = ev->end;
    f->speaker = -1;
    if (ev->speaker)
        sscanf(ev->speaker, "speaker_%d", &f->speaker);
    f->has_voice = ev->voice && voice_parse(ev->voice, &f->voice) == 0;
}

/* With --json, after the live results: the speakers re-clustered over the
 * whole recording, as the server does when a session ends. */
static void print_refined(printer *p, int min_speakers, int max_speakers)
{
    voice_stats *voices = malloc((p->count + 1) * sizeof(*voices));
    int *current = malloc((p->count + 1) * sizeof(int));
    int *labels = malloc((p->count + 1) * sizeof(int));
    size_t n = 0;
    for (size_t i = 0; voices && current && labels && i < p->count; i++) {
        if (!p->finals[i].has_voice)
            continue;
        voices[n] = p->finals[i].voice;
        current[n++] = p->finals[i].speaker;
    }
    diarize_params dp = diarize_default_params();
    dp.min_speakers = min_speakers;
    dp.max_speakers = max_speakers;
    if (n > 0 && diarize_refine(&dp, voices, current, n, labels) > 0) {
        for (size_t i = 0, j = 0; i < p->count; i++) {
            if (!p->finals[i].has_voice)
                continue;
            printf("{\"refined\": true, \"start\": %.3f, \"end\": %.3f, "
                   "\"speaker\": \"speaker_%d\"}\n", p->finals[i].start,
                   p->finals[i].end, labels[j++]);
        }
    }
    free(voices);
    free(current);
    free(labels);
}

static void print_event(void *ctx, session_event *ev)
{
    printer *p = ctx;
    if (ev->kind == SESSION_FINAL) {
        keep_final(p, ev);
        if (p->json) {
            printf("{\"start\": %.3f, \"end\": %.3f, \"speaker\": ", ev->start,
                   ev->end);
            printf(ev->speaker ? "\"%s\"" : "null", ev->speaker);
            printf(", \"text\": \"");
            for (const char *c = ev->text; *c; c++)
                printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
            printf("\"}\n");
        } else {
            printf("[%8.2f - %8.2f] %s\n", ev->start, ev->end, ev->text);
        }
        fflush(stdout);
    } else if (ev->kind == SESSION_ERROR) {
        fprintf(stderr, "verbatim transcribe: %s\n", ev->text);
        p->failed = 1;
    }
    session_event_free(ev);
}

static void usage(FILE *to)
{
    fputs("usage: verbatim transcribe [options] FILE|-\n"
          "\n"
          "Recognises a recording on this machine and prints each final\n"
          "segment with its start and end time.  FILE may be WAV, FLAC, MP3,\n"
          "Ogg/Opus, WebM, M4A/AAC or anything else FFmpeg reads; anything\n"
          "else is raw PCM, 16 kHz 16-bit mono unless --sample-rate,\n"
          "--channels or --encoding say otherwise.\n"
          "\n"
          "  --json            one JSON object per segment, with its speaker\n"
          "                    as labelled live; then, with \"refined\": true,\n"
          "                    each again with its speaker re-clustered over\n"
          "                    the whole recording\n"
          "  --no-diarize      no speaker labels\n"
          "  --min-speakers N, --max-speakers N   hints for the labelling\n"
          "  --no-punctuate    the recogniser's raw words\n"
          "  --sample-rate N   FILE is raw PCM at this rate\n"
          "  --channels N      channels of raw PCM input (default 1)\n"
          "  --encoding E      linear16 (default), linear32 or mulaw\n"
          "  --model-dir DIR   PocketSphinx model folder\n"
          "  --profile NAME    accurate (default) or fast\n", to);
}

int cli_transcribe(int argc, char **argv)
{
    asr_params asr = asr_default_params();
    asr.spare_decoders = 0; /* one stream: no decoder built ahead */
    session_params sp = session_default_params();
    const char *path = NULL, *value;
    printer p = {.json = 0};
    int raw = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        long v;
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            p.json = 1;
        } else if (strcmp(argv[i], "--no-punctuate") == 0) {
            sp.punctuate = 0;
        } else if (strcmp(argv[i], "--no-diarize") == 0) {
            sp.diarize = 0;
        } else if ((m = cli_flag_value(argc, argv, &i, "--min-speakers", &value))) {
            if (m < 0 || cli_int("--min-speakers", value, 1, 32, &v) != 0)
                return 2;
            sp.min_speakers = (int)v;
        } else if ((m = cli_flag_value(argc, argv, &i, "--max-speakers", &value))) {
            if (m < 0 || cli_int("--max-speakers", value, 1, 32, &v) != 0)
                return 2;
            sp.max_speakers = (int)v;
        } else if ((m = cli_flag_value(argc, argv, &i, "--model-dir", &value))) {
            if (m < 0)
                return 2;
            asr.model_dir = value;
        } else if ((m = cli_flag_value(argc, argv, &i, "--profile", &value))) {
            if (m < 0 || asr_profile_parse(value, &asr) != 0) {
                fprintf(stderr, "verbatim transcribe: --profile must be "
                        "accurate or fast\n");
                return 2;
            }
        } else if ((m = cli_flag_value(argc, argv, &i, "--sample-rate", &value))) {
            if (m < 0 || cli_int("--sample-rate", value, AUDIO_MIN_RATE,
                                 AUDIO_MAX_RATE, &v) != 0)
                return 2;
            sp.format.sample_rate = (int)v;
            raw = 1;
        } else if ((m = cli_flag_value(argc, argv, &i, "--encoding", &value))) {
            if (m < 0 || audio_encoding_parse(value, &sp.format.encoding) != 0) {
                fprintf(stderr, "verbatim transcribe: --encoding must be "
                        "linear16, linear32 or mulaw\n");
                return 2;
            }
            raw = 1;
        } else if ((m = cli_flag_value(argc, argv, &i, "--channels", &value))) {
            if (m < 0 || cli_int("--channels", value, 1, AUDIO_MAX_CHANNELS,
                                 &v) != 0)
                return 2;
            sp.format.channels = (int)v;
            raw = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "verbatim transcribe: unknown option \"%s\"\n",
                    argv[i]);
            return 2;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            fprintf(stderr, "verbatim transcribe: one file at a time\n");
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    pcm_buf pcm = {0};
    int damaged = cli_decode("transcribe", path, raw ? &sp.format : NULL,
                             &sp.format, &pcm);
    if (damaged < 0)
        return 1;
    sp.format = audio_format_default();
    sp.format.pcm_only = 1;
    log_set_level(LOG_WARN);
    char err[512] = "";
    asr_engine *engine = NULL;
    pool_t *pool = NULL;
    int rc = asr_pocketsphinx_create(&asr, &engine, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "verbatim transcribe: %s\n", err);
        pcm_buf_free(&pcm);
        return 1;
    }
    rc = pool_start(1, &pool);
    if (rc == 0)
        rc = cli_run_local(engine, pool, &sp, (const unsigned char *)pcm.samples,
                           pcm.len * sizeof(int16_t), NULL, 0, print_event, &p);
    pool_stop(pool);
    engine->ops->destroy(engine);
    pcm_buf_free(&pcm);
    if (rc == 0 && p.json && sp.diarize)
        print_refined(&p, sp.min_speakers, sp.max_speakers);
    free(p.finals);
    if (rc != 0) {
        fprintf(stderr, "verbatim transcribe: cannot start: %d\n", rc);
        return 1;
    }
    return p.failed || damaged ? 1 : 0;
}
