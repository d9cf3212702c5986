/* test_hdr: the HdrHistogram-compatible histogram and its V2 codec.
 *
 * Percentiles are checked against exact order statistics of the recorded
 * data; merging against recording into one histogram; the codec against
 * round trips, strings written by HdrHistogram's own libraries, and crafted
 * malformed input (run the ASan build to catch over-reads). */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hdr.h"

/* ---- data ---- */

/* splitmix64: deterministic, so a failure reproduces. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static double rng_normal(double mean, double sd)
{
    double u1 = rng_unit(), u2 = rng_unit();
    if (u1 < 1e-300)
        u1 = 1e-300;
    return mean + sd * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

struct values {
    int64_t *v;
    size_t n, cap;
};

static void values_push(struct values *vs, int64_t v)
{
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? vs->cap * 2 : 1024;
        vs->v = realloc(vs->v, vs->cap * sizeof(*vs->v));
        cr_assert_not_null(vs->v);
    }
    vs->v[vs->n++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Records every value (what the histogram will hold is the clamped value)
 * and returns how many were clamped. */
static size_t record_all(struct hdr *h, struct values *vs)
{
    size_t clamped = 0;
    for (size_t i = 0; i < vs->n; i++) {
        bool in_range = hdr_record(h, vs->v[i]);
        int64_t held = vs->v[i] < 0 ? 0 : vs->v[i] > h->highest ? h->highest : vs->v[i];
        cr_assert_eq(in_range, held == vs->v[i], "record(%lld) returned %d", (long long)vs->v[i],
                     in_range);
        clamped += !in_range;
        vs->v[i] = held;
    }
    return clamped;
}

/* Percentiles as parts per million, so the exact nearest rank is integer
 * arithmetic: rank = ceil(ppm * n / 10^6), at least 1. */
static const int64_t check_ppm[] = {0,      1,      10000,  100000, 250000, 500000, 750000,
                                    900000, 990000, 999000, 999900, 999990, 1000000};

/* The histogram's value at each percentile is the highest value equivalent
 * to the exact order statistic, hence within 10^-sig_digits of it (or within
 * one unit, lowest, below the first bucket's resolution). */
static void check_percentiles(const struct hdr *h, const struct values *vs)
{
    cr_assert_eq(h->total_count, (int64_t)vs->n);
    int64_t *sorted = malloc(vs->n * sizeof(*sorted));
    cr_assert_not_null(sorted);
    memcpy(sorted, vs->v, vs->n * sizeof(*sorted));
    qsort(sorted, vs->n, sizeof(*sorted), cmp_i64);
    double rel = pow(10.0, -h->sig_digits);

    for (size_t k = 0; k < sizeof(check_ppm) / sizeof(check_ppm[0]); k++) {
        int64_t ppm = check_ppm[k];
        int64_t rank = (ppm * (int64_t)vs->n + 999999) / 1000000;
        if (rank < 1)
            rank = 1;
        int64_t exact = sorted[rank - 1];
        double p = (double)ppm / 10000.0;
        int64_t got = hdr_value_at_percentile(h, p);
        if (ppm == 0) {
            cr_expect_eq(got, hdr_lowest_equivalent(h, sorted[0]), "p0: %lld vs min %lld",
                         (long long)got, (long long)sorted[0]);
            continue;
        }
        cr_expect(hdr_values_equivalent(h, got, exact), "p%g: %lld not equivalent to exact %lld", p,
                  (long long)got, (long long)exact);
        cr_expect_eq(got, hdr_highest_equivalent(h, exact), "p%g: %lld, exact %lld", p,
                     (long long)got, (long long)exact);
        double err = (double)got - (double)exact;
        cr_expect(err >= 0 && err <= fmax((double)exact * rel, (double)(h->lowest - 1)),
                  "p%g: %lld vs exact %lld beyond %g relative", p, (long long)got, (long long)exact,
                  rel);
    }
    cr_expect_eq(hdr_max(h), hdr_highest_equivalent(h, sorted[vs->n - 1]));
    int64_t min_expect = sorted[0] == 0 ? 0 : hdr_lowest_equivalent(h, sorted[0]);
    cr_expect_eq(hdr_min(h), min_expect);
    free(sorted);
}

struct config {
    int64_t lowest, highest;
    int sig;
};

/* 1 us .. 1 hour at 3 digits is what ioload uses; the others vary the unit
 * magnitude, the sub-bucket count and reach the top of int64. */
static const struct config configs[] = {
    {1, INT64_C(3600000000), 3},       {1, 1000000, 1},
    {1000, INT64_C(3600000000000), 2}, {1, INT64_MAX, 3},
    {7, INT64_C(100000000), 4},        {1, 100000, 5},
};
#define N_CONFIGS (sizeof(configs) / sizeof(configs[0]))

static void init_config(struct hdr *h, const struct config *c)
{
    cr_assert_eq(hdr_init(h, c->lowest, c->highest, c->sig), 0, "hdr_init(%lld, %lld, %d)",
                 (long long)c->lowest, (long long)c->highest, c->sig);
}

/* ---- layout ---- */

/* HdrHistogram computes these with floating point logs; derive them that way
 * here, independently of hdr.c's integer arithmetic. */
Test(hdr, layout_matches_hdrhistogram_formulas)
{
    for (size_t c = 0; c < N_CONFIGS; c++) {
        struct hdr h;
        init_config(&h, &configs[c]);
        int sub_mag = (int)ceil(log(2.0 * pow(10.0, h.sig_digits)) / log(2.0));
        int unit_mag = (int)floor(log((double)h.lowest) / log(2.0));
        cr_expect_eq(h.unit_magnitude, unit_mag);
        cr_expect_eq(h.sub_bucket_half_count_magnitude, sub_mag - 1);
        cr_expect_eq(h.sub_bucket_count, 1 << sub_mag);
        cr_expect_eq(h.sub_bucket_half_count, 1 << (sub_mag - 1));
        cr_expect_eq(h.sub_bucket_mask, ((int64_t)(1 << sub_mag) - 1) << unit_mag);
        /* Buckets double: the smallest count covering highest (in 128 bits,
         * where the top bucket's end, 2^63 and beyond, does not overflow). */
        int buckets = 1;
        unsigned __int128 covered = (unsigned __int128)(1 << sub_mag) << unit_mag;
        while (covered <= (unsigned __int128)h.highest) {
            covered *= 2;
            buckets++;
        }
        cr_expect_eq(h.bucket_count, buckets, "config %zu", c);
        cr_expect_eq(h.counts_len, (buckets + 1) * (1 << (sub_mag - 1)));
        hdr_free(&h);
    }
}

/* Equivalence ranges tile the value axis: contiguous, each value inside its
 * own range, and no wider than the precision promised. */
Test(hdr, equivalence_ranges_are_contiguous_and_precise)
{
    for (size_t c = 0; c < N_CONFIGS; c++) {
        struct hdr h;
        init_config(&h, &configs[c]);
        double rel = pow(10.0, -h.sig_digits);
        int64_t v = 0;
        int ranges = 0;
        while (v <= h.highest && ranges < 200000) {
            int64_t lo = hdr_lowest_equivalent(&h, v);
            int64_t hi = hdr_highest_equivalent(&h, v);
            cr_assert_eq(lo, v, "range does not start where the previous ended: %lld",
                         (long long)v);
            cr_assert(hi >= lo);
            cr_assert(hdr_values_equivalent(&h, lo, hi));
            cr_assert_eq(hdr_lowest_equivalent(&h, hi), lo);
            cr_assert((double)(hi - lo) <= fmax((double)lo * rel, (double)(h.lowest - 1)),
                      "range [%lld, %lld] wider than %g", (long long)lo, (long long)hi, rel);
            if (hi == INT64_MAX)
                break;
            cr_assert(!hdr_values_equivalent(&h, hi, hi + 1));
            /* Walk every range at first, then jump ahead geometrically. */
            int64_t next = hi + 1;
            if (ranges > 5000 && next < h.highest / 3)
                next = hdr_lowest_equivalent(&h, next + next / 3);
            v = next;
            ranges++;
        }
        hdr_free(&h);
    }
}

Test(hdr, init_rejects_bad_parameters)
{
    struct hdr h;
    cr_expect_eq(hdr_init(&h, 0, 1000, 3), -1);
    cr_expect_eq(hdr_init(&h, 1, 1, 3), -1);
    cr_expect_eq(hdr_init(&h, 10, 19, 3), -1);
    cr_expect_eq(hdr_init(&h, 1, 1000, 0), -1);
    cr_expect_eq(hdr_init(&h, 1, 1000, 6), -1);
    cr_expect_eq(hdr_init(&h, INT64_C(1) << 60, INT64_MAX, 3), -1); /* unit + sub > 61 */
    cr_assert_eq(hdr_init(&h, 10, 20, 3), 0);
    hdr_free(&h);
}

/* ---- percentiles: random distributions ---- */

static void gen_uniform(struct values *vs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        values_push(vs, (int64_t)(rng_next() % 1000000));
}

static void gen_log_uniform(struct values *vs, size_t n) /* 1 us .. 100 s */
{
    for (size_t i = 0; i < n; i++)
        values_push(vs, (int64_t)exp(rng_unit() * log(1e8)));
}

static void gen_bimodal(struct values *vs, size_t n) /* fast path and a slow tail */
{
    for (size_t i = 0; i < n; i++) {
        double v = rng_unit() < 0.9 ? rng_normal(200, 20) : rng_normal(50000, 5000);
        values_push(vs, v < 0 ? 0 : (int64_t)v);
    }
}

static void run_distribution(void (*gen)(struct values *, size_t), uint64_t seed)
{
    /* 100000 makes most ranks exact integers of p * n; 99991 (prime) makes
     * none of them, so both sides of the rounding are exercised. */
    const size_t sizes[] = {100000, 99991, 7};
    for (size_t c = 0; c < N_CONFIGS; c++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            rng_state = seed + c * 31 + s;
            struct values vs = {0};
            gen(&vs, sizes[s]);
            struct hdr h;
            init_config(&h, &configs[c]);
            record_all(&h, &vs);
            check_percentiles(&h, &vs);
            hdr_free(&h);
            free(vs.v);
        }
    }
}

Test(hdr, percentiles_uniform)
{
    run_distribution(gen_uniform, 1);
}

Test(hdr, percentiles_log_uniform)
{
    run_distribution(gen_log_uniform, 2);
}

Test(hdr, percentiles_bimodal)
{
    run_distribution(gen_bimodal, 3);
}

/* ---- percentiles: adversarial data ---- */

static void gen_all_equal(struct values *vs, const struct hdr *h)
{
    for (int i = 0; i < 1000; i++)
        values_push(vs, 12345);
}

static void gen_powers_of_two(struct values *vs, const struct hdr *h)
{
    for (int k = 0; k < 63; k++) {
        int64_t p = INT64_C(1) << k;
        values_push(vs, p - 1);
        values_push(vs, p);
        if (p + 1 > 0)
            values_push(vs, p + 1);
    }
    values_push(vs, INT64_MAX);
}

/* Both ends of every bucket's lower and upper half, and their neighbours. */
static void gen_bucket_boundaries(struct values *vs, const struct hdr *h)
{
    for (int b = 0; b < h->bucket_count; b++) {
        int shift = b + h->unit_magnitude;
        const int64_t subs[] = {h->sub_bucket_half_count, h->sub_bucket_half_count + 1,
                                h->sub_bucket_count - 1, h->sub_bucket_count};
        for (size_t s = 0; s < 4; s++) {
            if (shift + 64 - __builtin_clzll((uint64_t)subs[s]) > 62)
                continue;
            int64_t v = subs[s] << shift;
            values_push(vs, v - 1);
            values_push(vs, v);
            values_push(vs, v + 1);
        }
    }
}

static void gen_around_highest(struct values *vs, const struct hdr *h)
{
    for (int i = 0; i < 50; i++)
        values_push(vs, (int64_t)(rng_next() % 1000));
    values_push(vs, h->highest - 1);
    values_push(vs, h->highest);
    if (h->highest < INT64_MAX)
        values_push(vs, h->highest + 1);
    values_push(vs, INT64_MAX);
    values_push(vs, h->highest / 2);
}

static void gen_zeros_and_negatives(struct values *vs, const struct hdr *h)
{
    for (int i = 0; i < 100; i++)
        values_push(vs, 0);
    values_push(vs, -1);
    values_push(vs, INT64_MIN);
    for (int i = 0; i < 10; i++)
        values_push(vs, 1 + (int64_t)(rng_next() % 100));
}

static void run_adversarial(void (*gen)(struct values *, const struct hdr *), bool expect_clamp)
{
    for (size_t c = 0; c < N_CONFIGS; c++) {
        rng_state = c;
        struct hdr h;
        init_config(&h, &configs[c]);
        struct values vs = {0};
        gen(&vs, &h);
        size_t clamped = record_all(&h, &vs);
        if (expect_clamp && h.highest < INT64_MAX)
            cr_expect(clamped > 0, "config %zu: nothing was clamped", c);
        check_percentiles(&h, &vs);
        hdr_free(&h);
        free(vs.v);
    }
}

Test(hdr, adversarial_all_equal)
{
    run_adversarial(gen_all_equal, false);
}

Test(hdr, adversarial_powers_of_two)
{
    run_adversarial(gen_powers_of_two, true);
}

Test(hdr, adversarial_bucket_boundaries)
{
    run_adversarial(gen_bucket_boundaries, false);
}

Test(hdr, adversarial_highest_and_above)
{
    run_adversarial(gen_around_highest, true);
}

Test(hdr, adversarial_zeros_and_negatives)
{
    run_adversarial(gen_zeros_and_negatives, true);
}

Test(hdr, empty_histogram_queries)
{
    struct hdr h;
    init_config(&h, &configs[0]);
    cr_expect_eq(hdr_value_at_percentile(&h, 50), 0);
    cr_expect_eq(hdr_min(&h), 0);
    cr_expect_eq(hdr_max(&h), 0);
    cr_expect(hdr_mean(&h) == 0.0);
    cr_expect(hdr_stddev(&h) == 0.0);
    hdr_free(&h);
}

/* Mean and stddev use each range's median equivalent value, so they are
 * those of the data within the histogram's precision. */
Test(hdr, mean_and_stddev_within_precision)
{
    rng_state = 11;
    struct values vs = {0};
    gen_bimodal(&vs, 50000);
    struct hdr h;
    init_config(&h, &configs[0]);
    record_all(&h, &vs);
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < vs.n; i++)
        sum += (double)vs.v[i];
    double mean = sum / (double)vs.n;
    for (size_t i = 0; i < vs.n; i++)
        sum_sq += ((double)vs.v[i] - mean) * ((double)vs.v[i] - mean);
    double sd = sqrt(sum_sq / (double)vs.n);
    double rel = pow(10.0, -h.sig_digits);
    cr_expect(fabs(hdr_mean(&h) - mean) <= mean * rel, "mean %g vs %g", hdr_mean(&h), mean);
    /* Each value moves by at most rel * value, so sd moves by at most
     * rel * (root mean square of the values). */
    double rms = sqrt(sum_sq / (double)vs.n + mean * mean);
    cr_expect(fabs(hdr_stddev(&h) - sd) <= rms * rel, "sd %g vs %g", hdr_stddev(&h), sd);
    hdr_free(&h);
    free(vs.v);
}

/* ---- merging ---- */

static void assert_same_histogram(const struct hdr *a, const struct hdr *b)
{
    cr_assert_eq(a->lowest, b->lowest);
    cr_assert_eq(a->highest, b->highest);
    cr_assert_eq(a->sig_digits, b->sig_digits);
    cr_assert_eq(a->counts_len, b->counts_len);
    cr_assert_arr_eq(a->counts, b->counts, (size_t)a->counts_len * sizeof(*a->counts),
                     "counts arrays differ");
    cr_assert_eq(a->total_count, b->total_count);
    cr_assert_eq(hdr_min(a), hdr_min(b));
    cr_assert_eq(hdr_max(a), hdr_max(b));
}

Test(hdr, add_equals_recording_into_one)
{
    for (size_t c = 0; c < N_CONFIGS; c++) {
        rng_state = 100 + c;
        struct hdr all, parts[4], merged;
        init_config(&all, &configs[c]);
        init_config(&merged, &configs[c]);
        for (int i = 0; i < 4; i++)
            init_config(&parts[i], &configs[c]);
        for (int i = 0; i < 20000; i++) {
            int64_t v = i % 97 == 0 ? 0 : (int64_t)exp(rng_unit() * log(1e8));
            if (i % 1000 == 0)
                v = INT64_MAX; /* clamped the same way in both */
            hdr_record(&all, v);
            hdr_record(&parts[rng_next() % 4], v);
        }
        for (int i = 0; i < 4; i++) {
            cr_assert_eq(hdr_add(&merged, &parts[i]), 0);
            hdr_free(&parts[i]);
        }
        assert_same_histogram(&merged, &all);
        cr_assert_eq(merged.min_value, all.min_value);
        cr_assert_eq(merged.max_value, all.max_value);
        hdr_free(&all);
        hdr_free(&merged);
    }
}

Test(hdr, add_into_empty_and_from_empty)
{
    struct hdr a, empty;
    init_config(&a, &configs[0]);
    init_config(&empty, &configs[0]);
    hdr_record(&a, 42);
    cr_assert_eq(hdr_add(&a, &empty), 0);
    cr_expect_eq(hdr_min(&a), 42);
    cr_expect_eq(hdr_max(&a), 42);
    cr_assert_eq(hdr_add(&empty, &a), 0);
    assert_same_histogram(&empty, &a);
    hdr_free(&a);
    hdr_free(&empty);
}

Test(hdr, add_rejects_different_parameters)
{
    struct hdr a, b;
    init_config(&a, &configs[0]);
    cr_assert_eq(hdr_init(&b, 1, configs[0].highest, configs[0].sig + 1), 0);
    hdr_record(&b, 5);
    cr_expect_eq(hdr_add(&a, &b), -1);
    cr_expect_eq(a.total_count, 0);
    hdr_free(&b);
    cr_assert_eq(hdr_init(&b, 2, configs[0].highest, configs[0].sig), 0);
    cr_expect_eq(hdr_add(&a, &b), -1);
    hdr_free(&a);
    hdr_free(&b);
}

/* ---- coordinated omission correction ---- */

Test(hdr, corrected_records_the_missing_values)
{
    struct hdr h;
    init_config(&h, &configs[0]);
    cr_assert(hdr_record_corrected(&h, 1000, 100));
    cr_assert_eq(h.total_count, 10);
    /* 1000, 900, ..., 100 once each: below 2048 every value has its own
     * count, so the k-th tenth of the data is exactly k * 100. */
    for (int k = 1; k <= 10; k++)
        cr_expect_eq(hdr_value_at_percentile(&h, k * 10.0), k * 100, "p%d", k * 10);
    cr_expect_eq(hdr_min(&h), 100);
    cr_expect_eq(hdr_max(&h), 1000);
    for (int32_t i = 0; i < h.counts_len; i++)
        cr_expect_eq(h.counts[i], (i >= 100 && i <= 1000 && i % 100 == 0) ? 1 : 0, "counts[%d]", i);
    hdr_free(&h);
}

Test(hdr, corrected_without_stall_records_once)
{
    struct hdr h;
    init_config(&h, &configs[0]);
    hdr_record_corrected(&h, 1000, 0);
    hdr_record_corrected(&h, 1000, -5);
    hdr_record_corrected(&h, 50, 100);
    hdr_record_corrected(&h, 100, 100);
    cr_expect_eq(h.total_count, 4);
    hdr_free(&h);
}

/* Values above highest are counted in highest's bucket in one step; the
 * result must equal recording each missing value one by one. */
Test(hdr, corrected_clamps_like_one_by_one)
{
    struct hdr fast, slow;
    cr_assert_eq(hdr_init(&fast, 1, 10000, 3), 0);
    cr_assert_eq(hdr_init(&slow, 1, 10000, 3), 0);
    const int64_t cases[][2] = {{50000, 1000}, {10001, 1}, {123457, 777}, {20000, 10000}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int64_t value = cases[c][0], interval = cases[c][1];
        cr_expect(!hdr_record_corrected(&fast, value, interval));
        hdr_record(&slow, value);
        for (int64_t m = value - interval; m >= interval; m -= interval)
            hdr_record(&slow, m);
    }
    assert_same_histogram(&fast, &slow);
    hdr_free(&fast);
    hdr_free(&slow);
}

/* ---- encoding round trips ---- */

static void round_trip(const struct hdr *h)
{
    char *s = hdr_encode_base64(h);
    cr_assert_not_null(s);
    cr_assert(strncmp(s, "HISTF", 5) == 0, "encoding starts %.8s", s);
    struct hdr d;
    cr_assert_eq(hdr_decode_base64(s, &d), 0, "could not decode our own %s", s);
    assert_same_histogram(&d, h);
    cr_assert_eq(d.unit_magnitude, h->unit_magnitude);
    cr_assert_eq(d.bucket_count, h->bucket_count);
    for (size_t k = 0; k < sizeof(check_ppm) / sizeof(check_ppm[0]); k++) {
        double p = (double)check_ppm[k] / 10000.0;
        cr_assert_eq(hdr_value_at_percentile(&d, p), hdr_value_at_percentile(h, p));
    }
    /* Re-encoding what we decoded gives the same bytes. */
    char *again = hdr_encode_base64(&d);
    cr_assert_not_null(again);
    cr_assert_str_eq(again, s);
    free(again);
    free(s);
    hdr_free(&d);
}

Test(codec, round_trip_empty)
{
    for (size_t c = 0; c < N_CONFIGS; c++) {
        struct hdr h;
        init_config(&h, &configs[c]);
        round_trip(&h);
        hdr_free(&h);
    }
}

Test(codec, round_trip_single_value)
{
    const int64_t values[] = {0, 1, 42, 2047, 2048, 1000000, INT64_MAX};
    for (size_t c = 0; c < N_CONFIGS; c++) {
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            struct hdr h;
            init_config(&h, &configs[c]);
            hdr_record(&h, values[i]);
            round_trip(&h);
            hdr_free(&h);
        }
    }
}

Test(codec, round_trip_large_random)
{
    for (size_t c = 0; c < N_CONFIGS; c++) {
        rng_state = 200 + c;
        struct hdr h;
        init_config(&h, &configs[c]);
        for (int i = 0; i < 100000; i++)
            hdr_record(&h, (int64_t)exp(rng_unit() * log((double)h.highest)));
        /* Large counts use every varint length, up to 9 bytes. */
        hdr_record_n(&h, 3, INT64_C(1) << 40);
        hdr_record_n(&h, 5, INT64_MAX / 4);
        round_trip(&h);
        hdr_free(&h);
    }
}

Test(codec, refuses_to_encode_negative_counts)
{
    struct hdr h;
    init_config(&h, &configs[0]);
    hdr_record(&h, 7);
    hdr_record_n(&h, 5, -1);
    errno = 0;
    cr_expect_null(hdr_encode_base64(&h));
    cr_expect_eq(errno, EINVAL);
    hdr_free(&h);
}

/* ---- strings written by HdrHistogram's own libraries ----
 *
 * From HdrHistogram/HdrHistogramJS, src/encoding.spec.ts ("Histogram
 * encoding" tests), data strings only. */

/* "should decode and decompress reading a byte buffer": mean 42, count 1. */
static const char js_vector_42_a[] = "HISTFAAAACB42pNpmSzMwMDAxAABMJqRQf4/GNh/gAgEMwEAkp4I6Q==";
/* "should decode and decompress reading a base64 string": mean 42, count 1. */
static const char js_vector_42_b[] = "HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM=";
/* "should encode and compress an histogram to a base64 string": the encoding
 * of a histogram holding the single value 42 (lowest 1, 3 digits). */
static const char js_vector_42_c[] = "HISTFAAAAB94nJNpmSzMwMDABMSMQMzMAAGMUJoJxg9mAgA1TQGm";
/* "should decode and decompress a big base64 string": total count 10000. */
static const char js_vector_10000[] =
    "HISTFAAACGB42j1WQY4cuRGks7KzWWwOh1NTGo1GEmzBWCx0EAxjsdiTsdiTD4ZPfoa/4R/4o/7BOiKSrWnNVBWLzIyM"
    "iMzWp//897mUA7/62db1D/n3999//V8umBW74POTPds7+4In2/xq722zv9huj/bRbvZH+2oPdrV3vtu//AOeP9if8Ra7"
    "H7DlhlcPePyo+w1xrrh+84uZFzd7QkyEL/ZXJPgN295jC5bsii0FN084/BXXDQH+jqPMlhn5eYf1D/beb9h7BdSfseMJ"
    "GG5C94h3BRFveibyZ9x9wR1KeaebR0P8J/vVfsCbHevv7DOxPxt2/1MrLOQz3j8BH2DjhOHpA/ZfEILRWaD9bZHyb7z6"
    "0X6xRxByMzxsQEJsCPlNoP/BFI849WQP/iy+cHJHqG+4veIAWcf+DQ9Y51MRBRueHlRqEbOPXqQR74Ec28Dab9pseLpq"
    "I7na/bPCPuBz0xskIIAvUqVIpQdTcr7/Afje68RHpPwsBrXnUYE3UVy0AYubljZTggshU+gdlTHej6iyJEfXuOb+B51w"
    "cXdbzD/yaFkQNn+fXnHBY7In5Sgi4wb34IYciy83hbxSG/pJFipa+VnByeJXFMPD0pQMoUTc+i3BExV+bgKa98WYHqk2"
    "GnaH+bPg3Xl8X9AEZpcI4qCsDx/9kpfMWJyG3Xz3PQGWDI88N2myqfh1c9H10XQT4qoI1E19uC87cKMLtS2byDWs3u6Q"
    "nlyet7gqYvHtTnWaKXndXBZ6oo2IGJTnywxyuT/tstx+p2ZTBQKQql6F67ogJCWXxO4cIrhcJfwui1ouMTInwc1vi8RL"
    "tSUuJarJNYtGjgcpuPuDcHBgMMQqyiwZUF0C4ImHhRehVqurp7w0npbmm2yllFTJXEJv3wNJL/LEQlYxFw9bei3hmY9o"
    "WJO70goSLxpr3q+22EhF434Sa/i58M+yTSKGdHYJW6aETlouZMIyrSbqCgd6N6DyBJ3q4TUmLlNuUcJZoTasfmAtSLBp"
    "LssdC96+ig9Cu3PKZ0/RNZsyENkDXiZOrusmWXYcjs2yjbDX9ljQfV3ijoMPvEbiJvOeTIGRO0OXO5ll1U6W2bqhAsDe"
    "lenq9/Zy+dnVAQv5fudVfUcAG15gGFRGvvrVy3cmNqa+eIlkZbkT7ighNrZEcwmtMaQno241JTed3URhOuOSE6wsDRap"
    "RVnFhpJdkxZfv3GLrJqu5LZLLi+XpOfFaRISd19d6BkMlmBcNOxW0zmF5odgllbO/lCxPEKDkP9lVjKULpF/WEXdeA1l"
    "Yo3A3oSYXIa4KLWwQZitlaixpfXYzniV6nPbQDaPKIIu/SuTBk7JuVhWJJcXeSi80hQMmbTLh7Ws0qsoRIoadRNFZBY5"
    "NtoxP3jp6kjiR8BNdTFbLNRllIj8ErLOgcDV7qsXbKu0SFSK4FU80l7Yhr2DrHNjIAvh8FUGcxqDYlovqiPVCiXfKhfU"
    "cNnAcpHUjNWGjZi5iUiT3bpVYKucA0TM7S5QVWR6PkjCFBx7OuGRIzFcazgUwraS/sk6inedzENVRZnc0XL0izNrOKxQ"
    "auPm3tgfqC2p1SqtxgQkpLgaTtR7qIPYghHihqe6NAhbLROaYT2/yJxKcJAJag67xn/6b6UgBtNHzcmH9Y7LgFTf86nR"
    "YCCqKiOrmODpyFlrpsKjKX3AayLK6OKarcUnrJckOKk3fW14fgWsdg0NsEySspJnygVIta7h17Nn2cClVc+5Fzp5SW9K"
    "QBJZt/Wl4voGoys13gsNjinMmu8y0lhdfLC1kgA1cLBdOoEnj9Sb2hVrfcIPECO8NfwB791rZ19RZ+yLjmrxjH9QrEPo"
    "5r0Ovnd2HQ4OvBit19oqtanRkL2hyOqNkwgP2BzHydZG5CYhu0yGfYFzzkFSOzB1Grnxq9GzE7ypsfxAFmIYDdfRG9gE"
    "UCTD+8ZJAHlG57CAnEgCCqczdMhvAFVUGRAP49xoqBr4bVLNNg2BmiplOoQFPsZ2nOnYxWZrfQBhVIwG1FZZFT5HdxWr"
    "TgweZm/JiCgV25kMEQfrl68rVUECyhTE3CIdELwJze0u0jgrrHfOCrgaK9hdR0eGMch+JXGpTggNzkKIThVqBVCUNBob"
    "odN+YAqFkUGUCUt0Dg5ALNNGdjwq5ixpnXVoevAAqGM0mgtniDlG5Zxx6HcGItlI7G1SyANyAQDVBFZYhFTiyhkMX1XB"
    "BY+9I2/OMucIxhYaAh+EmVg2+ik/eGO0Jzgg1Zw++iJBgEpWcGl10sUqFw6hd+vp+S0xOHIqC5fGrRIRq0IxTUZtloyD"
    "I9aP8kagP6fmk/us9HEos4YEzrEOCk1BWBtkYk6OXKObwHgMfN81sVnpdliHDPKLDnoWGRJGiK4xPzhjKruu9UYpQYh6"
    "ASv0lbe0DOdX6ayAmNEkyFoLv7JoQH6o/+CDoS3xt5wqjSpJhHjtjZr1OCA+Ys5ZDzYx/DL6iI4eG8dr6bOPA7hnbccc"
    "53gbPNJHqzgx5zE6/ImJQKMN3OFYe5mQ9qxv/RyvzY854QpIM/AX2/w8xoluoETnnONtvowxZjuPjiLbS61vwydCAu4x"
    "2tlfz47U3A75zonNmEHgZbzM3pAIaNuJQYbFMY8GaMjjAyv1PNtLf208c87XPlBEsLVeZ5/HGfWIAwyjodoJwmYMR6HH"
    "2SfcVnGnsYbTfPiENP316K8Dr8+K4hpIgdlHBUdgox3jBSk6K0YP9qMBzZzRX0CQgwTYPXBw1IHCQDLeI1kDG/0E0nqO"
    "A5+O8EA+XhFytKO1E5MJlZ4dvNY5zzpeHFkhH9K8sS/npFjIZZ8aM4e/NGjUx/BjvCHA0QnkBTHwFqGO2Y+jw24T0rNF"
    "/oT3/Zx06P8BChhtKw==";

static void expect_single_42(const char *vector)
{
    struct hdr h;
    cr_assert_eq(hdr_decode_base64(vector, &h), 0, "could not decode %s", vector);
    cr_expect_eq(h.total_count, 1);
    cr_expect(hdr_mean(&h) == 42.0, "mean %g", hdr_mean(&h));
    cr_expect_eq(hdr_value_at_percentile(&h, 50), 42);
    cr_expect_eq(hdr_min(&h), 42);
    cr_expect_eq(hdr_max(&h), 42);
    /* The re-encoding decodes to the same content. */
    char *s = hdr_encode_base64(&h);
    cr_assert_not_null(s);
    struct hdr again;
    cr_assert_eq(hdr_decode_base64(s, &again), 0);
    assert_same_histogram(&again, &h);
    free(s);
    hdr_free(&again);
    hdr_free(&h);
}

Test(codec, decodes_hdrhistogram_js_vectors)
{
    expect_single_42(js_vector_42_a);
    expect_single_42(js_vector_42_b);
    expect_single_42(js_vector_42_c);
}

/* Our encoder writes byte for byte what HdrHistogram's Java library writes
 * for the same histogram (both deflate with zlib at its default level): the
 * header fields, their order, the cookies and the varints are the ones its
 * decoders expect. */
Test(codec, encodes_like_hdrhistogram_java)
{
    struct hdr h;
    char *s;
    /* Written by HdrHistogram Java 2.1.11 (Debian's libhdrhistogram-java):
     * new Histogram(1, 3600000000L, 3), recordValue 42, 100, 5000, 1000000,
     * encodeIntoCompressedByteBuffer, then base64. */
    const char java[] = "HISTFAAAACp4nJNpmSzMwMDAxQABzFCaEURcm7yEwf4DRCCYqZDppyHT7yomAJFuB/w=";
    cr_assert_eq(hdr_init(&h, 1, INT64_C(3600000000), 3), 0);
    const int64_t values[] = {42, 100, 5000, 1000000};
    for (size_t i = 0; i < 4; i++)
        hdr_record(&h, values[i]);
    s = hdr_encode_base64(&h);
    cr_assert_not_null(s);
    cr_expect_str_eq(s, java);
    free(s);
    hdr_free(&h);
}

Test(codec, decodes_hdrhistogram_js_big_vector)
{
    struct hdr h;
    cr_assert_eq(hdr_decode_base64(js_vector_10000, &h), 0);
    cr_expect_eq(h.total_count, 10000);
    int64_t sum = 0;
    for (int32_t i = 0; i < h.counts_len; i++)
        sum += h.counts[i];
    cr_expect_eq(sum, 10000);
    /* What HdrHistogram Java 2.1.11 (Debian's libhdrhistogram-java) reports
     * for this string with Histogram.decodeFromCompressedByteBuffer, then
     * getValueAtPercentile, getMinValue, getMaxValue, getMean,
     * getStdDeviation. */
    cr_expect_eq(h.lowest, 1);
    cr_expect_eq(h.highest, 131071);
    cr_expect_eq(h.sig_digits, 3);
    cr_expect_eq(hdr_value_at_percentile(&h, 50), 50207);
    cr_expect_eq(hdr_value_at_percentile(&h, 90), 90495);
    cr_expect_eq(hdr_value_at_percentile(&h, 99), 99007);
    cr_expect_eq(hdr_value_at_percentile(&h, 99.9), 99903);
    cr_expect_eq(hdr_value_at_percentile(&h, 100), 100031);
    cr_expect_eq(hdr_min(&h), 0);
    cr_expect_eq(hdr_max(&h), 100031);
    cr_expect(fabs(hdr_mean(&h) - 50229.6988) < 1e-6, "mean %.6f", hdr_mean(&h));
    cr_expect(fabs(hdr_stddev(&h) - 28811.155091) < 1e-5, "stddev %.6f", hdr_stddev(&h));
    hdr_free(&h);
}

/* ---- malformed input ---- */

/* Base64 (standard, padded) for crafting inputs byte by byte; deliberately a
 * separate implementation from the codec's, so each checks the other. */
static char *b64(const uint8_t *in, size_t len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = calloc(len / 3 * 4 + 5, 1);
    cr_assert_not_null(out);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t k = len - i < 3 ? len - i : 3;
        uint32_t w = 0;
        for (size_t j = 0; j < 3; j++)
            w = w << 8 | (j < k ? in[i + j] : 0);
        for (size_t j = 0; j < 4; j++)
            out[o++] = j <= k ? a[(w >> (18 - 6 * j)) & 63] : '=';
    }
    return out;
}

struct crafted {
    uint32_t outer_cookie, inner_cookie;
    int64_t deflated_len_delta; /* added to the true deflated length */
    int64_t payload_len_delta;  /* added to the true counts length */
    int32_t offset, sig;
    int64_t lowest, highest;
    double ratio;
    size_t trailing; /* garbage bytes after the zlib stream */
};

static struct crafted crafted_default(void)
{
    return (struct crafted){0x1c849314, 0x1c849313, 0, 0, 0, 3, 1, 3600000000, 1.0, 0};
}

static void be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Builds the base64 of a compressed V2 histogram whose counts are the given
 * raw bytes, with the header fields of c. */
static char *craft(const struct crafted *c, const uint8_t *counts, size_t counts_len)
{
    size_t plen = 40 + counts_len;
    uint8_t *payload = malloc(plen);
    cr_assert_not_null(payload);
    uint64_t ratio_bits;
    memcpy(&ratio_bits, &c->ratio, sizeof(ratio_bits));
    be(payload, c->inner_cookie, 4);
    be(payload + 4, (uint64_t)((int64_t)counts_len + c->payload_len_delta), 4);
    be(payload + 8, (uint64_t)(int64_t)c->offset, 4);
    be(payload + 12, (uint64_t)(int64_t)c->sig, 4);
    be(payload + 16, (uint64_t)c->lowest, 8);
    be(payload + 24, (uint64_t)c->highest, 8);
    be(payload + 32, ratio_bits, 8);
    memcpy(payload + 40, counts, counts_len);
    uLongf zlen = compressBound(plen);
    uint8_t *out = malloc(8 + zlen + c->trailing);
    cr_assert_not_null(out);
    cr_assert_eq(compress(out + 8, &zlen, payload, plen), Z_OK);
    memset(out + 8 + zlen, 0x5a, c->trailing);
    zlen += c->trailing;
    be(out, c->outer_cookie, 4);
    be(out + 4, (uint64_t)((int64_t)zlen + c->deflated_len_delta), 4);
    char *s = b64(out, 8 + zlen);
    free(payload);
    free(out);
    return s;
}

static void expect_rejected(const char *s, const char *why)
{
    struct hdr h;
    memset(&h, 0xa5, sizeof(h));
    cr_expect_eq(hdr_decode_base64(s, &h), -1, "accepted: %s", why);
    cr_expect_null(h.counts, "left memory behind: %s", why);
}

/* The crafting helper itself must produce what the decoder accepts. */
Test(codec, crafted_valid_input_decodes)
{
    struct crafted c = crafted_default();
    /* 3 zeros, then 5 and 7: zigzag(-3) = 5, zigzag(5) = 10, zigzag(7) = 14 */
    const uint8_t counts[] = {5, 10, 14};
    char *s = craft(&c, counts, sizeof(counts));
    struct hdr h;
    cr_assert_eq(hdr_decode_base64(s, &h), 0);
    cr_expect_eq(h.counts[3], 5);
    cr_expect_eq(h.counts[4], 7);
    cr_expect_eq(h.total_count, 12);
    cr_expect_eq(hdr_min(&h), 3);
    cr_expect_eq(hdr_max(&h), 4);
    hdr_free(&h);
    free(s);
}

/* Java's decoder places counts by logical index whatever the normalizing
 * offset says, and the ratio does not change integer values: so do we. */
Test(codec, ignores_offset_and_ratio)
{
    const uint8_t counts[] = {5, 10, 14};
    struct crafted plain = crafted_default(), odd = crafted_default();
    odd.offset = 2048;
    odd.ratio = 0.5;
    char *a = craft(&plain, counts, sizeof(counts));
    char *b = craft(&odd, counts, sizeof(counts));
    struct hdr ha, hb;
    cr_assert_eq(hdr_decode_base64(a, &ha), 0);
    cr_assert_eq(hdr_decode_base64(b, &hb), 0);
    assert_same_histogram(&ha, &hb);
    hdr_free(&ha);
    hdr_free(&hb);
    free(a);
    free(b);
}

Test(codec, rejects_bad_text)
{
    expect_rejected("", "empty string");
    expect_rejected("HISTF", "length not a multiple of 4");
    expect_rejected("HIST!AAA", "character outside the alphabet");
    expect_rejected("HI=TFAAA", "padding in the middle");
    expect_rejected("HISTFAAAAB94nJNpmSzMwMDABMSMQMzMAAGMUJoJxg9mAgA1TQGm\n", "trailing newline");
    expect_rejected("====", "only padding");
    struct hdr h;
    cr_expect_eq(hdr_decode_base64(NULL, &h), -1);
}

/* Every truncation of a valid encoding is rejected, without reading past
 * the (exactly sized, heap) copy. */
Test(codec, rejects_every_truncation)
{
    size_t len = strlen(js_vector_10000);
    for (size_t cut = 0; cut < len; cut++) {
        char *prefix = strndup(js_vector_10000, cut);
        cr_assert_not_null(prefix);
        expect_rejected(prefix, "truncated");
        free(prefix);
    }
}

Test(codec, rejects_wrong_cookies)
{
    /* The V1 encoding from HdrHistogramJS's encoding.spec.ts ("should throw
     * an error when trying to decompress an histogram using V1 encoding"). */
    expect_rejected(
        "HISTIgAAAFd42pNpmazIwMAYxgABTBDKT4GBgdnNYMcCBvsPUBkeBkYGZqA8MwMbAzsDC5DFBCTZgJCD"
        "QY1BjkGLQZRBlUEPCB8zWDCYMxgDZZkZhgJgHDibAY8JB/A=",
        "V1 encoding");
    struct crafted c = crafted_default();
    const uint8_t counts[] = {2};
    c.outer_cookie = 0x1c849302;
    char *s = craft(&c, counts, 1);
    expect_rejected(s, "V1 compressed cookie");
    free(s);
    c = crafted_default();
    c.inner_cookie = 0x1c849301;
    s = craft(&c, counts, 1);
    expect_rejected(s, "V1 encoding cookie inside");
    free(s);
    c = crafted_default();
    c.inner_cookie = 0x1c849314;
    s = craft(&c, counts, 1);
    expect_rejected(s, "compressed cookie where the encoding cookie belongs");
    free(s);
}

/* Crafted inputs from HdrHistogram_c's test/hdr_histogram_log_test.c
 * (test_decode_rejects_crafted_bounds_attacks, test_v1_decode_rejects_
 * oversized_counts), found by fuzzing that library. */
Test(codec, rejects_hdrhistogram_c_crafted_inputs)
{
    expect_rejected("HISTAgAAABp4nJNpmdzIwFDLAAWMaDST/QcGFAAAdaEDZQ==", "V1 oversized counts");
    expect_rejected("HISTAgAAABl42pNpmdz4////HwwQwIhGMzGgAQD3VgWu", "V1 negative payload");
    expect_rejected("HISTAgAAAB54nJNpmSzIwMDAyAABzFAawmdsWwDlMzQAAD9AAvE=", "V1 word size 1");
    expect_rejected("HISTCQAAACd4nJNpmSzBwMDAzAABjFCaiQHGGAWjYBSMglEwCkbBSAMNAMTQEdA=",
                    "V0 word size 1");
    expect_rejected("HISTBAAAABl4nJNpmcz8HwgYIIARjWay/8CAAgD0TwZm", "V2 negative payload length");
}

Test(codec, rejects_lying_lengths)
{
    const uint8_t counts[] = {2, 4, 6};
    const struct {
        int64_t deflated, payload;
        const char *why;
    } cases[] = {
        {1, 0, "deflated length past the end"},
        {-1, 0, "deflated length short of the end"},
        {INT32_MAX, 0, "deflated length huge"},
        {0, 1, "payload length longer than the stream"},
        {0, -1, "payload length shorter than the stream"},
        {0, -4, "negative payload length"},
        {0, 1 << 30, "payload length beyond what deflate can expand to"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct crafted c = crafted_default();
        c.deflated_len_delta = cases[i].deflated;
        c.payload_len_delta = cases[i].payload;
        char *s = craft(&c, counts, sizeof(counts));
        expect_rejected(s, cases[i].why);
        free(s);
    }
    struct crafted c = crafted_default();
    c.trailing = 3;
    char *s = craft(&c, counts, sizeof(counts));
    expect_rejected(s, "bytes after the zlib stream");
    free(s);
}

Test(codec, rejects_bad_parameters)
{
    const uint8_t counts[] = {2};
    struct crafted cases[7];
    for (size_t i = 0; i < 7; i++)
        cases[i] = crafted_default();
    cases[0].sig = 0;
    cases[1].sig = 6;
    cases[2].lowest = 0;
    cases[3].lowest = -5;
    cases[4].highest = 1; /* < 2 * lowest */
    cases[5].sig = -1;
    cases[6].lowest = INT64_C(1) << 60; /* unit magnitude too large */
    cases[6].highest = INT64_MAX;
    for (size_t i = 0; i < 7; i++) {
        char *s = craft(&cases[i], counts, sizeof(counts));
        expect_rejected(s, "bad parameters");
        free(s);
    }
}

Test(codec, rejects_counts_past_the_array)
{
    /* lowest 1, highest 2, 1 digit: 32 counts. */
    struct crafted c = crafted_default();
    c.highest = 2;
    c.sig = 1;
    struct hdr ref;
    cr_assert_eq(hdr_init(&ref, 1, 2, 1), 0);
    size_t n = (size_t)ref.counts_len;
    hdr_free(&ref);

    uint8_t ones[64];
    memset(ones, 2, sizeof(ones)); /* zigzag(1) */
    char *s = craft(&c, ones, n);
    struct hdr h;
    cr_assert_eq(hdr_decode_base64(s, &h), 0, "exactly counts_len counts must decode");
    cr_expect_eq(h.total_count, (int64_t)n);
    hdr_free(&h);
    free(s);
    s = craft(&c, ones, n + 1);
    expect_rejected(s, "one count past counts_len");
    free(s);

    const uint8_t zeros_past[] = {(uint8_t)(2 * (n + 1) - 1)}; /* zigzag(-(n + 1)) */
    s = craft(&c, zeros_past, 1);
    expect_rejected(s, "zero run past counts_len");
    free(s);
    const uint8_t zeros_then_one[] = {(uint8_t)(2 * n - 1), 2}; /* n zeros, then a count */
    s = craft(&c, zeros_then_one, 2);
    expect_rejected(s, "count after a zero run that filled the array");
    free(s);
}

Test(codec, rejects_bad_varints)
{
    struct crafted c = crafted_default();
    const uint8_t unterminated[] = {2, 0x80};
    char *s = craft(&c, unterminated, sizeof(unterminated));
    expect_rejected(s, "varint cut short");
    free(s);
    /* zigzag(INT64_MIN) is all ones: a zero run that cannot be negated. */
    const uint8_t int64_min[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    s = craft(&c, int64_min, sizeof(int64_min));
    expect_rejected(s, "INT64_MIN zero run");
    free(s);
    /* Two counts of INT64_MAX (zigzag 2^64 - 2): the total would overflow. */
    const uint8_t huge[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    s = craft(&c, huge, 9);
    struct hdr h;
    cr_assert_eq(hdr_decode_base64(s, &h), 0, "one INT64_MAX count is valid");
    cr_expect_eq(h.counts[0], INT64_MAX);
    hdr_free(&h);
    free(s);
    s = craft(&c, huge, sizeof(huge));
    expect_rejected(s, "total count overflow");
    free(s);
}

/* Mutating any byte of a valid encoding either still decodes to a
 * consistent histogram or is rejected; never a crash or an over-read. */
Test(codec, survives_every_byte_mutation)
{
    struct hdr h;
    init_config(&h, &configs[0]);
    for (int i = 1; i < 200; i++)
        hdr_record(&h, (int64_t)i * i * 37);
    char *s = hdr_encode_base64(&h);
    cr_assert_not_null(s);
    hdr_free(&h);

    /* Substituting base64 characters changes six bits of the bytes at a
     * time: cookies, lengths, parameters, zlib stream and checksum alike. */
    size_t slen = strlen(s);
    for (size_t pos = 0; pos < slen; pos++) {
        if (s[pos] == '=')
            continue;
        const char subst[] = {'A', '/', 'z', '0'};
        for (size_t k = 0; k < sizeof(subst); k++) {
            if (s[pos] == subst[k])
                continue;
            char *m = strdup(s);
            cr_assert_not_null(m);
            m[pos] = subst[k];
            struct hdr d;
            if (hdr_decode_base64(m, &d) == 0) {
                int64_t sum = 0;
                for (int32_t i = 0; i < d.counts_len; i++) {
                    cr_assert(d.counts[i] >= 0);
                    sum += d.counts[i];
                }
                cr_assert_eq(sum, d.total_count);
                hdr_free(&d);
            } else {
                cr_assert_null(d.counts);
            }
            free(m);
        }
    }
    free(s);
}
