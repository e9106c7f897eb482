/*
 * transcribe.c - `verbatim transcribe FILE`: recognise a recording here,
 * with no server, through the same transcription layer the server's
 * streams and uploads use (on a store in memory), and print the final
 * segments with their times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "../asr/engine.h"
#include "../session/session.h"
#include "../store/store.h"
#include "../transcription/transcription.h"
#include "../util/log.h"
#include "../util/pool.h"
#include "../util/runner.h"
#include "cli.h"

typedef struct {
    int failed, json;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
} printer;

static void print_final(const session_event *ev)
{
    printf("{\"start\": %.3f, \"end\": %.3f, \"speaker\": ", ev->start,
           ev->end);
    printf(ev->speaker ? "\"%s\"" : "null", ev->speaker);
    printf(", \"text\": \"");
    for (const char *c = ev->text; *c; c++)
        printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
    printf("\"}\n");
}

/* The run's client (transcription.h): prints each final once stored. */
static void on_result(void *ctx, const tx_result *result)
{
    printer *p = ctx;
    const session_event *ev = result->ev;
    if (ev->kind != SESSION_FINAL)
        return;
    if (p->json)
        print_final(ev);
    else
        printf("[%8.2f - %8.2f] %s\n", ev->start, ev->end, ev->text);
    fflush(stdout);
}

static void on_fault(void *ctx, tx_fault fault, const char *message)
{
    printer *p = ctx;
    fprintf(stderr, "verbatim transcribe: %s\n", message);
    p->failed = 1;
}

static void on_done(void *ctx)
{
    printer *p = ctx;
    pthread_mutex_lock(&p->lock);
    p->done = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* With --json, after the live results: each diarized segment with its
 * speaker as the run's re-clustering over the whole recording left it. */
static void print_refined(store_t *store, int64_t tid)
{
    store_segment *segs = NULL;
    size_t n = 0;
    if (store_segment_list(store, tid, &segs, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (segs[i].voice == NULL || segs[i].speaker == NULL)
            continue;
        printf("{\"refined\": true, \"start\": %.3f, \"end\": %.3f, "
               "\"speaker\": \"%s\"}\n", segs[i].start_time, segs[i].end_time,
               segs[i].speaker);
    }
    store_segments_free(segs, n);
}

/* The recording through the same transcription layer as the server's
 * streams and uploads, on a store in memory. */
static int run_through_layer(asr_engine *engine, pool_t *pool,
                             const session_params *sp, const pcm_buf *pcm,
                             printer *p)
{
    char err[256];
    store_t *store = NULL;
    runner_t *writer = NULL, *slow = NULL;
    tx_service *svc = NULL;
    store_transcription t;
    int rc = store_open(":memory:", &store, err, sizeof(err));
    if (rc == 0)
        rc = store_transcription_create(store, "transcribe", &t);
    if (rc == 0)
        rc = runner_start("vb-store", &writer);
    if (rc == 0)
        rc = runner_start("vb-slow", &slow);
    if (rc == 0) {
        tx_service_config cfg = {store, writer, slow, NULL, 1};
        rc = tx_service_create(&cfg, &svc);
    }
    tx_run *run = NULL;
    tx_client client = {.result = on_result, .fault = on_fault,
                        .done = on_done, .ctx = p};
    if (rc == 0)
        rc = tx_run_open(svc, t.id, sp, engine, pool, &client, &run);
    if (rc == 0) {
        cli_feed_session(tx_run_session(run),
                         (const unsigned char *)pcm->samples,
                         pcm->len * sizeof(int16_t), NULL, 0);
        pthread_mutex_lock(&p->lock);
        while (!p->done)
            pthread_cond_wait(&p->cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
        tx_run_release(run);
    }
    tx_service_destroy(svc);
    runner_stop(slow);
    runner_stop(writer);
    if (rc == 0 && p->json && sp->diarize)
        print_refined(store, t.id);
    store_close(store);
    return rc;
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
          "  --keywords WORD[:BOOST]   a word to hear (a name, a product,\n"
          "                    jargon), written as given; BOOST -10..10,\n"
          "                    default 1; repeatable, or comma-separated\n"
          "  --sample-rate N   FILE is raw PCM at this rate\n"
          "  --channels N      channels of raw PCM input (default 1)\n"
          "  --encoding E      linear16 (default), linear32 or mulaw\n"
          "  --engine NAME     the recogniser (default: VERBATIM_ENGINE, else\n"
          "                    " ASR_DEFAULT_ENGINE ")\n"
          "  --engine-option KEY=VALUE   one of the engine's own settings;\n"
          "                    repeatable, and wins over the two flags below\n"
          "  --model-dir DIR   PocketSphinx model folder\n"
          "  --profile NAME    accurate (default) or fast\n", to);
}

static int transcribe(int argc, char **argv, cli_engine *choice);

int cli_transcribe(int argc, char **argv)
{
    cli_engine engine = {0};
    int rc = transcribe(argc, argv, &engine);
    cli_engine_free(&engine);
    return rc;
}

static int transcribe(int argc, char **argv, cli_engine *choice)
{
    session_params sp = session_default_params();
    const char *path = NULL, *value;
    printer p = {.json = 0};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
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
        } else if ((m = cli_flag_value(argc, argv, &i, "--keywords", &value))) {
            char why[200];
            if (m < 0)
                return 2;
            if (asr_keywords_add(sp.keywords, &sp.keyword_count, value, why,
                                 sizeof(why)) != 0) {
                fprintf(stderr, "verbatim transcribe: --keywords: %s\n", why);
                return 2;
            }
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
            cli_engine_flag(choice, "model-dir", value);
        } else if ((m = cli_flag_value(argc, argv, &i, "--profile", &value))) {
            if (m < 0)
                return 2;
            cli_engine_flag(choice, "profile", value);
        } else if ((m = cli_engine_flags(argc, argv, &i, choice))) {
            if (m < 0)
                return 2;
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
    int rc = cli_engine_ready(choice, "transcribe");
    if (rc != 0)
        return rc;
    pcm_buf pcm = {0};
    /* Raw PCM is assumed only for stdin or a pipe; a file says what it
     * is. */
    int damaged = cli_decode("transcribe", path, raw ? &sp.format : NULL,
                             cli_is_pipe(path) ? &sp.format : NULL, &pcm);
    if (damaged < 0)
        return 1;
    sp.format = audio_format_default();
    sp.format.pcm_only = 1;
    log_set_level(LOG_WARN);
    char err[512] = "";
    asr_params common = asr_default_params();
    pool_t *pool = NULL;
    asr_engine *engine = NULL;
    rc = asr_engine_create(choice->name, &common, cli_engine_options(choice),
                           &engine, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "verbatim transcribe: %s\n", err);
        pcm_buf_free(&pcm);
        return 1;
    }
    rc = pool_start(1, &pool);
    if (rc == 0)
        rc = run_through_layer(engine, pool, &sp, &pcm, &p);
    pool_stop(pool);
    engine->ops->destroy(engine);
    pcm_buf_free(&pcm);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.cond);
    if (rc != 0) {
        fprintf(stderr, "verbatim transcribe: cannot start: %d\n", rc);
        return 1;
    }
    return p.failed || damaged ? 1 : 0;
}
