/*
 * diarize.h - who spoke when, from the audio alone, in C.
 *
 * Verbatim has no neural speaker model to download, so this is the
 * classical pipeline of the diarization literature before embeddings
 * (Chen & Gopalakrishnan's BIC segmentation and clustering, 1998; the
 * LIUM and ALIZE systems built on it):
 *
 *   features   19 mel-cepstral coefficients (c1..c19; c0, the loudness,
 *              only chooses frames) every 10 ms, from 25 ms windows;
 *   model      a speaker, or a stretch of speech, is a Gaussian with a
 *              full covariance, kept as sufficient statistics (count,
 *              sums, sums of products), so that models merge by adding;
 *   compare    the Bayesian information criterion: do two stretches fit
 *              one Gaussian better than two, once the extra parameters
 *              are paid for?  Its penalty weight (lambda) is the knob,
 *              one per use (below);
 *   live       each final utterance is cut where the voice changes (the
 *              largest BIC gain between the windows either side of a
 *              point, if it clears the penalty) and each part goes to the
 *              known speaker it is closest to, or becomes a new speaker
 *              when none is close enough and it has enough speech (2 s;
 *              1.4 s for a part cut off inside an utterance, which is
 *              already known to differ from its neighbour);
 *   refined    when a session ends, the transcription's speakers are
 *              clustered bottom-up, each label's segments starting as
 *              one cluster (merge the closest pair while merging still
 *              pays, by BIC), with min/max speaker hints (when the hints
 *              ask for more speakers than there are labels, the segments
 *              are clustered afresh), and the clusters are numbered by
 *              first appearance (the names given to the live labels
 *              follow their voices).
 *   short      under 3 s of speech, a stretch has too little to fill a
 *              full covariance and is compared by diagonal models, where
 *              what was said weighs nearly as much as who said it; there
 *              the mean decides live (voice_mean_shift) and two short
 *              clusters need a higher weight to stay apart.
 *
 * The penalty weights (live 1.35 to rank known speakers, 1.5 for a new
 * one, 15 for the mean shift (8 on telephone audio), re-clustering 2.0;
 * change points 2.5, voice.c) and the shorter
 * minimum for cut-off parts were tuned on bench/diarization.sh; the
 * figures: bench/NOTES.md, "Diarization's weights" and "Speakers on
 * real voices".
 *
 * Why not i-vectors or a GMM-UBM: they need a background model trained on
 * many speakers.  PocketSphinx's acoustic model can serve as one, and a
 * prototype told short real-voice stretches apart better than BIC, but
 * clustering whole finals with it did no better (bench/NOTES.md); the
 * per-speaker Gaussian needs no model.  Why a full covariance: with a diagonal one, recordings of one
 * LibriVox reader made on different days were further apart than that
 * reader and another person (real-voice DER 33% against 7-11%); the
 * correlations between coefficients carry the voice.  But a full
 * covariance has 209 parameters, and a stretch shorter than about 3 s
 * cannot fill them: there the comparison falls back to diagonal
 * covariances (voice.c), so that two short sentences of different voices
 * are still told apart.  A small ridge keeps the matrices invertible.
 *
 * No global state.  A diarize_features or diarize_tracker belongs to one
 * session and is used by one thread at a time.
 */
#ifndef VB_DIARIZE_H
#define VB_DIARIZE_H

#include <stddef.h>
#include <stdint.h>

#define DIARIZE_DIMS 19
/* A frame as the features give it: c1..c19, then the level of its power
 * from 4.5 to 7.5 kHz in dB (see voice_is_narrow). */
#define DIARIZE_ROW (DIARIZE_DIMS + 1)
#define DIARIZE_FRAME_RATE 100 /* frames per second */

#define DIARIZE_PAIRS (DIARIZE_DIMS * (DIARIZE_DIMS + 1) / 2)

/* A Gaussian's sufficient statistics over some frames: the count, the
 * sums and the sums of products (the upper triangle, row by row). */
typedef struct voice_stats {
    double n;
    double sum[DIARIZE_DIMS];
    double cross[DIARIZE_PAIRS];
    double banded;  /* frames whose high band was measured (voices stored
                       before it was have none) */
    double high, high2; /* the sums of those frames' high-band levels (dB)
                       and of their squares */
} voice_stats;

/* Adds a frame (DIARIZE_ROW values) with weight 1, or takes one away
 * again with weight -1. */
void voice_add_frame(voice_stats *v, const float *frame, double weight);
/* How much v's high-band level varies from frame to frame (its standard
 * deviation in dB); -1 if unknown. */
double voice_high_spread(const voice_stats *v);
/* Whether v is telephone audio: nothing of the voice above 4.5 kHz, only
 * the steady noise the resampler fills that band with (audio/resample.c)
 * or silence.  Its high band then hardly varies (0.5-0.7 dB on the 8 kHz
 * copies of bench/diarization.sh's sets) where speech's does (3.5-15 dB
 * per segment of the wideband ones). */
int voice_is_narrow(const voice_stats *v);
void voice_merge(voice_stats *into, const voice_stats *other);
/* The BIC gain of modelling a and b apart rather than together, per the
 * penalty weight lambda: > 0 means they sound like different speakers. */
double voice_delta_bic(const voice_stats *a, const voice_stats *b,
                       double lambda);
/* Too little speech (under 3 s) to fill a full covariance: such stretches
 * are compared by diagonal models, where what was said weighs nearly as
 * much as who said it.  Two short sentences of one voice can then look
 * like two people, so where both stretches are short, a new speaker
 * needs the diagonal test with a higher penalty weight, short_lambda
 * (voice_delta_bic_short): the README's two sentences of one voice gain
 * +65 at the usual 2.5 and -93 at 4, a woman's sentence and a man's
 * short reply +360 and +189. */
int voice_is_short(const voice_stats *v);
/* n/2 * log|covariance| of the full Gaussian fitted to v: lower fits its
 * frames better; what BIC compares. */
double voice_fit(const voice_stats *v);
double voice_delta_bic_short(const voice_stats *a, const voice_stats *b,
                             double lambda);
/* voice_delta_bic with voice_fit(a) and voice_fit(b) known already (the
 * re-clustering keeps each cluster's). */
double voice_delta_bic_fitted(const voice_stats *a, double fit_a,
                              const voice_stats *b, double fit_b, double lambda);
/* How far v's mean lies from a known speaker's, in that speaker's own
 * covariance: the log-likelihood v's frames gain from a mean of their
 * own, n/2 * (mean_v - mean)' C^-1 (mean_v - mean), corrected for the
 * noise of estimating both means and the covariance.  Needs no model of
 * v, so a short stretch is judged by its mean alone. */
double voice_mean_shift(const voice_stats *v, const voice_stats *model);
/* As text and back, for storage: n, the 19 sums, the 190 products, then
 * the frames banded and the sums of their high-band levels and squares
 * (absent in voices stored before them: read as none banded). */
int voice_format(const voice_stats *v, char *buf, size_t len);
int voice_parse(const char *text, voice_stats *out);

/* ---- features ---------------------------------------------------------- */

typedef struct diarize_features diarize_features;
int diarize_features_create(diarize_features **out);
void diarize_features_destroy(diarize_features *f);
/* Takes 16 kHz samples (the session's whole stream, in order) and computes
 * a frame every 10 ms.  0 or VB_ENOMEM. */
int diarize_features_push(diarize_features *f, const int16_t *pcm, size_t n);
/* Frames from `from` up to `to` seconds of the stream (clipped to what
 * exists): *frames points at count rows of DIARIZE_ROW floats, valid
 * until the next push or forget; *loud at count flags (1: within 30 dB of
 * the loudest frame of the range, the ones worth modelling). */
size_t diarize_features_range(diarize_features *f, double from, double to,
                              const float **frames, const uint8_t **loud);
/* Frames before `before` seconds are no longer needed. */
void diarize_features_forget(diarize_features *f, double before);

/* ---- live tracking and refinement --------------------------------------- */

typedef struct diarize_params {
    double lambda;        /* BIC penalty weight, live: which known
                             speaker a part is closest to (cuts are
                             searched in 2 s windows, too short for full
                             covariances: the diagonal weight of voice.c
                             decides them) */
    double new_lambda;    /* ... for founding a new speaker live (higher:
                             a wrong new label splits a voice for the rest
                             of the session) */
    double refine_lambda; /* ... when re-clustering: whole speakers'
                             models hold more data, and one person recorded
                             on two days must still come out as one */
    int min_speakers;     /* 0: no hint */
    int max_speakers;     /* 0: no limit */
    double min_part_s;    /* shortest part an utterance may be cut into */
    double min_voice_s;   /* least speech (loud frames) that may found a
                             new speaker, live or when re-clustering;
                             shorter stretches go to the closest one */
    double min_cut_voice_s; /* ... live, for the parts of an utterance cut
                             where the voice changed */
    double shift_lambda;  /* weight of the mean-shift test (above) that a
                             new speaker live must pass besides: shift >
                             shift_lambda * DIMS/2 * log(n); 0: off */
    double narrow_shift_lambda; /* ... for telephone audio (voice_is_narrow),
                             whose voices lie closer together in the band
                             that is left */
    double short_lambda;  /* the diagonal test's weight where a new
                             speaker, live or re-clustered, would rest on
                             two short stretches (voice_is_short) */
} diarize_params;

diarize_params diarize_default_params(void);

typedef struct diarize_part {
    double start, end;    /* seconds of the stream */
    int speaker;          /* index: "speaker_<index>" */
    voice_stats voice;    /* of this part's frames */
} diarize_part;

typedef struct diarize_tracker diarize_tracker;
int diarize_tracker_create(const diarize_params *params, diarize_tracker **out);
void diarize_tracker_destroy(diarize_tracker *t);
/* A speaker already known (from earlier sessions of the transcription). */
int diarize_tracker_seed(diarize_tracker *t, int speaker,
                         const voice_stats *voice);
/* Labels the utterance from `start` to `end` (seconds): cuts it where the
 * voice changes and gives each part a speaker, learning as it goes.
 * Writes up to max parts (at least 1); returns how many. */
size_t diarize_tracker_label(diarize_tracker *t, diarize_features *f,
                             double start, double end, diarize_part *parts,
                             size_t max);
/* The speaker of the utterance so far, without learning from it; -1 when
 * it is too short to tell or sounds like no one known yet. */
int diarize_tracker_peek(diarize_tracker *t, diarize_features *f,
                         double start, double end);
int diarize_tracker_speakers(const diarize_tracker *t);

/* Clusters n segments (in time order) afresh, bottom-up by BIC within
 * the hints, and writes each one's speaker to labels, numbered by first
 * appearance: speaker 0 speaks first.  was (room for n, or NULL) gets, for
 * each speaker, the current label (current[i] < 0: none) it shares the most
 * speech with, each label given once, or -1: so that the names given to
 * labels can follow their voices.  Returns the number of speakers, or
 * VB_ENOMEM. */
int diarize_refine(const diarize_params *params, const voice_stats *segments,
                   const int *current, size_t n, int *labels, int *was);

/* The stored and sent form of speaker index i: "speaker_<i>". */
#define DIARIZE_LABEL_MAX 24
void diarize_label(int index, char *out, size_t len);
/* "speaker_<i>" -> i; -1 for NULL or any other text. */
int diarize_label_index(const char *label);

#endif
