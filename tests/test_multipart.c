/* test_multipart.c - multipart/form-data bodies (net/multipart.c): the
 * Content-Type's boundary, parts as curl and browsers send them, and each
 * way a form can be malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/multipart.h"

static void test_boundary(void **state)
{
    (void)state;
    char b[MULTIPART_BOUNDARY_MAX + 1];
    assert_int_equal(multipart_boundary(
                         "multipart/form-data; boundary=------------------"
                         "------7f3c2a", b), 1);
    assert_string_equal(b, "------------------------7f3c2a");
    assert_int_equal(multipart_boundary("Multipart/Form-Data;charset=utf-8;"
                                        "BOUNDARY=\"a b;c\"", b), 1);
    assert_string_equal(b, "a b;c");
    assert_int_equal(multipart_boundary("application/octet-stream", b), 0);
    assert_string_equal(b, "");
    assert_int_equal(multipart_boundary("multipart/form-datax; boundary=a", b), 0);
    assert_int_equal(multipart_boundary("", b), 0);
    assert_int_equal(multipart_boundary("multipart/form-data", b), -1);
    assert_int_equal(multipart_boundary("multipart/form-data; boundary=", b), -1);
    char longer[128];
    snprintf(longer, sizeof(longer), "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(multipart_boundary(longer, b), -1); /* 71 characters */
}

static int parse(const char *body, multipart_part *parts, size_t max,
                 size_t *count, char *err)
{
    return multipart_parse((const uint8_t *)body, strlen(body), "XyZ", parts,
                           max, count, err, 200);
}

static void expect_part(const multipart_part *p, const char *name,
                        const char *filename, const char *data)
{
    assert_string_equal(p->name, name);
    assert_string_equal(p->filename, filename);
    if (filename[0] != '\0')
        assert_true(p->is_file);
    assert_int_equal(p->len, strlen(data));
    assert_memory_equal(p->data, data, p->len);
}

static void test_parts(void **state)
{
    (void)state;
    multipart_part parts[4];
    size_t count;
    char err[200];
    /* As curl -F sends it: CRLF, a field, a file with its own type. */
    assert_int_equal(parse("--XyZ\r\nContent-Disposition: form-data; name=\"wait\""
                           "\r\n\r\n60\r\n--XyZ\r\ncontent-disposition: form-data;"
                           " name=\"file\"; filename=\"a \\\"b\\\".mp3\"\r\n"
                           "Content-Type: audio/mpeg\r\n\r\nID3\r\n\r\nx--XyZ\r\n"
                           "\r\n-XyZ\r\n--XyZ--\r\n", parts, 4, &count, err), 0);
    assert_int_equal(count, 2);
    expect_part(&parts[0], "wait", "", "60");
    assert_false(parts[0].is_file);
    /* The content's own line breaks and the boundary's text in the
     * content (not at a line start) stay in the content. */
    expect_part(&parts[1], "file", "a \"b\".mp3", "ID3\r\n\r\nx--XyZ\r\n\r\n-XyZ");
    /* A preamble, LF line breaks, an empty part, a part with no headers,
     * nothing after the closing delimiter's dashes. */
    assert_int_equal(parse("ignored\n--XyZ\nContent-Disposition: form-data; "
                           "name=e; filename*=UTF-8''x\n\n\n--XyZ\n\nbare\n--XyZ--",
                           parts, 4, &count, err), 0);
    assert_int_equal(count, 2);
    expect_part(&parts[0], "e", "", "");
    assert_true(parts[0].is_file); /* filename* alone still makes a file */
    expect_part(&parts[1], "", "", "bare");
    /* A form with no parts at all. */
    assert_int_equal(parse("--XyZ--\r\n", parts, 4, &count, err), 0);
    assert_int_equal(count, 0);
}

static void expect_error(const char *body, size_t max, const char *part)
{
    multipart_part parts[4];
    size_t count;
    char err[200] = "";
    assert_int_equal(parse(body, parts, max, &count, err), -1);
    if (strstr(err, part) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", err, part);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("", 4, "does not occur");
    expect_error("just bytes --XyZ in a line", 4, "does not occur");
    expect_error("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue",
                 4, "closing boundary is missing");
    expect_error("--XyZ\r\nContent-Disposition: form-data; name=a\r\n", 4,
                 "no end to its headers");
    expect_error("--XyZ", 4, "without its closing boundary");
    expect_error("--XyZjunk\r\n\r\nx\r\n--XyZ--", 4, "text after it");
    expect_error("--XyZ\r\n\r\na\r\n--XyZ\r\n\r\nb\r\n--XyZ--", 1,
                 "more than 1 parts");
    /* Headers over 8 KiB without a blank line. */
    size_t n = 9000;
    char *big = malloc(n + 16);
    memcpy(big, "--XyZ\r\n", 7);
    memset(big + 7, 'h', n);
    strcpy(big + 7 + n, "\r\n\r\n");
    expect_error(big, 4, "no end to its headers");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
