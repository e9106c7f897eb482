/*
 * smartfmt.h - spoken forms written as a reader expects (Deepgram's
 * smart_format): numbers, ordinals, percentages, money, years, dates,
 * times, phone numbers and spoken e-mail addresses.
 *
 *     "ten percent"                  -> "10%"
 *     "twenty twenty six"            -> "2026"
 *     "march third twenty twenty six" -> "March 3rd, 2026"
 *     "three thirty p m"             -> "3:30 p.m."
 *     "five dollars and fifty cents" -> "$5.50"
 *
 * The input is the recogniser's raw words (lower case, no punctuation);
 * the output is tokens, each the written form of one or more consecutive
 * words, so that a caller can keep the spoken words and their times and
 * show the written ones (Deepgram's word and punctuated_word).  A token
 * never holds a space.  Small numbers standing alone ("one of them",
 * "two cats") stay words, as in edited prose; the same numbers become
 * digits where a unit, a date or a time makes them quantities.  Month and
 * weekday names are capitalised.  English only.  Pure; any thread.
 */
#ifndef VB_FORMAT_SMARTFMT_H
#define VB_FORMAT_SMARTFMT_H

#include <stddef.h>

#define SF_TOKEN_MAX 64

typedef struct sf_token {
    size_t first;   /* the first word it stands for */
    size_t count;   /* how many words, at least 1 */
    char text[SF_TOKEN_MAX];
} sf_token;

/* Writes at most `count` tokens covering words[0..count) in order into
 * out (room for count); returns how many. */
size_t smartfmt(const char *const *words, size_t count, sf_token *out);

#endif
