/*
 * export.h - a stored transcript as a file: plain text, SubRip (SRT),
 * WebVTT, JSON and RTTM
 * (GET /api/transcriptions/{id}/export.{txt,srt,vtt,json,rttm}).
 *
 * Speakers are shown by the names people gave them, else by their label.
 * Subtitle cues follow what players accept: at most two lines of at most
 * 42 characters, at most 7 seconds, numbered from 1 (SRT), never
 * overlapping.  A segment is cut into cues at word boundaries, with the
 * recogniser's word times where the text still matches its words (else
 * times spread over the segment by length).
 *
 * Pure functions; results are malloc'd, NULL when out of memory.
 */
#ifndef VB_EXPORT_H
#define VB_EXPORT_H

#include <stddef.h>

#include "../store/store.h"

typedef struct export_doc {
    const store_transcription *transcription;
    const store_segment *segments;
    size_t segment_count;
    const store_speaker *speakers;
    size_t speaker_count;
} export_doc;

typedef enum {
    EXPORT_TXT, EXPORT_SRT, EXPORT_VTT, EXPORT_JSON,
    EXPORT_RTTM /* NIST's Rich Transcription Time Marked: one SPEAKER line
                   per segment, for diarization scorers (md-eval); the file
                   id is "verbatim_<id>", the speaker its label or
                   "unknown" */
} export_format;

/* "txt", "srt", "vtt", "json", "rttm"; -1 for anything else. */
int export_format_parse(const char *ext);
const char *export_content_type(export_format fmt);
char *export_render(const export_doc *doc, export_format fmt);
/* The display name of a speaker label: the name given to it, else
 * "Speaker N" for "speaker_N", else the label; NULL when label is NULL.
 * buf holds the made-up names. */
const char *export_speaker_name(const export_doc *doc, const char *label,
                                char *buf, size_t len);

#define EXPORT_LINE_CHARS 42
#define EXPORT_CUE_SECONDS 7.0

#endif
