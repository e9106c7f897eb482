/*
 * keywords.h - words a user teaches the recogniser, with Deepgram's
 * syntax: "WORD" or "WORD:BOOST", one per `keywords=` parameter (or
 * several separated by commas), and a transcription's stored vocabulary
 * in the same form, one per line.
 *
 * A word is letters (ASCII), with apostrophes and hyphens inside it
 * ("O'Brien", "Wi-Fi"), at most ASR_KEYWORD_MAX - 1 bytes; it keeps the
 * spelling it was given, which is how it is written when heard.  BOOST is
 * a number from -10 to 10, default 1; like Deepgram's intensifier it is
 * exponential: the word's language-model probability is multiplied by
 * 10^BOOST (engines cap what they can use, see asr_keyword_weight()).
 * A boost of 0 or less adds nothing: the word is heard only if the
 * recogniser knew it already.
 *
 * Pure text: no engine is involved, so that the API can check a
 * vocabulary before anything is stored.
 */
#ifndef VB_ASR_KEYWORDS_H
#define VB_ASR_KEYWORDS_H

#include <stddef.h>

#define ASR_KEYWORD_MAX 48
#define ASR_KEYWORDS_MAX 100 /* per session, as Deepgram's advice */
#define ASR_BOOST_MIN -10.0
#define ASR_BOOST_MAX 10.0

typedef struct asr_keyword {
    char word[ASR_KEYWORD_MAX];
    float boost;
} asr_keyword;

/*
 * Adds the keywords of `spec` ("WORD[:BOOST]" items separated by commas
 * or new lines; blank items are skipped) to list[0..*count), up to
 * ASR_KEYWORDS_MAX.  A word already in the list (in any case) takes the
 * later boost and spelling.  Returns 0, or VB_EINVAL with a sentence in
 * err that quotes the bad item and says what is accepted; the list is
 * then unchanged.
 */
int asr_keywords_add(asr_keyword *list, size_t *count, const char *spec,
                     char *err, size_t errlen);

/* Adds `more` to the list as asr_keywords_add() would (a word already
 * there takes the later boost and spelling); words past ASR_KEYWORDS_MAX
 * are left out (answers how many). */
size_t asr_keywords_merge(asr_keyword *list, size_t *count,
                          const asr_keyword *more, size_t n);

/* The list as text, one "WORD:BOOST" per line (BOOST as %g); malloc'd,
 * NULL when out of memory. */
char *asr_keywords_format(const asr_keyword *list, size_t count);

/* The multiplier a boost stands for: 10^boost, capped at 10^3 (a word
 * as likely as one of the language's hundred commonest gets in the way
 * of everything else).  0 for a boost of 0 or less: nothing to add. */
double asr_keyword_weight(float boost);

#endif
