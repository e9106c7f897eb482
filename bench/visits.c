/*
 * visits.c - what it costs PocketSphinx to come back to a decoder: the
 * recogniser alone, no Verbatim code, built and run by bench/visits.sh.
 *
 * The server decodes a live stream 100 ms at a time, as the audio comes,
 * and between two pieces of one stream its worker waits or decodes other
 * streams; `verbatim bench engine` decodes a file's pieces back to back.
 * This program decodes the same audio three ways, interleaved stretch by
 * stretch (2 s each, the order rotating) so that all three meet the
 * virtual machine in the same moments, and times only the decoding
 * calls, with the thread's processor clock:
 *
 *   back to back  one decoder, piece after piece;
 *   after a gap   one decoder, GAP_MS of spinning after each piece (a
 *                 busy loop, not a sleep: the processor never idles);
 *   in turns      five decoders, each given the piece in turn.
 *
 * The decoders are configured as the server's accurate profile (see
 * src/asr/pocketsphinx.c).  Prints, after each pass over the audio, the
 * processor seconds per audio second of each way so far, and what the
 * difference from back to back comes to per piece.
 */
#include <pocketsphinx.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TURNS 5             /* decoders taking turns */
#define STRETCH_MS 2000     /* audio per stretch before the ways rotate */
#define RATE 16000

enum way { BACK_TO_BACK, AFTER_GAP, IN_TURNS, WAYS };
static const char *const way_name[WAYS] = {"back to back", "after a gap", "in turns"};

static double clock_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static ps_decoder_t *decoder_create(const char *model_dir)
{
    char hmm[512], lm[512], dict[512];
    snprintf(hmm, sizeof(hmm), "%s/en-us", model_dir);
    snprintf(lm, sizeof(lm), "%s/en-us.lm.bin", model_dir);
    snprintf(dict, sizeof(dict), "%s/cmudict-en-us.dict", model_dir);
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm,
                                   "-dict", dict, "-remove_silence", "no",
                                   "-cmn", "live", "-maxhmmpf", "8000",
                                   "-maxwpf", "20", "-logfn", "/dev/null", NULL);
    ps_decoder_t *ps = config ? ps_init(config) : NULL;
    cmd_ln_free_r(config);
    return ps;
}

/* The whole of a raw 16 kHz 16-bit mono file; NULL if it cannot be read. */
static int16_t *read_audio(const char *path, long *samples)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    int16_t *audio = NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (*samples = ftell(f) / 2) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (audio = malloc((size_t)*samples * 2)) != NULL &&
        fread(audio, 2, (size_t)*samples, f) != (size_t)*samples) {
        free(audio);
        audio = NULL;
    }
    fclose(f);
    return audio;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: visits MODEL_DIR RAW_FILE [PASSES [PIECE_MS [GAP_MS]]]\n", stderr);
        return 2;
    }
    int passes = argc > 3 ? atoi(argv[3]) : 4;
    int piece = RATE / 1000 * (argc > 4 ? atoi(argv[4]) : 100);
    double gap = (argc > 5 ? atoi(argv[5]) : 80) / 1000.0;
    long samples;
    int16_t *audio = read_audio(argv[2], &samples);
    if (audio == NULL || passes < 1 || piece < 160 || gap < 0) {
        fprintf(stderr, "visits: cannot read %s, or a bad number\n", argv[2]);
        return 1;
    }
    ps_decoder_t *alone = decoder_create(argv[1]), *gapped = decoder_create(argv[1]);
    ps_decoder_t *turns[TURNS];
    int built = alone != NULL && gapped != NULL;
    for (int i = 0; i < TURNS; i++)
        built = (turns[i] = decoder_create(argv[1])) != NULL && built;
    if (!built) {
        fprintf(stderr, "visits: cannot load the model in %s\n", argv[1]);
        return 1;
    }
    double cpu[WAYS] = {0}, audio_s[WAYS] = {0};
    long visits[WAYS] = {0};
    const long stretch = RATE / 1000 * STRETCH_MS;
    for (int pass = 1; pass <= passes; pass++) {
        ps_start_utt(alone);
        ps_start_utt(gapped);
        for (int i = 0; i < TURNS; i++)
            ps_start_utt(turns[i]);
        for (long from = 0, k = 0; from < samples; from += stretch, k++) {
            long to = from + stretch < samples ? from + stretch : samples;
            for (int w = 0; w < WAYS; w++) {
                enum way way = (enum way)((w + k) % WAYS);
                for (long at = from; at < to; at += piece) {
                    size_t len = (size_t)(to - at < piece ? to - at : piece);
                    double start = clock_s(CLOCK_THREAD_CPUTIME_ID);
                    if (way == IN_TURNS)
                        for (int i = 0; i < TURNS; i++)
                            ps_process_raw(turns[i], audio + at, len, FALSE, FALSE);
                    else
                        ps_process_raw(way == AFTER_GAP ? gapped : alone, audio + at,
                                       len, FALSE, FALSE);
                    cpu[way] += clock_s(CLOCK_THREAD_CPUTIME_ID) - start;
                    int decoders = way == IN_TURNS ? TURNS : 1;
                    audio_s[way] += (double)len * decoders / RATE;
                    visits[way] += decoders;
                    if (way == AFTER_GAP)
                        for (double until = clock_s(CLOCK_MONOTONIC) + gap;
                             clock_s(CLOCK_MONOTONIC) < until;)
                            ;
                }
            }
        }
        ps_end_utt(alone);
        ps_end_utt(gapped);
        for (int i = 0; i < TURNS; i++)
            ps_end_utt(turns[i]);
        printf("pass %d, %d ms pieces:", pass, piece * 1000 / RATE);
        for (int w = 0; w < WAYS; w++) {
            double rtf = cpu[w] / audio_s[w];
            double extra_ms = (cpu[w] - cpu[BACK_TO_BACK] / audio_s[BACK_TO_BACK] * audio_s[w]) /
                              (double)visits[w] * 1000;
            printf("  %s %.4f", way_name[w], rtf);
            if (w != BACK_TO_BACK)
                printf(" (%+.1f %%, %+.2f ms a piece)",
                       (rtf / (cpu[BACK_TO_BACK] / audio_s[BACK_TO_BACK]) - 1) * 100, extra_ms);
        }
        putchar('\n');
        fflush(stdout);
    }
    ps_free(alone);
    ps_free(gapped);
    for (int i = 0; i < TURNS; i++)
        ps_free(turns[i]);
    free(audio);
    return 0;
}
