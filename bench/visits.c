/*
 * visits.c - what it costs PocketSphinx to come back to a decoder: the
 * recogniser alone, no Verbatim code, built and run by bench/visits.sh.
 *
 * The server decodes a live stream 100 ms at a time, as the audio comes,
 * and between two pieces of one stream its worker waits or decodes other
 * streams; `verbatim bench engine` decodes a file's pieces back to back.
 * This program decodes the same audio several ways, interleaved stretch
 * by stretch (2 s each, the order rotating) so that all meet the virtual
 * machine in the same moments, and times only the decoding calls, with
 * the thread's processor clock.  By default (gap mode):
 *
 *   back to back  one decoder, piece after piece;
 *   after a gap   one decoder, GAP_MS of spinning after each piece (a
 *                 busy loop, not a sleep: the processor never idles);
 *   in turns      five decoders, each given the piece in turn;
 *   cold          one decoder, its data pushed out of every cache after
 *                 each piece (EVICT_MB of memory read through): what a
 *                 visit costs at worst.
 *
 * A busy loop touches almost no memory, so on a machine of its own the
 * decoder's data would still be in the caches after the gap; if coming
 * back after a spin costs as much as coming back cold, something else
 * on the same core (the other hardware thread, or the host's other
 * guests) has pushed it out meanwhile.
 *
 * In live mode (GAP_MS "live"), each way but the first at a live
 * stream's pace, sleeping until the audio it is given would have been
 * recorded, as a server's worker waits for the next message:
 *
 *   back to back  as above;
 *   live          a piece when it has been recorded;
 *   live, 3 a call     three pieces at a time, in one call;
 *   live, 3 calls      three pieces at a time, a call for each.
 *
 * The decoders are configured as the server's accurate profile (see
 * src/asr/pocketsphinx.c).  Prints, after each pass over the audio, the
 * processor seconds per audio second of each way so far, and what the
 * difference from back to back comes to per call.
 */
#include <pocketsphinx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TURNS 5             /* decoders taking turns */
#define STRETCH_MS 2000     /* audio per stretch before the ways rotate */
#define RATE 16000
#define EVICT_MB 256        /* more than any cache of this machine */

enum wait { NO_WAIT, SPIN_AFTER, EVICT_AFTER, LIVE };
struct way {
    const char *name;
    int decoders; /* given each visit's audio in turn */
    int pieces;   /* pieces of audio a visit */
    int calls;    /* decoding calls a visit: 1, or one per piece */
    enum wait wait;
};
static const struct way gap_ways[] = {
    {"back to back", 1, 1, 1, NO_WAIT},
    {"after a gap", 1, 1, 1, SPIN_AFTER},
    {"in turns", TURNS, 1, 1, NO_WAIT},
    {"cold", 1, 1, 1, EVICT_AFTER},
};
static const struct way live_ways[] = {
    {"back to back", 1, 1, 1, NO_WAIT},
    {"live", 1, 1, 1, LIVE},
    {"live, 3 a call", 1, 3, 1, LIVE},
    {"live, 3 calls", 1, 3, 3, LIVE},
};
#define MAX_WAYS 4

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

/* Reads a cache line of each 64 bytes of `mem`, so that what was in the
 * caches before is pushed out. */
static void evict(const volatile unsigned char *mem, size_t size)
{
    unsigned sum = 0;
    for (size_t i = 0; i < size; i += 64)
        sum += mem[i];
    (void)sum;
}

/* Sleeps until the monotonic clock reads `due`. */
static void sleep_until(double due)
{
    double left;
    while ((left = due - clock_s(CLOCK_MONOTONIC)) > 0)
        usleep((useconds_t)(left * 1e6));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: visits MODEL_DIR RAW_FILE [PASSES [PIECE_MS [GAP_MS|live]]]\n", stderr);
        return 2;
    }
    int passes = argc > 3 ? atoi(argv[3]) : 4;
    int piece = RATE / 1000 * (argc > 4 ? atoi(argv[4]) : 100);
    int live = argc > 5 && strcmp(argv[5], "live") == 0;
    double gap = (argc > 5 && !live ? atoi(argv[5]) : 80) / 1000.0;
    const struct way *ways = live ? live_ways : gap_ways;
    int n_ways = live ? (int)(sizeof(live_ways) / sizeof(live_ways[0]))
                      : (int)(sizeof(gap_ways) / sizeof(gap_ways[0]));
    long samples;
    int16_t *audio = read_audio(argv[2], &samples);
    size_t evict_size = (size_t)EVICT_MB << 20;
    unsigned char *evict_mem = live ? NULL : malloc(evict_size);
    if (evict_mem != NULL)
        memset(evict_mem, 1, evict_size);
    if (audio == NULL || (!live && evict_mem == NULL) || passes < 1 || piece < 160 || gap < 0) {
        fprintf(stderr, "visits: cannot read %s, or a bad number\n", argv[2]);
        return 1;
    }
    ps_decoder_t *decoders[MAX_WAYS][TURNS] = {{NULL}};
    for (int w = 0; w < n_ways; w++)
        for (int i = 0; i < ways[w].decoders; i++)
            if ((decoders[w][i] = decoder_create(argv[1])) == NULL) {
                fprintf(stderr, "visits: cannot load the model in %s\n", argv[1]);
                return 1;
            }
    double cpu[MAX_WAYS] = {0}, audio_s[MAX_WAYS] = {0};
    long calls[MAX_WAYS] = {0};
    const long stretch = RATE / 1000 * STRETCH_MS;
    for (int pass = 1; pass <= passes; pass++) {
        for (int w = 0; w < n_ways; w++)
            for (int i = 0; i < ways[w].decoders; i++)
                ps_start_utt(decoders[w][i]);
        for (long from = 0, k = 0; from < samples; from += stretch, k++) {
            long to = from + stretch < samples ? from + stretch : samples;
            for (int r = 0; r < n_ways; r++) {
                int w = (int)((r + k) % n_ways);
                const struct way *way = &ways[w];
                long visit = (long)piece * way->pieces, call = visit / way->calls;
                double began = clock_s(CLOCK_MONOTONIC);
                for (long at = from; at < to; at += visit) {
                    long end = at + visit < to ? at + visit : to;
                    if (way->wait == LIVE) /* its last sample recorded */
                        sleep_until(began + (double)(end - from) / RATE);
                    double start = clock_s(CLOCK_THREAD_CPUTIME_ID);
                    for (int i = 0; i < way->decoders; i++)
                        for (long c = at; c < end; c += call)
                            ps_process_raw(decoders[w][i], audio + c,
                                           (size_t)(end - c < call ? end - c : call), FALSE, FALSE);
                    cpu[w] += clock_s(CLOCK_THREAD_CPUTIME_ID) - start;
                    audio_s[w] += (double)(end - at) * way->decoders / RATE;
                    calls[w] += way->decoders * ((end - at + call - 1) / call);
                    if (way->wait == SPIN_AFTER)
                        for (double until = clock_s(CLOCK_MONOTONIC) + gap;
                             clock_s(CLOCK_MONOTONIC) < until;)
                            ;
                    if (way->wait == EVICT_AFTER)
                        evict(evict_mem, evict_size);
                }
            }
        }
        for (int w = 0; w < n_ways; w++)
            for (int i = 0; i < ways[w].decoders; i++)
                ps_end_utt(decoders[w][i]);
        printf("pass %d, %d ms pieces:", pass, piece * 1000 / RATE);
        double base = cpu[0] / audio_s[0];
        for (int w = 0; w < n_ways; w++) {
            double rtf = cpu[w] / audio_s[w];
            printf("  %s %.4f", ways[w].name, rtf);
            if (w > 0)
                printf(" (%+.1f %%, %+.2f ms a call)", (rtf / base - 1) * 100,
                       (cpu[w] - base * audio_s[w]) / (double)calls[w] * 1000);
        }
        putchar('\n');
        fflush(stdout);
    }
    for (int w = 0; w < n_ways; w++)
        for (int i = 0; i < ways[w].decoders; i++)
            ps_free(decoders[w][i]);
    free(evict_mem);
    free(audio);
    return 0;
}
