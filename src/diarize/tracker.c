/*
 * tracker.c - live speaker labels and the end-of-session re-clustering
 * (see diarize.h for the method and why).
 *
 * Change points: in an utterance of n frames, each candidate point t is
 * scored by the BIC gain of modelling the loud frames of the windows
 * [t - W, t) and [t, t + W) apart; the best point is a change when its
 * gain is positive, and the halves on either side are searched the same
 * way (binary segmentation), down to parts of min_part_s.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "diarize.h"

#define MAX_SPEAKERS 64
#define CHANGE_WINDOW 200     /* frames either side of a candidate: 2 s */
#define CHANGE_STEP 5         /* candidates every 50 ms */
#define PEEK_MIN_FRAMES 80    /* loud frames before an interim gets a label */

struct diarize_tracker {
    diarize_params params;
    voice_stats *speakers;    /* grown as labels are handed out */
    int *known;               /* 1 where speakers[i] is a speaker */
    int room;                 /* entries allocated */
    int count;                /* highest index in use + 1 */
};

diarize_params diarize_default_params(void)
{
    diarize_params p = {
        .lambda = 1.35,
        .new_lambda = 1.5,
        .refine_lambda = 2.0,
        .min_speakers = 0,
        .max_speakers = 0,
        .min_part_s = 1.0,
        .min_voice_s = 2.0,
        .min_cut_voice_s = 1.4,
        .shift_lambda = 15.0,
        .narrow_shift_lambda = 8.0,
        .short_lambda = 4.0,
    };
    return p;
}

int diarize_tracker_create(const diarize_params *params, diarize_tracker **out)
{
    diarize_tracker *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return VB_ENOMEM;
    t->params = *params;
    *out = t;
    return 0;
}

void diarize_tracker_destroy(diarize_tracker *t)
{
    if (t == NULL)
        return;
    free(t->speakers);
    free(t->known);
    free(t);
}

/* Makes room for speakers [0, n); new entries are empty. */
static int make_room(diarize_tracker *t, int n)
{
    if (n <= t->room)
        return 0;
    int room = t->room ? t->room : 4;
    while (room < n)
        room *= 2;
    voice_stats *speakers = realloc(t->speakers, (size_t)room * sizeof(*speakers));
    if (speakers == NULL)
        return VB_ENOMEM;
    t->speakers = speakers;
    int *known = realloc(t->known, (size_t)room * sizeof(*known));
    if (known == NULL)
        return VB_ENOMEM;
    t->known = known;
    memset(speakers + t->room, 0, (size_t)(room - t->room) * sizeof(*speakers));
    memset(known + t->room, 0, (size_t)(room - t->room) * sizeof(*known));
    t->room = room;
    return 0;
}

int diarize_tracker_seed(diarize_tracker *t, int speaker,
                         const voice_stats *voice)
{
    if (speaker < 0 || speaker >= MAX_SPEAKERS)
        return VB_EINVAL;
    int rc = make_room(t, speaker + 1);
    if (rc != 0)
        return rc;
    voice_merge(&t->speakers[speaker], voice);
    t->known[speaker] = 1;
    if (speaker >= t->count)
        t->count = speaker + 1;
    return 0;
}

int diarize_tracker_speakers(const diarize_tracker *t)
{
    int n = 0;
    for (int i = 0; i < t->count; i++)
        n += t->known[i];
    return n;
}

/* Adds (sign 1) or takes away (sign -1) the loud frames in [from, to). */
static void add_range(const float *frames, const uint8_t *loud, size_t from,
                      size_t to, double sign, voice_stats *v)
{
    for (size_t i = from; i < to; i++)
        if (loud[i])
            voice_add_frame(v, frames + i * DIARIZE_ROW, sign);
}

/* Statistics of the loud frames in [from, to). */
static void stats_of(const float *frames, const uint8_t *loud, size_t from,
                     size_t to, voice_stats *out)
{
    memset(out, 0, sizeof(*out));
    add_range(frames, loud, from, to, 1, out);
}

/* The known speaker closest to v (smallest BIC gain), or -1. */
static int nearest(const diarize_tracker *t, const voice_stats *v,
                   double *gain)
{
    int best = -1;
    *gain = INFINITY;
    for (int i = 0; i < t->count; i++) {
        if (!t->known[i])
            continue;
        double g = voice_delta_bic(v, &t->speakers[i], t->params.lambda);
        if (g < *gain) {
            *gain = g;
            best = i;
        }
    }
    return best;
}

/* Finds change points in [from, to) and appends them, in order, to cuts
 * (at most max - *count more). */
static void find_changes(const diarize_tracker *t, const float *frames,
                         const uint8_t *loud, size_t from, size_t to,
                         size_t *cuts, size_t *count, size_t max)
{
    size_t min_part = (size_t)(t->params.min_part_s * DIARIZE_FRAME_RATE);
    if (to - from < 2 * min_part || *count >= max)
        return;
    double best_gain = 0;
    size_t best = 0;
    /* The windows slide: each step adds and takes away a few frames
     * instead of summing 2 * CHANGE_WINDOW again. */
    size_t c = from + min_part;
    size_t a = c - from > CHANGE_WINDOW ? c - CHANGE_WINDOW : from;
    size_t b = to - c > CHANGE_WINDOW ? c + CHANGE_WINDOW : to;
    voice_stats left, right;
    stats_of(frames, loud, a, c, &left);
    stats_of(frames, loud, c, b, &right);
    for (;;) {
        if (left.n >= min_part / 2.0 && right.n >= min_part / 2.0) {
            double g = voice_delta_bic(&left, &right, t->params.lambda);
            if (g > best_gain) {
                best_gain = g;
                best = c;
            }
        }
        size_t next = c + CHANGE_STEP;
        if (next + min_part > to)
            break;
        size_t na = next - from > CHANGE_WINDOW ? next - CHANGE_WINDOW : from;
        size_t nb = to - next > CHANGE_WINDOW ? next + CHANGE_WINDOW : to;
        add_range(frames, loud, a, na, -1, &left);
        add_range(frames, loud, c, next, 1, &left);
        add_range(frames, loud, c, next, -1, &right);
        add_range(frames, loud, b, nb, 1, &right);
        a = na;
        b = nb;
        c = next;
    }
    if (best == 0)
        return;
    find_changes(t, frames, loud, from, best, cuts, count, max);
    if (*count < max)
        cuts[(*count)++] = best;
    find_changes(t, frames, loud, best, to, cuts, count, max);
}

/* Gives a part its speaker: the nearest if close enough by new_lambda (or
 * if it has less than min_s seconds of speech, or the speaker limit is
 * reached), else a new one; learns. */
static int assign(diarize_tracker *t, const voice_stats *v, double min_s)
{
    double gain;
    int best = nearest(t, v, &gain);
    const voice_stats *known = best >= 0 ? &t->speakers[best] : NULL;
    /* Where either side has under 3 s of speech, BIC has only diagonal
     * models, which weigh what was said nearly as much as who said it.
     * There the mean decides (voice_mean_shift): a short sentence that
     * merely says other sounds stays with its speaker, and a short reply
     * whose voice is clearly elsewhere founds a new one. */
    double weight = voice_is_narrow(v) ? t->params.narrow_shift_lambda
                                       : t->params.shift_lambda;
    int shift = known != NULL && weight > 0;
    int apart = shift && voice_mean_shift(v, known) > weight * 0.5 * DIARIZE_DIMS * log(v->n);
    if (shift && (voice_is_short(v) || voice_is_short(known)))
        gain = apart ? 1 : -1;
    else if (known != NULL && gain > 0)
        gain = voice_is_short(v) && voice_is_short(known)
                   ? voice_delta_bic_short(v, known, t->params.short_lambda)
                   : voice_delta_bic(v, known, t->params.new_lambda);
    /* ... and a clear shift needs less speech than a BIC gain: a
     * one-second reply will do */
    if (apart && min_s > t->params.min_part_s)
        min_s = t->params.min_part_s;
    double min_frames = min_s * DIARIZE_FRAME_RATE;
    int room = t->params.max_speakers <= 0 ||
               diarize_tracker_speakers(t) < t->params.max_speakers;
    if ((best < 0 || (gain > 0 && v->n >= min_frames && room &&
                      t->count < MAX_SPEAKERS)) &&
        make_room(t, t->count + 1) == 0) {
        best = t->count;
        t->known[best] = 1;
        t->count = best + 1;
    }
    if (best >= 0) /* -1 only when out of memory with no speaker yet */
        voice_merge(&t->speakers[best], v);
    return best;
}

size_t diarize_tracker_label(diarize_tracker *t, diarize_features *f,
                             double start, double end, diarize_part *parts,
                             size_t max)
{
    const float *frames;
    const uint8_t *loud;
    size_t n = diarize_features_range(f, start, end, &frames, &loud);
    size_t cuts[32], ncuts = 0;
    if (max > 1)
        find_changes(t, frames, loud, 0, n, cuts,
                     &ncuts, max - 1 < 32 ? max - 1 : 32);
    /* Parts of an utterance cut where the voice changed are already known
     * to differ from their neighbours, so less speech may found a new
     * speaker: a reply of a few words after a short pause. */
    double min_s = ncuts > 0 ? t->params.min_cut_voice_s : t->params.min_voice_s;
    size_t from = 0;
    for (size_t p = 0; p <= ncuts; p++) {
        size_t to = p < ncuts ? cuts[p] : n;
        diarize_part *part = &parts[p];
        part->start = p == 0 ? start : start + (double)from / DIARIZE_FRAME_RATE;
        part->end = p == ncuts ? end : start + (double)to / DIARIZE_FRAME_RATE;
        stats_of(frames, loud, from, to, &part->voice);
        part->speaker = part->voice.n >= 1 ? assign(t, &part->voice, min_s) : -1;
        from = to;
    }
    /* Neighbours that came out as one speaker are one part. */
    size_t out = 0;
    for (size_t p = 0; p <= ncuts; p++) {
        if (out > 0 && parts[out - 1].speaker == parts[p].speaker) {
            parts[out - 1].end = parts[p].end;
            voice_merge(&parts[out - 1].voice, &parts[p].voice);
        } else {
            parts[out++] = parts[p];
        }
    }
    return out;
}

int diarize_tracker_peek(diarize_tracker *t, diarize_features *f,
                         double start, double end)
{
    const float *frames;
    const uint8_t *loud;
    size_t n = diarize_features_range(f, start, end, &frames, &loud);
    voice_stats v;
    stats_of(frames, loud, 0, n, &v);
    if (v.n < PEEK_MIN_FRAMES)
        return -1;
    double gain;
    int best = nearest(t, &v, &gain);
    return gain <= 0 ? best : -1;
}

/* ---- refinement ---------------------------------------------------------- */

/* Whether a and b sound apart, for re-clustering (> 0: apart). */
static double refine_gain(const diarize_params *p, const voice_stats *a,
                          double fit_a, const voice_stats *b, double fit_b)
{
    if (voice_is_short(a) && voice_is_short(b))
        return voice_delta_bic_short(a, b, p->short_lambda);
    return voice_delta_bic_fitted(a, fit_a, b, fit_b, p->refine_lambda);
}

/* Row i's closest cluster after it (the first of the smallest gains): a
 * cache, so that finding the closest pair is a scan of the rows, not of
 * every pair, after each merge (bench/NOTES.md, "What diarization
 * costs"). */
static void row_best(const double *gain, const int *root, size_t n, size_t i,
                     size_t *best_of, double *best_gain)
{
    best_of[i] = n;
    best_gain[i] = INFINITY;
    for (size_t j = i + 1; j < n; j++)
        if (root[j] == (int)j && gain[i * n + j] < best_gain[i]) {
            best_gain[i] = gain[i * n + j];
            best_of[i] = j;
        }
}

/* Bottom-up clustering of the segments by BIC: merges the closest pair of
 * clusters while that pays (gain < 0), or while there are more than
 * max_speakers, but not below min_speakers.  cluster_of gets each
 * segment's cluster (0..k-1); returns k. */
static int cluster(const diarize_params *p, const voice_stats *segs, size_t n,
                   int *cluster_of)
{
    voice_stats *c = malloc(n * sizeof(*c));
    double *gain = malloc(n * n * sizeof(*gain));
    int *root = malloc(n * sizeof(*root));
    size_t *best_of = malloc(n * sizeof(*best_of));
    double *best_gain = malloc(n * sizeof(*best_gain));
    double *fit = malloc(n * sizeof(*fit)); /* voice_fit of each cluster */
    if (c == NULL || gain == NULL || root == NULL || best_of == NULL ||
        best_gain == NULL || fit == NULL) {
        free(c);
        free(gain);
        free(root);
        free(best_of);
        free(best_gain);
        free(fit);
        return VB_ENOMEM;
    }
    size_t alive = n;
    for (size_t i = 0; i < n; i++) {
        c[i] = segs[i];
        root[i] = (int)i;
        fit[i] = voice_fit(&c[i]);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            gain[i * n + j] = refine_gain(p, &c[i], fit[i], &c[j], fit[j]);
    for (size_t i = 0; i < n; i++)
        row_best(gain, root, n, i, best_of, best_gain);
    while (alive > 1) {
        size_t bi = 0, bj = 0;
        double best = INFINITY;
        for (size_t i = 0; i < n; i++)
            if (root[i] == (int)i && best_of[i] < n && best_gain[i] < best) {
                best = best_gain[i];
                bi = i;
                bj = best_of[i];
            }
        int must = p->max_speakers > 0 && alive > (size_t)p->max_speakers;
        int may = p->min_speakers <= 0 || alive > (size_t)p->min_speakers;
        if (!may || (!must && best >= 0) || bj == 0)
            break;
        voice_merge(&c[bi], &c[bj]);
        fit[bi] = voice_fit(&c[bi]);
        for (size_t k = 0; k < n; k++)
            if (root[k] == (int)bj)
                root[k] = (int)bi;
        alive--;
        for (size_t k = 0; k < n; k++) {
            if (root[k] != (int)k || k == bi)
                continue;
            double g = refine_gain(p, &c[bi], fit[bi], &c[k], fit[k]);
            if (k < bi)
                gain[k * n + bi] = g;
            else
                gain[bi * n + k] = g;
        }
        /* Rows whose closest was bi or bj look again; others only
         * compare with bi's new gain. */
        for (size_t k = 0; k < n; k++) {
            if (root[k] != (int)k)
                continue;
            if (k == bi || best_of[k] == bi || best_of[k] == bj)
                row_best(gain, root, n, k, best_of, best_gain);
            else if (k < bi && (gain[k * n + bi] < best_gain[k] ||
                                (gain[k * n + bi] == best_gain[k] && bi < best_of[k]))) {
                best_gain[k] = gain[k * n + bi];
                best_of[k] = bi;
            }
        }
    }
    free(best_of);
    free(best_gain);
    free(fit);
    /* Number the clusters 0..k-1 in order of first appearance. */
    int k = 0;
    int *number = malloc(n * sizeof(*number));
    if (number == NULL) {
        free(c);
        free(gain);
        free(root);
        return VB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        number[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int r = root[i];
        if (number[r] < 0)
            number[r] = k++;
        cluster_of[i] = number[r];
    }
    free(number);
    free(c);
    free(gain);
    free(root);
    return k;
}

/* Clusters the segments with enough speech to stand on their own (all of
 * them when none has), then gives every other segment the cluster whose
 * voice it is closest to. */
static int cluster_with_anchors(const diarize_params *p,
                                const voice_stats *segs, size_t n, int *cl)
{
    double min_frames = p->min_voice_s * DIARIZE_FRAME_RATE;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += segs[i].n >= min_frames;
    if (m == 0 || m == n)
        return cluster(p, segs, n, cl);
    voice_stats *anchors = malloc(m * sizeof(*anchors));
    int *acl = malloc(m * sizeof(*acl));
    if (anchors == NULL || acl == NULL) {
        free(anchors);
        free(acl);
        return VB_ENOMEM;
    }
    for (size_t i = 0, j = 0; i < n; i++)
        if (segs[i].n >= min_frames)
            anchors[j++] = segs[i];
    int k = cluster(p, anchors, m, acl);
    voice_stats *model = k > 0 ? calloc((size_t)k, sizeof(*model)) : NULL;
    if (k > 0 && model == NULL)
        k = VB_ENOMEM;
    for (size_t j = 0; k > 0 && j < m; j++)
        voice_merge(&model[acl[j]], &anchors[j]);
    for (size_t i = 0, j = 0; k > 0 && i < n; i++) {
        if (segs[i].n >= min_frames) {
            cl[i] = acl[j++];
            continue;
        }
        double best = INFINITY;
        cl[i] = 0;
        for (int c = 0; c < k; c++) {
            double g = voice_delta_bic(&segs[i], &model[c], p->refine_lambda);
            if (g < best) {
                best = g;
                cl[i] = c;
            }
        }
    }
    free(model);
    free(anchors);
    free(acl);
    return k;
}

/* Re-clusters the speakers found live: each live label's segments start
 * as one cluster (its model then holds all of that speaker's speech, not
 * a sentence's), unlabelled segments on their own, and clusters merge by
 * BIC within the hints.  -1 when the hints ask for more speakers than
 * live found, which only clustering the segments afresh can give. */
static int cluster_from_labels(const diarize_params *p, const voice_stats *segs,
                               const int *current, size_t n, int *cl)
{
    int top = -1;
    for (size_t i = 0; i < n; i++)
        top = current[i] > top ? current[i] : top;
    int *group_of_label = malloc(((size_t)top + 2) * sizeof(int));
    int *group = malloc(n * sizeof(int));
    voice_stats *groups = calloc(n, sizeof(*groups));
    int *gcl = malloc(n * sizeof(int));
    int k = VB_ENOMEM;
    if (group_of_label && group && groups && gcl) {
        size_t g = 0;
        for (int l = 0; l <= top; l++)
            group_of_label[l] = -1;
        for (size_t i = 0; i < n; i++) {
            int l = current[i];
            if (l < 0 || group_of_label[l] < 0) {
                if (l >= 0)
                    group_of_label[l] = (int)g;
                group[i] = (int)g++;
            } else {
                group[i] = group_of_label[l];
            }
            voice_merge(&groups[group[i]], &segs[i]);
        }
        if (p->min_speakers > 0 && g < (size_t)p->min_speakers) {
            k = -1;
        } else {
            k = cluster(p, groups, g, gcl);
            for (size_t i = 0; k > 0 && i < n; i++)
                cl[i] = gcl[group[i]];
        }
    }
    free(group_of_label);
    free(group);
    free(groups);
    free(gcl);
    return k;
}

/* How well k clusters explain the segments, by BIC (lower is better):
 * each cluster's full Gaussian, penalised per cluster. */
static double partition_cost(const diarize_params *p, const voice_stats *segs,
                             size_t n, const int *cl, int k)
{
    voice_stats *c = calloc((size_t)k, sizeof(*c));
    if (c == NULL)
        return INFINITY;
    double frames = 0, cost = 0;
    for (size_t i = 0; i < n; i++) {
        voice_merge(&c[cl[i]], &segs[i]);
        frames += segs[i].n;
    }
    for (int j = 0; j < k; j++)
        cost += voice_fit(&c[j]);
    free(c);
    return cost + p->refine_lambda * k * 0.5 * (DIARIZE_DIMS + DIARIZE_PAIRS) *
                      log(frames > 1 ? frames : 1);
}

int diarize_refine(const diarize_params *params, const voice_stats *segments,
                   const int *current, size_t n, int *labels, int *was)
{
    if (n == 0)
        return 0;
    int *cl = malloc(n * sizeof(*cl));
    if (cl == NULL)
        return VB_ENOMEM;
    /* Two candidates: the live speakers, merged where they are one, and
     * the segments clustered afresh, which can also split a live label
     * that held two voices.  BIC over the whole transcription picks. */
    int *fresh = malloc(n * sizeof(*fresh));
    if (fresh == NULL) {
        free(cl);
        return VB_ENOMEM;
    }
    int k = cluster_from_labels(params, segments, current, n, cl);
    int kf = cluster_with_anchors(params, segments, n, fresh);
    if (kf > 0 && (k == -1 || (k > 0 && partition_cost(params, segments, n, fresh, kf) <
                                            partition_cost(params, segments, n, cl, k)))) {
        memcpy(cl, fresh, n * sizeof(*cl));
        k = kf;
    }
    free(fresh);
    if (k == -1) /* no live candidate, and clustering afresh failed */
        k = kf;
    if (k < 0) {
        free(cl);
        return k;
    }
    /* Number the clusters by first appearance: speaker 0 speaks first,
     * and an upload's labels count up as the recording goes. */
    int *number = malloc((size_t)k * sizeof(*number));
    if (number == NULL) {
        free(cl);
        return VB_ENOMEM;
    }
    for (int c = 0; c < k; c++)
        number[c] = -1;
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        if (number[cl[i]] < 0)
            number[cl[i]] = next++;
        labels[i] = number[cl[i]];
    }
    free(number);
    free(cl);
    if (was == NULL)
        return k;
    /* Which current label each speaker was: the one it shares the most
     * speech with, largest first, each label once. */
    int top = 0;
    for (size_t i = 0; i < n; i++)
        top = current[i] + 1 > top ? current[i] + 1 : top;
    double *overlap = calloc((size_t)k * (size_t)(top + 1), sizeof(double));
    char *taken = calloc((size_t)top + 1, 1);
    if (overlap == NULL || taken == NULL) {
        free(overlap);
        free(taken);
        return VB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (current[i] >= 0)
            overlap[labels[i] * (top + 1) + current[i]] += segments[i].n;
    for (int c = 0; c < k; c++)
        was[c] = -1;
    for (;;) {
        double best = 0;
        int bc = -1, bl = -1;
        for (int c = 0; c < k; c++)
            for (int l = 0; l < top; l++)
                if (was[c] < 0 && !taken[l] && overlap[c * (top + 1) + l] > best) {
                    best = overlap[c * (top + 1) + l];
                    bc = c;
                    bl = l;
                }
        if (bc < 0)
            break;
        was[bc] = bl;
        taken[bl] = 1;
    }
    free(overlap);
    free(taken);
    return k;
}
