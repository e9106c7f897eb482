/* fuzz_input.c - the whole input path of a live stream (audio/input.c):
 * format sniffing, the WAV header parser, sample conversion, resampling,
 * and the WebM and Ogg paths, fed in pieces of any size. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    size_t piece = fuzz_piece(&data, &len);
    audio_format fmt = audio_format_default();
    audio_input_t *in;
    if (audio_input_create(&fmt, &in) != 0)
        return 0;
    pcm_buf out = {0};
    char err[256];
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0; pos += piece) {
        size_t n = len - pos < piece ? len - pos : piece;
        rc = audio_input_feed(in, data + pos, n, &out, err, sizeof(err));
        out.len = 0;
    }
    audio_input_finish(in, &out, err, sizeof(err));
    audio_input_describe(in);
    audio_input_destroy(in);
    pcm_buf_free(&out);
    return 0;
}
