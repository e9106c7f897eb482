/*
 * realign.c - word timings after a correction (realign.h).
 */
#include "realign.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CELLS (4u << 20) /* matching table; past it, times are shared */

typedef struct {
    char *norm;   /* lower case, the punctuation around it left out */
    double start, end, confidence;
    int kept;     /* new words: matched to an old one */
} entry;

/* s's comparable form, malloc'd: ASCII letters lower-cased, characters
 * that are neither letters, digits nor apostrophes dropped at both ends. */
static char *normal(const char *s, size_t len)
{
    size_t a = 0, b = len;
    while (a < b && !isalnum((unsigned char)s[a]) && (unsigned char)s[a] < 0x80)
        a++;
    while (b > a && !isalnum((unsigned char)s[b - 1]) && (unsigned char)s[b - 1] < 0x80)
        b--;
    char *out = malloc(b - a + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = a; i < b; i++)
        out[i - a] = (char)tolower((unsigned char)s[i]);
    out[b - a] = '\0';
    return out;
}

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; e != NULL && i < n; i++)
        free(e[i].norm);
    free(e);
}

/* The old words, in order; *n 0 when there are none.  -1: out of memory. */
static int read_old(const char *json, entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    cJSON *arr = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return 0;
    }
    entry *e = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*e));
    if (e == NULL) {
        cJSON_Delete(arr);
        return -1;
    }
    const cJSON *w;
    cJSON_ArrayForEach(w, arr) {
        const char *word = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "word"));
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(w, "start");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(w, "end");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(w, "confidence");
        if (word == NULL || !cJSON_IsNumber(s) || !cJSON_IsNumber(f))
            continue;
        entry *x = &e[(*n)++];
        x->norm = normal(word, strlen(word));
        if (x->norm == NULL) {
            free_entries(e, *n);
            cJSON_Delete(arr);
            return -1;
        }
        x->start = s->valuedouble;
        x->end = f->valuedouble;
        x->confidence = cJSON_IsNumber(c) ? c->valuedouble : 1;
    }
    cJSON_Delete(arr);
    *out = e;
    return 0;
}

/* Marks the new words equal to old ones, as many as keep their order (a
 * longest common subsequence), taking their times. */
static void match(entry *old, size_t n, entry *neu, size_t m)
{
    if (n == 0 || m == 0 || (n + 1) * (m + 1) > MAX_CELLS)
        return;
    unsigned *L = calloc((n + 1) * (m + 1), sizeof(*L));
    if (L == NULL)
        return;
#define AT(i, j) L[(i) * (m + 1) + (j)]
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++)
            AT(i, j) = strcmp(old[i - 1].norm, neu[j - 1].norm) == 0
                           ? AT(i - 1, j - 1) + 1
                           : AT(i - 1, j) > AT(i, j - 1) ? AT(i - 1, j)
                                                         : AT(i, j - 1);
    for (size_t i = n, j = m; i > 0 && j > 0;) {
        if (strcmp(old[i - 1].norm, neu[j - 1].norm) == 0) {
            neu[j - 1].kept = 1;
            neu[j - 1].start = old[i - 1].start;
            neu[j - 1].end = old[i - 1].end;
            neu[j - 1].confidence = old[i - 1].confidence;
            i--;
            j--;
        } else if (AT(i - 1, j) >= AT(i, j - 1)) {
            i--;
        } else {
            j--;
        }
    }
#undef AT
    free(L);
}

/* New words between kept ones share [from, to] by their letters. */
static void share(entry *neu, size_t a, size_t b, double from, double to)
{
    size_t letters = 0;
    for (size_t k = a; k < b; k++)
        letters += strlen(neu[k].norm) + 1;
    if (to < from)
        to = from;
    double at = from;
    for (size_t k = a; k < b; k++) {
        double span = (to - from) * (double)(strlen(neu[k].norm) + 1) / (double)letters;
        neu[k].start = at;
        neu[k].end = at + span;
        neu[k].confidence = 1;
        at += span;
    }
}

char *realign_words(const char *words_json, const char *text, double start,
                    double end)
{
    entry *old, *neu = NULL;
    size_t n, m = 0;
    if (read_old(words_json, &old, &n) != 0)
        return NULL;
    size_t cap = strlen(text) / 2 + 1;
    neu = calloc(cap, sizeof(*neu));
    const char *p = text;
    while (neu != NULL && *p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (p == w)
            break;
        entry *x = &neu[m++];
        x->norm = normal(w, (size_t)(p - w));
        if (x->norm == NULL)
            break;
        if (x->norm[0] == '\0') { /* a dash, say: its own written form */
            free(x->norm);
            x->norm = strndup(w, (size_t)(p - w));
            if (x->norm == NULL)
                break;
        }
    }
    char *out = NULL;
    if (neu != NULL && (m == 0 || neu[m - 1].norm != NULL)) {
        match(old, n, neu, m);
        /* Runs of new words between kept ones: the time of the words they
         * replaced, which lies between those kept words' times. */
        double lo = n ? old[0].start : start, hi = n ? old[n - 1].end : end;
        for (size_t k = 0; k < m;) {
            if (neu[k].kept) {
                k++;
                continue;
            }
            size_t run = k;
            while (k < m && !neu[k].kept)
                k++;
            double from = run > 0 ? neu[run - 1].end : lo;
            double to = k < m ? neu[k].start : hi;
            share(neu, run, k, from, to);
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t k = 0; arr != NULL && k < m; k++) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddStringToObject(w, "word", neu[k].norm);
            cJSON_AddNumberToObject(w, "start", round(neu[k].start * 1000) / 1000);
            cJSON_AddNumberToObject(w, "end", round(neu[k].end * 1000) / 1000);
            cJSON_AddNumberToObject(w, "confidence",
                                    round(neu[k].confidence * 1000) / 1000);
            cJSON_AddItemToArray(arr, w);
        }
        out = arr ? cJSON_PrintUnformatted(arr) : NULL;
        cJSON_Delete(arr);
    }
    free_entries(old, n);
    free_entries(neu, m);
    return out;
}
