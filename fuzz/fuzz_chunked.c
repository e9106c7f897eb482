/* fuzz_chunked.c - the chunked transfer coding decoder (net/chunked.c) fed
 * in pieces of any size: it never reads past what it is given, never
 * hands on more data than came in, and once it has ended or failed it
 * says why. */
#include "fuzz_common.h"
#include "net/chunked.h"

static int count_data(void *ctx, const char *data, size_t len)
{
    size_t *total = ctx;
    (void)data;
    *total += len;
    return *total > 4096; /* as a body over its limit */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    size_t piece = fuzz_piece(&data, &len);
    chunked_decoder d;
    chunked_init(&d);
    size_t total = 0;
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0; pos += piece) {
        size_t n = len - pos < piece ? len - pos : piece;
        rc = chunked_feed(&d, (const char *)data + pos, n, count_data, &total);
    }
    if (total > len || (rc == CHUNKED_MALFORMED && d.error == NULL))
        abort();
    return 0;
}
