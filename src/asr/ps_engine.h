/*
 * ps_engine.h - the PocketSphinx engine's entry points, for the
 * registry (registry.c) only: everyone else names the engine
 * "pocketsphinx" through asr_engine_create().  (Not pocketsphinx.h,
 * which is the library's own header, included beside it.)
 *
 * Its options (KEY=VALUE; the registry has checked the shape):
 *   model-dir=DIR     folder with en-us/, en-us.lm.bin, cmudict-en-us.dict
 *   hmm=DIR, lm=FILE, dict=FILE   one of those files elsewhere
 *   profile=accurate|fast
 *   spare-decoders=N  decoders kept built and idle, ahead of demand (0-64)
 *   release-decoders-after=S  free a decoder idle this long, beyond the
 *                     spare ones and one kept ready; 0: never (default 300)
 */
#ifndef VB_ASR_PS_ENGINE_H
#define VB_ASR_PS_ENGINE_H

#include "engine.h"

/* VB_EINVAL, with why in err, when an option is unknown or its value bad. */
int asr_pocketsphinx_check(const char *const *options, char *err,
                           size_t errlen);
/* Checks the options, finds the model's files and, unless
 * params->load_in_background, loads the model and builds the first
 * decoder. */
int asr_pocketsphinx_create(const asr_params *params,
                            const char *const *options, asr_engine **out,
                            char *err, size_t errlen);

#endif
