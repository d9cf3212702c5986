/* hdr: a log-linear latency histogram with HdrHistogram's bucket layout.
 *
 * For the same lowest trackable value, highest trackable value and number of
 * significant digits, bucket boundaries and the counts array are those of
 * HdrHistogram (C, Java), so histograms can be merged with and decoded by its
 * libraries. Values are integers; iobench records microseconds. */
#ifndef IOBENCH_HDR_H
#define IOBENCH_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hdr {
    int64_t lowest;  /* lowest discernible value, >= 1 */
    int64_t highest; /* highest trackable value, >= 2 * lowest */
    int sig_digits;  /* 1..5 */
    int unit_magnitude;
    int sub_bucket_half_count_magnitude;
    int32_t sub_bucket_count;
    int32_t sub_bucket_half_count;
    int64_t sub_bucket_mask;
    int32_t bucket_count;
    int32_t counts_len;
    int64_t total_count;
    int64_t min_value; /* INT64_MAX while empty */
    int64_t max_value; /* 0 while empty */
    int64_t *counts;
};

/* Returns 0, or -1 with errno EINVAL for bad parameters / ENOMEM. */
int hdr_init(struct hdr *h, int64_t lowest, int64_t highest, int sig_digits);
void hdr_free(struct hdr *h);
void hdr_reset(struct hdr *h);
/* Values above highest are clamped to highest (and counted); below 0 to 0.
 * Returns false when it clamped. Single add on the hot path. */
bool hdr_record(struct hdr *h, int64_t value);
bool hdr_record_n(struct hdr *h, int64_t value, int64_t count);
/* HdrHistogram's recordValueWithExpectedInterval: also records the values a
 * stalled recorder would have missed (value - interval, value - 2*interval,
 * ...) down to interval. interval <= 0 records value once. */
bool hdr_record_corrected(struct hdr *h, int64_t value, int64_t interval);
/* dst += src. Both must share lowest, highest and sig_digits; -1 otherwise. */
int hdr_add(struct hdr *dst, const struct hdr *src);

/* Value at percentile p in [0, 100], reported as HdrHistogram does (the
 * highest value equivalent to the bucket holding that rank). 0 when empty. */
int64_t hdr_value_at_percentile(const struct hdr *h, double p);
/* Mean, standard deviation, smallest and largest recorded value; each is 0
 * for an empty histogram. */
double hdr_mean(const struct hdr *h);
double hdr_stddev(const struct hdr *h);
int64_t hdr_min(const struct hdr *h);
int64_t hdr_max(const struct hdr *h);
/* HdrHistogram's equivalence helpers. */
int64_t hdr_lowest_equivalent(const struct hdr *h, int64_t value);
int64_t hdr_highest_equivalent(const struct hdr *h, int64_t value);
bool hdr_values_equivalent(const struct hdr *h, int64_t a, int64_t b);

/* HdrHistogram's compressed V2 encoding ("HISTF..." base64 of the zlib
 * compressed V2 payload with ZigZag LEB128 counts). Returns a malloc'd NUL
 * terminated string, or NULL with errno set. */
char *hdr_encode_base64(const struct hdr *h);
/* Decodes such a string into a freshly initialised *h (caller hdr_free's it).
 * Returns 0, or -1 on malformed input. */
int hdr_decode_base64(const char *b64, struct hdr *h);

#endif
