/*
 * dg_engine.h - the Deepgram engine's entry points, for the registry
 * (registry.c) only: everyone else names the engine "deepgram" through
 * asr_engine_create().
 *
 * Each stream holds one WebSocket to a Deepgram-compatible live endpoint
 * (Deepgram's own, or another Verbatim's /v1/listen) and streams the
 * audio of its phrases to it; the session's own detector still decides
 * where phrases end, and each end is a Finalize whose results are the
 * phrase's words.
 *
 * Its options (KEY=VALUE; the registry has checked the shape):
 *   key=KEY        the API key (default: the DEEPGRAM_API_KEY variable)
 *   url=URL        the live endpoint, wss:// ws:// https:// or http://
 *                  (default wss://api.deepgram.com/v1/listen; a URL with no
 *                  path gets /v1/listen)
 *   model=NAME     (default nova-2, as the application Verbatim replaces)
 *   language=CODE  (default: the service's own, English)
 *   ca=FILE        the certificates a wss:// server is checked against
 *                  (default: the system's)
 */
#ifndef VB_ASR_DG_ENGINE_H
#define VB_ASR_DG_ENGINE_H

#include "engine.h"

int asr_deepgram_check(const char *const *options, char *err, size_t errlen);
int asr_deepgram_create(const asr_params *params, const char *const *options,
                        asr_engine **out, char *err, size_t errlen);

#endif
