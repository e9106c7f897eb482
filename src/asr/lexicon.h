/*
 * lexicon.h - the part of a pronunciation dictionary a language model can
 * use.
 *
 * PocketSphinx's n-gram search ignores every dictionary word that its
 * language model does not know (the search tree, the flat pass and the
 * lattice all skip them), yet each decoder still reads, stores and
 * indexes the whole dictionary.  The Debian en-us model's dictionary has
 * 134,723 pronunciations; 79,420 of them are of the language model's
 * 72,547 words.  Building decoders from the trimmed copy gives the same
 * search and the same results, for less time and memory per decoder.
 */
#ifndef VB_LEXICON_H
#define VB_LEXICON_H

#include <stddef.h>

typedef struct lexicon_trim_stats {
    size_t kept;  /* pronunciations whose word the language model knows */
    size_t total; /* pronunciations in the dictionary */
} lexicon_trim_stats;

/*
 * Writes the lines of the dictionary at `dict_path` whose word (without a
 * "(2)" alternate marker) the language model at `lm_path` knows into an
 * anonymous in-memory file, and returns its descriptor in *fd: a decoder
 * reads it as "/proc/self/fd/N".  The caller closes it.  Returns 0,
 * VB_EIO (a file cannot be read, the memory file cannot be made),
 * VB_EINVAL (the two share no word: the model is not a pair) or VB_ENOMEM,
 * with a message in err.
 */
int lexicon_trim(const char *dict_path, const char *lm_path, int *fd,
                 lexicon_trim_stats *stats, char *err, size_t errlen);

#endif
