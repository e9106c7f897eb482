/*
 * wsproto.h - the texts of Verbatim's own WebSocket messages (the
 * protocol document, section 1): what a live client and every watcher of
 * a transcription receive.  The transcription layer renders results with
 * these before it publishes them on the bus; net renders its own status
 * and error messages.  All return malloc'd JSON text, or NULL when out of
 * memory.  Any thread.
 */
#ifndef VB_FORMAT_WSPROTO_H
#define VB_FORMAT_WSPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../session/session.h"
#include "../store/store.h"

/* {"type": "status", "payload": text, "time_offset": s, "resume_token": t};
 * time_offset < 0 or resume_token NULL: that field is not sent. */
char *wsproto_status(const char *text, double time_offset,
                     const char *resume_token);
/* The words of a final as stored: the same array its message carries. */
char *wsproto_words(const session_event *ev, double offset);
/* A stored final, for watchers catching up (with the segment's "id"). */
char *wsproto_stored_segment(const store_segment *seg);
/* A person's edit, for watchers: {"type": "event", "payload": {"type":
 * "segment_updated", "segment": the segment as a stored final's payload}}
 * after a correction or a move to another speaker; "speakers_named" with
 * "names": every name after speakers were named. */
char *wsproto_segment_updated(const store_segment *seg);
char *wsproto_speakers_named(const store_speaker *names, size_t count);
char *wsproto_error(const char *text);
/* What a socket is told, before 4004, when its transcription is deleted;
 * and that error message as a whole, as watchers get it. */
#define WSPROTO_DELETED "this transcription was deleted"
extern const char wsproto_deleted[];
char *wsproto_event(const char *type);
/* {"type": "utterance_end", "end": seconds} on the timeline. */
char *wsproto_utterance_end(const session_event *ev, double offset);
/* An interim or final result; speaker NULL is sent as null. */
char *wsproto_segment(const session_event *ev, double offset,
                      const char *speaker);

/* One segment whose speaker label the re-clustering changed. */
typedef struct wsproto_relabel {
    int64_t segment_id;
    char speaker[STORE_LABEL_MAX + 1];
} wsproto_relabel;
/* {"type": "event", "payload": {"type": "speakers_updated",
 *  "segments": [{"id": 12, "speaker": "speaker_1"}, ...]}} */
char *wsproto_speakers_updated(const wsproto_relabel *changes, size_t count);

#endif
