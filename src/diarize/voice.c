/*
 * voice.c - a stretch of speech as a Gaussian's sufficient statistics,
 * and the BIC test of whether two stretches share a speaker (see
 * diarize.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "diarize.h"

#define RIDGE 0.01 /* added to the covariance's diagonal */
/* A full covariance has 209 parameters: below about 1.5 frames each
 * (3 s of speech) on either side it over-fits, and two short stretches of
 * different voices look alike once its penalty is paid; there the test
 * falls back to diagonal covariances, with their own weight. */
#define FULL_MIN_FRAMES 300
#define DIAGONAL_LAMBDA 2.5

void voice_add_frame(voice_stats *v, const float *frame, double weight)
{
    v->n += weight;
    v->banded += weight;
    v->high += weight * frame[DIARIZE_DIMS];
    v->high2 += weight * frame[DIARIZE_DIMS] * frame[DIARIZE_DIMS];
    double *c = v->cross;
    for (int a = 0; a < DIARIZE_DIMS; a++) {
        double w = weight * frame[a];
        v->sum[a] += w;
        for (int b = a; b < DIARIZE_DIMS; b++)
            *c++ += w * frame[b];
    }
}

void voice_merge(voice_stats *into, const voice_stats *other)
{
    into->n += other->n;
    for (int d = 0; d < DIARIZE_DIMS; d++)
        into->sum[d] += other->sum[d];
    for (int p = 0; p < DIARIZE_PAIRS; p++)
        into->cross[p] += other->cross[p];
    into->banded += other->banded;
    into->high += other->high;
    into->high2 += other->high2;
}

#define NARROW_SPREAD_DB 2.0

int voice_is_narrow(const voice_stats *v)
{
    double spread = voice_high_spread(v);
    return spread >= 0 && spread < NARROW_SPREAD_DB;
}

double voice_high_spread(const voice_stats *v)
{
    if (v->banded < 2)
        return -1;
    double mean = v->high / v->banded, var = v->high2 / v->banded - mean * mean;
    return var > 0 ? sqrt(var) : 0;
}

/* Fits a Gaussian to the statistics and factors its covariance (with
 * the ridge) by Cholesky into the lower triangle of c; returns
 * n/2 * log|covariance|, the part of its log-likelihood that depends on
 * the data. */
static double factor(const double *sum, const double *cross, double n,
                     double c[DIARIZE_DIMS][DIARIZE_DIMS])
{
    const double *p = cross;
    for (int a = 0; a < DIARIZE_DIMS; a++)
        for (int b = a; b < DIARIZE_DIMS; b++) {
            double v = *p++ / n - (sum[a] / n) * (sum[b] / n);
            c[a][b] = c[b][a] = v + (a == b ? RIDGE : 0);
        }
    double logdet = 0;
    for (int j = 0; j < DIARIZE_DIMS; j++) {
        double d = c[j][j];
        for (int k = 0; k < j; k++)
            d -= c[j][k] * c[j][k];
        d = d > 1e-12 ? d : 1e-12;
        double l = sqrt(d);
        c[j][j] = l;
        logdet += 2 * log(l);
        for (int i = j + 1; i < DIARIZE_DIMS; i++) {
            double t = c[i][j];
            for (int k = 0; k < j; k++)
                t -= c[i][k] * c[j][k];
            c[i][j] = t / l;
        }
    }
    return 0.5 * n * logdet;
}

static double half_n_logdet(const double *sum, const double *cross, double n)
{
    double c[DIARIZE_DIMS][DIARIZE_DIMS];
    return factor(sum, cross, n, c);
}

/* The same for a Gaussian with a diagonal covariance: the variances are
 * the diagonal of the products. */
static double half_n_logdet_diagonal(const double *sum, const double *cross,
                                     double n)
{
    double logdet = 0;
    const double *p = cross;
    for (int d = 0; d < DIARIZE_DIMS; d++) {
        double mean = sum[d] / n;
        double var = *p / n - mean * mean + RIDGE;
        logdet += log(var > 1e-12 ? var : 1e-12);
        p += DIARIZE_DIMS - d; /* the next row's diagonal */
    }
    return 0.5 * n * logdet;
}

/* How much better a and b fit apart than together (ab), per logdet. */
static double split_gain(double (*logdet)(const double *, const double *,
                                          double),
                         const voice_stats *a, const voice_stats *b,
                         const voice_stats *ab)
{
    return logdet(ab->sum, ab->cross, ab->n) - logdet(a->sum, a->cross, a->n) -
           logdet(b->sum, b->cross, b->n);
}

double voice_mean_shift(const voice_stats *v, const voice_stats *model)
{
    if (v->n < 2 || model->n < 2)
        return 0;
    double c[DIARIZE_DIMS][DIARIZE_DIMS], y[DIARIZE_DIMS], sq = 0;
    factor(model->sum, model->cross, model->n, c);
    /* |L^-1 (mean of v - mean of the model)|^2, by forward substitution */
    for (int i = 0; i < DIARIZE_DIMS; i++) {
        double t = v->sum[i] / v->n - model->sum[i] / model->n;
        for (int k = 0; k < i; k++)
            t -= c[i][k] * y[k];
        y[i] = t / c[i][i];
        sq += y[i] * y[i];
    }
    /* The model's covariance and both means are estimates: a model of m
     * frames makes the distance (m - 1) / (m - d - 2) times too large
     * (Hotelling), and the two means' noise adds up, by 1 + n/m. */
    double m = model->n, d = DIARIZE_DIMS;
    double unbiased = m > d + 2 ? (m - d - 2) / (m - 1) : 0;
    return 0.5 * v->n * sq * unbiased / (1 + v->n / m);
}

double voice_fit(const voice_stats *v)
{
    return v->n < 2 ? 0 : half_n_logdet(v->sum, v->cross, v->n);
}

int voice_is_short(const voice_stats *v)
{
    return v->n < FULL_MIN_FRAMES;
}

/* Two diagonal models have one more mean and variance than one. */
static double diagonal_gain(const voice_stats *a, const voice_stats *b,
                            const voice_stats *ab, double lambda)
{
    double penalty = 0.5 * (2.0 * DIARIZE_DIMS) * log(ab->n);
    return split_gain(half_n_logdet_diagonal, a, b, ab) - lambda * penalty;
}

/* The BIC gain of a and b apart; short_lambda > 0: by diagonal models
 * at that weight, whatever their length. */
static double delta_bic(const voice_stats *a, const voice_stats *b,
                        double lambda, double short_lambda)
{
    if (a->n < 2 || b->n < 2)
        return 0;
    /* The full fits only where they are used: a short side goes diagonal. */
    if (short_lambda <= 0 && a->n >= FULL_MIN_FRAMES && b->n >= FULL_MIN_FRAMES)
        return voice_delta_bic_fitted(a, voice_fit(a), b, voice_fit(b), lambda);
    voice_stats ab = *a;
    voice_merge(&ab, b);
    return diagonal_gain(a, b, &ab, short_lambda > 0 ? short_lambda : DIAGONAL_LAMBDA);
}

double voice_delta_bic_fitted(const voice_stats *a, double fit_a,
                              const voice_stats *b, double fit_b, double lambda)
{
    if (a->n < 2 || b->n < 2)
        return 0;
    voice_stats ab = *a;
    voice_merge(&ab, b);
    if (a->n < FULL_MIN_FRAMES || b->n < FULL_MIN_FRAMES)
        return diagonal_gain(a, b, &ab, DIAGONAL_LAMBDA);
    /* Two models have one more mean and covariance than one. */
    double penalty = 0.5 * (DIARIZE_DIMS + DIARIZE_PAIRS) * log(ab.n);
    return voice_fit(&ab) - fit_a - fit_b - lambda * penalty;
}

double voice_delta_bic_short(const voice_stats *a, const voice_stats *b,
                             double lambda)
{
    return delta_bic(a, b, 0, lambda);
}

double voice_delta_bic(const voice_stats *a, const voice_stats *b,
                       double lambda)
{
    return delta_bic(a, b, lambda, 0);
}

int voice_format(const voice_stats *v, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "%.0f", v->n);
    for (int d = 0; d < DIARIZE_DIMS && at < len; d++)
        at += (size_t)snprintf(buf + at, len - at, " %.9g", v->sum[d]);
    for (int p = 0; p < DIARIZE_PAIRS && at < len; p++)
        at += (size_t)snprintf(buf + at, len - at, " %.9g", v->cross[p]);
    if (at < len)
        at += (size_t)snprintf(buf + at, len - at, " %.0f %.9g %.9g", v->banded,
                               v->high, v->high2);
    return at < len ? 0 : VB_ETOOBIG;
}

int voice_parse(const char *text, voice_stats *out)
{
    memset(out, 0, sizeof(*out));
    char *end;
    out->n = strtod(text, &end);
    if (end == text || out->n < 0)
        return VB_EINVAL;
    for (int d = 0; d < DIARIZE_DIMS + DIARIZE_PAIRS; d++) {
        const char *at = end;
        double v = strtod(at, &end);
        if (end == at)
            return VB_EINVAL;
        if (d < DIARIZE_DIMS)
            out->sum[d] = v;
        else
            out->cross[d - DIARIZE_DIMS] = v;
    }
    /* The high band came later: all three numbers or none. */
    const char *at = end;
    double banded = strtod(at, &end);
    if (end == at)
        return 0;
    at = end;
    double high = strtod(at, &end);
    if (end == at)
        return VB_EINVAL;
    at = end;
    double high2 = strtod(at, &end);
    if (end == at || banded < 0 || banded > out->n || high2 < 0)
        return VB_EINVAL;
    out->banded = banded;
    out->high = high;
    out->high2 = high2;
    return 0;
}

void diarize_label(int index, char *out, size_t len)
{
    snprintf(out, len, "speaker_%d", index);
}

int diarize_label_index(const char *label)
{
    int n;
    char rest;
    if (label == NULL || sscanf(label, "speaker_%d%c", &n, &rest) != 1 || n < 0)
        return -1;
    return n;
}

