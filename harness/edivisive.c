/* edivisive: E-divisive means with a t-test and a magnitude floor (see
 * edivisive.h). Written from the paper's definitions and Otava's published
 * description; the sums are kept incrementally so one interval costs
 * O(len^2) whatever the number of candidate splits. */
#include "edivisive.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

double edivisive_q(const double *x, size_t n, size_t tau)
{
    if (tau == 0 || tau >= n)
        return 0;
    double between = 0, left = 0, right = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double d = fabs(x[i] - x[j]);
            if (j < tau)
                left += d;
            else if (i >= tau)
                right += d;
            else
                between += d;
        }
    double m = (double)tau, k = (double)(n - tau);
    double e = 2.0 * between / (m * k);
    if (m >= 2)
        e -= left / (m * (m - 1) / 2);
    if (k >= 2)
        e -= right / (k * (k - 1) / 2);
    return m * k / (m + k) * e;
}

/* ---- Student's t distribution ---------------------------------------- */

/* The continued fraction of the incomplete beta function (modified Lentz). */
static double beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-14;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = 1 / (fabs(d) < tiny ? tiny : d);
    double h = d;
    for (int m = 1; m <= 500; m++) {
        double odd = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        double even = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
        for (int step = 0; step < 2; step++) {
            double coef = step == 0 ? odd : even;
            d = 1 + coef * d;
            c = 1 + coef / c;
            d = 1 / (fabs(d) < tiny ? tiny : d);
            c = fabs(c) < tiny ? tiny : c;
            h *= d * c;
            if (step == 1 && fabs(d * c - 1) < eps)
                return h;
        }
    }
    return h;
}

/* The regularized incomplete beta function I_x(a, b). */
static double beta_regularized(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

/* P(|T| >= |t|) for Student's t with df degrees of freedom. */
static double t_two_sided(double t, double df)
{
    return beta_regularized(df / 2, 0.5, df / (df + t * t));
}

static void mean_var(const double *v, size_t n, double *mean, double *var)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    *mean = s / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *var = n > 1 ? ss / (double)(n - 1) : 0;
}

double edivisive_welch_p(const double *a, size_t na, const double *b, size_t nb)
{
    if (na < 2 || nb < 2)
        return 1;
    double ma, va, mb, vb;
    mean_var(a, na, &ma, &va);
    mean_var(b, nb, &mb, &vb);
    double sa = va / (double)na, sb = vb / (double)nb;
    if (sa + sb == 0)
        return ma == mb ? 1 : 0;
    double t = (ma - mb) / sqrt(sa + sb);
    /* Welch-Satterthwaite; a side without spread contributes no term. */
    double den =
        (na > 1 ? sa * sa / (double)(na - 1) : 0) + (nb > 1 ? sb * sb / (double)(nb - 1) : 0);
    double df = (sa + sb) * (sa + sb) / den;
    return t_two_sided(t, df);
}

/* ---- Detection --------------------------------------------------------- */

struct series {
    const double *x;
    size_t n;
    const size_t *starts;
    size_t ngroups;
    const struct ediv_params *params;
};

/* First observation of group g (g == ngroups: one past the last). */
static size_t obs_at(const struct series *s, size_t g)
{
    return g < s->ngroups ? s->starts[g] : s->n;
}

/* An interval of groups [ga, gb) between two accepted change points. */
struct interval {
    size_t ga, gb;
    bool open;      /* may still be divided */
    bool evaluated; /* best_g and best_q are known */
    size_t best_g;
    double best_q;
};

/* Scratch space for one interval, sized for the whole series. */
struct scratch {
    double *pre, *suf;  /* within-sums of x[0..t) and x[t..len), len + 1 each */
    double *cnt, *sum;  /* Fenwick trees over value ranks, len + 1 each */
    size_t *rank;       /* rank of x[i] among the interval's values, 1-based */
    struct ranked *tmp; /* for sorting */
};

struct ranked {
    double v;
    size_t i;
};

static int by_value(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void fenwick_add(double *tree, size_t n, size_t r, double v)
{
    for (; r <= n; r += r & -r)
        tree[r] += v;
}

static double fenwick_prefix(const double *tree, size_t r)
{
    double v = 0;
    for (; r > 0; r -= r & -r)
        v += tree[r];
    return v;
}

/* out[k] = sum of |xi - xj| over the pairs among the first k values met
 * going forward (or backward) through x[0..len): each new value adds its
 * distance to those below it and above it, read from Fenwick trees over
 * the ranks in O(log len). Ties cost nothing whichever side they fall. */
static void within_sums(const double *x, size_t len, bool backward, struct scratch *w, double *out)
{
    for (size_t r = 0; r <= len; r++)
        w->cnt[r] = w->sum[r] = 0;
    out[0] = 0;
    double total = 0;
    for (size_t k = 0; k < len; k++) {
        size_t i = backward ? len - 1 - k : k, r = w->rank[i];
        double below_n = fenwick_prefix(w->cnt, r - 1), below_s = fenwick_prefix(w->sum, r - 1);
        double add =
            (below_n * x[i] - below_s) + ((total - below_s) - ((double)k - below_n) * x[i]);
        out[k + 1] = out[k] + add;
        fenwick_add(w->cnt, len, r, 1);
        fenwick_add(w->sum, len, r, x[i]);
        total += x[i];
    }
}

/* The split of largest Q-hat of one interval, over group boundaries that
 * leave min_groups on each side; false when there is none. The within-sums
 * of every prefix and suffix are built once, O(len log len) in all. */
static bool best_split(const struct series *s, struct interval *iv, struct scratch *w)
{
    size_t lo = obs_at(s, iv->ga), hi = obs_at(s, iv->gb), len = hi - lo;
    size_t ming = s->params->min_groups < 1 ? 1 : s->params->min_groups;
    if (iv->gb - iv->ga < 2 * ming)
        return false;
    const double *x = s->x + lo;
    for (size_t i = 0; i < len; i++)
        w->tmp[i] = (struct ranked){x[i], i};
    qsort(w->tmp, len, sizeof *w->tmp, by_value);
    for (size_t r = 0; r < len; r++)
        w->rank[w->tmp[r].i] = r + 1;
    double *pre = w->pre, *suf = w->suf;
    within_sums(x, len, false, w, pre);
    within_sums(x, len, true, w, suf); /* suf[k]: the last k values */
    bool found = false;
    for (size_t g = iv->ga + ming; g + ming <= iv->gb; g++) {
        size_t t = obs_at(s, g) - lo;
        double m = (double)t, k = (double)(len - t);
        double left = pre[t], right = suf[len - t];
        double between = pre[len] - left - right;
        double e = 2 * between / (m * k);
        if (m >= 2)
            e -= left / (m * (m - 1) / 2);
        if (k >= 2)
            e -= right / (k * (k - 1) / 2);
        double q = m * k / (m + k) * e;
        if (!found || q > iv->best_q) {
            iv->best_g = g;
            iv->best_q = q;
            found = true;
        }
    }
    return found;
}

/* The statistics of a split at g between groups ga and gb. */
static struct ediv_change judge(const struct series *s, size_t ga, size_t g, size_t gb)
{
    size_t a = obs_at(s, ga), m = obs_at(s, g), b = obs_at(s, gb);
    struct ediv_change c = {.group = g};
    double va, vb;
    mean_var(s->x + a, m - a, &c.mean_before, &va);
    mean_var(s->x + m, b - m, &c.mean_after, &vb);
    c.p = edivisive_welch_p(s->x + a, m - a, s->x + m, b - m);
    return c;
}

static double change_of(const struct ediv_change *c)
{
    if (c->mean_before == 0)
        return c->mean_after == 0 ? 0 : INFINITY;
    return fabs(c->mean_after / c->mean_before - 1);
}

static bool passes(const struct series *s, const struct ediv_change *c)
{
    return c->p < s->params->max_p && change_of(c) >= s->params->min_change;
}

/* The open, evaluated interval of largest Q-hat (the first on ties), or -1. */
static long pick_interval(struct interval *ivs, size_t niv)
{
    long best = -1;
    for (size_t i = 0; i < niv; i++)
        if (ivs[i].open && (best < 0 || ivs[i].best_q > ivs[best].best_q))
            best = (long)i;
    return best;
}

/* Divisive search: fills cps (sorted) and returns how many. */
static size_t divide(const struct series *s, struct interval *ivs, size_t *cps, struct scratch *w)
{
    size_t niv = 1, ncp = 0;
    ivs[0] = (struct interval){.ga = 0, .gb = s->ngroups, .open = true};
    for (;;) {
        for (size_t i = 0; i < niv; i++)
            if (ivs[i].open && !ivs[i].evaluated) {
                ivs[i].evaluated = true;
                ivs[i].open = best_split(s, &ivs[i], w);
            }
        long pick = pick_interval(ivs, niv);
        if (pick < 0)
            return ncp;
        struct interval *iv = &ivs[pick];
        struct ediv_change c = judge(s, iv->ga, iv->best_g, iv->gb);
        if (!passes(s, &c)) {
            iv->open = false;
            continue;
        }
        size_t at = ncp++;
        while (at > 0 && cps[at - 1] > c.group) {
            cps[at] = cps[at - 1];
            at--;
        }
        cps[at] = c.group;
        ivs[niv++] = (struct interval){.ga = c.group, .gb = iv->gb, .open = true};
        iv->gb = c.group;
        iv->evaluated = false;
    }
}

/* Judges each change point against its final neighbours; drops the
 * weakest failing one until all pass. Returns how many are left. */
static size_t prune(const struct series *s, size_t *cps, size_t ncp, struct ediv_change *judged)
{
    for (;;) {
        long weakest = -1;
        for (size_t i = 0; i < ncp; i++) {
            size_t ga = i > 0 ? cps[i - 1] : 0, gb = i + 1 < ncp ? cps[i + 1] : s->ngroups;
            judged[i] = judge(s, ga, cps[i], gb);
            if (!passes(s, &judged[i]) && (weakest < 0 || judged[i].p > judged[weakest].p))
                weakest = (long)i;
        }
        if (weakest < 0)
            return ncp;
        for (size_t i = (size_t)weakest; i + 1 < ncp; i++)
            cps[i] = cps[i + 1];
        ncp--;
    }
}

long edivisive_detect(const double *x, size_t n, const size_t *starts, size_t ngroups,
                      const struct ediv_params *params, struct ediv_change *out, size_t cap)
{
    if (ngroups == 0 || n == 0)
        return 0;
    struct series s = {x, n, starts, ngroups, params};
    struct interval *ivs = calloc(2 * ngroups + 1, sizeof *ivs);
    size_t *cps = calloc(ngroups, sizeof *cps);
    struct ediv_change *judged = calloc(ngroups, sizeof *judged);
    double *sums = calloc(4 * (n + 1), sizeof *sums);
    struct scratch w = {sums,
                        sums + (n + 1),
                        sums + 2 * (n + 1),
                        sums + 3 * (n + 1),
                        calloc(n, sizeof *w.rank),
                        calloc(n, sizeof *w.tmp)};
    long rc = -1;
    if (ivs != NULL && cps != NULL && judged != NULL && sums != NULL && w.rank != NULL &&
        w.tmp != NULL) {
        size_t ncp = prune(&s, cps, divide(&s, ivs, cps, &w), judged);
        for (size_t i = 0; i < ncp && i < cap; i++)
            out[i] = judged[i];
        rc = (long)ncp;
    }
    free(ivs);
    free(cps);
    free(judged);
    free(sums);
    free(w.rank);
    free(w.tmp);
    return rc;
}
