/* test_harness_offered: open-loop workloads at fractions of each model's
 * closed-loop capacity ("offered" and "capacity_from" in a suite).
 *
 * A suite with a closed-loop workload and an open-loop one at 50% and 120%
 * of it runs end to end: every offered run's rate is its fraction of the
 * same model's measured capacity (exactly, from the summary's own figures),
 * its send lag is recorded, each fraction is a case of its own, and plot
 * and report draw and tabulate the offered-load curve. Suites that name a
 * capacity that cannot exist are refused before any load. */
#include <criterion/criterion.h>

#include <jansson.h>

#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testsupport.h"

static char tmpdir[64]; /* /tmp/iobench-TAG.XXXXXX */

static void setup(void)
{
    cr_assert_eq(tmpdir_make(tmpdir, sizeof tmpdir, "offered"), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    cr_expect_eq(tmpdir_remove(tmpdir), 0);
}

TestSuite(offered, .init = setup, .fini = teardown, .timeout = 120);

static void write_suite(const char *name, const char *workloads)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.json", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "{\"name\": \"%s\", \"models\": [\"select\", \"thread\"], \"trials\": 1,"
            " \"duration_s\": 0.4, \"warmup_s\": 0.1, \"threads\": 1, \"timeout_s\": 2,"
            " \"workloads\": [%s]}\n",
            name, workloads);
    cr_assert_eq(fclose(f), 0);
}

/* Runs `iobench ARGS` with stderr to tmpdir/err; its exit status. */
static int iobench(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/out' 2>'%s/err'", iobench_path(), args, tmpdir, tmpdir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *file_text(const char *name)
{
    static char buf[65536];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static json_t *run_entry(json_t *runs, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0)
            return r;
    }
    cr_assert_fail("no run %s in the summary", id);
    return NULL;
}

Test(offered, each_fraction_is_its_share_of_the_measured_capacity)
{
    write_suite("open", "{\"name\": \"plain\", \"path\": \"/\", \"levels\": [4]},"
                        "{\"name\": \"plain-open\", \"path\": \"/\", \"levels\": [4],"
                        " \"offered\": [0.5, 1.2], \"capacity_from\": \"plain\"}");
    char args[600];
    snprintf(args, sizeof args, "run --quiet --suite %s/open.json --out %s/res", tmpdir, tmpdir);
    cr_assert_eq(iobench(args), 0, "iobench run: %s", file_text("err"));
    snprintf(args, sizeof args, "%s/res/latest/summary.json", tmpdir);
    json_t *s = json_load_file(args, 0, NULL);
    cr_assert_not_null(s);
    json_t *runs = json_object_get(s, "runs");
    cr_expect_eq(json_array_size(runs), 6, "2 models x (1 closed + 2 offered)");
    static const char *const models[] = {"select", "thread"};
    for (int m = 0; m < 2; m++) {
        char id[128];
        snprintf(id, sizeof id, "%s-plain-c4-t1", models[m]);
        double capacity = json_number_value(json_object_get(run_entry(runs, id), "throughput_rps"));
        cr_assert_gt(capacity, 0);
        static const struct {
            const char *tag, *wl;
            double frac;
        } pts[] = {{"o050", "plain-open@50%", 0.5}, {"o120", "plain-open@120%", 1.2}};
        for (int k = 0; k < 2; k++) {
            snprintf(id, sizeof id, "%s-plain-open-c4-%s-t1", models[m], pts[k].tag);
            json_t *r = run_entry(runs, id);
            cr_expect_str_eq(json_string_value(json_object_get(r, "status")), "ok", "%s", id);
            cr_expect_str_eq(json_string_value(json_object_get(r, "workload")), pts[k].wl);
            cr_expect_str_eq(json_string_value(json_object_get(r, "offered_of")), "plain-open");
            double offered = json_number_value(json_object_get(r, "offered_rps"));
            cr_expect(fabs(offered - pts[k].frac * capacity) < 1e-6 * capacity,
                      "%s: offered %.3f, capacity %.3f", id, offered, capacity);
            json_t *ol = json_object_get(r, "open_loop");
            cr_expect(json_is_integer(json_object_get(ol, "scheduled")), "%s: no send figures", id);
            cr_expect(json_is_integer(json_object_get(ol, "send_lag_p99_ns")), "%s", id);
        }
    }
    json_decref(s);
    snprintf(args, sizeof args, "plot %s/res/latest", tmpdir);
    cr_assert_eq(iobench(args), 0, "iobench plot: %s", file_text("err"));
    struct stat st;
    snprintf(args, sizeof args, "%s/res/latest/plots/offered-plain-open-c4.png", tmpdir);
    cr_expect_eq(stat(args, &st), 0, "no offered-load chart");
    snprintf(args, sizeof args, "report %s/res/latest", tmpdir);
    cr_assert_eq(iobench(args), 0, "iobench report: %s", file_text("err"));
    const char *md = file_text("res/latest/report.md");
    cr_expect_not_null(strstr(md, "## Workload plain-open (open loop)"), "no open-loop section");
    cr_expect_not_null(strstr(md, "| select | 120% |"), "no row for select at 120%%");
}

/* Every suite here names a capacity that cannot be there when needed. */
Test(offered, impossible_capacities_are_refused_before_any_load)
{
    static const struct {
        const char *workloads, *says;
    } bad[] = {
        {"{\"name\": \"open\", \"path\": \"/\", \"levels\": [4], \"offered\": [0.5],"
         " \"capacity_from\": \"plain\"}, {\"name\": \"plain\", \"path\": \"/\", \"levels\": [4]}",
         "capacity_from"},
        {"{\"name\": \"plain\", \"path\": \"/\", \"levels\": [8]}, {\"name\": \"open\","
         " \"path\": \"/\", \"levels\": [4], \"offered\": [0.5], \"capacity_from\": \"plain\"}",
         "levels"},
        {"{\"name\": \"plain\", \"path\": \"/\", \"levels\": [4]}, {\"name\": \"open\","
         " \"path\": \"/\", \"levels\": [4], \"rate\": 100, \"offered\": [0.5],"
         " \"capacity_from\": \"plain\"}",
         "excludes rate"},
        {"{\"name\": \"plain\", \"path\": \"/\", \"levels\": [4]}, {\"name\": \"open\","
         " \"path\": \"/\", \"levels\": [4], \"offered\": [0], \"capacity_from\": \"plain\"}",
         "offered[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_suite("bad", bad[i].workloads);
        char args[600];
        snprintf(args, sizeof args, "run --quiet --suite %s/bad.json --out %s/bad-res", tmpdir,
                 tmpdir);
        int rc = iobench(args);
        const char *err = file_text("err");
        cr_expect_neq(rc, 0, "case %zu accepted", i);
        cr_expect_not_null(strstr(err, bad[i].says), "case %zu: %s", i, err);
        snprintf(args, sizeof args, "%s/bad-res", tmpdir);
        struct stat st;
        cr_expect_neq(stat(args, &st), 0, "case %zu: a results directory was made", i);
    }
}

/* The idle-connection axis: each idle level is a case of its own, and the
 * idle connections really are held open beside the busy ones. */
Test(offered, idle_levels_hold_that_many_connections_beside_the_busy_ones)
{
    write_suite("idle", "{\"name\": \"beside\", \"path\": \"/\", \"levels\": [4],"
                        " \"idle_levels\": [0, 40]}");
    char args[600];
    snprintf(args, sizeof args, "run --quiet --suite %s/idle.json --out %s/res", tmpdir, tmpdir);
    cr_assert_eq(iobench(args), 0, "iobench run: %s", file_text("err"));
    snprintf(args, sizeof args, "%s/res/latest/summary.json", tmpdir);
    json_t *s = json_load_file(args, 0, NULL);
    cr_assert_not_null(s);
    json_t *runs = json_object_get(s, "runs");
    cr_expect_eq(json_array_size(runs), 4, "2 models x 2 idle levels");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        const char *id = json_string_value(json_object_get(r, "id"));
        json_int_t idle = json_integer_value(json_object_get(r, "idle_connections"));
        cr_expect_str_eq(json_string_value(json_object_get(r, "idle_of")), "beside", "%s", id);
        cr_expect_str_eq(json_string_value(json_object_get(r, "status")), "ok", "%s", id);
        char want[64];
        snprintf(want, sizeof want, "beside@%" JSON_INTEGER_FORMAT "idle", idle);
        cr_expect_str_eq(json_string_value(json_object_get(r, "workload")), want, "%s", id);
        /* ioload's own count of idle connections that were answered. */
        char path[512];
        snprintf(path, sizeof path, "%s/res/latest/%s", tmpdir,
                 json_string_value(json_object_get(r, "file")));
        json_t *f = json_load_file(path, 0, NULL);
        cr_assert_not_null(f, "%s", path);
        json_t *est = json_object_get(json_object_get(json_object_get(f, "ioload"), "totals"),
                                      "idle_established");
        cr_expect_eq(json_integer_value(est), idle, "%s: %" JSON_INTEGER_FORMAT " established", id,
                     json_integer_value(est));
        json_decref(f);
    }
    json_decref(s);
    snprintf(args, sizeof args, "plot %s/res/latest", tmpdir);
    cr_assert_eq(iobench(args), 0, "iobench plot: %s", file_text("err"));
    struct stat st;
    snprintf(args, sizeof args, "%s/res/latest/plots/idle-beside-c4.png", tmpdir);
    cr_expect_eq(stat(args, &st), 0, "no idle chart");
}

Test(offered, idle_levels_that_cannot_be_are_refused)
{
    static const char *const bad[] = {
        "{\"name\": \"w\", \"path\": \"/\", \"levels\": [4], \"idle\": 5, \"idle_levels\": [0, 9]}",
        "{\"name\": \"w\", \"path\": \"/\", \"levels\": [4], \"idle_levels\": [10, 5]}",
        "{\"name\": \"w\", \"path\": \"/\", \"levels\": [4], \"idle_levels\": []}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_suite("bad", bad[i]);
        char args[600];
        snprintf(args, sizeof args, "run --quiet --suite %s/bad.json --out %s/bad-res", tmpdir,
                 tmpdir);
        cr_expect_neq(iobench(args), 0, "case %zu accepted", i);
        cr_expect_not_null(strstr(file_text("err"), "idle_levels"), "case %zu: %s", i,
                           file_text("err"));
    }
}

/* nginx and the floor run beside the models, from a results directory given
 * relative to where iobench runs (as `make bench` gives it), and are skipped
 * for what they cannot serve. */
Test(offered, reference_servers_run_from_a_relative_results_directory)
{
    if (access("/usr/sbin/nginx", X_OK) != 0)
        cr_skip_test("nginx is not installed (scripts/deps.sh build installs nginx-light)");
    char path[256];
    snprintf(path, sizeof path, "%s/ref.json", tmpdir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"name\": \"ref\", \"models\": [\"nginx\", \"floor\"], \"trials\": 1,"
          " \"duration_s\": 0.3, \"warmup_s\": 0.1, \"threads\": 1, \"timeout_s\": 2,"
          " \"workloads\": [{\"name\": \"plain\", \"path\": \"/\", \"levels\": [4]},"
          " {\"name\": \"io\", \"path\": \"/delay/1\", \"levels\": [4]}]}\n",
          f);
    cr_assert_eq(fclose(f), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run --quiet --suite ref.json --out res >out 2>err",
             tmpdir, iobench_path());
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "iobench run: %s", file_text("err"));
    snprintf(path, sizeof path, "%s/res/latest/summary.json", tmpdir);
    json_t *s = json_load_file(path, 0, NULL);
    cr_assert_not_null(s);
    json_t *runs = json_object_get(s, "runs");
    cr_expect_eq(json_array_size(runs), 2, "nginx and floor on GET / only");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        cr_expect_str_eq(json_string_value(json_object_get(r, "status")), "ok", "%s",
                         json_string_value(json_object_get(r, "id")));
        cr_expect_gt(json_number_value(json_object_get(r, "throughput_rps")), 0);
        cr_expect_gt(
            json_number_value(json_object_get(json_object_get(r, "server"), "cpu_per_request_us")),
            0, "no server CPU per request");
    }
    json_t *skipped = json_object_get(s, "skipped");
    cr_expect_eq(json_array_size(skipped), 2, "the /delay workload skipped for both");
    /* nginx's configuration, pid and log go once it has exited cleanly. */
    snprintf(cmd, sizeof cmd, "cd '%s/res/latest' && ls -A | grep -q '^\\.nginx-'", tmpdir);
    cr_expect_neq(system(cmd), 0, "nginx's scratch directory left in the results");
    cr_expect_not_null(strstr(
        json_string_value(json_object_get(json_array_get(skipped, 0), "reason")), "GET / only"));
    json_decref(s);
}
