/*
 * names.h - proper nouns, from the system's word list (Debian's
 * wamerican, /usr/share/dict/american-english): a word the list has only
 * with a capital ("chicago", "sheila", "nasa") is a name, written as the
 * list writes it; one it also has in lower case ("march", "bill") is not.
 * Loaded once, on first use; without the list no word is a name.
 * Thread-safe.
 */
#ifndef VB_FORMAT_NAMES_H
#define VB_FORMAT_NAMES_H

#include <stddef.h>

/* 1 with the name's spelling in out (a possessive "'s" kept), or 0. */
int names_lookup(const char *word, char *out, size_t len);

#endif
