/* lts.c - pronunciations from flite's lexicon and rules (lts.h). */
#include "lts.h"

#include <ctype.h>
#include <flite/flite.h>
#include <pthread.h>
#include <string.h>

#include "../util/vb.h"

/* flite's US English lexicon; its header is not installed. */
cst_lexicon *cmu_lex_init(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cst_lexicon *lexicon;

static void load(void)
{
    lexicon = cmu_lex_init();
}

/* A flite phone ("ax0", "eh1") as the dictionary writes it ("AH", "EH"):
 * no stress digit, upper case; flite's reduced vowels have no phone of
 * their own there. */
static int add_phone(const char *phone, char *out, size_t len, size_t *used)
{
    char ph[8];
    size_t n = 0;
    for (; phone[n] && !isdigit((unsigned char)phone[n]); n++) {
        if (n + 1 >= sizeof(ph))
            return VB_EINVAL;
        ph[n] = (char)toupper((unsigned char)phone[n]);
    }
    ph[n] = '\0';
    if (n == 0 || strcmp(ph, "PAU") == 0)
        return 0;
    const char *p = strcmp(ph, "AX") == 0 ? "AH" : strcmp(ph, "AXR") == 0 ? "ER" : ph;
    size_t pn = strlen(p);
    if (*used + pn + 2 > len)
        return VB_ETOOBIG;
    if (*used > 0)
        out[(*used)++] = ' ';
    memcpy(out + *used, p, pn + 1);
    *used += pn;
    return 0;
}

/* One part of a word (letters only, lower case) appended to out. */
static int pronounce_part(const char *part, char *out, size_t len, size_t *used)
{
    pthread_mutex_lock(&lock);
    cst_val *phones = lex_lookup(lexicon, part, NULL, NULL);
    int rc = 0;
    for (const cst_val *v = phones; v != NULL && rc == 0; v = val_cdr(v))
        rc = add_phone(val_string(val_car(v)), out, len, used);
    delete_val(phones);
    pthread_mutex_unlock(&lock);
    return rc;
}

int lts_pronounce(const char *word, char *out, size_t len)
{
    pthread_once(&once, load);
    size_t used = 0;
    if (len > 0)
        out[0] = '\0';
    /* "O'Brien" as "obrien" (flite reads "o'brien" as "aa b r ..."),
     * "Wi-Fi" whole (as "wi" and "fi" it would rhyme with "pie"). */
    char part[64];
    size_t n = 0;
    for (const char *p = word;; p++) {
        if (*p == '\0' || *p == ' ') {
            if (n > 0) {
                part[n] = '\0';
                int rc = pronounce_part(part, out, len, &used);
                if (rc != 0)
                    return rc;
            }
            n = 0;
            if (*p == '\0')
                break;
        } else if ((isalpha((unsigned char)*p) || *p == '-') &&
                   n + 1 < sizeof(part)) {
            part[n++] = (char)tolower((unsigned char)*p);
        }
    }
    return used > 0 ? 0 : VB_EINVAL;
}
