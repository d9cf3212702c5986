/* ioload_report: the "ioload-result" JSON (docs/results-schema.md), its
 * atomic output, and the wrk-like human summary. */
#ifndef IOBENCH_IOLOAD_REPORT_H
#define IOBENCH_IOLOAD_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "hdr.h"
#include "ioload_engine.h"
#include "ioload_opts.h"

#define IOLOAD_SCHEMA "ioload-result"
#define IOLOAD_SCHEMA_VERSION 2
/* Saturation thresholds (documented in docs/results-schema.md). */
#define IOLOAD_BUSY_SATURATED 0.9  /* CPU time / (elapsed * threads) */
#define IOLOAD_LATE_SATURATED 0.01 /* open loop: late_behind / scheduled ... */
#define IOLOAD_LATE_BUSY 0.5       /* ... with at least this busy_fraction */

/* The result JSON of one run. NULL on ENOMEM or when a histogram cannot
 * be encoded. */
json_t *ioload_result_json(const struct ioload_config *cfg, const struct ioload_result *res);
/* SUMMARY object of a histogram (nulls but "count" when it is empty). */
json_t *ioload_latency_json(const struct hdr *h);
/* {"requests_per_s","successes_per_s","bytes_per_s"}; nulls if elapsed is 0. */
json_t *ioload_throughput_json(int64_t requests, int64_t successes, int64_t bytes,
                               double elapsed_s);
/* {"corrected","uncorrected","lowest","highest","sig_digits"}, and
 * "send_lag" (nanoseconds, its own range) when send_lag is non-NULL. */
json_t *ioload_histograms_json(const struct hdr *corrected, const struct hdr *uncorrected,
                               const struct hdr *send_lag);
/* {"p50","p99","p99_9","max","mean"} of a send-lag histogram in ns. */
json_t *ioload_send_lag_json(const struct hdr *h);
/* Sets self.saturated and appends the saturation warnings, from
 * self.busy_fraction and open_loop.late_behind (docs/results-schema.md,
 * "Saturation"). 0, or -1 on ENOMEM. */
int ioload_apply_saturation(json_t *root);
/* "2024-05-01T12:00:00.123456Z" into buf (>= 32 bytes). */
void ioload_iso_time(const struct timespec *t, char *buf, size_t cap);
/* Parses what ioload_iso_time writes; 0 or -1. */
int ioload_parse_iso_time(const char *s, double *epoch_s);
/* Writes j to path through a temporary file and rename ("-": stdout).
 * Returns 0, or -1 with errno set. */
int ioload_json_write(const json_t *j, const char *path);
/* Prints a wrk-like summary of a result. */
void ioload_print_summary(FILE *out, const json_t *root);

#endif
