/*
 * log.h - one line per event on standard error.
 *
 *   2026-11-23T22:01:05.123Z INFO  [t=12] session started (16000 Hz linear16)
 *
 * The bracketed tag names what the line is about (a transcription, a
 * connection) so that a person can follow one stream through the log; it
 * may be NULL.  Safe to call from any thread; a line is never interleaved
 * with another.
 */
#ifndef VB_LOG_H
#define VB_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below this level are dropped.  Set once at start-up. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_parse_level(const char *name);

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(tag, ...) log_msg(LOG_DEBUG, tag, __VA_ARGS__)
#define log_info(tag, ...) log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_warn(tag, ...) log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_error(tag, ...) log_msg(LOG_ERROR, tag, __VA_ARGS__)

#endif
