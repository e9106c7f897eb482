/*
 * lts.h - how an English word is pronounced, for words the recogniser's
 * dictionary does not have: flite's US English lexicon (CMUdict with its
 * letter-to-sound rules for the rest, Debian's flite1-dev), in the
 * phones of the CMU dictionary that PocketSphinx's en-us model uses.
 * Thread-safe.
 */
#ifndef VB_ASR_LTS_H
#define VB_ASR_LTS_H

#include <stddef.h>

/* The phones of `word` ("zentrix" -> "Z EH N T R IH K S") in out.
 * Returns 0, VB_EINVAL when there are none (a word with no letters) or
 * VB_ETOOBIG when they do not fit. */
int lts_pronounce(const char *word, char *out, size_t len);

#endif
