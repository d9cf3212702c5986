/* Tests of `iobench history`: E-divisive's statistic and Welch's t-test
 * against values worked out by hand and from published tables, the
 * detection on seeded synthetic series (a step, noise, an outlier, two
 * steps), and the subcommand and scripts/history.sh run as processes on
 * summary.json fixtures written here through jansson. */
#include "edivisive.h"
#include "testsupport.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_CAP (64 * 1024)
#define TRIALS 3
#define NOISE 0.03 /* relative standard deviation of one trial */
#define MAX_COMMITS 320

/* ---- Seeded noise ------------------------------------------------------- */

static uint64_t rng_state;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

/* A standard normal value (Box-Muller). */
static double gauss(void)
{
    return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

/* ---- In-process: the statistics ----------------------------------------- */

/* Fills x with ngroups commits of TRIALS trials each around level(g). */
struct synth {
    double x[100 * TRIALS];
    size_t starts[100];
    size_t n, ngroups;
};

static void synth_make(struct synth *s, size_t ngroups, uint64_t seed, double (*level)(size_t))
{
    rng_state = seed * 2654435761u + 1;
    s->n = 0;
    s->ngroups = ngroups;
    for (size_t g = 0; g < ngroups; g++) {
        s->starts[g] = s->n;
        for (int t = 0; t < TRIALS; t++)
            s->x[s->n++] = 1000 * level(g) * (1 + NOISE * gauss());
    }
}

static const struct ediv_params defaults = {.max_p = 0.001, .min_change = 0.05, .min_groups = 3};

static long detect(const struct synth *s, struct ediv_change *out, size_t cap)
{
    return edivisive_detect(s->x, s->n, s->starts, s->ngroups, &defaults, out, cap);
}

Test(edivisive, q_matches_values_computed_by_hand)
{
    /* {1,2 | 10,11}: between 9+10+8+9 = 36, within 1 and 1:
     * (2*2/4) * (2*36/4 - 1/1 - 1/1) = 16. */
    static const double a[] = {1, 2, 10, 11};
    cr_expect_float_eq(edivisive_q(a, 4, 2), 16.0, 1e-12);
    /* {1 | 2,10,11}: between 1+9+10 = 20, right within 8+9+1 = 18:
     * (3/4) * (2*20/3 - 18/3) = 5.5; the mirror split the same. */
    cr_expect_float_eq(edivisive_q(a, 4, 1), 5.5, 1e-12);
    cr_expect_float_eq(edivisive_q(a, 4, 3), 5.5, 1e-12);
    /* {0,0 | 3}: (2/3) * (2*6/2 - 0) = 4; {0 | 0,3}: (2/3) * (2*3/2 - 3) = 0. */
    static const double b[] = {0, 0, 3};
    cr_expect_float_eq(edivisive_q(b, 3, 2), 4.0, 1e-12);
    cr_expect_float_eq(edivisive_q(b, 3, 1), 0.0, 1e-12);
    cr_expect_float_eq(edivisive_q(b, 3, 0), 0.0, 1e-12);
}

Test(edivisive, welch_p_matches_student_t_tables)
{
    /* Equal variances 2.5 and n = 5 each: the standard error is 1 and
     * Welch's df is 8, so the mean difference is t itself. Two-sided
     * critical values of t with 8 df: 2.306004 (0.05), 3.355387 (0.01). */
    static const double a[] = {1, 2, 3, 4, 5};
    double b[5];
    for (int i = 0; i < 5; i++)
        b[i] = a[i] + 2.306004;
    cr_expect_float_eq(edivisive_welch_p(a, 5, b, 5), 0.05, 1e-6);
    for (int i = 0; i < 5; i++)
        b[i] = a[i] - 3.355387;
    cr_expect_float_eq(edivisive_welch_p(a, 5, b, 5), 0.01, 1e-6);
    cr_expect_float_eq(edivisive_welch_p(a, 5, a, 5), 1.0, 1e-12);
    cr_expect_eq(edivisive_welch_p(a, 1, b, 5), 1.0, "one value has no variance to test");
}

static size_t step_at;
static double one_step(size_t g)
{
    return g >= step_at ? 0.9 : 1.0;
}

/* Every position a step can take with three commits a side, ten seeds
 * each: always exactly one change point, at k. Not always exactly: when
 * the three trials of the commit at the step all fall near the other level
 * (0.5% of seeds with 3 trials of 3% noise) no method can tell which side
 * it belongs to, and the change point lands one commit off; the test allows
 * that for at most 1% of cases and never further than one commit. */
Test(edivisive, a_ten_percent_step_is_found_at_its_commit_only)
{
    struct synth s;
    struct ediv_change cp[8];
    int cases = 0, off_by_one = 0;
    for (step_at = 3; step_at <= 37; step_at++)
        for (uint64_t seed = 1; seed <= 10; seed++, cases++) {
            synth_make(&s, 40, seed, one_step);
            long n = detect(&s, cp, 8);
            cr_assert_eq(n, 1, "step at %zu, seed %lu: %ld change points", step_at,
                         (unsigned long)seed, n);
            cr_expect_lt(cp[0].p, 0.001);
            cr_expect_float_eq(cp[0].mean_after / cp[0].mean_before, 0.9, 0.04);
            if (cp[0].group != step_at) {
                cr_expect(cp[0].group + 1 == step_at || cp[0].group == step_at + 1,
                          "step at %zu, seed %lu: found at %zu", step_at, (unsigned long)seed,
                          cp[0].group);
                off_by_one++;
            }
        }
    cr_expect_leq(off_by_one * 100, cases, "%d of %d steps found one commit off", off_by_one,
                  cases);
}

static double flat(size_t g)
{
    (void)g;
    return 1.0;
}

Test(edivisive, fifty_commits_of_noise_give_none)
{
    struct synth s;
    struct ediv_change cp[8];
    for (uint64_t seed = 1; seed <= 50; seed++) {
        synth_make(&s, 50, seed, flat);
        cr_expect_eq(detect(&s, cp, 8), 0, "seed %lu: a change point in noise",
                     (unsigned long)seed);
    }
}

static size_t outlier_at;
static double one_outlier(size_t g)
{
    return g == outlier_at ? 1.3 : 1.0;
}

Test(edivisive, one_outlier_commit_gives_none)
{
    struct synth s;
    struct ediv_change cp[8];
    /* In the middle, at the very start and end, and where it is one of
     * the fewest commits a side may hold. */
    static const size_t at[] = {0, 2, 25, 47, 49};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        for (uint64_t seed = 1; seed <= 10; seed++) {
            outlier_at = at[i];
            synth_make(&s, 50, seed, one_outlier);
            cr_expect_eq(detect(&s, cp, 8), 0, "outlier at %zu, seed %lu: taken for a change",
                         at[i], (unsigned long)seed);
        }
}

static double up_then_down(size_t g)
{
    return g >= 15 && g < 35 ? 1.1 : 1.0;
}

static double two_rises(size_t g)
{
    return g < 15 ? 1.0 : g < 35 ? 1.1 : 1.21;
}

Test(edivisive, two_steps_give_two)
{
    struct synth s;
    struct ediv_change cp[8];
    double (*const shapes[])(size_t) = {up_then_down, two_rises};
    for (size_t k = 0; k < 2; k++)
        for (uint64_t seed = 1; seed <= 10; seed++) {
            synth_make(&s, 50, seed, shapes[k]);
            long n = detect(&s, cp, 8);
            cr_assert_eq(n, 2, "shape %zu, seed %lu: %ld change points", k, (unsigned long)seed, n);
            cr_expect_eq(cp[0].group, 15);
            cr_expect_eq(cp[1].group, 35);
        }
}

/* ---- Processes: fixtures ------------------------------------------------ */

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/iobench-historyXXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    cr_assert_str_neq(iobench_path(), "", "iobench was not built");
}

static void remove_tmpdir(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(history, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 120);

/* `iobench history DIRS... --out tmpdir/out EXTRA...` over the commit
 * directories tmpdir/c00 .. c(n-1), newest first when reversed. */
static int run_history_order(int ncommits, bool reversed, const char *const *extra, char *out,
                             size_t cap)
{
    static char dirs[MAX_COMMITS][96], outdir[96];
    static const char *argv[MAX_COMMITS + 16];
    argv[0] = iobench_path();
    argv[1] = "history";
    int a = 2;
    for (int i = 0; i < ncommits; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/c%02d", tmpdir, reversed ? ncommits - 1 - i : i);
        argv[a++] = dirs[i];
    }
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    argv[a++] = "--out";
    argv[a++] = outdir;
    for (; extra != NULL && *extra != NULL; extra++)
        argv[a++] = *extra;
    argv[a] = NULL;
    return run_capture(argv, out, cap, 60000);
}

static int run_history(int ncommits, const char *const *extra, char *out, size_t cap)
{
    return run_history_order(ncommits, false, extra, out, cap);
}

/* What differs between fixture commits. */
struct fixture {
    const char *kernel;                /* NULL: not recorded */
    double duration_s;                 /* the suite's */
    double select_level, thread_level; /* every metric (latency the inverse) */
    double select_throughput;          /* throughput alone */
};

static json_t *fixture_run(const char *model, double level, double throughput, int trial)
{
    double f = level * (1 + NOISE * gauss()), tput = f * throughput * (1 + NOISE * gauss());
    return json_pack("{s:s,s:s,s:i,s:i,s:s,s:f,s:{s:f,s:f,s:f}}", "model", model, "workload",
                     "plaintext", "concurrency", 16, "trial", trial, "status", "ok",
                     "throughput_rps", 20000 * tput, "latency_us", "p50", 100 / f, "p99", 400 / f,
                     "p99_9", 900 / f);
}

/* Writes tmpdir/cNN/summary.json for commit i; started i hours after the
 * first, so the order on the command line does not matter. */
static void write_commit(int i, const struct fixture *fx)
{
    char dir[128], path[160], sha[16], start[32];
    snprintf(dir, sizeof dir, "%s/c%02d", tmpdir, i);
    cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
    snprintf(sha, sizeof sha, "a%06d", i);
    snprintf(start, sizeof start, "2026-11-%02dT%02d:00:00Z", 1 + i / 24, i % 24);
    json_t *runs = json_array();
    for (int t = 1; t <= TRIALS; t++) {
        json_array_append_new(runs,
                              fixture_run("select", fx->select_level, fx->select_throughput, t));
        json_array_append_new(runs, fixture_run("thread", fx->thread_level, 1.0, t));
    }
    json_t *env = json_pack("{s:s,s:i,s:i,s:s}", "cpu_model", "Test CPU", "cores", 2,
                            "mem_total_kb", 8000000, "libcurl", "7.88.1");
    if (fx->kernel != NULL)
        json_object_set_new(env, "kernel", json_string(fx->kernel));
    json_t *s = json_pack("{s:s,s:i,s:b,s:s,s:s,s:{s:s,s:f,s:i,s:s},s:o,s:o}", "schema",
                          "iobench-summary", "schema_version", 1, "complete", 1, "git_commit", sha,
                          "start", start, "suite", "name", "test", "duration_s", fx->duration_s,
                          "trials", TRIALS, "file", dir, "env", env, "runs", runs);
    cr_assert_not_null(s);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    cr_assert_eq(json_dump_file(s, path, JSON_INDENT(1)), 0);
    json_decref(s);
}

static const struct fixture steady = {"6.1.0", 1.0, 1.0, 1.0, 1.0};

static json_t *load_history(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/out/history.json", tmpdir);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    cr_assert_not_null(j, "%s: %s", path, err.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "schema")), "iobench-history");
    return j;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static void assert_png(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fread(head, 1, 8, f), 8, "%s: too short", path);
    fclose(f);
    cr_assert_eq(memcmp(head, sig, 8), 0, "%s: not a PNG", path);
}

static void assert_svg(const char *path)
{
    static char text[1 << 20];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cr_assert_not_null(strstr(text, "<svg"), "%s: no <svg> element", path);
    cr_assert_not_null(strstr(text, "</svg>"), "%s: not a whole SVG", path);
}

/* ---- Processes: the subcommand ----------------------------------------- */

Test(history, a_step_is_reported_at_its_commit_with_charts_and_page)
{
    static char out[OUT_CAP];
    rng_state = 7;
    for (int i = 0; i < 24; i++) {
        struct fixture fx = steady;
        fx.select_throughput = i >= 12 ? 0.9 : 1.0; /* select loses 10% at a000012 */
        write_commit(i, &fx);
    }
    /* Newest first on the command line: history orders by start time. */
    int rc = run_history_order(24, true, NULL, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    json_t *j = load_history();
    json_t *cps = json_object_get(j, "change_points"), *cp;
    size_t i;
    size_t throughput = 0;
    json_array_foreach(cps, i, cp)
    {
        cr_expect_str_eq(json_string_value(json_object_get(cp, "model")), "select");
        cr_expect_str_eq(json_string_value(json_object_get(cp, "direction")), "regression");
        cr_expect_lt(json_real_value(json_object_get(cp, "p")), 0.001);
        throughput +=
            strcmp(json_string_value(json_object_get(cp, "metric")), "throughput_rps") == 0;
    }
    cr_expect_eq(throughput, 1, "%s", out);
    cr_assert_eq(json_array_size(cps), 1, "%s", out);
    cp = json_array_get(cps, 0);
    cr_expect_str_eq(json_string_value(json_object_get(cp, "commit")), "a000012", "%s", out);
    cr_expect_str_eq(json_string_value(json_object_get(cp, "previous_commit")), "a000011");
    cr_expect_eq(json_integer_value(json_object_get(j, "regressions")),
                 (json_int_t)json_array_size(cps));
    json_decref(j);
    cr_expect_not_null(strstr(out, "REGRESSION select/plaintext/c16 throughput_rps at a000012"),
                       "%s", out);

    char path[256];
    static const char *const metrics[] = {"throughput_rps", "latency_p50_us", "latency_p99_us",
                                          "latency_p99_9_us"};
    for (size_t m = 0; m < 4; m++) {
        snprintf(path, sizeof path, "%s/out/history-plaintext-c16-%s.png", tmpdir, metrics[m]);
        assert_png(path);
        snprintf(path, sizeof path, "%s/out/history-plaintext-c16-%s.svg", tmpdir, metrics[m]);
        assert_svg(path);
    }
    static char html[OUT_CAP];
    snprintf(path, sizeof path, "%s/out/index.html", tmpdir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    html[fread(html, 1, sizeof html - 1, f)] = '\0';
    fclose(f);
    cr_expect_null(strstr(html, "<script"), "index.html must be static");
    cr_expect_null(strstr(html, "http"), "index.html must not reach the network");
    /* Regressions first: the regressed chart before one without change. */
    const char *reg = strstr(html, "<section id=\"history-plaintext-c16-throughput_rps\"");
    const char *calm = strstr(html, "<section id=\"history-plaintext-c16-latency_p99_9_us\"");
    cr_assert(reg != NULL && calm != NULL, "%s", html);
    cr_expect_lt(strstr(html, "Regressions (1)"), reg);
    cr_expect_lt(reg, calm, "the chart with a regression must come first");
}

Test(history, a_machine_change_with_a_level_shift_is_no_change_point)
{
    static char out[OUT_CAP];
    rng_state = 11;
    for (int i = 0; i < 30; i++) {
        struct fixture fx = steady;
        if (i >= 15) { /* a faster machine: every figure moves 20% */
            fx.kernel = "6.5.0";
            fx.select_level = fx.thread_level = 1.2;
        }
        write_commit(i, &fx);
    }
    int rc = run_history(30, (const char *[]){"--no-charts", NULL}, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    json_t *j = load_history();
    cr_expect_eq(json_array_size(json_object_get(j, "change_points")), 0, "%s", out);
    json_t *segs = json_object_get(j, "segments");
    cr_assert_eq(json_array_size(segs), 2, "%s", out);
    json_t *second = json_array_get(segs, 1);
    cr_expect_str_eq(json_string_value(json_object_get(second, "first_commit")), "a000015");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(second, "changed"), 0)),
                     "kernel");
    json_decref(j);
}

Test(history, a_suite_change_starts_a_segment_and_an_unknown_field_does_not)
{
    static char out[OUT_CAP];
    rng_state = 13;
    for (int i = 0; i < 20; i++) {
        struct fixture fx = steady;
        if (i == 5)
            fx.kernel = NULL; /* an older summary without the field */
        if (i >= 10)
            fx.duration_s = 2.0;
        write_commit(i, &fx);
    }
    int rc = run_history(20, (const char *[]){"--no-charts", NULL}, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    json_t *j = load_history();
    json_t *segs = json_object_get(j, "segments");
    cr_assert_eq(json_array_size(segs), 2, "%s", out);
    json_t *second = json_array_get(segs, 1);
    cr_expect_str_eq(json_string_value(json_object_get(second, "first_commit")), "a000010");
    json_t *changed = json_object_get(second, "changed");
    cr_expect_eq(json_array_size(changed), 1);
    cr_expect_str_eq(json_string_value(json_array_get(changed, 0)), "suite_hash");
    json_decref(j);
}

Test(history, fail_since_exits_1_only_for_a_recent_regression)
{
    static char out[OUT_CAP];
    rng_state = 17;
    for (int i = 0; i < 20; i++) {
        struct fixture fx = steady;
        fx.thread_level = i >= 16 ? 0.8 : 1.0; /* the last four commits lose 20% */
        write_commit(i, &fx);
    }
    int rc = run_history(20, (const char *[]){"--no-charts", "--fail-since", "4", NULL}, out,
                         sizeof out);
    cr_expect_eq(rc, 1, "exit %d:\n%s", rc, out);
    rc = run_history(20, (const char *[]){"--no-charts", "--fail-since", "3", NULL}, out,
                     sizeof out);
    cr_expect_eq(rc, 0, "a regression 4 commits back is not within 3:\n%s", out);
    rc = run_history(20, (const char *[]){"--no-charts", NULL}, out, sizeof out);
    cr_expect_eq(rc, 0, "--fail-since is off by default:\n%s", out);
}

Test(history, a_long_history_is_thinned_for_drawing_but_not_for_detection)
{
    static char out[OUT_CAP];
    rng_state = 23;
    for (int i = 0; i < 300; i++) {
        struct fixture fx = steady;
        fx.select_throughput = i >= 290 ? 0.9 : 1.0; /* late: a cut history would miss it */
        write_commit(i, &fx);
    }
    int rc = run_history(300, (const char *[]){"--max-points", "50", NULL}, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    json_t *j = load_history();
    json_t *cps = json_object_get(j, "change_points");
    cr_assert_eq(json_array_size(cps), 1, "%s", out);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(cps, 0), "commit")),
                     "a000290");
    json_decref(j);
    /* Each model's block: a header and at most 50 rows. */
    char path[256], line[256];
    snprintf(path, sizeof path, "%s/out/data/history-plaintext-c16-throughput_rps.dat", tmpdir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    int rows = 0, blocks = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '"') {
            blocks++;
            rows = 0;
        } else if (line[0] != '\n') {
            cr_expect_leq(++rows, 50, "block %d has more than 50 points", blocks);
        }
    }
    fclose(f);
    cr_expect_eq(blocks, 2);
    cr_expect_geq(rows, 40, "the last block was thinned to %d points", rows);
}

/* One bad input: exit 2 and exactly one line naming what is wrong. */
static void expect_bad(const char *const *argv, const char *needle)
{
    static char out[OUT_CAP];
    int rc = run_capture(argv, out, sizeof out, 60000);
    cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
    cr_expect_eq(count_lines(out), 1, "more than one line:\n%s", out);
    cr_expect_not_null(strstr(out, needle), "no '%s' in: %s", needle, out);
}

Test(history, bad_inputs_exit_2_with_one_line)
{
    char good[128], empty[128], garbage[128], foreign[128], path[192], outdir[128];
    write_commit(0, &steady);
    snprintf(good, sizeof good, "%s/c00", tmpdir);
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    snprintf(empty, sizeof empty, "%s/empty", tmpdir);
    snprintf(garbage, sizeof garbage, "%s/garbage", tmpdir);
    snprintf(foreign, sizeof foreign, "%s/foreign", tmpdir);
    cr_assert_eq(mkdir(empty, 0755), 0);
    cr_assert_eq(mkdir(garbage, 0755), 0);
    cr_assert_eq(mkdir(foreign, 0755), 0);
    snprintf(path, sizeof path, "%s/summary.json", garbage);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"schema\": \"iobench-summary\", \"runs\": [", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/summary.json", foreign);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"name\": \"some other tool\", \"values\": [1, 2, 3]}\n", f);
    fclose(f);

    const char *bin = iobench_path();
    expect_bad((const char *[]){bin, "history", good, empty, "--out", outdir, NULL},
               "summary.json");
    expect_bad((const char *[]){bin, "history", garbage, good, "--out", outdir, NULL}, "garbage");
    expect_bad((const char *[]){bin, "history", good, foreign, "--out", outdir, NULL},
               "not an iobench-summary");
    expect_bad((const char *[]){bin, "history", "--out", outdir, NULL}, "no results directory");
    expect_bad((const char *[]){bin, "history", good, "--max-p", "2", NULL}, "--max-p");
    expect_bad((const char *[]){bin, "history", good, "--bogus", NULL}, "unknown option");
}

/* ---- Processes: the script CI runs ------------------------------------- */

Test(history, the_ci_script_appends_the_new_run_and_draws_the_page)
{
    static char out[OUT_CAP];
    char store[128], newrun[160], outdir[128], script[256], path[256];
    rng_state = 19;
    for (int i = 0; i < 12; i++)
        write_commit(i, &steady);
    /* The store holds earlier commits; the new run is c12. */
    snprintf(store, sizeof store, "%s/store", tmpdir);
    cr_assert_eq(mkdir(store, 0755), 0);
    for (int i = 0; i < 11; i++) {
        char from[128], to[160];
        snprintf(from, sizeof from, "%s/c%02d", tmpdir, i);
        snprintf(to, sizeof to, "%s/c%02d", store, i);
        cr_assert_eq(rename(from, to), 0, "%s: %s", from, strerror(errno));
    }
    snprintf(newrun, sizeof newrun, "%s/c11", tmpdir);
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    snprintf(script, sizeof script, "%s/scripts/history.sh", IOBENCH_SOURCE_DIR);
    setenv("IOBENCH", iobench_path(), 1);
    const char *argv[] = {"/bin/bash", script, store, newrun, outdir, NULL};
    int rc = run_capture(argv, out, sizeof out, 60000);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    snprintf(path, sizeof path, "%s/c11/summary.json", store);
    cr_expect_eq(access(path, R_OK), 0, "the new run was not kept in the store:\n%s", out);
    snprintf(path, sizeof path, "%s/index.html", outdir);
    cr_expect_eq(access(path, R_OK), 0, "%s", out);
    snprintf(path, sizeof path, "%s/history-plaintext-c16-throughput_rps.png", outdir);
    assert_png(path);
    cr_expect_not_null(strstr(out, "history: 12 commits"), "%s", out);

    /* --no-store: a pull request's run is drawn but not kept. */
    write_commit(12, &steady);
    snprintf(newrun, sizeof newrun, "%s/c12", tmpdir);
    const char *pr[] = {"/bin/bash", script, "--no-store", store, newrun, outdir, NULL};
    rc = run_capture(pr, out, sizeof out, 60000);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_expect_not_null(strstr(out, "history: 13 commits"), "%s", out);
    snprintf(path, sizeof path, "%s/c12", store);
    cr_expect_neq(access(path, F_OK), 0, "--no-store kept the run");
}
