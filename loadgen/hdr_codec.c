/* hdr_codec: HdrHistogram's compressed V2 encoding, as base64 text.
 *
 * Layout (all integers big-endian), as written by HdrHistogram's Java
 * AbstractHistogram.encodeIntoCompressedByteBuffer and HdrHistogram_c's
 * hdr_encode_compressed:
 *
 *   compressed: cookie 0x1c849314 (int32), deflated length (int32),
 *               zlib stream of the payload below
 *   payload:    cookie 0x1c849313 (int32), counts length in bytes (int32),
 *               normalizing index offset (int32, 0), significant digits
 *               (int32), lowest (int64), highest (int64), integer to double
 *               conversion ratio (IEEE double, 1.0), then the counts as
 *               ZigZag LEB128 varints, a run of n zero counts written as -n.
 *
 * The cookie bases are 0x1c849303 (encoding) and 0x1c849304 (compressed);
 * bits 4..7 hold a word size, and V2 writers set it to 1 (0x10), which is why
 * every such string starts with "HISTF". */
#include "hdr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum {
    HDR_V2_ENCODING_COOKIE = 0x1c849303,
    HDR_V2_COMPRESSED_COOKIE = 0x1c849304,
    HDR_COOKIE_WORD_SIZE_1 = 0x10,
    HDR_COOKIE_WORD_SIZE_MASK = 0xf0,
    HDR_PAYLOAD_HEADER_LEN = 40,
    HDR_COMPRESSED_HEADER_LEN = 8,
    HDR_VARINT_MAX = 9,
    /* deflate cannot expand more than about 1032:1 (a 258-byte match per
     * ~2 bits); zlib's framing adds a few bytes. A payload claiming more than
     * this from its compressed size is lying, whatever the header allows. */
    HDR_DEFLATE_MAX_RATIO = 1032,
    HDR_ZLIB_SLACK = 64,
};

/* ---- big-endian fields ---- */

static void hdr_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void hdr_put_be64(uint8_t *p, uint64_t v)
{
    hdr_put_be32(p, (uint32_t)(v >> 32));
    hdr_put_be32(p + 4, (uint32_t)v);
}

static uint32_t hdr_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t hdr_get_be64(const uint8_t *p)
{
    return (uint64_t)hdr_get_be32(p) << 32 | hdr_get_be32(p + 4);
}

static uint64_t hdr_double_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    return bits;
}

/* ---- ZigZag LEB128, 64-bit: 8 bytes of 7 bits, a 9th carrying the last 8 ---- */

static size_t hdr_varint_put(uint8_t *out, int64_t signed_value)
{
    uint64_t v = ((uint64_t)signed_value << 1) ^ (uint64_t)(signed_value >> 63);
    size_t n = 0;
    while (n < HDR_VARINT_MAX - 1) {
        if (v < 0x80) {
            out[n++] = (uint8_t)v;
            return n;
        }
        out[n++] = (uint8_t)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Reads one varint from [*p, end). Returns 0, or -1 when it runs past end. */
static int hdr_varint_get(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    const uint8_t *s = *p;
    uint64_t v = 0;
    int shift = 0;
    for (int i = 0; i < HDR_VARINT_MAX; i++) {
        if (s >= end)
            return -1;
        uint8_t b = *s++;
        if (i == HDR_VARINT_MAX - 1) {
            v |= (uint64_t)b << shift;
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    *p = s;
    *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
    return 0;
}

/* ---- base64, standard alphabet, padded ---- */

static const char hdr_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *hdr_b64_encode(const uint8_t *in, size_t len)
{
    size_t out_len = (len + 2) / 3 * 4;
    char *out = malloc(out_len + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = hdr_b64_alphabet[w >> 18];
        *o++ = hdr_b64_alphabet[(w >> 12) & 63];
        *o++ = hdr_b64_alphabet[(w >> 6) & 63];
        *o++ = hdr_b64_alphabet[w & 63];
    }
    if (i < len) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            w |= (uint32_t)in[i + 1] << 8;
        *o++ = hdr_b64_alphabet[w >> 18];
        *o++ = hdr_b64_alphabet[(w >> 12) & 63];
        *o++ = i + 1 < len ? hdr_b64_alphabet[(w >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int hdr_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict decoding: length a multiple of 4, padding only at the very end.
 * Returns a malloc'd buffer and its length, or NULL. */
static uint8_t *hdr_b64_decode(const char *in, size_t len, size_t *out_len)
{
    if (len == 0 || len % 4 != 0)
        return NULL;
    size_t pad = 0;
    if (in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    uint8_t *out = malloc(len / 4 * 3);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        uint32_t w = 0;
        for (size_t j = 0; j < 4; j++) {
            int v = hdr_b64_value(in[i + j]);
            if (v < 0) {
                if (!(last && in[i + j] == '=' && j >= 4 - pad)) {
                    free(out);
                    return NULL;
                }
                v = 0;
            }
            w = w << 6 | (uint32_t)v;
        }
        out[n++] = (uint8_t)(w >> 16);
        if (!last || pad < 2)
            out[n++] = (uint8_t)(w >> 8);
        if (!last || pad < 1)
            out[n++] = (uint8_t)w;
    }
    *out_len = n;
    return out;
}

/* ---- encoding ---- */

char *hdr_encode_base64(const struct hdr *h)
{
    if (h == NULL || h->counts == NULL) {
        errno = EINVAL;
        return NULL;
    }
    /* Like HdrHistogram, stop after the last non-zero count (the bucket of
     * the maximum); an empty histogram still writes one (zero) entry. */
    int32_t limit = h->counts_len;
    while (limit > 1 && h->counts[limit - 1] == 0)
        limit--;

    size_t payload_cap = HDR_PAYLOAD_HEADER_LEN + (size_t)limit * HDR_VARINT_MAX;
    uint8_t *payload = malloc(payload_cap);
    if (payload == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = HDR_PAYLOAD_HEADER_LEN;
    for (int32_t i = 0; i < limit;) {
        int64_t count = h->counts[i++];
        if (count < 0) {
            /* Only hdr_record_n with a negative count makes these; written
             * out, one would read back as a run of empty slots. */
            free(payload);
            errno = EINVAL;
            return NULL;
        }
        if (count == 0) {
            int64_t zeros = 1;
            while (i < limit && h->counts[i] == 0) {
                zeros++;
                i++;
            }
            count = -zeros;
        }
        n += hdr_varint_put(payload + n, count);
    }
    hdr_put_be32(payload, HDR_V2_ENCODING_COOKIE | HDR_COOKIE_WORD_SIZE_1);
    hdr_put_be32(payload + 4, (uint32_t)(n - HDR_PAYLOAD_HEADER_LEN));
    hdr_put_be32(payload + 8, 0);
    hdr_put_be32(payload + 12, (uint32_t)h->sig_digits);
    hdr_put_be64(payload + 16, (uint64_t)h->lowest);
    hdr_put_be64(payload + 24, (uint64_t)h->highest);
    hdr_put_be64(payload + 32, hdr_double_bits(1.0));

    uLongf deflated_len = compressBound((uLong)n);
    uint8_t *compressed = malloc(HDR_COMPRESSED_HEADER_LEN + deflated_len);
    if (compressed == NULL) {
        free(payload);
        errno = ENOMEM;
        return NULL;
    }
    int zrc = compress(compressed + HDR_COMPRESSED_HEADER_LEN, &deflated_len, payload, (uLong)n);
    free(payload);
    if (zrc != Z_OK || deflated_len > INT32_MAX) {
        free(compressed);
        errno = zrc == Z_MEM_ERROR ? ENOMEM : EIO;
        return NULL;
    }
    hdr_put_be32(compressed, HDR_V2_COMPRESSED_COOKIE | HDR_COOKIE_WORD_SIZE_1);
    hdr_put_be32(compressed + 4, (uint32_t)deflated_len);

    char *text = hdr_b64_encode(compressed, HDR_COMPRESSED_HEADER_LEN + deflated_len);
    free(compressed);
    if (text == NULL)
        errno = ENOMEM;
    return text;
}

/* ---- decoding ---- */

static bool hdr_cookie_is(uint32_t cookie, uint32_t base)
{
    return (cookie & ~(uint32_t)HDR_COOKIE_WORD_SIZE_MASK) == base;
}

/* Inflates exactly want bytes into out; the stream must end right there.
 * Returns 0 or -1. Never writes more than want bytes. */
static int hdr_inflate_exact(z_stream *zs, uint8_t *out, size_t want, bool expect_end)
{
    zs->next_out = out;
    zs->avail_out = (uInt)want;
    while (zs->avail_out > 0) {
        int zrc = inflate(zs, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END)
            break;
        if (zrc != Z_OK)
            return -1;
        if (zs->avail_in == 0 && zs->avail_out > 0)
            return -1; /* truncated */
    }
    if (zs->avail_out != 0)
        return -1; /* stream ended short of the stated length */
    if (expect_end) {
        /* One spare byte: a stream that still has output is longer than
         * its header said. */
        uint8_t spare;
        zs->next_out = &spare;
        zs->avail_out = 1;
        int zrc = inflate(zs, Z_FINISH);
        if (zrc != Z_STREAM_END || zs->avail_out != 1)
            return -1;
    }
    return 0;
}

/* Fills h->counts from the varints in [p, end) and derives total, min, max.
 * Returns 0, or -1 for counts past counts_len, negative or overflowing totals,
 * or a truncated varint. */
static int hdr_apply_counts(struct hdr *h, const uint8_t *p, const uint8_t *end)
{
    int32_t idx = 0;
    int32_t first_nonzero = -1; /* excluding index 0, as min_value excludes 0 */
    int32_t last_nonzero = -1;
    int64_t total = 0;
    while (p < end) {
        int64_t v;
        if (hdr_varint_get(&p, end, &v) < 0)
            return -1;
        if (v < 0) {
            if (v == INT64_MIN || -v > (int64_t)h->counts_len - idx)
                return -1;
            idx += (int32_t)-v;
            continue;
        }
        if (idx >= h->counts_len || v > INT64_MAX - total)
            return -1;
        h->counts[idx] = v;
        total += v;
        if (v > 0) {
            if (first_nonzero < 0 && idx > 0)
                first_nonzero = idx;
            last_nonzero = idx;
        }
        idx++;
    }
    h->total_count = total;
    h->min_value = INT64_MAX;
    h->max_value = 0;
    /* counts[i] covers [value_i, highest_equivalent(value_i)], and ranges are
     * contiguous, so stepping by ranges from 0 visits each index's value. */
    int64_t value = 0;
    for (int32_t i = 0; i <= last_nonzero; i++) {
        if (i == first_nonzero)
            h->min_value = value;
        int64_t top = hdr_highest_equivalent(h, value);
        if (i == last_nonzero)
            h->max_value = top;
        else if (top == INT64_MAX)
            return -1; /* cannot happen for a valid layout; never overflow */
        else
            value = top + 1;
    }
    return 0;
}

static int hdr_decode_bytes(const uint8_t *buf, size_t len, struct hdr *h)
{
    if (len < HDR_COMPRESSED_HEADER_LEN ||
        !hdr_cookie_is(hdr_get_be32(buf), HDR_V2_COMPRESSED_COOKIE))
        return -1;
    uint32_t deflated_len = hdr_get_be32(buf + 4);
    if (deflated_len > INT32_MAX || deflated_len != len - HDR_COMPRESSED_HEADER_LEN)
        return -1;

    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)(uintptr_t)(buf + HDR_COMPRESSED_HEADER_LEN);
    zs.avail_in = (uInt)deflated_len;

    int rc = -1;
    uint8_t *counts_buf = NULL;
    uint8_t head[HDR_PAYLOAD_HEADER_LEN];
    if (hdr_inflate_exact(&zs, head, sizeof(head), false) < 0)
        goto out;
    if (!hdr_cookie_is(hdr_get_be32(head), HDR_V2_ENCODING_COOKIE))
        goto out;
    uint32_t payload_len = hdr_get_be32(head + 4);
    int32_t sig = (int32_t)hdr_get_be32(head + 12);
    int64_t lowest = (int64_t)hdr_get_be64(head + 16);
    int64_t highest = (int64_t)hdr_get_be64(head + 24);
    /* The normalizing index offset and the conversion ratio are ignored, as
     * Java's Histogram decoder does for the values: the counts are written in
     * logical order whatever the offset (it only rotates Java's storage), and
     * the ratio only scales DoubleHistogram views. Some writers put junk there
     * (HdrHistogramJS once wrote offset 1 and ratio bits 1). */
    if (payload_len > INT32_MAX)
        goto out;
    if ((uint64_t)payload_len + HDR_PAYLOAD_HEADER_LEN >
        (uint64_t)deflated_len * HDR_DEFLATE_MAX_RATIO + HDR_ZLIB_SLACK)
        goto out;
    if (hdr_init(h, lowest, highest, sig) < 0)
        goto out;
    /* The decompressed size is capped by what these parameters allow: every
     * count fits in one varint of at most 9 bytes. */
    if ((uint64_t)payload_len > (uint64_t)h->counts_len * HDR_VARINT_MAX)
        goto out;
    counts_buf = malloc(payload_len > 0 ? payload_len : 1);
    if (counts_buf == NULL)
        goto out;
    if (hdr_inflate_exact(&zs, counts_buf, payload_len, true) < 0)
        goto out;
    if (zs.avail_in != 0)
        goto out; /* bytes after the zlib stream */
    if (hdr_apply_counts(h, counts_buf, counts_buf + payload_len) < 0)
        goto out;
    rc = 0;
out:
    free(counts_buf);
    inflateEnd(&zs);
    if (rc < 0)
        hdr_free(h);
    return rc;
}

int hdr_decode_base64(const char *b64, struct hdr *h)
{
    memset(h, 0, sizeof(*h));
    if (b64 == NULL)
        return -1;
    size_t len;
    uint8_t *bytes = hdr_b64_decode(b64, strlen(b64), &len);
    if (bytes == NULL)
        return -1;
    int rc = hdr_decode_bytes(bytes, len, h);
    free(bytes);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}
