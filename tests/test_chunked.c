/* test_chunked.c - the chunked transfer coding decoder (net/chunked.c):
 * bodies cut at every byte, extensions and trailers, and each way a body
 * can be malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/chunked.h"

typedef struct {
    char data[256];
    size_t len;
    size_t limit; /* refuse data past this many bytes */
} collected;

static int collect(void *ctx, const char *data, size_t len)
{
    collected *c = ctx;
    if (c->len + len > c->limit)
        return -1;
    memcpy(c->data + c->len, data, len);
    c->len += len;
    return 0;
}

/* Decodes `body` fed in pieces of `piece` bytes; the last return value. */
static int decode(const char *body, size_t piece, collected *out)
{
    chunked_decoder d;
    chunked_init(&d);
    memset(out, 0, sizeof(*out));
    out->limit = sizeof(out->data);
    size_t len = strlen(body);
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        rc = chunked_feed(&d, body + at, n, collect, out);
    }
    return rc;
}

static void expect_body(const char *body, const char *want)
{
    size_t len = strlen(body);
    for (size_t piece = 1; piece <= len; piece++) {
        collected out;
        assert_int_equal(decode(body, piece, &out), 1);
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.data, want, out.len);
    }
}

static void test_decodes_at_any_cut(void **state)
{
    expect_body("5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", "hello, world");
    /* Upper-case hex with leading zeros, extensions, a trailer. */
    expect_body("000A;name=value;x\r\n0123456789\r\n1 ; ext\r\n!\r\n"
                "0;last\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n", "0123456789!");
    /* Bare LF where CRLF belongs. */
    expect_body("3\nabc\n0\n\n", "abc");
    /* Nothing but the last chunk. */
    expect_body("0\r\n\r\n", "");
}

static void test_stops_at_the_end(void **state)
{
    chunked_decoder d;
    chunked_init(&d);
    collected out = {.limit = sizeof(out.data)};
    const char body[] = "2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    assert_int_equal(chunked_feed(&d, body, strlen(body), collect, &out), 1);
    assert_int_equal(out.len, 2);
    assert_memory_equal(out.data, "ok", 2);
}

static void test_not_done_until_the_empty_line(void **state)
{
    collected out;
    assert_int_equal(decode("5\r\nhello\r\n0\r\n", 64, &out), 0);
    assert_int_equal(decode("5\r\nhello\r\n0\r\nX-Trailer: 1\r\n", 64, &out), 0);
    assert_int_equal(decode("5\r\nhel", 64, &out), 0);
}

static void expect_malformed(const char *body, const char *why)
{
    for (size_t piece = 1; piece <= strlen(body); piece++) {
        chunked_decoder d;
        chunked_init(&d);
        collected out = {.limit = sizeof(out.data)};
        int rc = 0;
        for (size_t at = 0; at < strlen(body) && rc == 0; at += piece) {
            size_t n = strlen(body) - at < piece ? strlen(body) - at : piece;
            rc = chunked_feed(&d, body + at, n, collect, &out);
        }
        assert_int_equal(rc, CHUNKED_MALFORMED);
        assert_non_null(d.error);
        if (strstr(d.error, why) == NULL)
            fail_msg("\"%s\": \"%s\" lacks \"%s\"", body, d.error, why);
    }
}

static void test_malformed(void **state)
{
    expect_malformed("zz\r\n", "does not begin with its size");
    expect_malformed("\r\n", "does not begin with its size");
    expect_malformed("5x\r\nhello\r\n", "followed by something else");
    expect_malformed("5\rhello\r\n", "size line does not end in CRLF");
    expect_malformed("2\r\nabc\r\n0\r\n\r\n", "longer than its size says");
    expect_malformed("2\r\nab\rX0\r\n\r\n", "data does not end in CRLF");
    expect_malformed("0\r\nX-T: 1\rX", "trailer field does not end in CRLF");
    expect_malformed("0\r\n\rX", "body does not end in CRLF");
    /* A size that would not fit in size_t. */
    expect_malformed("1FFFFFFFFFFFFFFFF\r\n", "too large");
}

static void test_sink_refuses(void **state)
{
    chunked_decoder d;
    chunked_init(&d);
    collected out = {.limit = 4};
    const char body[] = "8\r\n12345678\r\n0\r\n\r\n";
    assert_int_equal(chunked_feed(&d, body, strlen(body), collect, &out),
                     CHUNKED_REFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_at_any_cut),
        cmocka_unit_test(test_stops_at_the_end),
        cmocka_unit_test(test_not_done_until_the_empty_line),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_sink_refuses),
    };
    return cmocka_run_group_tests_name("chunked", tests, NULL, NULL);
}
