/*
 * realign.h - a segment's word timings after a person corrected its text
 * (realign.c), so that exports, subtitles and the player's marking follow
 * the new words.
 *
 * Each whitespace-separated word of the new text gets an entry.  Words
 * that stayed (the same once case and the punctuation around them are set
 * aside; as many as keep their order) keep their times and
 * confidence.  New words share the time between the kept words around
 * them (that of the words they replaced, or the gap), in proportion to
 * their letters, with confidence 1: a person wrote them.
 *
 * Pure; any thread.
 */
#ifndef VB_REALIGN_H
#define VB_REALIGN_H

/* words_json: the segment's words ([{"word", "start", "end",
 * "confidence"}], NULL or unreadable: none), start and end: its span.
 * Returns the new words as JSON (malloc'd), or NULL when out of memory. */
char *realign_words(const char *words_json, const char *text, double start,
                    double end);

#endif
