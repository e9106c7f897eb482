/* vad.c - energy voice activity detector (see vad.h). */
#include "vad.h"

#include <math.h>

/* How far below the loudest frame of an utterance a frame may be and
 * still count as speech. */
#define PEAK_RANGE_DB 35.0f

vad_params vad_default_params(void)
{
    vad_params p = {
        .endpoint_ms = 500,
        .start_window = 10,
        .start_voiced = 6,
        .margin_db = 12.0f,
        .min_level_db = 32.0f,
    };
    return p;
}

void vad_init(vad_t *vad, const vad_params *params)
{
    vad->params = *params;
    if (vad->params.start_window > 32)
        vad->params.start_window = 32;
    vad->noise_db = params->min_level_db;
    vad->in_speech = 0;
    vad->unvoiced_run = 0;
    vad->history = 0;
    vad->frames_seen = 0;
}

void vad_reset_to_silence(vad_t *vad)
{
    vad->in_speech = 0;
    vad->unvoiced_run = 0;
    vad->history = 0;
}

static float frame_level_db(const int16_t *frame)
{
    double energy = 0;
    double mean = 0;
    for (int i = 0; i < VAD_FRAME; i++)
        mean += frame[i];
    mean /= VAD_FRAME; /* remove DC so an offset is not taken for sound */
    for (int i = 0; i < VAD_FRAME; i++) {
        double v = frame[i] - mean;
        energy += v * v;
    }
    return (float)(10.0 * log10(energy / VAD_FRAME + 1.0));
}

static int popcount32(uint32_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

vad_event vad_process(vad_t *vad, const int16_t *frame)
{
    const vad_params *p = &vad->params;
    float level = frame_level_db(frame);
    int voiced = level > vad->noise_db + p->margin_db && level > p->min_level_db;
    /* Inside speech, a frame far below the utterance's loudest is a pause
     * even if the floor is unknown (speech that began after digital
     * silence, then room noise). */
    if (vad->in_speech) {
        if (level > vad->peak_db)
            vad->peak_db = level;
        else
            vad->peak_db -= 0.02f; /* forget a single loud burst slowly */
        if (level < vad->peak_db - PEAK_RANGE_DB)
            voiced = 0;
    }

    /* The floor drops to quiet frames fast and creeps up under loud ones,
     * so that speech barely moves it but a steady noise becomes it. */
    if (level < vad->noise_db)
        vad->noise_db += 0.3f * (level - vad->noise_db);
    else if (!vad->in_speech)
        vad->noise_db += 0.01f * (level - vad->noise_db);
    else
        vad->noise_db += 0.001f * (level - vad->noise_db);
    if (vad->noise_db < 0)
        vad->noise_db = 0;
    vad->frames_seen++;

    uint32_t mask = p->start_window >= 32 ? 0xFFFFFFFFu
                                          : (1u << p->start_window) - 1u;
    vad->history = ((vad->history << 1) | (uint32_t)voiced) & mask;

    if (!vad->in_speech) {
        if (popcount32(vad->history) >= p->start_voiced) {
            vad->in_speech = 1;
            vad->peak_db = level;
            vad->unvoiced_run = 0;
            return VAD_SPEECH_START;
        }
        return VAD_SILENCE;
    }
    vad->unvoiced_run = voiced ? 0 : vad->unvoiced_run + 1;
    if (vad_quiet_ms(vad) >= p->endpoint_ms) {
        vad_reset_to_silence(vad);
        return VAD_SPEECH_END;
    }
    return VAD_SPEECH;
}

int vad_quiet_ms(const vad_t *vad)
{
    return vad->unvoiced_run * VAD_FRAME_MS;
}

int vad_voice_heard(const vad_t *vad)
{
    return popcount32(vad->history) >= vad->params.start_voiced;
}
