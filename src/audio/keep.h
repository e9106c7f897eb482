/*
 * keep.h - the audio a transcription keeps, so that people can listen to
 * what was said (keep.c).
 *
 * What a session hears (16 kHz mono) is encoded as it comes into Opus
 * packets of 20 ms at about 16 kbit/s (about 1.2 MB per 10 minutes of
 * continuous speech with the Ogg pages around them: bench/NOTES.md,
 * "Kept audio").  The packets are
 * kept as "packet runs": each packet as two bytes of length (little
 * endian) and its bytes.  keep_ogg() writes runs out as one Ogg Opus
 * file, each run placed at its own time on the transcription's timeline.
 *
 * An encoder is used by one thread at a time; keep_ogg is pure.
 */
#ifndef VB_KEEP_H
#define VB_KEEP_H

#include <stddef.h>
#include <stdint.h>

#include "../util/strbuf.h"

#define KEEP_FRAME 320       /* samples at 16 kHz in one packet: 20 ms */
#define KEEP_PACKET_S 0.02

typedef struct keep_encoder keep_encoder;

int keep_encoder_create(keep_encoder **out);
/* Encodes samples; each whole 20 ms becomes a packet appended to out.
 * The number of packets added, or a negative VB_E* code. */
int keep_encoder_push(keep_encoder *e, const int16_t *pcm, size_t n,
                      strbuf *out);
/* The samples left over, padded with silence to a last packet (0 or 1). */
int keep_encoder_flush(keep_encoder *e, strbuf *out);
void keep_encoder_free(keep_encoder *e);

/* A packet run and where it starts on the timeline (seconds). */
typedef struct keep_run {
    const uint8_t *packets;
    size_t len;
    double offset;
} keep_run;

/* An Ogg Opus file of the runs, in order of offset: the gap before a run
 * is silence, and a run is cut where the next one starts (what a session
 * heard after its last words, when the next session's timeline begins
 * there).  malloc'd, *len set; NULL when out of memory.  No runs: a file
 * with no audio. */
uint8_t *keep_ogg(const keep_run *runs, size_t count, size_t *len);
/* Seconds of audio in a packet run. */
double keep_run_seconds(const uint8_t *packets, size_t len);

#endif
