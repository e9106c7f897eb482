/*
 * voice.c - a stretch of speech as a diagonal Gaussian's sufficient
 * statistics, and the BIC test of whether two stretches share a speaker
 * (see diarize.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "diarize.h"

#define VAR_FLOOR 0.01

void voice_add_frame(voice_stats *v, const float *frame)
{
    v->n += 1;
    for (int d = 0; d < DIARIZE_DIMS; d++) {
        v->sum[d] += frame[d];
        v->sq[d] += (double)frame[d] * frame[d];
    }
}

void voice_merge(voice_stats *into, const voice_stats *other)
{
    into->n += other->n;
    for (int d = 0; d < DIARIZE_DIMS; d++) {
        into->sum[d] += other->sum[d];
        into->sq[d] += other->sq[d];
    }
}

/* n/2 * log|covariance| of the Gaussian fitted to the statistics (the
 * part of its log-likelihood that depends on the data). */
static double half_n_logdet(const double *sum, const double *sq, double n)
{
    double logdet = 0;
    for (int d = 0; d < DIARIZE_DIMS; d++) {
        double mean = sum[d] / n;
        double var = sq[d] / n - mean * mean;
        logdet += log(var > VAR_FLOOR ? var : VAR_FLOOR);
    }
    return 0.5 * n * logdet;
}

double voice_delta_bic(const voice_stats *a, const voice_stats *b,
                       double lambda)
{
    if (a->n < 2 || b->n < 2)
        return 0;
    double n = a->n + b->n, sum[DIARIZE_DIMS], sq[DIARIZE_DIMS];
    for (int d = 0; d < DIARIZE_DIMS; d++) {
        sum[d] = a->sum[d] + b->sum[d];
        sq[d] = a->sq[d] + b->sq[d];
    }
    double gain = half_n_logdet(sum, sq, n) - half_n_logdet(a->sum, a->sq, a->n) -
                  half_n_logdet(b->sum, b->sq, b->n);
    /* Two models have 2 * DIARIZE_DIMS more parameters than one. */
    double penalty = 0.5 * (2.0 * DIARIZE_DIMS) * log(n);
    return gain - lambda * penalty;
}

int voice_format(const voice_stats *v, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "%.0f", v->n);
    for (int d = 0; d < DIARIZE_DIMS && at < len; d++)
        at += (size_t)snprintf(buf + at, len - at, " %.9g", v->sum[d]);
    for (int d = 0; d < DIARIZE_DIMS && at < len; d++)
        at += (size_t)snprintf(buf + at, len - at, " %.9g", v->sq[d]);
    return at < len ? 0 : VB_ETOOBIG;
}

int voice_parse(const char *text, voice_stats *out)
{
    memset(out, 0, sizeof(*out));
    char *end;
    out->n = strtod(text, &end);
    if (end == text || out->n < 0)
        return VB_EINVAL;
    for (int d = 0; d < 2 * DIARIZE_DIMS; d++) {
        const char *at = end;
        double v = strtod(at, &end);
        if (end == at)
            return VB_EINVAL;
        if (d < DIARIZE_DIMS)
            out->sum[d] = v;
        else
            out->sq[d - DIARIZE_DIMS] = v;
    }
    return 0;
}
