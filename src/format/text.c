/* text.c - display text of one utterance (see format.h). */
#include "format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

/* "i", "i'm", "i'll", "i've", "i'd": the pronoun I in any of its forms. */
static int is_pronoun_i(const char *word)
{
    return word[0] == 'i' && (word[1] == '\0' || word[1] == '\'');
}

/* A sentence that begins with one of these asks something. */
static int asks(const char *word)
{
    static const char *const openers[] = {
        "what", "who", "whom", "whose", "where", "when", "why", "how",
        "which", "is", "are", "am", "was", "were", "do", "does", "did",
        "can", "could", "will", "would", "should", "shall", "have", "has",
        "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't",
        "didn't", "can't", "couldn't", "won't", "wouldn't", "shouldn't",
        "haven't", "hasn't"};
    for (size_t k = 0; k < sizeof(openers) / sizeof(openers[0]); k++)
        if (strcmp(word, openers[k]) == 0)
            return 1;
    return 0;
}

char *format_text(const char *const *words, const unsigned char *ends,
                  size_t count, int punctuate)
{
    size_t len = 2; /* the last mark and the terminator */
    for (size_t i = 0; i < count; i++)
        len += strlen(words[i]) + 2 + 64; /* a mark, a space; a name */
    char *text = malloc(len);
    if (text == NULL)
        return NULL;

    char *p = text;
    int sentence_start = 1, question = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(words[i]);
        if (n == 0)
            continue;
        if (p != text)
            *p++ = ' ';
        char name[128];
        const char *w = words[i];
        if (punctuate && names_lookup(w, name, sizeof(name)) &&
            strlen(name) < n + 64) {
            w = name;
            n = strlen(name);
        }
        memcpy(p, w, n);
        if (punctuate && sentence_start)
            question = asks(words[i]);
        if (punctuate && (sentence_start || is_pronoun_i(words[i])))
            *p = (char)toupper((unsigned char)*p);
        p += n;
        sentence_start = 0;
        if (punctuate && ends != NULL && ends[i] && i + 1 < count) {
            if (strchr(".?!", p[-1]) == NULL)
                *p++ = question ? '?' : '.';
            sentence_start = 1;
        }
    }
    if (punctuate && p != text && strchr(".?!", p[-1]) == NULL)
        *p++ = question ? '?' : '.';
    *p = '\0';
    return text;
}

char *format_utterance(const char *const *words, size_t count, int punctuate)
{
    return format_text(words, NULL, count, punctuate);
}
