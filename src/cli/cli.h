/*
 * cli.h - the `verbatim` commands and the small helpers they share.
 *
 * Each command parses its own flags and returns the process exit code:
 * 0 success, 1 failure at run time, 2 bad usage.
 */
#ifndef VB_CLI_H
#define VB_CLI_H

#include <stdio.h>

#include "../session/session.h"

int cli_serve(int argc, char **argv);
int cli_stream(int argc, char **argv);
int cli_transcribe(int argc, char **argv);
int cli_bench(int argc, char **argv);

/* Runs one session over data[0..len) or, when in is not NULL, over what
 * can be read from in; passes every event but the last (DONE) to forward,
 * on a worker thread; returns once all audio is decoded. */
int cli_run_local(asr_engine *engine, pool_t *pool, const session_params *sp,
                  const unsigned char *data, size_t len, FILE *in,
                  session_emit_fn forward, void *ctx);

/*
 * If argv[*i] is `name` ("--port 8000" or "--port=8000"), stores the value,
 * advances *i past it and returns 1.  Returns -1 (after printing) when the
 * flag lacks its value, 0 when argv[*i] is another flag.
 */
int cli_flag_value(int argc, char **argv, int *i, const char *name,
                   const char **value);
/* Parses a whole decimal integer in [min, max]; prints and returns -1
 * otherwise. */
int cli_int(const char *flag, const char *text, long min, long max,
            long *out);

#endif
