/* hdr: HdrHistogram's log-linear bucket layout, recording and queries.
 *
 * The layout follows HdrHistogram (Java's AbstractHistogram, HdrHistogram_c):
 * values are split into buckets of sub_bucket_count linear sub-buckets; each
 * bucket doubles the width of the one before. The first half of every bucket
 * but the first overlaps the previous bucket, so only the upper halves are
 * stored: counts_len = (bucket_count + 1) * sub_bucket_half_count. */
#include "hdr.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Index of the bucket holding value. OR-ing the mask in makes every value
 * below sub_bucket_count << unit_magnitude land in bucket 0, and keeps the
 * argument of clz non-zero. */
static inline int32_t hdr_bucket_index(const struct hdr *h, int64_t value)
{
    int pow2_ceiling = 64 - __builtin_clzll((uint64_t)value | (uint64_t)h->sub_bucket_mask);
    return pow2_ceiling - h->unit_magnitude - (h->sub_bucket_half_count_magnitude + 1);
}

static inline int32_t hdr_sub_bucket_index(const struct hdr *h, int64_t value, int32_t bucket)
{
    return (int32_t)(value >> (bucket + h->unit_magnitude));
}

/* Index in counts[]; value must lie in [0, highest]. */
static inline int32_t hdr_counts_index(const struct hdr *h, int64_t value)
{
    int32_t bucket = hdr_bucket_index(h, value);
    int32_t sub = hdr_sub_bucket_index(h, value, bucket);
    return ((bucket + 1) << h->sub_bucket_half_count_magnitude) + (sub - h->sub_bucket_half_count);
}

/* Lowest value that lands in counts[index]. */
static int64_t hdr_value_at_index(const struct hdr *h, int32_t index)
{
    int32_t bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
    int32_t sub = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;
    if (bucket < 0) {
        sub -= h->sub_bucket_half_count;
        bucket = 0;
    }
    return (int64_t)sub << (bucket + h->unit_magnitude);
}

static int64_t hdr_range_size(const struct hdr *h, int64_t value)
{
    int32_t bucket = hdr_bucket_index(h, value);
    int32_t sub = hdr_sub_bucket_index(h, value, bucket);
    int32_t adjusted = sub >= h->sub_bucket_count ? bucket + 1 : bucket;
    return INT64_C(1) << (h->unit_magnitude + adjusted);
}

int64_t hdr_lowest_equivalent(const struct hdr *h, int64_t value)
{
    if (value < 0)
        value = 0;
    int32_t bucket = hdr_bucket_index(h, value);
    int32_t sub = hdr_sub_bucket_index(h, value, bucket);
    return (int64_t)sub << (bucket + h->unit_magnitude);
}

int64_t hdr_highest_equivalent(const struct hdr *h, int64_t value)
{
    if (value < 0)
        value = 0;
    /* Unsigned: the top bucket of a histogram reaching INT64_MAX ends at
     * 2^63 - 1, and lowest + size would overflow a signed sum. */
    uint64_t next = (uint64_t)hdr_lowest_equivalent(h, value) + (uint64_t)hdr_range_size(h, value);
    return (int64_t)(next - 1);
}

static int64_t hdr_median_equivalent(const struct hdr *h, int64_t value)
{
    return hdr_lowest_equivalent(h, value) + (hdr_range_size(h, value) >> 1);
}

bool hdr_values_equivalent(const struct hdr *h, int64_t a, int64_t b)
{
    return hdr_lowest_equivalent(h, a) == hdr_lowest_equivalent(h, b);
}

/* Smallest m with 2^m >= 2 * 10^sig_digits: HdrHistogram's
 * ceil(log2(largest value with single unit resolution)), without libm. */
static int hdr_sub_bucket_count_magnitude(int sig_digits)
{
    int64_t largest = 2;
    for (int i = 0; i < sig_digits; i++)
        largest *= 10;
    int m = 0;
    while ((INT64_C(1) << m) < largest)
        m++;
    return m;
}

int hdr_init(struct hdr *h, int64_t lowest, int64_t highest, int sig_digits)
{
    memset(h, 0, sizeof(*h));
    if (lowest < 1 || sig_digits < 1 || sig_digits > 5 || lowest > highest / 2) {
        errno = EINVAL;
        return -1;
    }
    int sub_count_magnitude = hdr_sub_bucket_count_magnitude(sig_digits);
    int half_magnitude = (sub_count_magnitude > 1 ? sub_count_magnitude : 1) - 1;
    int unit_magnitude = 63 - __builtin_clzll((uint64_t)lowest); /* floor(log2(lowest)) */
    if (unit_magnitude + half_magnitude > 61) {
        errno = EINVAL;
        return -1;
    }
    int32_t sub_bucket_count = INT32_C(1) << (half_magnitude + 1);

    /* buckets_needed_to_cover_value: each bucket doubles the range covered. */
    int64_t smallest_untrackable = (int64_t)sub_bucket_count << unit_magnitude;
    int32_t bucket_count = 1;
    while (smallest_untrackable <= highest) {
        if (smallest_untrackable > INT64_MAX / 2) {
            bucket_count++;
            break;
        }
        smallest_untrackable <<= 1;
        bucket_count++;
    }

    h->lowest = lowest;
    h->highest = highest;
    h->sig_digits = sig_digits;
    h->unit_magnitude = unit_magnitude;
    h->sub_bucket_half_count_magnitude = half_magnitude;
    h->sub_bucket_count = sub_bucket_count;
    h->sub_bucket_half_count = sub_bucket_count / 2;
    h->sub_bucket_mask = ((int64_t)sub_bucket_count - 1) << unit_magnitude;
    h->bucket_count = bucket_count;
    h->counts_len = (bucket_count + 1) * (sub_bucket_count / 2);
    h->total_count = 0;
    h->min_value = INT64_MAX;
    h->max_value = 0;
    h->counts = calloc((size_t)h->counts_len, sizeof(*h->counts));
    if (h->counts == NULL) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void hdr_free(struct hdr *h)
{
    free(h->counts);
    h->counts = NULL;
    h->counts_len = 0;
    h->total_count = 0;
}

void hdr_reset(struct hdr *h)
{
    if (h->counts != NULL)
        memset(h->counts, 0, (size_t)h->counts_len * sizeof(*h->counts));
    h->total_count = 0;
    h->min_value = INT64_MAX;
    h->max_value = 0;
}

bool hdr_record_n(struct hdr *h, int64_t value, int64_t count)
{
    bool in_range = true;
    if (__builtin_expect(value < 0, 0)) {
        value = 0;
        in_range = false;
    } else if (__builtin_expect(value > h->highest, 0)) {
        value = h->highest;
        in_range = false;
    }
    h->counts[hdr_counts_index(h, value)] += count;
    h->total_count += count;
    if (value > h->max_value)
        h->max_value = value;
    /* Like HdrHistogram, min_value is the smallest non-zero value; zeros are
     * seen through counts[0]. */
    if (value != 0 && value < h->min_value)
        h->min_value = value;
    return in_range;
}

bool hdr_record(struct hdr *h, int64_t value)
{
    return hdr_record_n(h, value, 1);
}

bool hdr_record_corrected(struct hdr *h, int64_t value, int64_t interval)
{
    bool in_range = hdr_record_n(h, value, 1);
    if (interval <= 0 || value <= interval)
        return in_range;

    /* The missing values are value - k * interval for k = 1 .. value / interval - 1.
     * Those above highest all clamp into highest's bucket: count them with one
     * division rather than loop over them (a wild value must not stall us). */
    int64_t missing_total = value / interval - 1;
    int64_t above = 0;
    if (value > h->highest) {
        above = (value - h->highest - 1) / interval;
        if (above > missing_total)
            above = missing_total;
        if (above > 0) {
            hdr_record_n(h, h->highest, above);
            in_range = false;
        }
    }
    for (int64_t missing = value - (above + 1) * interval; missing >= interval; missing -= interval)
        hdr_record_n(h, missing, 1);
    return in_range;
}

int hdr_add(struct hdr *dst, const struct hdr *src)
{
    if (dst->lowest != src->lowest || dst->highest != src->highest ||
        dst->sig_digits != src->sig_digits || dst->counts_len != src->counts_len) {
        errno = EINVAL;
        return -1;
    }
    /* Same parameters, same layout: index-wise sums are what recording every
     * value again would give, without re-deriving indices. */
    for (int32_t i = 0; i < src->counts_len; i++)
        dst->counts[i] += src->counts[i];
    dst->total_count += src->total_count;
    if (src->max_value > dst->max_value)
        dst->max_value = src->max_value;
    if (src->min_value < dst->min_value)
        dst->min_value = src->min_value;
    return 0;
}

int64_t hdr_value_at_percentile(const struct hdr *h, double p)
{
    if (h->total_count == 0)
        return 0;
    /* As Java's getValueAtPercentile: step one ulp down so that p * total
     * computed in floating point cannot round up past an exact integer rank,
     * then take the nearest rank, ceil(p / 100 * total), at least 1. */
    double requested = nextafter(p, -INFINITY);
    if (!(requested > 0.0))
        requested = 0.0;
    if (requested > 100.0)
        requested = 100.0;
    int64_t rank = (int64_t)ceil(requested * (double)h->total_count / 100.0);
    if (rank < 1)
        rank = 1;
    if (rank > h->total_count)
        rank = h->total_count;

    int64_t seen = 0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = hdr_value_at_index(h, i);
            return p == 0.0 ? hdr_lowest_equivalent(h, v) : hdr_highest_equivalent(h, v);
        }
    }
    return 0;
}

double hdr_mean(const struct hdr *h)
{
    if (h->total_count == 0)
        return 0.0;
    double total = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        if (h->counts[i] != 0)
            total +=
                (double)h->counts[i] * (double)hdr_median_equivalent(h, hdr_value_at_index(h, i));
    }
    return total / (double)h->total_count;
}

double hdr_stddev(const struct hdr *h)
{
    if (h->total_count == 0)
        return 0.0;
    double mean = hdr_mean(h);
    double sum_sq = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        if (h->counts[i] != 0) {
            double dev = (double)hdr_median_equivalent(h, hdr_value_at_index(h, i)) - mean;
            sum_sq += dev * dev * (double)h->counts[i];
        }
    }
    return sqrt(sum_sq / (double)h->total_count);
}

int64_t hdr_min(const struct hdr *h)
{
    /* Java's getMinValue: 0 when empty or when zeros were recorded. Otherwise
     * a non-zero value was recorded, so min_value holds it, even when that
     * value is INT64_MAX and looks like the empty sentinel. */
    if (h->total_count == 0 || h->counts[0] > 0)
        return 0;
    return hdr_lowest_equivalent(h, h->min_value);
}

int64_t hdr_max(const struct hdr *h)
{
    /* Java tests max_value == 0 instead of emptiness, and so reports 0 for a
     * histogram holding only zeros even where 0's range is [0, 2^unit - 1].
     * Testing emptiness keeps hdr_max the same across an encode and decode,
     * which cannot tell a recorded 0 from anything else in that range. */
    if (h->total_count == 0)
        return 0;
    return hdr_highest_equivalent(h, h->max_value);
}
