/*
 * lexicon.c - trims a pronunciation dictionary to its language model's
 * words (lexicon.h).
 */
#include "lexicon.h"

#include <errno.h>
#include <pocketsphinx.h>
#include <sphinxbase/logmath.h>
#include <sphinxbase/ngram_model.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/vb.h"

/* Does the language model know the word this dictionary line is for?
 * Modifies nothing; `line` is one line of the dictionary. */
static int lm_knows(ngram_model_t *lm, const char *line)
{
    char word[256];
    size_t n = strcspn(line, " \t\r\n");
    if (n == 0 || n >= sizeof(word))
        return 0;
    memcpy(word, line, n);
    word[n] = '\0';
    /* "read(2)": the second pronunciation of "read". */
    char *paren = strchr(word, '(');
    if (paren != NULL && paren > word && word[n - 1] == ')')
        *paren = '\0';
    return ngram_wid(lm, word) != ngram_unknown_wid(lm);
}

/* Copies the lines of `in` the model knows into `out`. */
static int copy_known(FILE *in, FILE *out, ngram_model_t *lm,
                      lexicon_trim_stats *stats)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) > 0) {
        if (strspn(line, " \t\r\n") == (size_t)len)
            continue; /* a blank line is no pronunciation */
        stats->total++;
        if (!lm_knows(lm, line))
            continue;
        stats->kept++;
        if (fwrite(line, 1, (size_t)len, out) != (size_t)len) {
            rc = VB_EIO;
            break;
        }
    }
    if (rc == 0 && ferror(in))
        rc = VB_EIO;
    free(line);
    return rc;
}

int lexicon_trim(const char *dict_path, const char *lm_path, int *fd,
                 lexicon_trim_stats *stats, char *err, size_t errlen)
{
    *fd = -1;
    memset(stats, 0, sizeof(*stats));
    FILE *in = fopen(dict_path, "r");
    if (in == NULL) {
        vb_seterr(err, errlen, "cannot read the dictionary %s: %s", dict_path,
                  strerror(errno));
        return VB_EIO;
    }
    logmath_t *lmath = logmath_init(1.0001, 0, 0);
    ngram_model_t *lm = lmath ? ngram_model_read(NULL, lm_path, NGRAM_AUTO, lmath)
                              : NULL;
    if (lm == NULL) {
        vb_seterr(err, errlen, "cannot read the language model %s", lm_path);
        logmath_free(lmath);
        fclose(in);
        return lmath ? VB_EIO : VB_ENOMEM;
    }
    int rc = 0;
    int mem;
    FILE *out = vb_memfile("verbatim-dictionary", &mem);
    if (out == NULL) {
        vb_seterr(err, errlen, "cannot make an in-memory dictionary: %s",
                  strerror(errno));
        rc = VB_EIO;
    } else {
        rc = copy_known(in, out, lm, stats);
        if (fclose(out) != 0 && rc == 0)
            rc = VB_EIO;
        if (rc != 0)
            vb_seterr(err, errlen, "cannot copy the dictionary %s", dict_path);
    }
    if (rc == 0 && stats->kept == 0) {
        vb_seterr(err, errlen, "the dictionary %s has no word of the language "
                  "model %s: they are not a pair", dict_path, lm_path);
        rc = VB_EINVAL;
    }
    ngram_model_free(lm);
    logmath_free(lmath);
    fclose(in);
    if (rc != 0) {
        if (mem >= 0)
            close(mem);
        return rc;
    }
    *fd = mem;
    return 0;
}
