/* `iobench compare`, table-driven: each row builds a BASE and a CUR results
 * directory (summary.json only, which is all compare reads) holding one case
 * with known trials, runs compare with the row's options, and checks the
 * verdict of each metric, the case's verdict, compare.json's counts and the
 * exit status (1 exactly when the case regresses).
 *
 * Each row's expectation is worked out by hand from docs/harness.md: the
 * one-sided exact Mann-Whitney p of 4 against 4 fully separated trials is
 * 1/C(8,4) = 1/70 = 0.0143; with one pair crossed it is 2/70 = 0.0286; 3
 * against 3 can give at best 1/C(6,3) = 0.05, which is "too few" at alpha
 * 0.05 but judgeable at 0.1. A new verdict (load-limited, say) is one more
 * row; extra fields a verdict needs go into .cur_run / .base_run. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testsupport.h"

#define MAXT 8
#define OUT_CAP (64 * 1024)
#define RUN_MS 60000 /* compare of one case; gnuplot draws its chart */

/* One side of a case: its trials' throughput and p99, and how many more
 * trials failed (status "error", no figures). n == 0 and failed == 0: the
 * case is absent from that side. */
struct side {
    int n;
    double tput[MAXT];
    double p99[MAXT];
    int failed;
    const char *run; /* JSON object merged into each ok run, or NULL */
};

struct row {
    const char *name;
    struct side base, cur;
    const char *threshold, *alpha; /* options given, or NULL for the defaults */
    const char *tput, *p99;        /* expected metric verdicts; NULL: not compared */
    const char *verdict;           /* expected case verdict */
    const char *note;              /* expected note of a case not compared */
    int exit;
};

#define T4(a, b, c, d)                                                                             \
    {                                                                                              \
        a, b, c, d                                                                                 \
    }
#define SAME_T T4(100, 102, 98, 101)
#define SAME_L T4(1000, 1020, 980, 1010)
#define SIDE4(t, l)                                                                                \
    {                                                                                              \
        .n = 4, .tput = t, .p99 = l                                                                \
    }

static const char WITHIN[] = "within threshold", NS[] = "not significant", REG[] = "regression",
                  IMP[] = "improvement", FEW[] = "too few trials to judge",
                  NOCHANGE[] = "no significant change", NOTCMP[] = "not compared";

static const struct row rows[] = {
    {"unchanged", SIDE4(SAME_T, SAME_L), SIDE4(SAME_T, SAME_L), NULL, NULL, WITHIN, WITHIN,
     NOCHANGE, NULL, 0},
    /* -2% throughput, separated: inside the default 5%. */
    {"small_shift_is_within", SIDE4(SAME_T, SAME_L), SIDE4(T4(98, 99.5, 96, 99), SAME_L), NULL,
     NULL, WITHIN, WITHIN, NOCHANGE, NULL, 0},
    /* -10.7%, but the trials interleave: p = 0.24. */
    {"throughput_not_significant", SIDE4(T4(100, 110, 90, 105), SAME_L),
     SIDE4(T4(70, 112, 88, 95), SAME_L), NULL, NULL, NS, WITHIN, NOCHANGE, NULL, 0},
    {"throughput_regression", SIDE4(SAME_T, SAME_L), SIDE4(T4(80, 81, 79, 80), SAME_L), NULL, NULL,
     REG, WITHIN, REG, NULL, 1},
    {"throughput_improvement", SIDE4(SAME_T, SAME_L), SIDE4(T4(120, 121, 119, 122), SAME_L), NULL,
     NULL, IMP, WITHIN, IMP, NULL, 0},
    /* p99: lower is better, so a higher p99 is the regression. */
    {"p99_regression", SIDE4(SAME_T, SAME_L), SIDE4(SAME_T, T4(1500, 1520, 1480, 1510)), NULL, NULL,
     WITHIN, REG, REG, NULL, 1},
    {"p99_improvement", SIDE4(SAME_T, SAME_L), SIDE4(SAME_T, T4(700, 720, 680, 710)), NULL, NULL,
     WITHIN, IMP, IMP, NULL, 0},
    {"p99_not_significant", SIDE4(SAME_T, T4(1000, 1400, 900, 1100)),
     SIDE4(SAME_T, T4(1300, 950, 1450, 1200)), NULL, NULL, WITHIN, NS, NOCHANGE, NULL, 0},
    /* Any regression makes the case one, whatever the other metric did. */
    {"regression_beats_improvement", SIDE4(SAME_T, SAME_L),
     SIDE4(T4(120, 121, 119, 122), T4(1500, 1520, 1480, 1510)), NULL, NULL, IMP, REG, REG, NULL, 1},
    /* -50% over 3 against 3 trials: 1/20 = 0.05 cannot be < 0.05. */
    {"three_trials_too_few",
     {.n = 3, .tput = {100, 102, 98}, .p99 = {1000, 1020, 980}},
     {.n = 3, .tput = {50, 51, 49}, .p99 = {1000, 1020, 980}},
     NULL,
     NULL,
     FEW,
     FEW,
     FEW,
     NULL,
     0},
    /* --alpha: the same trials judged at 0.1, where 0.05 is small enough. */
    {"alpha_makes_three_trials_enough",
     {.n = 3, .tput = {100, 102, 98}, .p99 = {1000, 1020, 980}},
     {.n = 3, .tput = {50, 51, 49}, .p99 = {1000, 1020, 980}},
     NULL,
     "0.1",
     REG,
     WITHIN,
     REG,
     NULL,
     1},
    /* --alpha: one crossed pair gives p = 0.0286: a regression at 0.05 ... */
    {"crossed_pair_default_alpha", SIDE4(SAME_T, SAME_L), SIDE4(T4(90, 99, 91, 92), SAME_L), NULL,
     NULL, REG, WITHIN, REG, NULL, 1},
    /* ... and not significant at 0.02. */
    {"crossed_pair_alpha_0.02", SIDE4(SAME_T, SAME_L), SIDE4(T4(90, 99, 91, 92), SAME_L), NULL,
     "0.02", NS, WITHIN, NOCHANGE, NULL, 0},
    /* --threshold: -8% separated is a regression at 5% ... */
    {"eight_percent_default_threshold", SIDE4(SAME_T, SAME_L), SIDE4(T4(92, 94, 90, 93), SAME_L),
     NULL, NULL, REG, WITHIN, REG, NULL, 1},
    /* ... within a threshold of 10%, with or without the % sign. */
    {"threshold_10_percent", SIDE4(SAME_T, SAME_L), SIDE4(T4(92, 94, 90, 93), SAME_L), "10%", NULL,
     WITHIN, WITHIN, NOCHANGE, NULL, 0},
    {"threshold_10_plain", SIDE4(SAME_T, SAME_L), SIDE4(T4(92, 94, 90, 93), SAME_L), "10", NULL,
     WITHIN, WITHIN, NOCHANGE, NULL, 0},
    /* Not compared: every CUR trial failed, or the case is on one side only. */
    {"cur_trials_all_failed",
     SIDE4(SAME_T, SAME_L),
     {.failed = 4},
     NULL,
     NULL,
     NULL,
     NULL,
     NOTCMP,
     "no measured trial in CUR",
     0},
    {"base_trials_all_failed",
     {.failed = 4},
     SIDE4(SAME_T, SAME_L),
     NULL,
     NULL,
     NULL,
     NULL,
     NOTCMP,
     "no measured trial in BASE",
     0},
    {"only_in_cur",
     {.n = 0},
     SIDE4(SAME_T, SAME_L),
     NULL,
     NULL,
     NULL,
     NULL,
     NOTCMP,
     "only in CUR",
     0},
    {"only_in_base",
     SIDE4(SAME_T, SAME_L),
     {.n = 0},
     NULL,
     NULL,
     NULL,
     NULL,
     NOTCMP,
     "only in BASE",
     0},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* ---- results directories ------------------------------------------------ */

static json_t *run_json(const struct row *r, int trial, const char *status, double tput, double p99,
                        const char *extra)
{
    json_t *run = json_pack("{s:s, s:s, s:i, s:i, s:s}", "model", "select", "workload", r->name,
                            "concurrency", 1, "trial", trial, "status", status);
    cr_assert_not_null(run);
    if (strcmp(status, "ok") == 0) {
        json_object_set_new(run, "throughput_rps", json_real(tput));
        json_object_set_new(run, "latency_us", json_pack("{s:f}", "p99", p99));
        if (extra) {
            json_t *more = json_loads(extra, 0, NULL);
            cr_assert(json_is_object(more), "%s: .run is not a JSON object: %s", r->name, extra);
            json_object_update(run, more);
            json_decref(more);
        }
    }
    return run;
}

/* dir/summary.json holding side s of row r. */
static void write_side(const char *dir, const struct row *r, const struct side *s)
{
    json_t *runs = json_array();
    for (int i = 0; i < s->n; i++)
        json_array_append_new(runs, run_json(r, i + 1, "ok", s->tput[i], s->p99[i], s->run));
    for (int i = 0; i < s->failed; i++)
        json_array_append_new(runs, run_json(r, s->n + i + 1, "error", 0, 0, NULL));
    /* A case on each side, so that neither summary is empty: the same
     * four trials both times, "no significant change". */
    for (int i = 0; i < 4; i++)
        json_array_append_new(runs, json_pack("{s:s, s:s, s:i, s:i, s:s, s:f, s:{s:f}}", "model",
                                              "select", "workload", "other", "concurrency", 1,
                                              "trial", i + 1, "status", "ok", "throughput_rps",
                                              100.0 + i, "latency_us", "p99", 1000.0 + i));
    json_t *sum = json_pack("{s:s, s:i, s:b, s:o}", "schema", "iobench-summary", "schema_version",
                            1, "complete", 1, "runs", runs);
    cr_assert_not_null(sum);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    cr_assert_eq(json_dump_file(sum, path, JSON_INDENT(1)), 0, "writing %s", path);
    json_decref(sum);
}

/* ---- the checks ----------------------------------------------------------- */

static char tmpdir[64];

static void setup(void)
{
    cr_assert_eq(tmpdir_make(tmpdir, sizeof tmpdir, "compare"), 0);
    cr_assert_str_neq(iobench_path(), "", "iobench was not built");
}

static void teardown(void)
{
    if (tmpdir[0])
        tmpdir_remove(tmpdir);
    tmpdir[0] = 0;
}

static json_t *case_of(json_t *cmp, const char *workload)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cmp, "cases"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "workload")), workload) == 0)
            return c;
    }
    return NULL;
}

static const char *metric_verdict(json_t *c, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(c, "metrics"), key), "verdict"));
}

static json_int_t count(json_t *cmp, const char *key)
{
    return json_integer_value(json_object_get(cmp, key));
}

static void check_row(const struct row *r)
{
    char base[PATH_MAX], cur[PATH_MAX], out[PATH_MAX];
    snprintf(base, sizeof base, "%s/%s-base", tmpdir, r->name);
    snprintf(cur, sizeof cur, "%s/%s-cur", tmpdir, r->name);
    snprintf(out, sizeof out, "%s/%s-out", tmpdir, r->name);
    cr_assert(mkdir(base, 0755) == 0 && mkdir(cur, 0755) == 0, "%s: mkdir", r->name);
    write_side(base, r, &r->base);
    write_side(cur, r, &r->cur);

    const char *argv[12] = {iobench_path(), "compare", base, cur, "--out", out};
    int n = 6;
    if (r->threshold)
        argv[n++] = "--threshold", argv[n++] = r->threshold;
    if (r->alpha)
        argv[n++] = "--alpha", argv[n++] = r->alpha;
    argv[n] = NULL;
    static char text[OUT_CAP];
    int rc = run_capture(argv, text, sizeof text, RUN_MS);
    cr_expect_eq(rc, r->exit, "%s: exit %d, expected %d:\n%s", r->name, rc, r->exit, text);

    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/compare.json", out);
    json_t *cmp = json_load_file(path, 0, NULL);
    cr_assert_not_null(cmp, "%s: no %s:\n%s", r->name, path, text);
    json_t *c = case_of(cmp, r->name);
    cr_assert_not_null(c, "%s: the case is missing from compare.json", r->name);
    const char *verdict = json_string_value(json_object_get(c, "verdict"));
    cr_expect_str_eq(verdict, r->verdict, "%s: case verdict '%s', expected '%s':\n%s", r->name,
                     verdict, r->verdict, text);
    if (r->tput) {
        const char *t = metric_verdict(c, "throughput_rps"),
                   *l = metric_verdict(c, "latency_p99_us");
        cr_expect(t && strcmp(t, r->tput) == 0, "%s: throughput '%s', expected '%s'", r->name, t,
                  r->tput);
        cr_expect(l && strcmp(l, r->p99) == 0, "%s: p99 '%s', expected '%s'", r->name, l, r->p99);
    }
    if (r->note) {
        const char *note = json_string_value(json_object_get(c, "note"));
        cr_expect(note && strcmp(note, r->note) == 0, "%s: note '%s', expected '%s'", r->name, note,
                  r->note);
    }
    /* The counts and the overall verdict agree with the one case judged
     * (the filler case "other" is unchanged). */
    bool reg = strcmp(r->verdict, REG) == 0;
    cr_expect_eq(count(cmp, "regressions"), reg, "%s: regressions", r->name);
    cr_expect_eq(count(cmp, "improvements"), strcmp(r->verdict, IMP) == 0, "%s: improvements",
                 r->name);
    cr_expect_eq(count(cmp, "too_few_trials"), strcmp(r->verdict, FEW) == 0, "%s: too_few_trials",
                 r->name);
    cr_expect_eq(count(cmp, "not_compared"), strcmp(r->verdict, NOTCMP) == 0, "%s: not_compared",
                 r->name);
    cr_expect_str_eq(json_string_value(json_object_get(cmp, "verdict")), reg ? "regression" : "ok",
                     "%s: overall verdict", r->name);
    if (reg) {
        char want[128];
        snprintf(want, sizeof want, "REGRESSION select/%s/c1", r->name);
        cr_expect_not_null(strstr(text, want), "%s: no '%s' line:\n%s", r->name, want, text);
    }
    /* The options given are the ones compare.json says it used. */
    double thr = r->threshold ? strtod(r->threshold, NULL) : 5.0;
    double alpha = r->alpha ? strtod(r->alpha, NULL) : 0.05;
    cr_expect_float_eq(json_number_value(json_object_get(cmp, "threshold_pct")), thr, 1e-9,
                       "%s: threshold_pct", r->name);
    cr_expect_float_eq(json_number_value(json_object_get(cmp, "alpha")), alpha, 1e-12, "%s: alpha",
                       r->name);
    json_decref(cmp);
}

TestSuite(compare, .init = setup, .fini = teardown, .timeout = 300);

Test(compare, every_verdict_and_exit_status)
{
    for (size_t i = 0; i < NROWS; i++)
        check_row(&rows[i]);
}

/* The table covers each verdict at least once: a row dropped by mistake
 * would otherwise leave a rule untested. */
Test(compare, table_covers_every_verdict)
{
    const char *want[] = {WITHIN, NS, REG, IMP, FEW, NOCHANGE, NOTCMP};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        bool seen_tput = false, seen_p99 = false, seen_case = false;
        for (size_t i = 0; i < NROWS; i++) {
            seen_tput |= rows[i].tput && strcmp(rows[i].tput, want[w]) == 0;
            seen_p99 |= rows[i].p99 && strcmp(rows[i].p99, want[w]) == 0;
            seen_case |= strcmp(rows[i].verdict, want[w]) == 0;
        }
        if (want[w] == NOCHANGE || want[w] == NOTCMP)
            cr_expect(seen_case, "no row ends in case verdict '%s'", want[w]);
        else if (want[w] == FEW)
            cr_expect(seen_tput && seen_p99 && seen_case, "no row gives '%s'", want[w]);
        else
            cr_expect(seen_tput && seen_p99, "no row gives '%s' for both metrics", want[w]);
    }
}
