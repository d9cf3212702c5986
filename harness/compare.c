/* compare: `iobench compare BASE CUR`, case by case (model, workload,
 * concurrency), over throughput (higher is better) and p99 latency (lower
 * is better).
 *
 * A case regresses when its median moves the worse way by more than the
 * threshold AND a one-sided Mann-Whitney U test over the trials gives
 * p < alpha. When the trial counts cannot reach p < alpha at all, the case
 * is "too few trials to judge": a verdict is never guessed. */
#include "iobench.h"
#include "plot.h"
#include "stats_mw.h"
#include "atomicfile.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMP_MAX_TRIALS 64
#define CMP_MAX_CASES 4096
#define CMP_CHART_MAX 50 /* bars of the chart: 220 + 30 px each fits a page */

static const char V_REGRESSION[] = "regression";
static const char V_IMPROVEMENT[] = "improvement";
static const char V_TOO_FEW[] = "too few trials to judge";
static const char V_NOT_SIGNIFICANT[] = "not significant";
static const char V_WITHIN[] = "within threshold";
static const char V_NO_CHANGE[] = "no significant change";
static const char V_NOT_COMPARED[] = "not compared";
static const char V_LOAD_LIMITED[] = "load-limited";

struct metric {
    const char *field; /* summary run field */
    const char *key;   /* compare.json key */
    const char *unit;  /* for the table */
    bool higher_is_better;
};

static const struct metric metrics[] = {
    {"throughput_rps", "throughput_rps", "req/s", true},
    {"latency_us.p99", "latency_p99_us", "p99 us", false},
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

struct judged {
    size_t nb, nc;
    size_t sat_b, sat_c; /* trials on each side where ioload was saturated */
    double base_median, cur_median;
    double change_pct; /* NAN when the base median is 0 */
    double p;          /* one-sided, in the direction the median moved */
    const char *verdict;
};

struct cmp_case {
    const char *model, *workload;
    long concurrency;
    struct judged m[NMETRICS];
    const char *verdict;
    const char *note; /* why not compared */
};

struct cmp_opts {
    double alpha, threshold;
};

/* Whether saturation leaves a change past the threshold undecided. A
 * saturated throughput is a lower bound: a fall is claimed only when the
 * lower (current) figure is true, a rise only when the lower (base) figure
 * is. A latency measured while ioload was saturated holds ioload's own
 * delay, so no latency comparison with a saturated side is decided. */
static bool load_limited(const struct metric *mt, const struct judged *j, bool moved_worse)
{
    if (!mt->higher_is_better)
        return j->sat_b > 0 || j->sat_c > 0;
    return moved_worse ? j->sat_c > 0 : j->sat_b > 0;
}

static void judge(const struct metric *mt, const double *b, size_t nb, const double *c, size_t nc,
                  const struct cmp_opts *o, struct judged *j)
{
    j->nb = nb;
    j->nc = nc;
    j->base_median = stats_median(b, nb);
    j->cur_median = stats_median(c, nc);
    j->change_pct = j->base_median != 0
                        ? (j->cur_median - j->base_median) / fabs(j->base_median) * 100.0
                        : (j->cur_median == 0 ? 0.0 : NAN);
    /* "Worse" means lower throughput or higher latency. */
    double sign = mt->higher_is_better ? -1.0 : 1.0;
    bool moved_worse = sign * (j->cur_median - j->base_median) > 0;
    double p_worse = 1, p_better = 1;
    if (mt->higher_is_better) {
        stats_mw_p_greater(b, nb, c, nc, &p_worse);
        stats_mw_p_greater(c, nc, b, nb, &p_better);
    } else {
        stats_mw_p_greater(c, nc, b, nb, &p_worse);
        stats_mw_p_greater(b, nb, c, nc, &p_better);
    }
    j->p = moved_worse ? p_worse : p_better;
    bool beyond = isnan(j->change_pct) || fabs(j->change_pct) > o->threshold;
    if (stats_mw_min_p(nb, nc) >= o->alpha)
        j->verdict = V_TOO_FEW;
    else if (!mt->higher_is_better && load_limited(mt, j, moved_worse))
        j->verdict = V_LOAD_LIMITED;
    else if (!beyond)
        j->verdict = V_WITHIN;
    else if (load_limited(mt, j, moved_worse))
        j->verdict = V_LOAD_LIMITED;
    else if (j->p < o->alpha)
        j->verdict = moved_worse ? V_REGRESSION : V_IMPROVEMENT;
    else
        j->verdict = V_NOT_SIGNIFICANT;
}

/* Case verdict: any regression wins, then any unjudgeable metric, then an
 * improvement, then a change saturation left undecided. */
static const char *case_verdict(const struct cmp_case *k)
{
    bool too_few = false, improved = false, limited = false;
    for (size_t i = 0; i < NMETRICS; i++) {
        if (k->m[i].verdict == V_REGRESSION)
            return V_REGRESSION;
        too_few |= k->m[i].verdict == V_TOO_FEW;
        improved |= k->m[i].verdict == V_IMPROVEMENT;
        limited |= k->m[i].verdict == V_LOAD_LIMITED;
    }
    return too_few    ? V_TOO_FEW
           : improved ? V_IMPROVEMENT
           : limited  ? V_LOAD_LIMITED
                      : V_NO_CHANGE;
}

static bool has_case(const struct cmp_case *cases, size_t n, const char *model,
                     const char *workload, long conc)
{
    for (size_t i = 0; i < n; i++)
        if (cases[i].concurrency == conc && strcmp(cases[i].model, model) == 0 &&
            strcmp(cases[i].workload, workload) == 0)
            return true;
    return false;
}

/* Every (model, workload, concurrency) of either summary, BASE's order first. */
static size_t collect_cases(json_t *base, json_t *cur, struct cmp_case *cases, size_t cap)
{
    size_t n = 0;
    json_t *sums[] = {base, cur};
    for (size_t s = 0; s < 2; s++) {
        size_t i;
        json_t *run;
        json_array_foreach(json_object_get(sums[s], "runs"), i, run)
        {
            const char *model = json_string_value(json_object_get(run, "model"));
            const char *workload = json_string_value(json_object_get(run, "workload"));
            long conc = (long)json_integer_value(json_object_get(run, "concurrency"));
            if (model == NULL || workload == NULL || n == cap ||
                has_case(cases, n, model, workload, conc))
                continue;
            cases[n] = (struct cmp_case){.model = model, .workload = workload, .concurrency = conc};
            n++;
        }
    }
    return n;
}

/* Whether summary has a run of case k, whatever its status. */
static bool in_summary(json_t *summary, const struct cmp_case *k)
{
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(summary, "runs"), i, run)
    {
        const char *model = json_string_value(json_object_get(run, "model"));
        const char *workload = json_string_value(json_object_get(run, "workload"));
        if (model != NULL && workload != NULL && strcmp(model, k->model) == 0 &&
            strcmp(workload, k->workload) == 0 &&
            json_integer_value(json_object_get(run, "concurrency")) == k->concurrency)
            return true;
    }
    return false;
}

static void compare_case(json_t *base, json_t *cur, const struct cmp_opts *o, struct cmp_case *k)
{
    for (size_t i = 0; i < NMETRICS; i++) {
        double b[CMP_MAX_TRIALS], c[CMP_MAX_TRIALS];
        size_t nb = plot_samples(base, k->model, k->workload, k->concurrency, metrics[i].field, b,
                                 CMP_MAX_TRIALS);
        size_t nc = plot_samples(cur, k->model, k->workload, k->concurrency, metrics[i].field, c,
                                 CMP_MAX_TRIALS);
        if (nb == 0 || nc == 0) {
            k->verdict = V_NOT_COMPARED;
            if (!in_summary(base, k))
                k->note = "only in CUR";
            else if (!in_summary(cur, k))
                k->note = "only in BASE";
            else
                k->note = nb == 0 && nc == 0 ? "no measured trial in either"
                          : nb == 0          ? "no measured trial in BASE"
                                             : "no measured trial in CUR";
            return;
        }
        k->m[i].sat_b = plot_saturated(base, k->model, k->workload, k->concurrency);
        k->m[i].sat_c = plot_saturated(cur, k->model, k->workload, k->concurrency);
        judge(&metrics[i], b, nb, c, nc, o, &k->m[i]);
    }
    k->verdict = case_verdict(k);
}

static void case_label(const struct cmp_case *k, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s/c%ld", k->model, k->workload, k->concurrency);
}

/* A finite double, or JSON null. */
static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *case_json(const struct cmp_case *k)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s?}", "model", k->model, "workload", k->workload,
                          "concurrency", (json_int_t)k->concurrency, "verdict", k->verdict, "note",
                          k->note);
    json_t *ms = json_object();
    if (j == NULL || ms == NULL) {
        json_decref(j);
        json_decref(ms);
        return NULL;
    }
    for (size_t i = 0; k->verdict != V_NOT_COMPARED && i < NMETRICS; i++) {
        const struct judged *m = &k->m[i];
        json_object_set_new(
            ms, metrics[i].key,
            json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:s}", "better",
                      metrics[i].higher_is_better ? "higher" : "lower", "base_median",
                      num_or_null(m->base_median), "current_median", num_or_null(m->cur_median),
                      "change_pct", num_or_null(m->change_pct), "p", num_or_null(m->p), "n_base",
                      (json_int_t)m->nb, "n_current", (json_int_t)m->nc, "saturated_base",
                      (json_int_t)m->sat_b, "saturated_current", (json_int_t)m->sat_c, "verdict",
                      m->verdict));
    }
    json_object_set_new(j, "metrics", ms);
    return j;
}

static void print_table(const struct cmp_case *cases, size_t n)
{
    int w = (int)strlen("case");
    for (size_t i = 0; i < n; i++) {
        char label[512];
        case_label(&cases[i], label, sizeof label);
        if ((int)strlen(label) > w)
            w = (int)strlen(label);
    }
    printf("%-*s  %-7s %12s %12s %9s %7s %5s  %s\n", w, "case", "metric", "base", "current",
           "change", "p", "n", "verdict");
    for (size_t i = 0; i < n; i++) {
        const struct cmp_case *k = &cases[i];
        char label[512];
        case_label(k, label, sizeof label);
        if (k->verdict == V_NOT_COMPARED) {
            printf("%-*s  %-7s %12s %12s %9s %7s %5s  %s (%s)\n", w, label, "-", "-", "-", "-", "-",
                   "-", k->verdict, k->note);
            continue;
        }
        for (size_t m = 0; m < NMETRICS; m++) {
            const struct judged *j = &k->m[m];
            char change[32], nn[16];
            if (isnan(j->change_pct))
                snprintf(change, sizeof change, "n/a");
            else
                snprintf(change, sizeof change, "%+.1f%%", j->change_pct);
            snprintf(nn, sizeof nn, "%zux%zu", j->nb, j->nc);
            printf("%-*s  %-7s %12.1f %12.1f %9s %7.4f %5s  %s\n", w, m == 0 ? label : "",
                   metrics[m].unit, j->base_median, j->cur_median, change, j->p, nn, j->verdict);
        }
    }
}

/* Whether a case's chart bar is worth a reader's look: a metric past the
 * threshold, or significant. */
static bool chart_worthy(const struct cmp_case *k, const struct cmp_opts *o)
{
    if (k->verdict == V_NOT_COMPARED)
        return false;
    for (size_t m = 0; m < NMETRICS; m++)
        if (isnan(k->m[m].change_pct) || fabs(k->m[m].change_pct) > o->threshold ||
            k->m[m].p < o->alpha)
            return true;
    return false;
}

/* The size of a case's largest change, for the chart's order. */
static double change_size(const struct cmp_case *k)
{
    double size = 0;
    for (size_t m = 0; m < NMETRICS; m++)
        if (isfinite(k->m[m].change_pct) && fabs(k->m[m].change_pct) > size)
            size = fabs(k->m[m].change_pct);
    return size;
}

static int cmp_change_desc(const void *a, const void *b)
{
    double x = change_size(*(const struct cmp_case *const *)a);
    double y = change_size(*(const struct cmp_case *const *)b);
    return (x < y) - (x > y);
}

/* compare.dat rows: "case" change-per-metric significant-per-metric. */
static void chart_rows(FILE *f, const struct cmp_case *const *drawn, size_t n,
                       const struct cmp_opts *o)
{
    fputs("# case throughput-change-% p99-change-% throughput-significant p99-significant\n", f);
    for (size_t i = 0; i < n; i++) {
        char label[512];
        case_label(drawn[i], label, sizeof label);
        for (char *s = label; *s; s++)
            if (*s == '"' || (unsigned char)*s <= ' ')
                *s = '_';
        fprintf(f, "\"%s\"", label);
        for (size_t m = 0; m < NMETRICS; m++)
            fprintf(f, isnan(drawn[i]->m[m].change_pct) ? " nan" : " %.4f",
                    drawn[i]->m[m].change_pct);
        for (size_t m = 0; m < NMETRICS; m++)
            fprintf(f, " %d", drawn[i]->m[m].p < o->alpha);
        fputc('\n', f);
    }
}

/* compare.dat and the chart of the changes: the cases past the threshold
 * or significant, largest change first, at most a page of them; the rest
 * are counted under the chart. 0, 1 when there is nothing to draw, or -1. */
static int compare_chart(const struct cmp_case *cases, size_t n, const char *out,
                         const struct cmp_opts *o)
{
    const struct cmp_case **worthy = calloc(n ? n : 1, sizeof *worthy);
    char *buf = NULL, dat[PATH_MAX], outbase[PATH_MAX], vars[512], note[256];
    size_t len = 0, nw = 0, compared = 0;
    FILE *f = worthy ? open_memstream(&buf, &len) : NULL;
    if (f == NULL) {
        free(worthy);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        compared += cases[i].verdict != V_NOT_COMPARED;
        if (chart_worthy(&cases[i], o))
            worthy[nw++] = &cases[i];
    }
    qsort(worthy, nw, sizeof *worthy, cmp_change_desc);
    size_t drawn = nw < CMP_CHART_MAX ? nw : CMP_CHART_MAX;
    chart_rows(f, worthy, drawn, o);
    free(worthy);
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    snprintf(note, sizeof note,
             "%zu of %zu cases drawn (past the threshold or significant, largest change first); "
             "all %zu are in compare.json",
             drawn, compared, compared);
    int rc = -1;
    if (drawn == 0) {
        printf("compare: no case past the threshold or significant; no chart\n");
        rc = 1;
    } else if (snprintf(dat, sizeof dat, "%s/compare.dat", out) < (int)sizeof dat &&
               snprintf(outbase, sizeof outbase, "%s/compare", out) < (int)sizeof outbase &&
               atomicfile_write(dat, buf, len) == 0) {
        snprintf(vars, sizeof vars, "ncases=%zu; threshold=%g; alpha=%g; footnote='%s'", drawn,
                 o->threshold, o->alpha, note);
        rc = plot_render("compare.gp", dat, outbase, "change of the medians, CUR against BASE",
                         vars);
    }
    free(buf);
    return rc;
}

static void compare_usage(FILE *f)
{
    fputs("usage: iobench compare BASE CUR [--alpha 0.05] [--threshold 5%] [--out DIR]\n"
          "  Compares two results directories case by case over throughput and p99\n"
          "  latency. A case regresses when its median is worse by more than the\n"
          "  threshold and a one-sided Mann-Whitney U test gives p < alpha. Writes\n"
          "  compare.json and compare.png/.svg into DIR (default CUR).\n"
          "  Exit status: 0 no regression, 1 regression, 2 bad usage or unreadable input.\n",
          f);
}

static json_t *load_side(const char *what, const char *dir)
{
    char err[512];
    json_t *s = plot_load_summary(dir, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "iobench compare: %s: %s\n", what, err);
        return NULL;
    }
    if (!json_is_true(json_object_get(s, "complete")))
        fprintf(stderr, "iobench compare: warning: %s %s is incomplete\n", what, dir);
    return s;
}

int compare_main(int argc, char **argv)
{
    static const struct option opts[] = {{"alpha", required_argument, NULL, 'a'},
                                         {"threshold", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct cmp_opts o = {.alpha = 0.05, .threshold = 5.0};
    const char *out = NULL;
    int c;
    optind = 0; /* glibc: a full re-scan, whatever parsed argv before */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (util_parse_double(optarg, 1e-9, 0.5, &o.alpha) != 0) {
                fprintf(stderr,
                        "iobench compare: --alpha wants a number in (0, 0.5], not "
                        "'%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 't':
            if (util_parse_percent(optarg, 0.0, 1000.0, &o.threshold) != 0) {
                fprintf(stderr,
                        "iobench compare: --threshold wants a percentage like 5%%, not "
                        "'%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            compare_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "iobench compare: bad option '%s' (see iobench compare --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "iobench compare: wants BASE and CUR results directories (see "
                        "iobench compare --help)\n");
        return 2;
    }
    const char *base_dir = argv[optind], *cur_dir = argv[optind + 1];
    if (out == NULL)
        out = cur_dir;
    json_t *base = load_side("BASE", base_dir);
    json_t *cur = base ? load_side("CUR", cur_dir) : NULL;
    struct cmp_case *cases = calloc(CMP_MAX_CASES, sizeof *cases);
    if (base == NULL || cur == NULL || cases == NULL) {
        if (cases == NULL)
            fprintf(stderr, "iobench compare: out of memory\n");
        json_decref(base);
        json_decref(cur);
        free(cases);
        return 2;
    }
    size_t n = collect_cases(base, cur, cases, CMP_MAX_CASES);
    size_t regressions = 0, improvements = 0, too_few = 0, not_compared = 0, limited = 0;
    for (size_t i = 0; i < n; i++) {
        compare_case(base, cur, &o, &cases[i]);
        regressions += cases[i].verdict == V_REGRESSION;
        improvements += cases[i].verdict == V_IMPROVEMENT;
        too_few += cases[i].verdict == V_TOO_FEW;
        not_compared += cases[i].verdict == V_NOT_COMPARED;
        limited += cases[i].verdict == V_LOAD_LIMITED;
    }
    print_table(cases, n);

    const char *verdict = regressions > 0 ? V_REGRESSION : "ok";
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:f, s:f, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:[]}",
                          "schema", "iobench-compare", "schema_version", 1, "base", base_dir,
                          "current", cur_dir, "alpha", o.alpha, "threshold_pct", o.threshold,
                          "verdict", verdict, "cases_compared", (json_int_t)(n - not_compared),
                          "regressions", (json_int_t)regressions, "improvements",
                          (json_int_t)improvements, "too_few_trials", (json_int_t)too_few,
                          "not_compared", (json_int_t)not_compared, "load_limited",
                          (json_int_t)limited, "cases");
    int rc = regressions > 0 ? 1 : 0;
    char path[PATH_MAX];
    if (j != NULL) {
        json_t *arr = json_object_get(j, "cases");
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, case_json(&cases[i]));
    }
    /* Without compare.json a CI job has no verdict to read: that is a
     * failure to compare (2), unless the table already shows a regression. */
    if (util_mkdir_p(out) != 0) {
        fprintf(stderr, "iobench compare: mkdir %s: %s\n", out, strerror(errno));
        rc = rc ? rc : 2;
    } else {
        int chart = compare_chart(cases, n, out, &o);
        if (chart < 0)
            fprintf(stderr, "iobench compare: warning: no chart of the changes\n");
        if (j != NULL)
            json_object_set_new(j, "chart", json_boolean(chart == 0));
        if (j == NULL || snprintf(path, sizeof path, "%s/compare.json", out) >= (int)sizeof path ||
            util_json_save(path, j) != 0) {
            fprintf(stderr, "iobench compare: cannot write %s/compare.json\n", out);
            rc = rc ? rc : 2;
        }
    }

    for (size_t i = 0; i < n; i++) {
        if (cases[i].verdict != V_REGRESSION)
            continue;
        char label[512];
        case_label(&cases[i], label, sizeof label);
        printf("REGRESSION %s:", label);
        for (size_t m = 0; m < NMETRICS; m++)
            if (cases[i].m[m].verdict == V_REGRESSION)
                printf(" %s %+.1f%% (p=%.4f)", metrics[m].unit, cases[i].m[m].change_pct,
                       cases[i].m[m].p);
        putchar('\n');
    }
    printf("verdict: %s (%zu cases: %zu regressions, %zu improvements, %zu too few trials to "
           "judge, %zu not compared, %zu load-limited; alpha %g, threshold %g%%)\n",
           verdict, n, regressions, improvements, too_few, not_compared, limited, o.alpha,
           o.threshold);
    if (too_few > 0 && too_few + not_compared == n)
        printf("compare: no case had enough trials for p < %g; use more trials (4 against 4 "
               "at least for 0.05)\n",
               o.alpha);
    json_decref(j);
    json_decref(base);
    json_decref(cur);
    free(cases);
    return rc;
}
