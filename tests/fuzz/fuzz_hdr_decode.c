/* libFuzzer target: hdr_decode_base64 on arbitrary text.
 *
 * ioload merge and iobench plot decode histograms read from result files,
 * which a user may have edited or truncated. Whatever the input, decoding
 * must fail cleanly or give a histogram that re-encodes and decodes to the
 * same counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct hdr h;
    if (hdr_decode_base64(text, &h) == 0) {
        char *again = hdr_encode_base64(&h);
        struct hdr h2;
        if (!again || hdr_decode_base64(again, &h2) != 0)
            __builtin_trap();
        if (h2.counts_len != h.counts_len || h2.total_count != h.total_count ||
            memcmp(h2.counts, h.counts, (size_t)h.counts_len * sizeof *h.counts) != 0)
            __builtin_trap();
        hdr_free(&h2);
        free(again);
        hdr_free(&h);
    }
    free(text);
    return 0;
}
