/*
 * registry.c - the engines by name (engine.h): which engines exist, the
 * shape of their options, and what all engines share.
 *
 * The commands and the server name an engine and pass its options
 * through; only this file knows which functions build which engine, so
 * that adding one (a cloud recogniser) touches the table below and not
 * every caller.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "engine.h"
#include "dg_engine.h"
#include "ps_engine.h"

typedef struct {
    const char *name;
    int (*check)(const char *const *options, char *err, size_t errlen);
    int (*create)(const asr_params *params, const char *const *options,
                  asr_engine **out, char *err, size_t errlen);
} engine_kind;

static const engine_kind kinds[] = {
    {"pocketsphinx", asr_pocketsphinx_check, asr_pocketsphinx_create},
    {"deepgram", asr_deepgram_check, asr_deepgram_create},
};
#define KIND_COUNT (sizeof(kinds) / sizeof(kinds[0]))

void asr_result_free(asr_result *result)
{
    free(result->words);
    result->words = NULL;
    result->count = 0;
}

asr_params asr_default_params(void)
{
    asr_params p = {.max_streams = 0, .threads = 0};
    return p;
}

/* Written once from the table (any thread may ask first). */
static char names[256];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void list_names(void)
{
    for (size_t i = 0; i < KIND_COUNT; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                 i ? ", " : "", kinds[i].name);
}

const char *asr_engine_names(void)
{
    pthread_once(&names_once, list_names);
    return names;
}

/* The engine called name (NULL: the default); NULL, with why in err,
 * when there is none. */
static const engine_kind *find(const char *name, char *err, size_t errlen)
{
    if (name == NULL)
        name = ASR_DEFAULT_ENGINE;
    for (size_t i = 0; i < KIND_COUNT; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    vb_seterr(err, errlen, "unknown engine \"%s\" (known engines: %s)", name,
              asr_engine_names());
    return NULL;
}

/* Every option has a key before its '=', so that engines need not check
 * the shape themselves. */
static int check_shape(const char *const *options, char *err, size_t errlen)
{
    for (size_t i = 0; options != NULL && options[i] != NULL; i++) {
        const char *eq = strchr(options[i], '=');
        if (eq == NULL || eq == options[i]) {
            vb_seterr(err, errlen, "engine option \"%s\" is not KEY=VALUE",
                      options[i]);
            return VB_EINVAL;
        }
    }
    return 0;
}

int asr_engine_check(const char *name, const char *const *options, char *err,
                     size_t errlen)
{
    const engine_kind *kind = find(name, err, errlen);
    if (kind == NULL)
        return VB_EINVAL;
    int rc = check_shape(options, err, errlen);
    return rc != 0 ? rc : kind->check(options, err, errlen);
}

int asr_engine_create(const char *name, const asr_params *params,
                      const char *const *options, asr_engine **out, char *err,
                      size_t errlen)
{
    const engine_kind *kind = find(name, err, errlen);
    if (kind == NULL)
        return VB_EINVAL;
    int rc = check_shape(options, err, errlen);
    return rc != 0 ? rc : kind->create(params, options, out, err, errlen);
}
