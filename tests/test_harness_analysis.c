/* Tests of the harness's analysis side: the Mann-Whitney U test
 * (harness/stats_mw.c) against brute-force enumeration and published
 * tables, and `iobench compare`, `plot` and `report` run as processes on
 * tests/data/results-fixture (a real run; see its README.md) and on copies
 * of it rewritten to show one thing: saturated runs (compare's lower-bound
 * rules, hollow points, marked cells), a one-level workload (bars), many
 * cases (a compare chart that still fits a page). */
#include "stats_mw.h"
#include "testsupport.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURE IOBENCH_SOURCE_DIR "/tests/data/results-fixture"
#define OUT_CAP (64 * 1024)

/* ---- Mann-Whitney U -------------------------------------------------- */

/* P(U >= observed) by visiting every split of the pooled values into nx
 * and ny: the definition of the exact one-sided p-value, ties included. */
static double brute_p_greater(const double *x, int nx, const double *y, int ny)
{
    double pool[32];
    int n = nx + ny;
    for (int i = 0; i < n; i++)
        pool[i] = i < nx ? x[i] : y[i - nx];
    double observed = stats_mw_u(x, (size_t)nx, y, (size_t)ny);
    long total = 0, tail = 0;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) != nx)
            continue;
        double u = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if ((mask >> i & 1) && !(mask >> j & 1))
                    u += pool[i] > pool[j] ? 1.0 : pool[i] == pool[j] ? 0.5 : 0.0;
        total++;
        tail += u >= observed;
    }
    return (double)tail / (double)total;
}

Test(stats_mw, u_counts_pairs_and_half_ties)
{
    double x[] = {1, 2, 3}, y[] = {2, 0};
    /* x>y pairs: 1>0, 2>0, 3>2, 3>0 = 4, one tie (2,2) = 0.5 */
    cr_assert_float_eq(stats_mw_u(x, 3, y, 2), 4.5, 1e-12);
    cr_assert_float_eq(stats_mw_u(y, 2, x, 3) + stats_mw_u(x, 3, y, 2), 6.0, 1e-12);
}

Test(stats_mw, exact_p_matches_enumeration_with_and_without_ties)
{
    srand(12345);
    for (int iter = 0; iter < 400; iter++) {
        int nx = 1 + rand() % 7, ny = 1 + rand() % 7;
        /* Few distinct values on odd iterations: many ties. */
        int spread = iter % 2 ? 4 : 1000;
        double x[8], y[8];
        for (int i = 0; i < nx; i++)
            x[i] = rand() % spread;
        for (int i = 0; i < ny; i++)
            y[i] = rand() % spread + (iter % 3 == 0 ? 2 : 0);
        double p;
        cr_assert_eq(stats_mw_p_greater(x, (size_t)nx, y, (size_t)ny, &p), 0);
        double want = brute_p_greater(x, nx, y, ny);
        cr_assert(fabs(p - want) < 1e-12, "nx=%d ny=%d: p=%.15g, enumeration %.15g", nx, ny, p,
                  want);
    }
}

Test(stats_mw, exact_p_matches_published_tables)
{
    /* Mann-Whitney tables: n1 = n2 = 5, P(U <= 4) = 12/252 = 0.0476 (the
     * one-sided 5% critical value), P(U <= 5) = 19/252 = 0.0754. */
    double x[] = {3, 6, 8, 9, 10}, y[] = {1, 2, 4, 5, 7}; /* U_x = 21 = 25 - 4 */
    double p;
    cr_assert_eq(stats_mw_p_greater(x, 5, y, 5, &p), 0);
    cr_assert_float_eq(p, 12.0 / 252.0, 1e-12);
    cr_assert_float_eq(p, 0.0476, 1e-4);
    double x2[] = {3, 5, 8, 9, 10}, y2[] = {1, 2, 4, 6, 7}; /* U_x = 20 */
    cr_assert_eq(stats_mw_p_greater(x2, 5, y2, 5, &p), 0);
    cr_assert_float_eq(p, 0.0754, 1e-4);
    /* n1 = n2 = 4, complete separation: 1 / C(8, 4) = 1/70. */
    double a[] = {5, 6, 7, 8}, b[] = {1, 2, 3, 4};
    cr_assert_eq(stats_mw_p_greater(a, 4, b, 4, &p), 0);
    cr_assert_float_eq(p, 1.0 / 70.0, 1e-12);
    cr_assert_eq(stats_mw_p_greater(b, 4, a, 4, &p), 0);
    cr_assert_float_eq(p, 1.0, 1e-12);
}

Test(stats_mw, min_p_says_when_trials_are_too_few)
{
    cr_assert_float_eq(stats_mw_min_p(2, 2), 1.0 / 6.0, 1e-12);
    cr_assert_float_eq(stats_mw_min_p(3, 3), 1.0 / 20.0, 1e-12);
    cr_assert_float_eq(stats_mw_min_p(4, 4), 1.0 / 70.0, 1e-12);
    cr_assert_float_eq(stats_mw_min_p(3, 5), 1.0 / 56.0, 1e-12);
    cr_assert_float_eq(stats_mw_min_p(0, 5), 1.0, 1e-12);
    /* 3 against 3 can never give p < 0.05: the smallest p is 0.05. */
    double a[] = {4, 5, 6}, b[] = {1, 2, 3}, p;
    cr_assert_eq(stats_mw_p_greater(a, 3, b, 3, &p), 0);
    cr_assert_float_eq(p, stats_mw_min_p(3, 3), 1e-12);
}

Test(stats_mw, large_samples_use_a_sane_approximation)
{
    double x[40], y[40], p;
    for (int i = 0; i < 40; i++) {
        x[i] = 1000 + i;
        y[i] = i;
    }
    cr_assert_eq(stats_mw_p_greater(x, 40, y, 40, &p), 0);
    cr_assert(p < 1e-6, "separated samples: p=%g", p);
    cr_assert_eq(stats_mw_p_greater(y, 40, y, 40, &p), 0);
    cr_assert(p > 0.4 && p < 0.6, "identical samples: p=%g", p);
    cr_assert_eq(stats_mw_p_greater(x, 40, x, 0, &p), -1);
}

Test(stats_mw, order_statistics)
{
    double v[] = {5, 1, 4, 2};
    cr_assert_float_eq(stats_median(v, 4), 3.0, 1e-12);
    cr_assert_float_eq(stats_median(v, 3), 4.0, 1e-12);
    cr_assert_float_eq(stats_min(v, 4), 1.0, 1e-12);
    cr_assert_float_eq(stats_max(v, 4), 5.0, 1e-12);
    cr_assert(isnan(stats_median(v, 0)));
}

/* ---- iobench as a process -------------------------------------------- */

/* Runs iobench with args (NULL-terminated, without argv[0]); its stdout
 * and stderr land in out. Returns the exit status, -1 if it did not exit. */
static int run_iobench(const char *const *args, char *out, size_t cap)
{
    char log[] = "/tmp/iobench-analysis-outXXXXXX";
    int fd = mkstemp(log);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    const char *argv[16] = {iobench_path()};
    size_t n = 1;
    for (; args[n - 1] != NULL && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR);
    ssize_t len = pread(fd, out, cap - 1, 0);
    out[len > 0 ? len : 0] = '\0';
    close(fd);
    unlink(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/iobench-analysisXXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    cr_assert_str_neq(iobench_path(), "", "iobench was not built");
}

static void remove_tmpdir(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    cr_assert_not_null(in, "%s: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    cr_assert_not_null(out, "%s: %s", to, strerror(errno));
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    cr_assert_eq(ferror(in), 0);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

/* Copies the fixture's summary.json and runs/ into dst (created). */
static void copy_fixture(const char *dst)
{
    char a[512], b[512];
    cr_assert(mkdir(dst, 0755) == 0 || errno == EEXIST);
    snprintf(a, sizeof a, "%s/summary.json", FIXTURE);
    snprintf(b, sizeof b, "%s/summary.json", dst);
    copy_file(a, b);
    snprintf(b, sizeof b, "%s/runs", dst);
    cr_assert_eq(mkdir(b, 0755), 0);
    DIR *d = opendir(FIXTURE "/runs");
    cr_assert_not_null(d, "the fixture has no runs/ directory");
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(a, sizeof a, "%s/runs/%s", FIXTURE, e->d_name);
        snprintf(b, sizeof b, "%s/runs/%s", dst, e->d_name);
        copy_file(a, b);
    }
    closedir(d);
}

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    cr_assert_not_null(j, "%s:%d: %s", path, err.line, err.text);
    return j;
}

/* Rewrites dir/summary.json: throughput of every run times factor, and
 * runs with a trial above max_trial dropped (0: keep all). */
static void rewrite_summary(const char *dir, double factor, long max_trial)
{
    char path[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *s = load_json(path);
    json_t *runs = json_object_get(s, "runs");
    for (size_t i = 0; i < json_array_size(runs);) {
        json_t *r = json_array_get(runs, i);
        if (max_trial > 0 && json_integer_value(json_object_get(r, "trial")) > max_trial) {
            json_array_remove(runs, i);
            continue;
        }
        json_t *t = json_object_get(r, "throughput_rps");
        if (json_is_number(t))
            json_object_set_new(r, "throughput_rps", json_real(json_number_value(t) * factor));
        i++;
    }
    cr_assert_eq(json_dump_file(s, path, JSON_INDENT(2)), 0);
    json_decref(s);
}

/* The fixture's ok runs' throughput per case, to know which cases a 20%
 * drop separates completely (those must regress whatever the noise). */
struct fx_case {
    char model[32], workload[64];
    long conc;
    double tput[16];
    int n;
};

static int fixture_cases(struct fx_case *c, int cap)
{
    json_t *s = load_json(FIXTURE "/summary.json");
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(s, "runs"), i, r)
    {
        const char *st = json_string_value(json_object_get(r, "status"));
        if (st == NULL || strcmp(st, "ok") != 0)
            continue;
        const char *m = json_string_value(json_object_get(r, "model"));
        const char *w = json_string_value(json_object_get(r, "workload"));
        long conc = (long)json_integer_value(json_object_get(r, "concurrency"));
        int k = 0;
        while (k < n &&
               !(strcmp(c[k].model, m) == 0 && strcmp(c[k].workload, w) == 0 && c[k].conc == conc))
            k++;
        if (k == n) {
            cr_assert_lt(n, cap);
            memset(&c[n], 0, sizeof c[n]);
            snprintf(c[n].model, sizeof c[n].model, "%s", m);
            snprintf(c[n].workload, sizeof c[n].workload, "%s", w);
            c[n].conc = conc;
            n++;
        }
        if (c[k].n < 16)
            c[k].tput[c[k].n++] = json_number_value(json_object_get(r, "throughput_rps"));
    }
    json_decref(s);
    return n;
}

TestSuite(analysis, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 120);

Test(analysis, compare_with_itself_finds_no_regression)
{
    static char out[OUT_CAP];
    const char *args[] = {"compare", FIXTURE, FIXTURE, "--out", tmpdir, NULL};
    int rc = run_iobench(args, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_assert_null(strstr(out, "REGRESSION"), "%s", out);
    char path[512];
    snprintf(path, sizeof path, "%s/compare.json", tmpdir);
    json_t *j = load_json(path);
    cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "ok");
    cr_assert_gt(json_array_size(json_object_get(j, "cases")), 0);
    json_decref(j);
}

Test(analysis, compare_names_the_cases_whose_throughput_dropped)
{
    static char out[OUT_CAP];
    char cur[256];
    snprintf(cur, sizeof cur, "%s/cur", tmpdir);
    copy_fixture(cur);
    rewrite_summary(cur, 0.8, 0);
    const char *args[] = {"compare", FIXTURE, cur, NULL};
    int rc = run_iobench(args, out, sizeof out);
    cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);

    struct fx_case cases[64];
    int n = fixture_cases(cases, 64), separated = 0;
    for (int k = 0; k < n; k++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < cases[k].n; i++) {
            lo = fmin(lo, cases[k].tput[i]);
            hi = fmax(hi, cases[k].tput[i]);
        }
        /* Every lowered trial below every original: U = 0, p = 1/C(2n, n). */
        if (hi * 0.8 < lo && stats_mw_min_p((size_t)cases[k].n, (size_t)cases[k].n) < 0.05) {
            char want[160];
            snprintf(want, sizeof want, "REGRESSION %.60s/%.60s/c%ld:", cases[k].model,
                     cases[k].workload, cases[k].conc);
            cr_expect_not_null(strstr(out, want), "%s not named in:\n%s", want, out);
            separated++;
        }
    }
    cr_assert_gt(separated, 0, "no case of the fixture is separated by a 20%% drop");

    char path[512];
    snprintf(path, sizeof path, "%s/compare.json", cur);
    json_t *j = load_json(path);
    cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "regression");
    cr_assert_geq(json_integer_value(json_object_get(j, "regressions")), separated);
    json_decref(j);
    /* The chart of the changes, beside the verdict. */
    snprintf(path, sizeof path, "%s/compare.png", cur);
    cr_assert_eq(access(path, R_OK), 0, "no %s", path);
}

Test(analysis, compare_refuses_to_judge_two_trials_against_two)
{
    static char out[OUT_CAP];
    char base[256], cur[256];
    snprintf(base, sizeof base, "%s/base", tmpdir);
    snprintf(cur, sizeof cur, "%s/cur", tmpdir);
    copy_fixture(base);
    copy_fixture(cur);
    rewrite_summary(base, 1.0, 2);
    rewrite_summary(cur, 0.5, 2);
    const char *args[] = {"compare", base, cur, "--alpha", "0.05", "--threshold", "5%", NULL};
    int rc = run_iobench(args, out, sizeof out);
    cr_assert_eq(rc, 0, "a halved throughput over 2 trials is no verdict; exit %d:\n%s", rc, out);
    cr_assert_not_null(strstr(out, "too few trials to judge"), "%s", out);
    cr_assert_null(strstr(out, "REGRESSION"), "%s", out);
}

Test(analysis, compare_bad_usage_exits_2)
{
    static char out[OUT_CAP];
    const char *one[] = {"compare", FIXTURE, NULL};
    cr_assert_eq(run_iobench(one, out, sizeof out), 2, "%s", out);
    const char *alpha[] = {"compare", FIXTURE, FIXTURE, "--alpha", "x", NULL};
    cr_assert_eq(run_iobench(alpha, out, sizeof out), 2, "%s", out);
    const char *missing[] = {"compare", "/nonexistent-iobench", FIXTURE, NULL};
    cr_assert_eq(run_iobench(missing, out, sizeof out), 2, "%s", out);
}

static void slug(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++)
        buf[i] = ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                  (s[i] >= '0' && s[i] <= '9'))
                     ? s[i]
                     : '-';
    buf[i] = '\0';
}

static void assert_png(const char *path)
{
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "no %s", path);
    cr_assert_gt(st.st_size, 2000, "%s: only %ld bytes", path, (long)st.st_size);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(head, 1, 8, f), 8);
    fclose(f);
    cr_assert_eq(memcmp(head, magic, 8), 0, "%s is not a PNG", path);
}

static void assert_svg(const char *path)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "no %s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    cr_assert(strncmp(buf, "<?xml", 5) == 0 || strncmp(buf, "<svg", 4) == 0,
              "%s does not start as XML", path);
    cr_assert(n > 6 && strcmp(buf + n - 6, "</svg>") == 0, "%s does not end with </svg>", path);
}

Test(analysis, plot_draws_png_and_svg_for_every_workload)
{
    static char out[OUT_CAP];
    char dir[256];
    snprintf(dir, sizeof dir, "%s/res", tmpdir);
    copy_fixture(dir);
    const char *args[] = {"plot", dir, NULL};
    int rc = run_iobench(args, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);

    struct fx_case cases[64];
    int n = fixture_cases(cases, 64), workloads = 0;
    static const char *const kinds[] = {"throughput", "latency", "cpu", "spectrum"};
    for (int k = 0; k < n; k++) {
        bool seen = false;
        for (int e = 0; e < k; e++)
            seen |= strcmp(cases[e].workload, cases[k].workload) == 0;
        if (seen)
            continue;
        workloads++;
        char s[64], path[512];
        slug(cases[k].workload, s, sizeof s);
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            snprintf(path, sizeof path, "%s/plots/%s-%s.png", dir, kinds[i], s);
            assert_png(path);
            snprintf(path, sizeof path, "%s/plots/%s-%s.svg", dir, kinds[i], s);
            assert_svg(path);
        }
    }
    cr_assert_geq(workloads, 2, "the fixture should hold two workloads");
    char path[512];
    snprintf(path, sizeof path, "%s/plots/memory.png", dir);
    assert_png(path);
    snprintf(path, sizeof path, "%s/plots/memory.svg", dir);
    assert_svg(path);
}

Test(analysis, plot_without_results_fails_cleanly)
{
    static char out[OUT_CAP];
    const char *args[] = {"plot", tmpdir, NULL};
    cr_assert_eq(run_iobench(args, out, sizeof out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "summary.json"), "%s", out);
    const char *two[] = {"plot", tmpdir, tmpdir, NULL};
    cr_assert_eq(run_iobench(two, out, sizeof out), 2, "%s", out);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "no %s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

Test(analysis, report_names_every_model_in_markdown_and_latex)
{
    static char out[OUT_CAP];
    char dir[256], md[512], tex[512];
    snprintf(dir, sizeof dir, "%s/res", tmpdir);
    copy_fixture(dir);
    const char *plot[] = {"plot", dir, NULL};
    cr_assert_eq(run_iobench(plot, out, sizeof out), 0, "%s", out);
    const char *args[] = {"report", dir, NULL};
    int rc = run_iobench(args, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    snprintf(md, sizeof md, "%s/report.md", dir);
    snprintf(tex, sizeof tex, "%s/report.tex", dir);
    char *m = slurp(md), *t = slurp(tex);

    struct fx_case cases[64];
    int n = fixture_cases(cases, 64);
    for (int k = 0; k < n; k++) {
        cr_expect_not_null(strstr(m, cases[k].model), "report.md lacks %s", cases[k].model);
        cr_expect_not_null(strstr(t, cases[k].model), "report.tex lacks %s", cases[k].model);
    }
    /* The charts are linked, and the LaTeX is a whole document. */
    cr_expect_not_null(strstr(m, "](plots/throughput-"), "%s", m);
    cr_expect_not_null(strstr(t, "\\includegraphics"), "no \\includegraphics");
    cr_expect_not_null(strstr(t, "\\iobenchbegin"));
    cr_expect_not_null(strstr(t, "\\iobenchend"));
    int depth = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++; /* an escaped brace does not count */
            continue;
        }
        depth += *p == '{' ? 1 : *p == '}' ? -1 : 0;
        cr_assert_geq(depth, 0, "report.tex: unbalanced }");
    }
    cr_expect_eq(depth, 0, "report.tex: unbalanced {");
    free(m);
    free(t);
}

/* ---- saturation: compare's lower bounds, plot's hollow points -------- */

/* Rewrites dir/summary.json: throughput of every run times factor, and
 * load_saturated set to saturated on every run. */
static void rewrite_saturation(const char *dir, double factor, bool saturated)
{
    rewrite_summary(dir, factor, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *s = load_json(path);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(s, "runs"), i, r)
        json_object_set_new(r, "load_saturated", json_boolean(saturated));
    cr_assert_eq(json_dump_file(s, path, JSON_INDENT(2)), 0);
    json_decref(s);
}

/* The verdict compare.json gives metric in the fixture's first case that
 * a 20% change separates completely; NULL when it has none. */
static const char *separated_verdict(json_t *cmp, const char *metric, char *buf, size_t cap)
{
    struct fx_case cases[64];
    int n = fixture_cases(cases, 64);
    for (int k = 0; k < n; k++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < cases[k].n; i++) {
            lo = fmin(lo, cases[k].tput[i]);
            hi = fmax(hi, cases[k].tput[i]);
        }
        /* Scaled by 0.8 (or 1.25) every trial falls below (rises above)
         * every original one: U at its extreme, p = 1/C(2n, n). */
        if (!(hi * 0.8 < lo) ||
            stats_mw_min_p((size_t)cases[k].n, (size_t)cases[k].n) >= 0.05)
            continue;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(cmp, "cases"), i, c)
        {
            if (strcmp(json_string_value(json_object_get(c, "model")), cases[k].model) == 0 &&
                strcmp(json_string_value(json_object_get(c, "workload")), cases[k].workload) == 0 &&
                json_integer_value(json_object_get(c, "concurrency")) == cases[k].conc) {
                json_t *m = json_object_get(json_object_get(c, "metrics"), metric);
                snprintf(buf, cap, "%s", json_string_value(json_object_get(m, "verdict")));
                return buf;
            }
        }
    }
    return NULL;
}

/* compare BASE CUR after scaling CUR's throughput by factor, with each
 * side's runs saturated or not; returns compare.json, exit status in *rc. */
static json_t *compare_saturated(double factor, bool base_sat, bool cur_sat, int *rc, char *out,
                                 size_t cap)
{
    char base[256], cur[256], path[512];
    snprintf(base, sizeof base, "%s/base", tmpdir);
    snprintf(cur, sizeof cur, "%s/cur", tmpdir);
    copy_fixture(base);
    copy_fixture(cur);
    rewrite_saturation(base, 1.0, base_sat);
    rewrite_saturation(cur, factor, cur_sat);
    const char *args[] = {"compare", base, cur, NULL};
    *rc = run_iobench(args, out, cap);
    snprintf(path, sizeof path, "%s/compare.json", cur);
    return load_json(path);
}

/* Compares the fixture against a copy with throughput times factor, each
 * side saturated or not, and checks the exit status and the throughput
 * verdict of a case the change separates; removes both copies after. */
static void expect_throughput_verdict(double factor, bool base_sat, bool cur_sat, int want_rc,
                                      const char *want)
{
    static char out[OUT_CAP];
    char v[64], dir[256];
    int rc;
    json_t *j = compare_saturated(factor, base_sat, cur_sat, &rc, out, sizeof out);
    cr_expect_eq(rc, want_rc, "x%g, saturated base %d cur %d: exit %d:\n%s", factor, base_sat,
                 cur_sat, rc, out);
    cr_assert_not_null(separated_verdict(j, "throughput_rps", v, sizeof v));
    cr_expect_str_eq(v, want, "x%g, saturated base %d cur %d", factor, base_sat, cur_sat);
    if (strcmp(want, "load-limited") == 0)
        cr_expect_gt(json_integer_value(json_object_get(j, "load_limited")), 0);
    json_decref(j);
    static const char *const sides[] = {"base", "cur"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/%s", tmpdir, sides[i]);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

Test(analysis, compare_a_fall_to_a_saturated_figure_is_load_limited)
{
    expect_throughput_verdict(0.8, false, true, 0, "load-limited");
    expect_throughput_verdict(0.8, true, true, 0, "load-limited");
}

Test(analysis, compare_a_fall_from_a_saturated_figure_is_still_a_regression)
{
    expect_throughput_verdict(0.8, true, false, 1, "regression");
}

Test(analysis, compare_a_rise_is_an_improvement_only_from_a_true_figure)
{
    expect_throughput_verdict(1.25, true, false, 0, "load-limited");
    expect_throughput_verdict(1.25, true, true, 0, "load-limited");
    expect_throughput_verdict(1.25, false, true, 0, "improvement");
}

Test(analysis, compare_latency_with_a_saturated_side_is_load_limited)
{
    static char out[OUT_CAP];
    int rc;
    json_t *j = compare_saturated(1.0, false, true, &rc, out, sizeof out);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "cases"), i, c)
    {
        json_t *m = json_object_get(json_object_get(c, "metrics"), "latency_p99_us");
        cr_expect_str_eq(json_string_value(json_object_get(m, "verdict")), "load-limited",
                         "case %zu", i);
        cr_expect_eq(json_integer_value(json_object_get(m, "saturated_current")),
                     json_integer_value(json_object_get(m, "n_current")));
    }
    json_decref(j);
}

/* Marks every run of the first run's case in dir/summary.json saturated;
 * its model, workload and concurrency into the arguments. */
static void saturate_first_case(const char *dir, char *model, char *workload, long *conc)
{
    char path[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *s = load_json(path);
    json_t *runs = json_object_get(s, "runs"), *first = json_array_get(runs, 0), *r;
    snprintf(model, 64, "%s", json_string_value(json_object_get(first, "model")));
    snprintf(workload, 64, "%s", json_string_value(json_object_get(first, "workload")));
    *conc = (long)json_integer_value(json_object_get(first, "concurrency"));
    size_t i;
    json_array_foreach(runs, i, r)
    {
        bool same = strcmp(json_string_value(json_object_get(r, "model")), model) == 0 &&
                    strcmp(json_string_value(json_object_get(r, "workload")), workload) == 0 &&
                    json_integer_value(json_object_get(r, "concurrency")) == *conc;
        json_object_set_new(r, "load_saturated", json_boolean(same));
    }
    cr_assert_eq(json_dump_file(s, path, JSON_INDENT(2)), 0);
    json_decref(s);
}

/* Drops dir/summary.json's runs of workload above its lowest level. */
static void keep_one_level(const char *dir, const char *workload)
{
    char path[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *s = load_json(path);
    json_t *runs = json_object_get(s, "runs");
    json_int_t lowest = -1;
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        json_int_t c = json_integer_value(json_object_get(r, "concurrency"));
        if (strcmp(json_string_value(json_object_get(r, "workload")), workload) == 0 &&
            (lowest < 0 || c < lowest))
            lowest = c;
    }
    for (i = 0; i < json_array_size(runs);) {
        r = json_array_get(runs, i);
        if (strcmp(json_string_value(json_object_get(r, "workload")), workload) == 0 &&
            json_integer_value(json_object_get(r, "concurrency")) != lowest)
            json_array_remove(runs, i);
        else
            i++;
    }
    cr_assert_eq(json_dump_file(s, path, JSON_INDENT(2)), 0);
    json_decref(s);
}

/* A copy of the fixture in tmpdir/res (into dir) with its first case
 * saturated (named in model, wl, conc), plotted. */
static void plotted_saturated_fixture(char *dir, size_t cap, char *model, char *wl, long *conc)
{
    static char out[OUT_CAP];
    snprintf(dir, cap, "%s/res", tmpdir);
    copy_fixture(dir);
    saturate_first_case(dir, model, wl, conc);
    const char *args[] = {"plot", dir, NULL};
    cr_assert_eq(run_iobench(args, out, sizeof out), 0, "%s", out);
}

Test(analysis, plot_draws_a_saturated_point_hollow_and_says_so)
{
    char dir[256], model[64], wl[64], s[64], path[512];
    long conc;
    plotted_saturated_fixture(dir, sizeof dir, model, wl, &conc);
    slug(wl, s, sizeof s);
    snprintf(path, sizeof path, "%s/plots/data/throughput-%s.dat", dir, s);
    char *dat = slurp(path);
    /* Each row ends with the saturated flag: 1 exactly on the case's row. */
    int flagged = 0, plain = 0;
    const char *block = NULL;
    for (char *line = strtok(dat, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '"') {
            block = line;
            continue;
        }
        long level;
        cr_assert_eq(sscanf(line, "%ld", &level), 1, "%s", line);
        bool want = strncmp(block + 1, model, strlen(model)) == 0 &&
                    block[1 + strlen(model)] == '"' && level == conc;
        char flag = line[strlen(line) - 1];
        cr_expect_eq(flag, want ? '1' : '0', "row \"%s\" of %s", line, block);
        flagged += flag == '1';
        plain += flag == '0';
    }
    cr_expect_eq(flagged, 1);
    cr_expect_gt(plain, 0);
    free(dat);
    /* The key says what hollow means, in the SVG gnuplot wrote. */
    snprintf(path, sizeof path, "%s/plots/throughput-%s.svg", dir, s);
    char *svg = slurp(path);
    cr_expect_not_null(strstr(svg, "lower bound"), "no key entry for hollow points");
    free(svg);
}

Test(analysis, plot_draws_a_one_level_workload_as_bars)
{
    static char out[OUT_CAP];
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/res", tmpdir);
    copy_fixture(dir);
    keep_one_level(dir, "plaintext");
    const char *args[] = {"plot", dir, NULL};
    cr_assert_eq(run_iobench(args, out, sizeof out), 0, "%s", out);
    /* Bars: one row per model, named; lines: a block per model, by level. */
    static const char *const kinds[] = {"throughput", "latency", "cpu"};
    for (size_t k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/plots/data/%s-plaintext.dat", dir, kinds[k]);
        char *dat = slurp(path);
        int rows = 0;
        for (char *line = strtok(dat, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            cr_expect_eq(line[0], '"', "%s: a bar row starts with its model: %s", path, line);
            rows++;
        }
        cr_expect_eq(rows, 2, "%s: one row per model of the fixture", path);
        free(dat);
        snprintf(path, sizeof path, "%s/plots/%s-plaintext.png", dir, kinds[k]);
        assert_png(path);
    }
    snprintf(path, sizeof path, "%s/plots/data/throughput-io-bound.dat", dir);
    char *dat = slurp(path);
    cr_expect(dat[0] == '"' && strchr(dat, '\n') != NULL && strchr(dat, '\n')[1] >= '0' &&
                  strchr(dat, '\n')[1] <= '9',
              "io-bound, at two levels, stays lines:\n%s", dat);
    free(dat);
}

Test(analysis, report_has_findings_a_section_per_workload_and_no_machine_path)
{
    static char out[OUT_CAP];
    char dir[256], md[512], tex[512], model[64], wl[64];
    long conc;
    plotted_saturated_fixture(dir, sizeof dir, model, wl, &conc);
    const char *args[] = {"report", dir, NULL};
    cr_assert_eq(run_iobench(args, out, sizeof out), 0, "%s", out);
    snprintf(md, sizeof md, "%s/report.md", dir);
    snprintf(tex, sizeof tex, "%s/report.tex", dir);
    char *m = slurp(md), *t = slurp(tex);
    cr_expect_not_null(strstr(m, "\n## Findings\n\n"), "no Findings section");
    cr_expect_not_null(strstr(m, "\n- "), "no finding listed");
    cr_expect_not_null(strstr(t, "\\subsection{Findings}"));
    struct fx_case cases[64];
    int n = fixture_cases(cases, 64);
    for (int k = 0; k < n; k++) {
        char want[160];
        snprintf(want, sizeof want, "## Workload %s\n", cases[k].workload);
        cr_expect_not_null(strstr(m, want), "report.md lacks \"%s\"", want);
        snprintf(want, sizeof want, "\\subsection{Workload %s}", cases[k].workload);
        cr_expect_not_null(strstr(t, want), "report.tex lacks \"%s\"", want);
        snprintf(want, sizeof want, "| %.32s | %ld | ", cases[k].model, cases[k].conc);
        cr_expect_not_null(strstr(m, want), "no table row \"%s\"", want);
    }
    /* The saturated case is marked, and the mark explained once. */
    cr_expect_not_null(strstr(m, "ioload was saturated in at least one trial"));
    cr_expect_not_null(strstr(t, "ioload was saturated in at least one trial"));
    /* The fixture's summary records its suite by an absolute path. */
    static const char *const paths[] = {"/work/", "/tmp/", "/home/", IOBENCH_SOURCE_DIR};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        cr_expect_null(strstr(m, paths[i]), "report.md holds %s", paths[i]);
        cr_expect_null(strstr(t, paths[i]), "report.tex holds %s", paths[i]);
    }
    free(m);
    free(t);
}

/* pdflatex's path on PATH into buf, or false. */
static bool find_pdflatex(char *buf, size_t cap)
{
    const char *path = getenv("PATH");
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
        if (snprintf(buf, cap, "%s/pdflatex", d) < (int)cap && access(buf, X_OK) == 0)
            return true;
    return false;
}

Test(analysis, report_tex_compiles_with_pdflatex)
{
    static char out[OUT_CAP];
    char pdflatex[512], dir[256], path[512];
    if (!find_pdflatex(pdflatex, sizeof pdflatex))
        cr_skip_test("pdflatex not installed (scripts/deps.sh report, or apt-get install "
                     "texlive-latex-base texlive-latex-recommended)");
    snprintf(dir, sizeof dir, "%s/res", tmpdir);
    copy_fixture(dir);
    const char *plot[] = {"plot", dir, NULL}, *report[] = {"report", dir, NULL};
    cr_assert_eq(run_iobench(plot, out, sizeof out), 0, "%s", out);
    cr_assert_eq(run_iobench(report, out, sizeof out), 0, "%s", out);
    snprintf(path, sizeof path, "%s/pdflatex.log", dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || chdir(dir) != 0 || dup2(fd, STDOUT_FILENO) < 0 ||
            dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        execl(pdflatex, "pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex",
              (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR);
    char *log = slurp(path);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pdflatex failed:\n%s",
              strlen(log) > 3000 ? log + strlen(log) - 3000 : log);
    free(log);
    snprintf(path, sizeof path, "%s/report.pdf", dir);
    char *pdf = slurp(path);
    cr_expect_eq(strncmp(pdf, "%PDF", 4), 0, "report.pdf is not a PDF");
    free(pdf);
}

/* The height of a PNG, from its IHDR chunk. */
static unsigned png_height(const char *path)
{
    unsigned char h[24];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "no %s", path);
    cr_assert_eq(fread(h, 1, 24, f), 24);
    fclose(f);
    return (unsigned)h[20] << 24 | (unsigned)h[21] << 16 | (unsigned)h[22] << 8 | h[23];
}

/* Twenty renamed copies of the fixture's runs in dir/summary.json, model k's
 * throughput times factor^(k+1): 20x its cases, each changed by its own size. */
static void multiply_models(const char *dir, double factor)
{
    char path[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *s = load_json(path), *runs = json_object_get(s, "runs"), *all = json_array();
    for (int k = 0; k < 20; k++) {
        size_t i;
        json_t *r;
        json_array_foreach(runs, i, r)
        {
            json_t *c = json_deep_copy(r);
            char name[64];
            snprintf(name, sizeof name, "m%d-%s", k, json_string_value(json_object_get(r, "model")));
            json_object_set_new(c, "model", json_string(name));
            json_object_set_new(c, "throughput_rps",
                                json_real(json_number_value(json_object_get(r, "throughput_rps")) *
                                          pow(factor, k + 1)));
            json_array_append_new(all, c);
        }
    }
    json_object_set_new(s, "runs", all);
    cr_assert_eq(json_dump_file(s, path, JSON_INDENT(2)), 0);
    json_decref(s);
}

Test(analysis, compare_chart_fits_a_page_largest_change_first)
{
    static char out[OUT_CAP];
    char base[256], cur[256], path[512];
    snprintf(base, sizeof base, "%s/base", tmpdir);
    snprintf(cur, sizeof cur, "%s/cur", tmpdir);
    copy_fixture(base);
    copy_fixture(cur);
    multiply_models(base, 1.0);
    multiply_models(cur, 0.9);
    const char *args[] = {"compare", base, cur, NULL};
    int rc = run_iobench(args, out, sizeof out);
    cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);
    snprintf(path, sizeof path, "%s/compare.json", cur);
    json_t *j = load_json(path);
    size_t ncases = json_array_size(json_object_get(j, "cases"));
    json_decref(j);
    cr_assert_gt(ncases, 100, "the full list stays in compare.json");
    snprintf(path, sizeof path, "%s/compare.png", cur);
    cr_expect_leq(png_height(path), 2000, "compare.png is taller than a page");
    snprintf(path, sizeof path, "%s/compare.dat", cur);
    char *dat = slurp(path);
    double last = INFINITY;
    int rows = 0;
    for (char *line = strtok(dat, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        double tput, p99;
        const char *end = strchr(line + 1, '"');
        cr_assert_not_null(end, "%s", line);
        cr_assert_eq(sscanf(end + 1, "%lf %lf", &tput, &p99), 2, "%s", line);
        double size = fmax(fabs(tput), isnan(p99) ? 0 : fabs(p99));
        cr_expect_leq(size, last + 1e-9, "not sorted by change: %s", line);
        cr_expect_gt(size, 5.0, "within the threshold yet drawn: %s", line);
        last = size;
        rows++;
    }
    cr_expect_gt(rows, 0);
    cr_expect_lt((size_t)rows, ncases, "every case drawn: the chart is not a page's worth");
    free(dat);
}
