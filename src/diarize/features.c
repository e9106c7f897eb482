/*
 * features.c - mel-cepstral coefficients for telling voices apart (see
 * diarize.h).
 *
 * Every 10 ms a 25 ms Hamming window of pre-emphasised audio goes through
 * a 512-point FFT; its power spectrum through 40 triangular mel filters
 * from 130 to 6800 Hz (the band the recogniser's model uses); the log
 * energies through a DCT.  c1..c19 describe the shape of the vocal tract
 * and are kept; c0, the loudness, only marks which frames are loud enough
 * to model (quiet frames between words are mostly room, not voice).
 * Each frame also keeps the level of its power from 4.5 to 7.5 kHz, which
 * tells telephone audio from wideband (voice_is_narrow).
 *
 * Frames are kept in a growable array indexed from the start of the
 * stream; the session forgets those it no longer needs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "diarize.h"

#define RATE 16000
#define HOP 160
#define WIN 400
#define NFFT 512
#define NFILT 40
#define LOW_HZ 130.0
#define HIGH_HZ 6800.0
#define LOUD_RANGE_DB 30.0
#define HIGH_FROM (4500 * NFFT / RATE) /* FFT bins from 4.5 kHz */
#define HIGH_TO (7500 * NFFT / RATE)   /* ... to 7.5 kHz */

struct diarize_features {
    float window[WIN];
    float filters[NFILT][NFFT / 2 + 1];
    float dct[DIARIZE_DIMS + 1][NFILT];
    float cos_table[NFFT / 2], sin_table[NFFT / 2];
    int16_t pending[WIN];   /* samples not yet a whole frame */
    size_t pending_len;
    float prev_sample;      /* for pre-emphasis across pushes */
    size_t first;           /* frame index of rows[0] */
    float *rows;            /* count x DIARIZE_ROW */
    float *energy;          /* count: c0 */
    uint8_t *loud;          /* scratch for range() */
    size_t count, cap;
};

static double mel(double hz)
{
    return 2595.0 * log10(1.0 + hz / 700.0);
}

static double hz_of(double m)
{
    return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
}

int diarize_features_create(diarize_features **out)
{
    diarize_features *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return VB_ENOMEM;
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < WIN; i++)
        f->window[i] = (float)(0.54 - 0.46 * cos(2 * pi * i / (WIN - 1)));
    double lo = mel(LOW_HZ), hi = mel(HIGH_HZ);
    for (int m = 0; m < NFILT; m++) {
        double left = hz_of(lo + (hi - lo) * m / (NFILT + 1));
        double centre = hz_of(lo + (hi - lo) * (m + 1) / (NFILT + 1));
        double right = hz_of(lo + (hi - lo) * (m + 2) / (NFILT + 1));
        for (int k = 0; k <= NFFT / 2; k++) {
            double hz = (double)k * RATE / NFFT, w = 0;
            if (hz > left && hz <= centre)
                w = (hz - left) / (centre - left);
            else if (hz > centre && hz < right)
                w = (right - hz) / (right - centre);
            f->filters[m][k] = (float)w;
        }
    }
    for (int c = 0; c <= DIARIZE_DIMS; c++)
        for (int m = 0; m < NFILT; m++)
            f->dct[c][m] = (float)cos(pi * c * (m + 0.5) / NFILT);
    for (int k = 0; k < NFFT / 2; k++) {
        f->cos_table[k] = (float)cos(2 * pi * k / NFFT);
        f->sin_table[k] = (float)-sin(2 * pi * k / NFFT);
    }
    *out = f;
    return 0;
}

void diarize_features_destroy(diarize_features *f)
{
    if (f == NULL)
        return;
    free(f->rows);
    free(f->energy);
    free(f->loud);
    free(f);
}

/* In-place iterative radix-2 FFT of NFFT complex points. */
static void fft(const diarize_features *f, float *re, float *im)
{
    for (int i = 1, j = 0; i < NFFT; i++) {
        int bit = NFFT >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j |= bit;
        if (i < j) {
            float t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int len = 2; len <= NFFT; len <<= 1) {
        int step = NFFT / len;
        for (int i = 0; i < NFFT; i += len) {
            for (int k = 0; k < len / 2; k++) {
                float wr = f->cos_table[k * step], wi = f->sin_table[k * step];
                int a = i + k, b = i + k + len / 2;
                float xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
        }
    }
}

/* One frame of WIN samples to c0..c19 and its high-band level (*high). */
static void frame_cepstrum(diarize_features *f, const int16_t *s, float prev,
                           float *cep, float *high)
{
    float re[NFFT] = {0}, im[NFFT] = {0};
    for (int i = 0; i < WIN; i++) {
        float x = (float)s[i] - 0.97f * (i ? (float)s[i - 1] : prev);
        re[i] = x * f->window[i];
    }
    fft(f, re, im);
    float power[NFFT / 2 + 1], logmel[NFILT];
    double above = 0;
    for (int k = 0; k <= NFFT / 2; k++) {
        power[k] = re[k] * re[k] + im[k] * im[k];
        if (k >= HIGH_FROM && k < HIGH_TO)
            above += power[k];
    }
    *high = (float)(10 * log10(above > 1.0 ? above : 1.0));
    for (int m = 0; m < NFILT; m++) {
        double e = 0;
        for (int k = 0; k <= NFFT / 2; k++)
            e += f->filters[m][k] * power[k];
        logmel[m] = (float)log(e > 1.0 ? e : 1.0);
    }
    for (int c = 0; c <= DIARIZE_DIMS; c++) {
        double v = 0;
        for (int m = 0; m < NFILT; m++)
            v += f->dct[c][m] * logmel[m];
        cep[c] = (float)v;
    }
}

static int grow(diarize_features *f)
{
    size_t cap = f->cap ? f->cap * 2 : 1024;
    float *rows = realloc(f->rows, cap * DIARIZE_ROW * sizeof(float));
    if (rows == NULL)
        return VB_ENOMEM;
    f->rows = rows;
    float *energy = realloc(f->energy, cap * sizeof(float));
    if (energy == NULL)
        return VB_ENOMEM;
    f->energy = energy;
    uint8_t *loud = realloc(f->loud, cap);
    if (loud == NULL)
        return VB_ENOMEM;
    f->loud = loud;
    f->cap = cap;
    return 0;
}

int diarize_features_push(diarize_features *f, const int16_t *pcm, size_t n)
{
    while (n > 0) {
        size_t take = WIN - f->pending_len < n ? WIN - f->pending_len : n;
        memcpy(f->pending + f->pending_len, pcm, take * sizeof(int16_t));
        f->pending_len += take;
        pcm += take;
        n -= take;
        if (f->pending_len < WIN)
            break;
        if (f->count == f->cap && grow(f) != 0)
            return VB_ENOMEM;
        float cep[DIARIZE_DIMS + 1], *row = f->rows + f->count * DIARIZE_ROW;
        frame_cepstrum(f, f->pending, f->prev_sample, cep, &row[DIARIZE_DIMS]);
        memcpy(row, cep + 1, DIARIZE_DIMS * sizeof(float));
        f->energy[f->count++] = cep[0];
        /* Slide by one hop: the next frame starts HOP samples later. */
        f->prev_sample = (float)f->pending[HOP - 1];
        memmove(f->pending, f->pending + HOP, (WIN - HOP) * sizeof(int16_t));
        f->pending_len = WIN - HOP;
    }
    return 0;
}

size_t diarize_features_range(diarize_features *f, double from, double to,
                              const float **frames, const uint8_t **loud)
{
    long a = lround(from * DIARIZE_FRAME_RATE) - (long)f->first;
    long b = lround(to * DIARIZE_FRAME_RATE) - (long)f->first;
    a = a < 0 ? 0 : a;
    b = b > (long)f->count ? (long)f->count : b;
    if (b <= a) {
        *frames = f->rows;
        *loud = f->loud;
        return 0;
    }
    float top = -1e30f;
    for (long i = a; i < b; i++)
        top = f->energy[i] > top ? f->energy[i] : top;
    /* c0 is a sum of 40 natural-log energies, times 1 (the DCT's first
     * row): 30 dB is 40 * ln(10^3) in those units. */
    float floor_c0 = top - (float)(NFILT * LOUD_RANGE_DB / 10.0 * log(10.0));
    for (long i = a; i < b; i++)
        f->loud[i] = f->energy[i] >= floor_c0;
    *frames = f->rows + (size_t)a * DIARIZE_ROW;
    *loud = f->loud + a;
    return (size_t)(b - a);
}

void diarize_features_forget(diarize_features *f, double before)
{
    long drop = lround(before * DIARIZE_FRAME_RATE) - (long)f->first;
    if (drop <= 0)
        return;
    size_t d = (size_t)drop < f->count ? (size_t)drop : f->count;
    memmove(f->rows, f->rows + d * DIARIZE_ROW,
            (f->count - d) * DIARIZE_ROW * sizeof(float));
    memmove(f->energy, f->energy + d, (f->count - d) * sizeof(float));
    f->count -= d;
    f->first += d;
}
