/* ps_vocab.c - taught words in PocketSphinx decoders (ps_vocab.h). */
#include "ps_vocab.h"

#include <ctype.h>
#include <math.h>
#include <sphinxbase/ngram_model.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "lts.h"

/* The search PocketSphinx builds from -lm (as in pocketsphinx.c). */
#define LM_SEARCH "_default"
#define PHONES_MAX 256
#define PRONS_MAX 4 /* a dictionary word's pronunciations taken */

typedef struct {
    char name[ASR_KEYWORD_MAX + 16]; /* "zentrix#1" */
    char word[ASR_KEYWORD_MAX];      /* "zentrix": the dictionary's form */
    char spelling[ASR_KEYWORD_MAX];  /* "Zentrix" */
    char phones[PHONES_MAX];         /* flite's, for a word not in the dictionary */
    double weight;
} entry;

struct ps_vocab {
    entry *entries;
    size_t count;
    char *signature;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

int ps_vocab_create(const asr_keyword *words, size_t count, ps_vocab **out)
{
    *out = NULL;
    ps_vocab *v = calloc(1, sizeof(*v));
    if (v == NULL || (count > 0 && (v->entries = calloc(count, sizeof(entry))) == NULL)) {
        free(v);
        return VB_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        double weight = asr_keyword_weight(words[i].boost);
        if (weight <= 0)
            continue;
        entry *e = &v->entries[v->count];
        snprintf(e->spelling, sizeof(e->spelling), "%s", words[i].word);
        size_t n = 0;
        for (; words[i].word[n] && n + 1 < sizeof(e->word); n++)
            e->word[n] = (char)tolower((unsigned char)words[i].word[n]);
        e->word[n] = '\0';
        snprintf(e->name, sizeof(e->name), "%s#%g", e->word,
                 (double)words[i].boost);
        e->weight = weight;
        /* Letters always get phones from flite's rules; a word that got
         * none is heard without, not a session refused. */
        if (lts_pronounce(e->word, e->phones, sizeof(e->phones)) != 0) {
            log_warn("asr", "keyword \"%s\" has no pronunciation; left out",
                     words[i].word);
            continue;
        }
        v->count++;
    }
    if (v->count == 0) {
        ps_vocab_free(v);
        return 0;
    }
    qsort(v->entries, v->count, sizeof(entry), by_name);
    size_t len = 1;
    for (size_t i = 0; i < v->count; i++)
        len += strlen(v->entries[i].name) + 1;
    v->signature = malloc(len);
    if (v->signature == NULL) {
        ps_vocab_free(v);
        return VB_ENOMEM;
    }
    char *p = v->signature;
    for (size_t i = 0; i < v->count; i++)
        p += sprintf(p, "%s\n", v->entries[i].name);
    *p = '\0';
    *out = v;
    return 0;
}

void ps_vocab_free(ps_vocab *v)
{
    if (v == NULL)
        return;
    free(v->entries);
    free(v->signature);
    free(v);
}

const char *ps_vocab_signature(const ps_vocab *v)
{
    return v != NULL ? v->signature : "";
}

/* The taught words' own language model, beside the main one in the
 * search's set, and the share of the probability it is given.  Not
 * unigrams added to the main model: Debian's sphinxbase 5prealpha leaves
 * a trie unigram's bigram pointer undefined for any word added after the
 * first (and ps_add_word() grows the set's word map by realloc() on a
 * pointer into the middle of its block), so a decoder taught some words
 * that way reads freed memory while decoding (found by
 * bench/vocabulary.sh; valgrind shows both). */
#define TAUGHT_MODEL "verbatim-taught"
#define TAUGHT_SHARE 0.02

/* The name of the set's main model (the one that is not ours). */
static const char *main_name(ngram_model_t *set)
{
    const char *name = NULL;
    for (ngram_model_set_iter_t *it = ngram_model_set_iter(set); it != NULL;
         it = ngram_model_set_iter_next(it)) {
        const char *n = NULL;
        ngram_model_set_iter_model(it, &n);
        if (n != NULL && strcmp(n, TAUGHT_MODEL) != 0 && name == NULL)
            name = n;
    }
    return name;
}

/* Drops the taught model from the set, if there is one: the main model
 * alone scores again. */
static void drop_taught(ngram_model_t *set, const char *main)
{
    ngram_model_t *old = ngram_model_set_remove(set, TAUGHT_MODEL, FALSE);
    if (old != NULL)
        ngram_model_free(old);
    if (main != NULL)
        ngram_model_set_select(set, main);
}

/* v's entries as a unigram model in ARPA text: each word at 10^boost
 * times the main model's uniform probability, as the search weighs it.
 * The set interpolates weighted scores (share x p^lw), so the taught
 * model's share counts as share^(1/lw) of a word's probability. */
static ngram_model_t *taught_model(ps_decoder_t *ps, ngram_model_t *main,
                                   const ps_vocab *v)
{
    double lw = cmd_ln_float32_r(ps_get_config(ps), "-lw");
    double share = pow(TAUGHT_SHARE, 1.0 / (lw > 0 ? lw : 1));
    int mem;
    FILE *out = vb_memfile("verbatim-taught-lm", &mem);
    if (out == NULL)
        return NULL;
    double uniform = 1.0 / (double)ngram_model_get_counts(main)[0];
    fprintf(out, "\\data\\\nngram 1=%zu\n\n\\1-grams:\n", v->count);
    for (size_t i = 0; i < v->count; i++) {
        double p = v->entries[i].weight * uniform / share;
        fprintf(out, "%.4f %s\n", log10(p < 1 ? p : 1), v->entries[i].name);
    }
    fprintf(out, "\n\\end\\\n");
    ngram_model_t *lm = NULL;
    if (fclose(out) == 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", mem);
        lm = ngram_model_read(NULL, path, NGRAM_ARPA, ps_get_logmath(ps));
    }
    close(mem);
    return lm;
}

/* An entry's dictionary lines into f: the dictionary's pronunciations
 * for a word it has ("name", "name(2)", ...), else flite's. */
static int write_entry(FILE *f, ps_decoder_t *ps, const entry *e)
{
    int n = 0;
    for (int k = 1; k <= PRONS_MAX; k++) {
        char key[ASR_KEYWORD_MAX + 8];
        if (k == 1)
            snprintf(key, sizeof(key), "%s", e->word);
        else
            snprintf(key, sizeof(key), "%s(%d)", e->word, k);
        char *ph = ps_lookup_word(ps, key);
        if (ph == NULL)
            break;
        if (k == 1)
            fprintf(f, "%s %s\n", e->name, ph);
        else
            fprintf(f, "%s(%d) %s\n", e->name, k, ph);
        free(ph);
        n++;
    }
    if (n == 0)
        fprintf(f, "%s %s\n", e->name, e->phones);
    return ferror(f) ? VB_EIO : 0;
}

/* The dictionary at dict_path with v's entries after it, as an
 * anonymous file; its descriptor in *fd. */
static int taught_dictionary(ps_decoder_t *ps, const char *dict_path,
                             const ps_vocab *v, int *fd)
{
    *fd = -1;
    FILE *in = fopen(dict_path, "r");
    if (in == NULL)
        return VB_EIO;
    int mem;
    FILE *out = vb_memfile("verbatim-taught", &mem);
    int rc = out != NULL ? 0 : VB_EIO;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = VB_EIO;
    if (rc == 0 && ferror(in))
        rc = VB_EIO;
    for (size_t i = 0; rc == 0 && i < v->count; i++)
        rc = write_entry(out, ps, &v->entries[i]);
    if (out != NULL && fclose(out) != 0 && rc == 0)
        rc = VB_EIO;
    fclose(in);
    if (rc != 0) {
        if (mem >= 0)
            close(mem);
        return rc;
    }
    *fd = mem;
    return 0;
}

int ps_vocab_apply(ps_decoder_t *ps, const char *dict_path, const char *held,
                   const ps_vocab *v)
{
    if (strcmp(held, ps_vocab_signature(v)) == 0)
        return 0;
    ngram_model_t *set = ps_get_lm(ps, LM_SEARCH);
    const char *main = set != NULL ? main_name(set) : NULL;
    if (main == NULL)
        return VB_EINTERNAL;
    drop_taught(set, main);
    int rc = 0, fd = -1;
    if (v != NULL) {
        ngram_model_t *lm = taught_model(ps, ngram_model_set_lookup(set, main), v);
        rc = lm != NULL ? 0 : VB_EINTERNAL;
        if (rc == 0) {
            /* Interpolated: share x taught + (1 - share) x main, each
             * weighted as the decoder weighs its language model. */
            ngram_model_set_add(set, lm, TAUGHT_MODEL, 2 * TAUGHT_SHARE, FALSE);
            ngram_model_set_interp(set, NULL, NULL);
            cmd_ln_t *config = ps_get_config(ps);
            ngram_model_apply_weights(set, cmd_ln_float32_r(config, "-lw"),
                                      cmd_ln_float32_r(config, "-wip"));
            rc = taught_dictionary(ps, dict_path, v, &fd);
        }
    }
    if (rc == 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        /* A new dictionary: PocketSphinx rebuilds its search over it and
         * maps its words to the models' afresh. */
        if (ps_load_dict(ps, fd >= 0 ? path : dict_path, NULL, NULL) < 0)
            rc = VB_EINVAL;
    }
    if (fd >= 0)
        close(fd);
    /* Whatever failed, the decoder is left with no one's words. */
    if (rc != 0) {
        drop_taught(set, main);
        if (ps_load_dict(ps, dict_path, NULL, NULL) < 0)
            rc = VB_EINTERNAL;
    }
    return rc;
}

void ps_vocab_spell(const ps_vocab *v, const char *word, char *out, size_t len)
{
    const char *hash = strchr(word, '#');
    if (hash == NULL || v == NULL) {
        if (out != word)
            snprintf(out, len, "%s", word);
        return;
    }
    /* "zentrix#1(2)", an alternate pronunciation, is "zentrix#1". */
    size_t n = strcspn(word, "(");
    for (size_t i = 0; i < v->count; i++) {
        if (strncmp(v->entries[i].name, word, n) == 0 &&
            v->entries[i].name[n] == '\0') {
            snprintf(out, len, "%s", v->entries[i].spelling);
            return;
        }
    }
    char plain[ASR_KEYWORD_MAX + 16];
    snprintf(plain, sizeof(plain), "%.*s", (int)(hash - word), word);
    snprintf(out, len, "%s", plain);
}

void ps_vocab_spell_text(const ps_vocab *v, const char *hyp, char *out,
                         size_t len)
{
    if (v == NULL || strchr(hyp, '#') == NULL) {
        snprintf(out, len, "%s", hyp);
        return;
    }
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = hyp; *p;) {
        size_t n = strcspn(p, " ");
        char word[ASR_KEYWORD_MAX + 32];
        snprintf(word, sizeof(word), "%.*s", (int)n, p);
        ps_vocab_spell(v, word, word, sizeof(word));
        int w = snprintf(out + used, len - used, "%s%s", used ? " " : "", word);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
        p += n;
        while (*p == ' ')
            p++;
    }
}
