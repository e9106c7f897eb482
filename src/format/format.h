/*
 * format.h - turning recognised words into text for people.
 *
 * The recogniser hands out lower-case words with no punctuation.  A final
 * result is shown as a sentence: its first letter upper case, the pronoun
 * "I" (and its contractions) capitalised, a full stop at the end.  Callers
 * that want the recogniser's own words ask for raw text.
 *
 * Pure functions; safe from any thread.  Results are malloc'd (NULL when
 * out of memory) and freed by the caller.
 */
#ifndef VB_FORMAT_H
#define VB_FORMAT_H

#include <stddef.h>

/* Joins words with single spaces; with punctuate, writes a sentence: its
 * first letter upper case, "I", names as the system's word list spells
 * them (names.h), a full stop at the end, or a question mark when it
 * begins as a question does ("how", "is", "can"...). */
char *format_utterance(const char *const *words, size_t count, int punctuate);
/* The same, where ends (NULL: none) marks the words after which a
 * sentence ends inside the utterance: each such sentence gets its mark,
 * and the next begins with a capital. */
char *format_text(const char *const *words, const unsigned char *ends,
                  size_t count, int punctuate);

#endif
