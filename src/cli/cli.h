/*
 * cli.h - the `verbatim` commands and the small helpers they share.
 *
 * Each command parses its own flags and returns the process exit code:
 * 0 success, 1 failure at run time, 2 bad usage.
 */
#ifndef VB_CLI_H
#define VB_CLI_H

#include <cJSON.h>
#include <stdio.h>

#include "../session/session.h"

int cli_serve(int argc, char **argv);
int cli_stream(int argc, char **argv);
int cli_transcribe(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_keys(int argc, char **argv);
int cli_migrate(int argc, char **argv);
/* `verbatim bench load`: many live streams from one process (load.c). */
int cli_bench_load(int argc, char **argv);

/* Feeds len bytes of data (or, with in, the file to its end) to s, at
 * the pace of real time when pace_ms > 0, then closes its input. */
void cli_feed_session(session_t *s, const unsigned char *data, size_t len,
                      FILE *in, int pace_ms);
/* Runs one session over data[0..len) or, when in is not NULL, over what
 * can be read from in; passes every event but the last (DONE) to forward,
 * on a worker thread; returns once all audio is decoded.  pace_ms > 0
 * (data only): hands it over pace_ms of audio at a time, each piece when
 * its last sample would have been recorded, as a live stream sends it;
 * 0: as fast as the session takes it. */
int cli_run_local(asr_engine *engine, pool_t *pool, const session_params *sp,
                  const unsigned char *data, size_t len, FILE *in, int pace_ms,
                  session_emit_fn forward, void *ctx);

/* Reads a whole file ("-": stdin) into a malloc'd buffer; prints and
 * returns -1 on failure. */
int cli_read_all(const char *path, unsigned char **data, size_t *len);
/* stdin ("-"), a pipe or a device: where raw PCM may come undeclared. */
int cli_is_pipe(const char *path);
/* Decodes a recording in any format audio_file_open() knows (raw PCM in
 * `raw` when it is not NULL) to 16 kHz mono.  Returns 0; 1 when the file
 * is damaged part way (out holds what came before, and a message was
 * printed); -1 when nothing could be decoded (printed too).  When raw is
 * NULL and the format is not one FFmpeg knows, the data is read as raw PCM
 * in `fallback` (with a note), or, with fallback NULL, -1 is returned with
 * a message saying what the file looks like (raw PCM is assumed only when
 * the caller knows: flags, or stdin). */
int cli_decode(const char *command, const char *path, const audio_format *raw,
               const audio_format *fallback, pcm_buf *out);

/* Creates a transcription titled `title` over REST on the server of the
 * WebSocket URL ws_url, for a live stream to fill; returns its id, or -1
 * after printing why ("verbatim COMMAND: ...").  auth: request headers
 * carrying an API key ("Authorization: Token KEY\r\n"), or NULL. */
long long cli_create_transcription(const char *command, const char *ws_url,
                                   const char *title, const char *auth);
/* Writes the benchmark's timings line for a server message of this type
 * and payload: "T arrival sent final start end speech_final" for a
 * transcript_segment, "E arrival end" for an utterance_end event (seconds;
 * arrival and sent on the client's clock from its first audio).  Returns
 * 1 when the message was a result or an event (other events print
 * nothing), 0 for any other message. */
int cli_timing_line(FILE *out, const char *type, const cJSON *payload,
                    double arrival_s, double sent_s);

/*
 * If argv[*i] is `name` ("--port 8000" or "--port=8000"), stores the value,
 * advances *i past it and returns 1.  Returns -1 (after printing) when the
 * flag lacks its value, 0 when argv[*i] is another flag.
 */
int cli_flag_value(int argc, char **argv, int *i, const char *name,
                   const char **value);
/* Parses a whole decimal integer in [min, max]; prints and returns -1
 * otherwise. */
/* A server's address as a person types it (host:port, http://host:port,
 * ws://host:port; a path or a slash at the end is dropped) as
 * "ws://host:port" in out.  0, or -1 after a message naming the forms. */
int cli_server_url(const char *command, const char *in, char *out, size_t len);
int cli_int(const char *flag, const char *text, long min, long max,
            long *out);

/*
 * The recogniser a command runs (serve, transcribe, bench engine):
 * --engine NAME (else VERBATIM_ENGINE, else the default) and its options.
 * The options are the older flags that stand for PocketSphinx's
 * (--profile fast: "profile=fast"), then every --engine-option in order,
 * so that an explicit option wins over such a flag.  The engine checks
 * them (asr_engine_check()) before anything starts.
 */
typedef struct cli_engine {
    const char *name;
    char **from_flags, **given, **list; /* NULL-terminated */
    size_t flag_count, given_count, count;
    int oom;
} cli_engine;

/* An older flag's value as the engine option `key`. */
void cli_engine_flag(cli_engine *e, const char *key, const char *value);
/* An --engine-option value. */
void cli_engine_option(cli_engine *e, const char *option);
/* --engine and --engine-option at argv[*i], as cli_flag_value() answers. */
int cli_engine_flags(int argc, char **argv, int *i, cli_engine *e);
/* The final list, checked: 0; 2 (bad usage) or 1 (out of memory) after
 * printing "verbatim COMMAND: why". */
int cli_engine_ready(cli_engine *e, const char *command);
/* What asr_engine_create() takes, once ready. */
const char *const *cli_engine_options(const cli_engine *e);
void cli_engine_free(cli_engine *e);

#endif
