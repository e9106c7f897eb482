/* text.c - display text of one utterance (see format.h). */
#include "format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* "i", "i'm", "i'll", "i've", "i'd": the pronoun I in any of its forms. */
static int is_pronoun_i(const char *word)
{
    return word[0] == 'i' && (word[1] == '\0' || word[1] == '\'');
}

char *format_utterance(const char *const *words, size_t count, int punctuate)
{
    size_t len = 2; /* full stop and terminator */
    for (size_t i = 0; i < count; i++)
        len += strlen(words[i]) + 1;
    char *text = malloc(len);
    if (text == NULL)
        return NULL;

    char *p = text;
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(words[i]);
        if (n == 0)
            continue;
        if (p != text)
            *p++ = ' ';
        memcpy(p, words[i], n);
        if (punctuate && (p == text || is_pronoun_i(words[i])))
            *p = (char)toupper((unsigned char)*p);
        p += n;
    }
    if (punctuate && p != text && strchr(".?!", p[-1]) == NULL)
        *p++ = '.';
    *p = '\0';
    return text;
}
