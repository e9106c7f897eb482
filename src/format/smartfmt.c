/*
 * smartfmt.c - spoken forms written as a reader expects (smartfmt.h).
 *
 * At each word the rules are tried in order, the first that matches
 * taking its words: e-mail, phone number, time, date, year, money,
 * percentage, decimal, then a plain number or ordinal.  Order matters
 * where forms overlap: "twenty twenty six" is a year before it is two
 * numbers, "three thirty p m" a time before two numbers.
 */
#include "smartfmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *const *w;
    size_t n;
} words_t;

static const char *const units[] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const tens[] = {
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
    "eighty", "ninety"};
static const char *const ord_units[] = {
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
    "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth",
    "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth"};
static const char *const ord_tens[] = {
    "", "", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth",
    "seventieth", "eightieth", "ninetieth"};
static const char *const months[] = {
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december"};
static const char *const weekdays[] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday"};
static const char *const domains[] = {
    "com", "org", "net", "edu", "gov", "io", "co", "uk", "de", "fr", "ai",
    "us", "info"};
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *table, size_t n, const char *word)
{
    for (size_t k = 0; k < n; k++)
        if (table[k][0] && strcmp(table[k], word) == 0)
            return (int)k;
    return -1;
}

static const char *at(const words_t *ws, size_t i)
{
    return i < ws->n ? ws->w[i] : "";
}

static int is(const words_t *ws, size_t i, const char *word)
{
    return strcmp(at(ws, i), word) == 0;
}

/* A single digit as said in a digit string ("oh" for zero too). */
static int digit(const char *word)
{
    if (strcmp(word, "oh") == 0)
        return 0;
    int u = lookup(units, 10, word);
    return u;
}

enum { W_NONE, W_UNIT, W_TEEN, W_TENS, W_HUNDRED, W_SCALE };

typedef struct {
    long long value;
    size_t used;
    int ordinal;
    int scale_last;  /* ends in million or billion: "5 million" */
    long long scale; /* ... that scale */
} number;

static long long scale_of(const char *word)
{
    if (strcmp(word, "thousand") == 0)
        return 1000;
    if (strcmp(word, "million") == 0)
        return 1000000;
    if (strcmp(word, "billion") == 0)
        return 1000000000;
    return 0;
}

static int number_word(const char *word)
{
    return lookup(units, LEN(units), word) >= 0 ||
           lookup(tens, LEN(tens), word) >= 0 ||
           lookup(ord_units, LEN(ord_units), word) >= 0 ||
           lookup(ord_tens, LEN(ord_tens), word) >= 0;
}

/* A cardinal or ordinal number said in words from i: 1 with *out, or 0. */
static int parse_number(const words_t *ws, size_t i, number *out)
{
    long long total = 0, current = 0, last_scale = 0;
    size_t j = i;
    int last = W_NONE, ordinal = 0;
    if (is(ws, j, "a") && (is(ws, j + 1, "hundred") || scale_of(at(ws, j + 1)))) {
        current = 1; /* "a hundred", "a thousand" */
        last = W_UNIT;
        j++;
    }
    for (;;) {
        const char *w = at(ws, j);
        int u = lookup(units, LEN(units), w), t = lookup(tens, LEN(tens), w);
        int ou = lookup(ord_units, LEN(ord_units), w);
        int ot = lookup(ord_tens, LEN(ord_tens), w);
        long long sc = scale_of(w);
        int after_tens_ok = last != W_TENS || (u >= 1 && u <= 9) ||
                            (ou >= 1 && ou <= 9);
        if (u >= 0) {
            if (last == W_UNIT || last == W_TEEN || !after_tens_ok ||
                (u == 0 && last != W_NONE))
                break;
            current += u;
            last = u < 10 ? W_UNIT : W_TEEN;
            j++;
            if (u == 0)
                break; /* "zero" stands alone */
        } else if (t >= 2) {
            if (last == W_UNIT || last == W_TEEN || last == W_TENS)
                break;
            current += t * 10;
            last = W_TENS;
            j++;
        } else if (strcmp(w, "hundred") == 0 || strcmp(w, "hundredth") == 0) {
            if (last == W_NONE || last == W_HUNDRED || last == W_SCALE ||
                current % 100 == 0 || current >= 100)
                break;
            current *= 100;
            last = W_HUNDRED;
            j++;
            if (w[7] == 't') {
                ordinal = 1;
                break;
            }
        } else if (sc || strcmp(w, "thousandth") == 0) {
            if (sc == 0)
                sc = 1000;
            if (last == W_NONE || last == W_SCALE || current == 0 ||
                (last_scale && sc >= last_scale))
                break;
            total += current * sc;
            current = 0;
            last = W_SCALE;
            last_scale = sc;
            j++;
            if (strcmp(w, "thousandth") == 0) {
                ordinal = 1;
                break;
            }
        } else if (ou >= 1) {
            if (last == W_UNIT || last == W_TEEN || !after_tens_ok)
                break;
            current += ou;
            ordinal = 1;
            j++;
            break;
        } else if (ot >= 2) {
            if (last == W_UNIT || last == W_TEEN || last == W_TENS)
                break;
            current += ot * 10;
            ordinal = 1;
            j++;
            break;
        } else if (strcmp(w, "and") == 0 &&
                   (last == W_HUNDRED || last == W_SCALE) &&
                   number_word(at(ws, j + 1)) && !is(ws, j + 1, "zero")) {
            j++; /* "one hundred and five" */
        } else {
            break;
        }
    }
    if (j == i || (last == W_NONE && !ordinal))
        return 0;
    if (is(ws, j - 1, "and"))
        j--;
    out->value = total + current;
    out->used = j - i;
    out->ordinal = ordinal;
    out->scale_last = last == W_SCALE && !ordinal && last_scale >= 1000000 &&
                      total % last_scale == 0;
    out->scale = last_scale;
    return 1;
}

static const char *ordinal_suffix(long long n)
{
    if (n % 100 >= 11 && n % 100 <= 13)
        return "th";
    switch (n % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
    }
}

/* n in digits, with thousands separated by commas from 10,000 up. */
static void write_number(long long n, char *out, size_t len)
{
    char plain[32];
    snprintf(plain, sizeof(plain), "%lld", n);
    size_t digits = strlen(plain);
    if (n < 10000) {
        snprintf(out, len, "%s", plain);
        return;
    }
    size_t o = 0;
    for (size_t k = 0; k < digits && o + 2 < len; k++) {
        if (k > 0 && (digits - k) % 3 == 0)
            out[o++] = ',';
        out[o++] = plain[k];
    }
    out[o] = '\0';
}

static sf_token *emit(sf_token *out, size_t *n, size_t first, size_t count,
                      const char *text)
{
    sf_token *t = &out[(*n)++];
    t->first = first;
    t->count = count;
    snprintf(t->text, sizeof(t->text), "%s", text);
    return t;
}

/* The digits said one by one from i ("oh" as zero; with hundreds, "eight
 * hundred" as 800, when allowed): how many words, the digits in digits. */
static size_t digit_run(const words_t *ws, size_t i, int hundreds,
                        char *digits, size_t len)
{
    size_t k = 0, j = i;
    while (k + 4 < len && digit(at(ws, j)) >= 0) {
        digits[k++] = (char)('0' + digit(at(ws, j)));
        j++;
        if (hundreds && is(ws, j, "hundred") && digits[k - 1] != '0') {
            digits[k++] = '0';
            digits[k++] = '0';
            j++;
        }
    }
    digits[k] = '\0';
    return j - i;
}

/* 555-1234, 555-123-4567, 1-555-123-4567. */
static size_t rule_phone(const words_t *ws, size_t i, sf_token *out, size_t *n)
{
    char d[24], text[SF_TOKEN_MAX];
    size_t used = digit_run(ws, i, 1, d, sizeof(d)), k = strlen(d);
    if (k == 7)
        snprintf(text, sizeof(text), "%.3s-%.4s", d, d + 3);
    else if (k == 10)
        snprintf(text, sizeof(text), "%.3s-%.3s-%.4s", d, d + 3, d + 6);
    else if (k == 11 && d[0] == '1')
        snprintf(text, sizeof(text), "1-%.3s-%.3s-%.4s", d + 1, d + 4, d + 7);
    else
        return 0;
    emit(out, n, i, used, text);
    return used;
}

static int alpha_word(const char *w)
{
    if (*w == '\0')
        return 0;
    for (; *w; w++)
        if (!isalpha((unsigned char)*w))
            return 0;
    return 1;
}

/* name [dot name]... at domain dot ... tld: "jane@example.com"; or
 * without the "at", a site: "example dot com" -> "example.com". */
static size_t rule_email(const words_t *ws, size_t i, sf_token *out, size_t *n)
{
    char text[SF_TOKEN_MAX];
    size_t j = i, o = 0;
    if (!alpha_word(at(ws, j)) || is(ws, j, "at") || is(ws, j, "dot"))
        return 0;
    for (;;) { /* the local part */
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", at(ws, j));
        j++;
        if (is(ws, j, "dot") && alpha_word(at(ws, j + 1)) &&
            !is(ws, j + 1, "at") && o + 1 < sizeof(text)) {
            text[o++] = '.';
            j++;
            continue;
        }
        break;
    }
    if (!is(ws, j, "at") && j - i >= 3 &&
        lookup(domains, LEN(domains), at(ws, j - 1)) >= 0) {
        emit(out, n, i, j - i, text); /* a site: "example.com" */
        return j - i;
    }
    if (!is(ws, j, "at") || !alpha_word(at(ws, j + 1)) || o + 1 >= sizeof(text))
        return 0;
    text[o++] = '@';
    j++;
    int dots = 0;
    for (;;) {
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", at(ws, j));
        j++;
        if (is(ws, j, "dot") && alpha_word(at(ws, j + 1)) && o + 1 < sizeof(text)) {
            text[o++] = '.';
            j++;
            dots++;
            continue;
        }
        break;
    }
    if (dots == 0 || o >= sizeof(text) - 1 ||
        lookup(domains, LEN(domains), at(ws, j - 1)) < 0)
        return 0;
    emit(out, n, i, j - i, text);
    return j - i;
}

/* "a m", "p m", "a.m.", "p.m.", "am", "pm": how many words, with the
 * written form in *text.  A bare "am" only after minutes: "which one am
 * I" is no time. */
static size_t meridiem(const words_t *ws, size_t i, int minutes_given,
                       const char **text)
{
    const char *w = at(ws, i);
    int pm = w[0] == 'p';
    if ((strcmp(w, "a") == 0 || strcmp(w, "p") == 0) && is(ws, i + 1, "m")) {
        *text = pm ? "p.m." : "a.m.";
        return 2;
    }
    if (strcmp(w, "a.m.") == 0 || strcmp(w, "p.m.") == 0 ||
        (strcmp(w, "am") == 0 && minutes_given) || strcmp(w, "pm") == 0) {
        *text = pm ? "p.m." : "a.m.";
        return 1;
    }
    return 0;
}

/* The minutes of a time from i: "oh five", "fifteen", "thirty", "forty
 * five": 1 with *minutes and *used, or 0. */
static int minutes_at(const words_t *ws, size_t i, int *minutes, size_t *used)
{
    int u = lookup(units, LEN(units), at(ws, i));
    int t = lookup(tens, LEN(tens), at(ws, i));
    if (is(ws, i, "oh")) {
        int d = lookup(units, 10, at(ws, i + 1));
        if (d < 1)
            return 0;
        *minutes = d;
        *used = 2;
        return 1;
    }
    if (u >= 10) {
        *minutes = u;
        *used = 1;
        return 1;
    }
    if (t >= 2 && t <= 5) {
        int d = lookup(units, 10, at(ws, i + 1));
        *minutes = t * 10 + (d >= 1 ? d : 0);
        *used = d >= 1 ? 2 : 1;
        return 1;
    }
    return 0;
}

/* 3:30 p.m., 9 a.m., 10 o'clock. */
static size_t rule_time(const words_t *ws, size_t i, sf_token *out, size_t *n)
{
    int hour = lookup(units, LEN(units), at(ws, i));
    if (hour < 1 || hour > 12)
        return 0;
    size_t j = i + 1, mused = 0;
    int minutes = -1;
    char text[SF_TOKEN_MAX];
    if (is(ws, j, "o'clock")) {
        snprintf(text, sizeof(text), "%d", hour);
        emit(out, n, i, 1, text);
        emit(out, n, j, 1, "o'clock");
        return 2;
    }
    if (minutes_at(ws, j, &minutes, &mused))
        j += mused;
    const char *mer;
    size_t k = meridiem(ws, j, minutes >= 0, &mer);
    if (k == 0)
        return 0;
    if (minutes >= 0)
        snprintf(text, sizeof(text), "%d:%02d", hour, minutes);
    else
        snprintf(text, sizeof(text), "%d", hour);
    emit(out, n, i, j - i, text);
    emit(out, n, j, k, mer);
    return j + k - i;
}

/* 1500-2099 said as two pairs: "nineteen eighty four", "twenty twenty
 * six", "twenty oh five", "eighteen hundred". */
static int parse_year(const words_t *ws, size_t i, int *year, size_t *used)
{
    int a = lookup(units, LEN(units), at(ws, i));
    if (is(ws, i, "twenty"))
        a = 20;
    if (a < 15 || a > 20)
        return 0;
    size_t j = i + 1;
    int b = -1;
    int u = lookup(units, LEN(units), at(ws, j));
    int t = lookup(tens, LEN(tens), at(ws, j));
    if (is(ws, j, "hundred")) {
        b = 0;
        j++;
    } else if (is(ws, j, "oh") && lookup(units, 10, at(ws, j + 1)) >= 1) {
        b = lookup(units, 10, at(ws, j + 1));
        j += 2;
    } else if (u >= 10) {
        b = u;
        j++;
    } else if (t >= 2) {
        int d = lookup(units, 10, at(ws, j + 1));
        b = t * 10 + (d >= 1 ? d : 0);
        j += d >= 1 ? 2 : 1;
    }
    if (b < 0 || (a == 20 && b > 99))
        return 0;
    *year = a * 100 + b;
    *used = j - i;
    return 1;
}

static size_t rule_year(const words_t *ws, size_t i, sf_token *out, size_t *n)
{
    int year;
    size_t used;
    if (!parse_year(ws, i, &year, &used))
        return 0;
    char text[SF_TOKEN_MAX];
    snprintf(text, sizeof(text), "%d", year);
    emit(out, n, i, used, text);
    return used;
}

static void capitalised(const char *word, char *out, size_t len)
{
    snprintf(out, len, "%s", word);
    out[0] = (char)toupper((unsigned char)out[0]);
}

/* March 3rd; March 3rd, 2026; March 2026. */
static size_t rule_date(const words_t *ws, size_t i, sf_token *out, size_t *n)
{
    if (lookup(months, LEN(months), at(ws, i)) < 0)
        return 0;
    number day;
    size_t j = i + 1;
    int year;
    size_t yused;
    char text[SF_TOKEN_MAX];
    if (parse_number(ws, j, &day) && day.value >= 1 && day.value <= 31 &&
        !parse_year(ws, j, &year, &yused)) {
        j += day.used;
        int has_year = parse_year(ws, j, &year, &yused);
        capitalised(at(ws, i), text, sizeof(text));
        emit(out, n, i, 1, text);
        snprintf(text, sizeof(text), "%lld%s%s", day.value,
                 ordinal_suffix(day.value), has_year ? "," : "");
        emit(out, n, i + 1, day.used, text);
        if (!has_year)
            return j - i;
        snprintf(text, sizeof(text), "%d", year);
        emit(out, n, j, yused, text);
        return j + yused - i;
    }
    if (parse_year(ws, j, &year, &yused)) {
        capitalised(at(ws, i), text, sizeof(text));
        emit(out, n, i, 1, text);
        snprintf(text, sizeof(text), "%d", year);
        emit(out, n, j, yused, text);
        return 1 + yused;
    }
    return 0;
}

/* The digits after "point": "three point one four" -> ".14". */
static size_t decimals(const words_t *ws, size_t i, char *out, size_t len)
{
    if (!is(ws, i, "point"))
        return 0;
    char d[20]; /* with the point, fits the callers' 24 */
    size_t k = digit_run(ws, i + 1, 0, d, sizeof(d));
    if (k == 0)
        return 0;
    snprintf(out, len, ".%s", d);
    return k + 1;
}

/* $5, $5.50, $2 million, £20, €3.5. */
static size_t rule_money(const words_t *ws, size_t i, sf_token *out, size_t *n)
{
    number num;
    if (!parse_number(ws, i, &num) || num.ordinal)
        return 0;
    char frac[24] = "", text[SF_TOKEN_MAX], amount[32];
    size_t j = i + num.used;
    j += decimals(ws, j, frac, sizeof(frac));
    int scaled = num.scale_last && frac[0] == '\0';
    const char *unit = at(ws, j);
    const char *sign = strncmp(unit, "dollar", 6) == 0 ? "$"
                       : strncmp(unit, "pound", 5) == 0 ? "£"
                       : strncmp(unit, "euro", 4) == 0 ? "€" : NULL;
    if (sign == NULL)
        return 0;
    if (scaled)
        snprintf(amount, sizeof(amount), "%lld", num.value / num.scale);
    else
        write_number(num.value, amount, sizeof(amount));
    j++;
    number cents;
    if (!scaled && frac[0] == '\0' && is(ws, j, "and") &&
        parse_number(ws, j + 1, &cents) && !cents.ordinal && cents.value < 100 &&
        (strcmp(at(ws, j + 1 + cents.used), "cents") == 0 ||
         strcmp(at(ws, j + 1 + cents.used), "cent") == 0)) {
        snprintf(frac, sizeof(frac), ".%02lld", cents.value);
        j += 2 + cents.used;
    }
    snprintf(text, sizeof(text), "%s%s%s", sign, amount, frac);
    if (scaled) { /* "$2 million": the scale stays a word */
        emit(out, n, i, num.used - 1, text);
        emit(out, n, i + num.used - 1, j - (i + num.used - 1),
             num.scale == 1000000 ? "million" : "billion");
        return j - i;
    }
    emit(out, n, i, j - i, text);
    return j - i;
}

/* 10%, 3.5%; decimals (3.14); numbers from 10 up in digits; ordinals
 * from 10th up; "5 million".  Numbers and ordinals under ten stay words. */
static size_t rule_number(const words_t *ws, size_t i, sf_token *out, size_t *n)
{
    number num;
    if (!parse_number(ws, i, &num))
        return 0;
    char frac[24] = "", text[SF_TOKEN_MAX], digits[32];
    size_t j = i + num.used;
    if (!num.ordinal)
        j += decimals(ws, j, frac, sizeof(frac));
    int percent = !num.ordinal && is(ws, j, "percent");
    if (num.ordinal) {
        if (num.value < 10)
            return 0;
        write_number(num.value, digits, sizeof(digits));
        snprintf(text, sizeof(text), "%s%s", digits, ordinal_suffix(num.value));
    } else if (num.scale_last && frac[0] == '\0' && !percent) {
        snprintf(text, sizeof(text), "%lld", num.value / num.scale);
        emit(out, n, i, num.used - 1, text);
        emit(out, n, i + num.used - 1, 1, at(ws, i + num.used - 1));
        return num.used;
    } else {
        if (num.value < 10 && frac[0] == '\0' && !percent)
            return 0;
        write_number(num.value, digits, sizeof(digits));
        snprintf(text, sizeof(text), "%s%s%s", digits, frac, percent ? "%" : "");
    }
    if (percent)
        j++;
    emit(out, n, i, j - i, text);
    return j - i;
}

size_t smartfmt(const char *const *words, size_t count, sf_token *out)
{
    static size_t (*const rules[])(const words_t *, size_t, sf_token *,
                                   size_t *) = {
        rule_email, rule_phone, rule_time, rule_date, rule_year, rule_money,
        rule_number,
    };
    words_t ws = {words, count};
    size_t n = 0, i = 0;
    while (i < count) {
        size_t used = 0;
        for (size_t r = 0; r < LEN(rules) && used == 0; r++)
            used = rules[r](&ws, i, out, &n);
        if (used > 0) {
            i += used;
            continue;
        }
        /* A word as it is; weekdays and the months that are no other
         * word are names ("may" and "march" are names only in a date). */
        sf_token *t = emit(out, &n, i, 1, words[i]);
        int m = lookup(months, LEN(months), words[i]);
        if (lookup(weekdays, LEN(weekdays), words[i]) >= 0 ||
            (m >= 0 && strcmp(words[i], "may") != 0 &&
             strcmp(words[i], "march") != 0))
            t->text[0] = (char)toupper((unsigned char)t->text[0]);
        i++;
    }
    return n;
}
