/* stats_mw: the statistics `iobench compare` and `plot` judge trials with:
 * order statistics of small samples and the Mann-Whitney U test.
 *
 * Trials are few (3 to 10 a case), so the U test uses its exact permutation
 * distribution, ties included, up to STATS_MW_EXACT_MAX values in all, and
 * the normal approximation (tie and continuity corrected) beyond. */
#ifndef IOBENCH_STATS_MW_H
#define IOBENCH_STATS_MW_H

#include <stddef.h>

/* Largest nx + ny for which p-values come from the exact distribution. */
#define STATS_MW_EXACT_MAX 64

/* Median of v[0..n) (mean of the two middle values when n is even); v is
 * not modified. NAN when n == 0. */
double stats_median(const double *v, size_t n);
/* Smallest / largest of v[0..n); NAN when n == 0. */
double stats_min(const double *v, size_t n);
double stats_max(const double *v, size_t n);

/* U statistic of x against y: the pairs (x[i], y[j]) with x[i] > y[j],
 * plus one half for each tie. 0 <= U <= nx * ny. */
double stats_mw_u(const double *x, size_t nx, const double *y, size_t ny);
/* One-sided p-value of "x tends to be greater than y": the probability,
 * when both come from one distribution, of a U at least as large as the
 * observed one. Returns 0 with *p set, or -1 (errno EINVAL) when a sample is
 * empty or holds a NaN, ENOMEM when out of memory. */
int stats_mw_p_greater(const double *x, size_t nx, const double *y, size_t ny, double *p);
/* The smallest one-sided p-value samples of these sizes can give at all,
 * 1 / C(nx + ny, nx): when it is not below alpha, no outcome is
 * significant and the samples are too few to judge. 1 when one is empty. */
double stats_mw_min_p(size_t nx, size_t ny);

#endif
