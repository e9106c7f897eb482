/* names.c - proper nouns from the system's word list (names.h). */
#include "names.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WORD_LIST "/usr/share/dict/american-english"

static char **names;       /* the list's spellings, sorted case-blind */
static size_t name_count;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int by_lower(const void *a, const void *b)
{
    return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static int all_alpha(const char *s)
{
    for (; *s; s++)
        if (!isalpha((unsigned char)*s))
            return 0;
    return 1;
}

/* Both spellings of every word, sorted case-blind, then the capitalised
 * ones whose lower-case twin is not there are kept. */
static void load(void)
{
    FILE *f = fopen(WORD_LIST, "r");
    if (f == NULL)
        return;
    char line[128];
    size_t cap = 0, n = 0;
    char **all = NULL;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || !all_alpha(line))
            continue; /* possessives and the like: the base word decides */
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            char **grown = realloc(all, cap * sizeof(*all));
            if (grown == NULL)
                break;
            all = grown;
        }
        if ((all[n] = strdup(line)) == NULL)
            break;
        n++;
    }
    fclose(f);
    qsort(all, n, sizeof(*all), by_lower);
    size_t kept = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, lower = 0;
        while (j < n && strcasecmp(all[j], all[i]) == 0)
            lower |= islower((unsigned char)all[j++][0]) != 0;
        char *first = all[i];
        for (size_t k = i + 1; k < j; k++)
            free(all[k]);
        if (!lower && isupper((unsigned char)first[0]))
            all[kept++] = first;
        else
            free(first);
        i = j;
    }
    names = all;
    name_count = kept;
}

int names_lookup(const char *word, char *out, size_t len)
{
    pthread_once(&once, load);
    char base[64];
    size_t n = strlen(word);
    int possessive = n > 2 && strcmp(word + n - 2, "'s") == 0;
    if (n >= sizeof(base) || n == 0)
        return 0;
    snprintf(base, sizeof(base), "%.*s", (int)(possessive ? n - 2 : n), word);
    const char *key = base;
    char *const *hit = name_count ? bsearch(&key, names, name_count,
                                            sizeof(*names), by_lower)
                                  : NULL;
    if (hit == NULL)
        return 0;
    snprintf(out, len, "%s%s", *hit, possessive ? "'s" : "");
    return 1;
}
