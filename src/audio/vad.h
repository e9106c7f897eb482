/*
 * vad.h - voice activity detection on 16 kHz mono audio, 10 ms at a time.
 *
 * An energy detector with an adaptive noise floor: a frame is voiced when
 * its level stands a margin above the floor (and above an absolute
 * minimum, so that digital silence and faint hiss never count).  Speech
 * starts after enough voiced frames in a short window, and ends after a
 * stretch of unvoiced frames as long as the endpoint setting.  The floor
 * follows quiet stretches quickly and loud ones slowly, so a steady noise
 * (a fan, a line hum) becomes the floor instead of being taken for speech.
 *
 * The session uses it to decide when an utterance begins and ends; the
 * recogniser only sees audio between those points.  No global state.
 */
#ifndef VB_VAD_H
#define VB_VAD_H

#include <stdint.h>

#define VAD_FRAME 160   /* samples: 10 ms at 16 kHz */
#define VAD_FRAME_MS 10

typedef struct vad_params {
    int endpoint_ms;     /* unvoiced time that ends an utterance */
    int start_window;    /* frames looked at to declare speech */
    int start_voiced;    /* of which at least this many must be voiced */
    float margin_db;     /* voiced: this far above the noise floor */
    float min_level_db;  /* and above this absolute level (dB re 1) */
} vad_params;

typedef enum { VAD_SILENCE, VAD_SPEECH_START, VAD_SPEECH, VAD_SPEECH_END } vad_event;

typedef struct vad {
    vad_params params;
    float noise_db;
    float peak_db;             /* loudest frame of the current utterance */
    int in_speech;
    int unvoiced_run;          /* consecutive unvoiced frames in speech */
    uint32_t history;          /* voiced bits of the last frames */
    int frames_seen;
} vad_t;

vad_params vad_default_params(void);
void vad_init(vad_t *vad, const vad_params *params);
/* Classifies one frame of VAD_FRAME samples. */
vad_event vad_process(vad_t *vad, const int16_t *frame);
/* Leave speech without waiting for the endpoint (after a Finalize). */
void vad_reset_to_silence(vad_t *vad);
/* The last frames would start speech (start_voiced of start_window
 * voiced): in a pause inside speech, the voice has come back. */
int vad_voice_heard(const vad_t *vad);
/* Milliseconds of unvoiced frames since the last voiced one, in speech. */
int vad_quiet_ms(const vad_t *vad);

#endif
