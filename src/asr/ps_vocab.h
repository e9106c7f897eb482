/*
 * ps_vocab.h - a stream's taught words (keywords.h) in a pooled
 * PocketSphinx decoder.
 *
 * A taught word enters a decoder as a dictionary word of its own, named
 * "WORD#BOOST" ("zentrix#1"), and as a unigram of a small language model
 * of the taught words, interpolated with the main one (2 % to 98 %), at
 * 10^BOOST times the main model's uniform probability
 * (asr_keyword_weight()).  A word the dictionary has already ("sheila")
 * gets the same: an entry with the dictionary's pronunciations beside
 * the plain one, which keeps its n-gram context; a new word gets flite's
 * pronunciation (lts.h).
 *
 * Decoders are shared, and one person's words must not turn up in
 * another's transcript: a decoder holds exactly the words of the stream
 * using it.  When a stream's words differ from what its decoder holds,
 * the taught model is replaced and the decoder reloads its dictionary
 * with the stream's entries after the model's own (a rebuild of its
 * search, 0.1-0.2 s of one core).  The pool prefers decoders
 * that already hold a stream's words, so this happens when vocabularies
 * mix, not on every utterance.
 */
#ifndef VB_ASR_PS_VOCAB_H
#define VB_ASR_PS_VOCAB_H

#include <pocketsphinx.h>
#include <stddef.h>

#include "keywords.h"

typedef struct ps_vocab ps_vocab;

/* The entries for `words` (those with a weight and a pronunciation,
 * looked up now).  *out NULL when there are none.  0 or VB_ENOMEM. */
int ps_vocab_create(const asr_keyword *words, size_t count, ps_vocab **out);
void ps_vocab_free(ps_vocab *v);

/* What a decoder holding v's words holds: the entries' names, sorted,
 * one per line; "" for NULL. */
const char *ps_vocab_signature(const ps_vocab *v);

/*
 * Makes decoder ps hold exactly v's words (NULL: none), where it holds
 * `held` now (a signature, "" for none).  dict_path is the dictionary it
 * was built from.  Returns 0, or a negative VB_E* code when PocketSphinx refused: the
 * decoder then holds no taught word (the caller records "").  Slow when
 * it changes anything; call without locks.
 */
int ps_vocab_apply(ps_decoder_t *ps, const char *dict_path, const char *held,
                   const ps_vocab *v);

/* A hypothesis word as the user spelled it ("zentrix#1" -> "Zentrix");
 * any other word unchanged.  out may be word. */
void ps_vocab_spell(const ps_vocab *v, const char *word, char *out, size_t len);

/* A whole hypothesis ("send it to zentrix#1") with each taught word
 * spelled, into out. */
void ps_vocab_spell_text(const ps_vocab *v, const char *hyp, char *out,
                         size_t len);

#endif
