/* edivisive: change points in one series of benchmark trials, found with
 * E-divisive means (Matteson and James, JASA 2014; the moment index alpha
 * is 1) and judged as Apache Otava (formerly Hunter, ICPE 2023) judges
 * them: a deterministic t-test between the segments on either side instead
 * of E-divisive's random permutation test, plus a floor on the magnitude.
 *
 * A series is a sequence of groups (one group per commit) of observations
 * (that commit's trials). Change points fall only between groups: every
 * trial takes part in the statistic, but a commit is never split. */
#ifndef IOBENCH_EDIVISIVE_H
#define IOBENCH_EDIVISIVE_H

#include <stddef.h>

struct ediv_params {
    double max_p;      /* a split is significant when the t-test's p < max_p */
    double min_change; /* and |mean_after / mean_before - 1| >= min_change */
    size_t min_groups; /* groups (commits) on each side of a split, >= 1 */
};

/* One change point: the level changes between group - 1 and group. */
struct ediv_change {
    size_t group;       /* first group of the new level */
    double mean_before; /* mean of every observation from the previous change point */
    double mean_after;  /* ... up to the next one */
    double p;           /* Welch's two-sided t-test between those two segments */
};

/* Q-hat of Matteson and James for x[0..n) split into x[0..tau) and
 * x[tau..n): (m k / (m + k)) * (2/(m k) sum|Xi - Yj| - sum_{i<i'}|Xi - Xi'| /
 * C(m,2) - sum_{j<j'}|Yj - Yj'| / C(k,2)), m = tau, k = n - tau; a side of
 * one observation has no within-term. 0 when a side is empty. */
double edivisive_q(const double *x, size_t n, size_t tau);

/* Two-sided p-value of Welch's t-test (unequal variances) of a against b.
 * 1 when either has fewer than two values or both have no spread and equal
 * means; 0 when neither has spread and the means differ. */
double edivisive_welch_p(const double *a, size_t na, const double *b, size_t nb);

/* Finds the change points of the series x[0..n) whose groups start at
 * starts[0..ngroups) (ascending, starts[0] == 0; group g ends where g + 1
 * starts, the last at n). Divisive: the split of largest Q-hat among the
 * open intervals is tested; significant and large enough, it divides its
 * interval, otherwise that interval is closed. Then change points that no
 * longer pass against their final neighbours are dropped, weakest first,
 * until all pass. Writes them to out in order of group (at most cap) and
 * returns how many, or -1 when out of memory. Deterministic. */
long edivisive_detect(const double *x, size_t n, const size_t *starts, size_t ngroups,
                      const struct ediv_params *params, struct ediv_change *out, size_t cap);

#endif
