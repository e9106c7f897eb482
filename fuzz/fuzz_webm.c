/* fuzz_webm.c - the WebM/EBML demuxer (audio/webm.c) and the Opus
 * decoder behind it, fed in pieces of any size. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    size_t piece = fuzz_piece(&data, &len);
    fuzz_decoder dec = {0};
    demux_sink sink = {fuzz_track, fuzz_packet, &dec};
    webm_demux *d;
    if (webm_demux_create(&sink, &d) != 0)
        return 0;
    char err[256];
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0; pos += piece) {
        size_t n = len - pos < piece ? len - pos : piece;
        rc = webm_demux_feed(d, data + pos, n, err, sizeof(err));
    }
    webm_demux_finish(d, err, sizeof(err));
    webm_demux_destroy(d);
    fuzz_decoder_free(&dec);
    return 0;
}
