/*
 * bench.c - `verbatim bench engine FILE...`: the speed of the recogniser
 * alone (voice activity detection and the engine, PocketSphinx unless
 * --engine says otherwise; no network, no storage) on one worker thread, as a real-time factor: processor time
 * divided by audio time; with --realtime, the audio handed over at a live
 * stream's pace.  bench/run.sh compares it with the full server path and
 * measures the rest (accuracy, concurrency, latency, memory).  `verbatim
 * bench load` (load.c) sends a server many live streams from one
 * process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../asr/engine.h"
#include "../audio/audio.h"
#include "../util/log.h"
#include "../util/vb.h"
#include "cli.h"

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Decodes a file to 16 kHz mono samples (not timed). */
static void count_words(void *ctx, session_event *ev)
{
    if (ev->kind == SESSION_FINAL)
        *(size_t *)ctx += ev->word_count;
    session_event_free(ev);
}

static int bench_engine(int argc, char **argv, cli_engine *choice)
{
    int first = 0, realtime = 0;
    long chunk_ms = 0;
    for (int i = 0; i < argc && argv[i][0] == '-'; i++) {
        const char *value;
        int m; /* a bad value (m < 0): cli_flag_value or cli_int said so */
        if (strcmp(argv[i], "--realtime") == 0) {
            realtime = 1;
        } else if ((m = cli_flag_value(argc, argv, &i, "--chunk-ms", &value))) {
            if (m < 0 || cli_int("--chunk-ms", value, 10, 1000, &chunk_ms) != 0)
                return 2;
        } else if ((m = cli_flag_value(argc, argv, &i, "--model-dir", &value))) {
            if (m < 0)
                return 2;
            cli_engine_flag(choice, "model-dir", value);
        } else if ((m = cli_flag_value(argc, argv, &i, "--profile", &value))) {
            if (m < 0)
                return 2;
            cli_engine_flag(choice, "profile", value);
        } else if ((m = cli_engine_flags(argc, argv, &i, choice))) {
            if (m < 0)
                return 2;
        } else {
            fprintf(stderr, "verbatim bench: unknown option \"%s\"\n", argv[i]);
            return 2;
        }
        first = i + 1;
    }
    if (chunk_ms != 0 && !realtime) {
        fputs("verbatim bench: --chunk-ms sets the pieces of --realtime; give both\n", stderr);
        return 2;
    }
    if (first >= argc) {
        fputs("usage: verbatim bench engine [--engine NAME] [--engine-option "
              "KEY=VALUE]...\n"
              "                             [--model-dir DIR] [--profile NAME] "
              "[--realtime [--chunk-ms N]] FILE...\n", stderr);
        return 2;
    }
    int rc = cli_engine_ready(choice, "bench");
    if (rc != 0)
        return rc;
    log_set_level(LOG_WARN);
    char err[512];
    asr_engine *engine;
    asr_params common = asr_default_params();
    if (asr_engine_create(choice->name, &common, cli_engine_options(choice),
                          &engine, err, sizeof(err)) != 0) {
        fprintf(stderr, "verbatim bench: %s\n", err);
        return 1;
    }
    pool_t *pool;
    if (pool_start(1, &pool) != 0) {
        engine->ops->destroy(engine);
        return 1;
    }
    double audio = 0, cpu = 0, wall = 0;
    size_t words = 0;
    for (int i = first; i < argc && rc == 0; i++) {
        pcm_buf pcm = {0};
        audio_format raw = audio_format_default(); /* 16 kHz 16-bit mono */
        if (cli_decode("bench", argv[i], NULL, &raw, &pcm) != 0) {
            rc = 1;
            break;
        }
        session_params sp = session_default_params();
        sp.format.pcm_only = 1;
        double c0 = cpu_seconds(), w0 = vb_monotonic_s();
        rc = cli_run_local(engine, pool, &sp, (const unsigned char *)pcm.samples,
                           pcm.len * sizeof(int16_t), NULL,
                           realtime ? (int)(chunk_ms ? chunk_ms : 100) : 0, count_words, &words);
        cpu += cpu_seconds() - c0;
        wall += vb_monotonic_s() - w0;
        audio += (double)pcm.len / AUDIO_ENGINE_RATE;
        pcm_buf_free(&pcm);
    }
    pool_stop(pool);
    engine->ops->destroy(engine);
    if (rc != 0 || audio <= 0)
        return 1;
    printf("{\"files\": %d, \"audio_s\": %.3f, \"cpu_s\": %.3f, \"wall_s\": %.3f, "
           "\"words\": %zu, \"rtf_cpu\": %.4f, \"rtf_wall\": %.4f}\n",
           argc - first, audio, cpu, wall, words, cpu / audio, wall / audio);
    return 0;
}

static void usage(FILE *to)
{
    fputs("usage: verbatim bench engine [--engine NAME] [--engine-option KEY=VALUE]...\n"
          "                              [--model-dir DIR] [--profile NAME]\n"
          "                              [--realtime [--chunk-ms N]] FILE...\n"
          "       verbatim bench load [options] FILE...\n"
          "\n"
          "engine prints the real-time factor of the recogniser alone on one\n"
          "thread as JSON.  --realtime hands it the audio as a live stream\n"
          "would, N ms (default 100) at a time when each piece would have been\n"
          "recorded, instead of as fast as it decodes.  --engine picks the\n"
          "recogniser (default: VERBATIM_ENGINE, else " ASR_DEFAULT_ENGINE "), and each\n"
          "--engine-option sets one of its own settings, after --model-dir\n"
          "and --profile (PocketSphinx's options model-dir and profile).\n"
          "load streams every FILE to a server at once, in real time, from\n"
          "one process (verbatim bench load --help).\n"
          "bench/run.sh runs the whole benchmark (accuracy, server overhead,\n"
          "concurrency, latency, memory, start-up).\n", to);
}

int cli_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "engine") == 0) {
        for (int i = 2; i < argc && argv[i][0] == '-'; i++) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                usage(stdout);
                return 0;
            }
        }
        cli_engine choice = {0};
        int rc = bench_engine(argc - 2, argv + 2, &choice);
        cli_engine_free(&choice);
        return rc;
    }
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return cli_bench_load(argc - 2, argv + 2);
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                             strcmp(argv[1], "-h") == 0);
    usage(help ? stdout : stderr);
    return help ? 0 : 2;
}
