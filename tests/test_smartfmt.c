/*
 * test_smartfmt.c - spoken forms written as a reader expects
 * (format/smartfmt.c): a table of what a recogniser hears and what a
 * reader should see, including what must stay as it was said.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "format/smartfmt.h"

/* The words of spoken, through smartfmt, joined by spaces; checks that
 * the tokens cover every word once, in order. */
static void written(const char *spoken, char *out, size_t len)
{
    char copy[512];
    const char *words[64];
    size_t count = 0;
    snprintf(copy, sizeof(copy), "%s", spoken);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && count < 64;
         w = strtok_r(NULL, " ", &save))
        words[count++] = w;
    sf_token tokens[64];
    size_t n = smartfmt(words, count, tokens);
    assert_true(n <= count);
    size_t next = 0, o = 0;
    out[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(tokens[k].first, next);
        assert_true(tokens[k].count >= 1);
        assert_null(strchr(tokens[k].text, ' '));
        next += tokens[k].count;
        o += (size_t)snprintf(out + o, len - o, "%s%s", k ? " " : "",
                              tokens[k].text);
    }
    assert_int_equal(next, count);
}

static const struct {
    const char *spoken, *written;
} cases[] = {
    /* Numbers: small ones stay words, from ten up digits. */
    {"i have two cats", "i have two cats"},
    {"one of them is here", "one of them is here"},
    {"zero", "zero"},
    {"nine", "nine"},
    {"ten", "10"},
    {"eleven people came", "11 people came"},
    {"twenty", "20"},
    {"twenty one", "21"},
    {"forty two is the answer", "42 is the answer"},
    {"ninety nine", "99"},
    {"one hundred", "100"},
    {"a hundred people", "100 people"},
    {"one hundred and five", "105"},
    {"one hundred five", "105"},
    {"three hundred and twenty one", "321"},
    {"nine hundred ninety nine", "999"},
    {"a thousand", "1000"},
    {"one thousand two hundred", "1200"},
    {"twenty five hundred", "2500"},
    {"two thousand and five", "2005"},
    {"ten thousand", "10,000"},
    {"twelve thousand five hundred", "12,500"},
    {"one hundred thousand", "100,000"},
    {"five million", "5 million"},
    {"five million people", "5 million people"},
    {"two billion", "2 billion"},
    {"one million two hundred thousand", "1,200,000"},
    {"three hundred million", "300 million"},
    {"one two three", "one two three"},
    {"five five", "five five"},
    {"twenty twenty", "2020"},
    {"the number is thirty and the rest", "the number is 30 and the rest"},
    /* Decimals and percentages. */
    {"three point one four", "3.14"},
    {"zero point five", "0.5"},
    {"one point five", "1.5"},
    {"ten percent", "10%"},
    {"five percent", "5%"},
    {"one hundred percent", "100%"},
    {"three point five percent", "3.5%"},
    {"twenty five percent of them", "25% of them"},
    {"point", "point"},
    {"the point is", "the point is"},
    /* Ordinals. */
    {"first", "first"},
    {"the second time", "the second time"},
    {"ninth", "ninth"},
    {"tenth", "10th"},
    {"eleventh", "11th"},
    {"twelfth", "12th"},
    {"thirteenth", "13th"},
    {"twentieth", "20th"},
    {"twenty first", "21st"},
    {"twenty second", "22nd"},
    {"twenty third", "23rd"},
    {"thirty first", "31st"},
    {"one hundredth", "100th"},
    {"one hundred and first", "101st"},
    {"twenty seconds", "20 seconds"},
    /* Money. */
    {"five dollars", "$5"},
    {"one dollar", "$1"},
    {"twenty dollars", "$20"},
    {"a hundred dollars", "$100"},
    {"five dollars and fifty cents", "$5.50"},
    {"ten dollars and five cents", "$10.05"},
    {"one thousand dollars", "$1000"},
    {"twenty thousand dollars", "$20,000"},
    {"two million dollars", "$2 million"},
    {"three point five dollars", "$3.5"},
    {"fifty pounds", "£50"},
    {"ten euros", "€10"},
    {"it costs five dollars a month", "it costs $5 a month"},
    /* Years. */
    {"nineteen eighty four", "1984"},
    {"twenty twenty six", "2026"},
    {"twenty oh five", "2005"},
    {"nineteen hundred", "1900"},
    {"seventeen seventy six", "1776"},
    {"in nineteen ninety nine we left", "in 1999 we left"},
    {"twenty fifteen", "2015"},
    /* Dates. */
    {"march third", "March 3rd"},
    {"march third twenty twenty six", "March 3rd, 2026"},
    {"june first", "June 1st"},
    {"july fourth seventeen seventy six", "July 4th, 1776"},
    {"december twenty fifth", "December 25th"},
    {"august twenty second", "August 22nd"},
    {"may fifth", "May 5th"},
    {"january twenty twenty", "January 2020"},
    {"october thirty first", "October 31st"},
    {"september eleven", "September 11th"},
    {"we met in april", "we met in April"},
    {"see you on monday", "see you on Monday"},
    {"friday and saturday", "Friday and Saturday"},
    {"you may go", "you may go"},
    {"they march on", "they march on"},
    /* Times. */
    {"three thirty p m", "3:30 p.m."},
    {"three thirty p.m.", "3:30 p.m."},
    {"nine a m", "9 a.m."},
    {"nine a.m.", "9 a.m."},
    {"seven fifteen am", "7:15 a.m."},
    {"twelve forty five pm", "12:45 p.m."},
    {"nine oh five a m", "9:05 a.m."},
    {"ten o'clock", "10 o'clock"},
    {"at two o'clock sharp", "at 2 o'clock sharp"},
    {"eleven thirty p m tonight", "11:30 p.m. tonight"},
    {"which one am i", "which one am i"},
    {"thirteen thirty p m", "13 30 p m"}, /* no hour of a 12-hour clock */
    /* Phone numbers. */
    {"five five five one two three four", "555-1234"},
    {"five five five one two three four five six seven", "555-123-4567"},
    {"one eight hundred five five five one two one two", "1-800-555-1212"},
    {"five hundred", "500"},
    {"one eight oh oh five five five one two one two", "1-800-555-1212"},
    {"call nine one one", "call nine one one"},
    {"my number is four one five five five five oh one nine nine",
     "my number is 415-555-0199"},
    /* Spoken addresses. */
    {"jane at example dot com", "jane@example.com"},
    {"john dot smith at mail dot example dot org", "john.smith@mail.example.org"},
    {"write to support at verbatim dot io please", "write to support@verbatim.io please"},
    {"go to example dot com", "go to example.com"},
    {"look at this", "look at this"},
    {"look at the dot", "look at the dot"},
    {"meet me at home", "meet me at home"},
};

static void test_the_table(void **state)
{
    (void)state;
    size_t failed = 0, total = sizeof(cases) / sizeof(cases[0]);
    for (size_t k = 0; k < total; k++) {
        char out[512];
        written(cases[k].spoken, out, sizeof(out));
        if (strcmp(out, cases[k].written) != 0) {
            fprintf(stderr, "\"%s\": want \"%s\", got \"%s\"\n",
                    cases[k].spoken, cases[k].written, out);
            failed++;
        }
    }
    fprintf(stderr, "%zu spoken forms, %zu wrong\n", total, failed);
    assert_true(total >= 100);
    assert_int_equal(failed, 0);
}

/* Nothing to do: no words, one word, a long sentence of plain words. */
static void test_plain_words_pass_through(void **state)
{
    (void)state;
    sf_token tokens[1];
    assert_int_equal(smartfmt(NULL, 0, tokens), 0);
    char out[512];
    written("the quick brown fox jumped over the lazy dog", out, sizeof(out));
    assert_string_equal(out, "the quick brown fox jumped over the lazy dog");
    const char *one[] = {"hello"};
    assert_int_equal(smartfmt(one, 1, tokens), 1);
    assert_string_equal(tokens[0].text, "hello");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_table),
        cmocka_unit_test(test_plain_words_pass_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
