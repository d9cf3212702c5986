/* stats_mw: order statistics and the Mann-Whitney U test (see stats_mw.h). */
#include "stats_mw.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_median(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    /* Trials are few; a sorted copy on the stack would need a bound, so
     * allocate and fall back to NAN only when memory runs out. */
    double *s = malloc(n * sizeof *s);
    if (s == NULL)
        return NAN;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    free(s);
    return m;
}

/* The extreme of v[0..n) in the direction of sign (+1 largest, -1 smallest). */
static double extreme(const double *v, size_t n, double sign)
{
    if (n == 0)
        return NAN;
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (sign * (v[i] - m) > 0)
            m = v[i];
    return m;
}

double stats_min(const double *v, size_t n)
{
    return extreme(v, n, -1.0);
}

double stats_max(const double *v, size_t n)
{
    return extreme(v, n, 1.0);
}

double stats_mw_u(const double *x, size_t nx, const double *y, size_t ny)
{
    double u = 0;
    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < ny; j++)
            u += x[i] > y[j] ? 1.0 : x[i] == y[j] ? 0.5 : 0.0;
    return u;
}

double stats_mw_min_p(size_t nx, size_t ny)
{
    if (nx == 0 || ny == 0)
        return 1.0;
    /* 1 / C(n, k) built as a running product to stay in range. */
    size_t n = nx + ny, k = nx < ny ? nx : ny;
    double p = 1.0;
    for (size_t i = 1; i <= k; i++)
        p *= (double)i / (double)(n - k + i);
    return p;
}

struct ranked {
    double v;
    int in_x;
};

static int cmp_ranked(const void *a, const void *b)
{
    return cmp_double(&((const struct ranked *)a)->v, &((const struct ranked *)b)->v);
}

/* Exact permutation distribution of the rank sum of x. Ranks are doubled
 * so that midranks of ties stay integers; each split of the pooled values
 * into nx and ny is equally likely under the null hypothesis. */
static int exact_p(const long *rank2, size_t n, size_t nx, long w2, double *p)
{
    size_t smax = (size_t)n * (n + 1); /* sum of all doubled ranks */
    size_t width = smax + 1;
    double *cnt = calloc((nx + 1) * width, sizeof *cnt);
    if (cnt == NULL)
        return -1;
    cnt[0] = 1.0;
    for (size_t i = 0; i < n; i++) {
        size_t r = (size_t)rank2[i];
        size_t kmax = i + 1 < nx ? i + 1 : nx;
        for (size_t k = kmax; k >= 1; k--)
            for (size_t s = smax; s >= r; s--)
                cnt[k * width + s] += cnt[(k - 1) * width + s - r];
    }
    double total = 0, tail = 0;
    for (size_t s = 0; s <= smax; s++) {
        total += cnt[nx * width + s];
        if ((long)s >= w2)
            tail += cnt[nx * width + s];
    }
    free(cnt);
    *p = tail / total;
    return 0;
}

int stats_mw_p_greater(const double *x, size_t nx, const double *y, size_t ny, double *p)
{
    if (nx == 0 || ny == 0) {
        errno = EINVAL;
        return -1;
    }
    size_t n = nx + ny;
    struct ranked *all = malloc(n * sizeof *all);
    long *rank2 = malloc(n * sizeof *rank2);
    if (all == NULL || rank2 == NULL) {
        free(all);
        free(rank2);
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        all[i].v = i < nx ? x[i] : y[i - nx];
        all[i].in_x = i < nx;
        if (isnan(all[i].v)) {
            free(all);
            free(rank2);
            errno = EINVAL;
            return -1;
        }
    }
    qsort(all, n, sizeof *all, cmp_ranked);
    long w2 = 0;
    double tie_term = 0; /* sum of t^3 - t over tie groups */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && all[j].v == all[i].v)
            j++;
        /* Positions i..j-1 share the midrank ((i+1) + j) / 2. */
        for (size_t k = i; k < j; k++) {
            rank2[k] = (long)(i + 1 + j);
            if (all[k].in_x)
                w2 += rank2[k];
        }
        double t = (double)(j - i);
        tie_term += t * t * t - t;
        i = j;
    }
    int rc = 0;
    if (n <= STATS_MW_EXACT_MAX) {
        rc = exact_p(rank2, n, nx, w2, p);
        if (rc != 0)
            errno = ENOMEM;
    } else {
        double u = (double)w2 / 2.0 - (double)nx * (double)(nx + 1) / 2.0;
        double mean = (double)nx * (double)ny / 2.0;
        double dn = (double)n;
        double var = (double)nx * (double)ny / 12.0 * ((dn + 1) - tie_term / (dn * (dn - 1)));
        if (var <= 0) {
            *p = 1.0;
        } else {
            double z = (u - mean - 0.5) / sqrt(var);
            *p = 0.5 * erfc(z / sqrt(2.0));
        }
    }
    free(all);
    free(rank2);
    return rc;
}
