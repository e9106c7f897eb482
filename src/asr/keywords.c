/* keywords.c - the user's words in Deepgram's syntax (keywords.h). */
#include "keywords.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/vb.h"

/* `item` (trimmed) as it may be quoted back: printable ASCII, at most 40
 * characters. */
static const char *shown(const char *item, size_t n, char *buf, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40 && k + 1 < len; i++)
        buf[k++] = item[i] >= 0x20 && item[i] < 0x7f ? item[i] : '?';
    buf[k] = '\0';
    return buf;
}

/* Letters, with apostrophes and hyphens only between letters. */
static int word_ok(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (isalpha(c) && c < 0x80)
            continue;
        if ((c == '\'' || c == '-') && i > 0 && i + 1 < n &&
            isalpha((unsigned char)w[i - 1]))
            continue;
        return 0;
    }
    return n > 0;
}

/* One trimmed item "WORD[:BOOST]" into *out. */
static int parse_item(const char *item, size_t n, asr_keyword *out, char *err,
                      size_t errlen)
{
    char quoted[48];
    const char *colon = memchr(item, ':', n);
    size_t wn = colon ? (size_t)(colon - item) : n;
    while (wn > 0 && isspace((unsigned char)item[wn - 1]))
        wn--;
    if (wn >= ASR_KEYWORD_MAX) {
        vb_seterr(err, errlen, "keyword \"%s\" is longer than %d letters",
                  shown(item, n, quoted, sizeof(quoted)), ASR_KEYWORD_MAX - 1);
        return VB_EINVAL;
    }
    if (!word_ok(item, wn)) {
        vb_seterr(err, errlen, "keyword \"%s\" is not one word: use letters, "
                  "with ' or - inside (WORD or WORD:BOOST)",
                  shown(item, n, quoted, sizeof(quoted)));
        return VB_EINVAL;
    }
    memcpy(out->word, item, wn);
    out->word[wn] = '\0';
    out->boost = 1;
    if (colon != NULL) {
        char num[32];
        const char *b = colon + 1;
        size_t bn = n - (size_t)(b - item);
        while (bn > 0 && isspace((unsigned char)*b)) {
            b++;
            bn--;
        }
        char *end = NULL;
        double v = NAN;
        if (bn > 0 && bn < sizeof(num)) {
            memcpy(num, b, bn);
            num[bn] = '\0';
            v = strtod(num, &end);
        }
        if (end == NULL || *end != '\0' || !isfinite(v) ||
            v < ASR_BOOST_MIN || v > ASR_BOOST_MAX) {
            vb_seterr(err, errlen, "the boost of keyword \"%s\" must be a "
                      "number from %g to %g",
                      shown(item, n, quoted, sizeof(quoted)), ASR_BOOST_MIN,
                      ASR_BOOST_MAX);
            return VB_EINVAL;
        }
        out->boost = (float)v;
    }
    return 0;
}

/* kw into list[0..*count): over the same word (in any case), else at the
 * end.  -1 when it is a new word and the list is full. */
static int put(asr_keyword *list, size_t *count, const asr_keyword *kw)
{
    size_t i = 0;
    while (i < *count && strcasecmp(list[i].word, kw->word) != 0)
        i++;
    if (i == ASR_KEYWORDS_MAX)
        return -1;
    list[i] = *kw;
    if (i == *count)
        (*count)++;
    return 0;
}

int asr_keywords_add(asr_keyword *list, size_t *count, const char *spec,
                     char *err, size_t errlen)
{
    asr_keyword *work = malloc(ASR_KEYWORDS_MAX * sizeof(*work));
    if (work == NULL) {
        vb_seterr(err, errlen, "out of memory");
        return VB_ENOMEM;
    }
    size_t n = *count;
    memcpy(work, list, n * sizeof(*work));
    int rc = 0;
    const char *p = spec;
    while (rc == 0 && *p) {
        size_t len = strcspn(p, ",\n");
        const char *item = p;
        size_t in = len;
        while (in > 0 && isspace((unsigned char)*item)) {
            item++;
            in--;
        }
        while (in > 0 && isspace((unsigned char)item[in - 1]))
            in--;
        p += len + (p[len] != '\0');
        if (in == 0)
            continue;
        asr_keyword kw;
        rc = parse_item(item, in, &kw, err, errlen);
        if (rc == 0 && put(work, &n, &kw) != 0) {
            vb_seterr(err, errlen, "more than %d keywords", ASR_KEYWORDS_MAX);
            rc = VB_EINVAL;
        }
    }
    if (rc == 0) {
        memcpy(list, work, n * sizeof(*work));
        *count = n;
    }
    free(work);
    return rc;
}

size_t asr_keywords_merge(asr_keyword *list, size_t *count,
                          const asr_keyword *more, size_t n)
{
    size_t left_out = 0;
    for (size_t k = 0; k < n; k++)
        if (put(list, count, &more[k]) != 0)
            left_out++;
    return left_out;
}

char *asr_keywords_format(const asr_keyword *list, size_t count)
{
    size_t cap = 1 + count * (ASR_KEYWORD_MAX + 24);
    char *text = malloc(cap);
    if (text == NULL)
        return NULL;
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(text + used, cap - used, "%s:%g\n",
                                 list[i].word, (double)list[i].boost);
    return text;
}

double asr_keyword_weight(float boost)
{
    if (!(boost > 0))
        return 0;
    return pow(10.0, boost > 3 ? 3.0 : (double)boost);
}
