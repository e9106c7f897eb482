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

/* Joins words with single spaces; with punctuate, writes a sentence. */
char *format_utterance(const char *const *words, size_t count, int punctuate);

#endif
