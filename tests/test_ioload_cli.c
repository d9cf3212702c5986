/* ioload's claims that need a running server or a signal, tested through its
 * command line and its JSON (docs/results-schema.md) only: open-loop rate
 * accuracy, the timeline, `--idle` against the server's own count of open
 * connections, SIGINT, and the failure paths of `ioload merge` (histograms
 * that cannot be added, runs that do not overlap, different URLs).
 *
 * One ioserve (select) serves every case of the suite; each case ends by
 * checking it still exits 0 on SIGTERM. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hdr.h"
#include "testsupport.h"

#define RUN_MS 60000 /* bound on an ioload run of a few seconds */
#define STOP_MS 8000

static struct srv server;
static char tmpdir[64];
static char url[128];

static void setup(void)
{
    cr_assert_eq(tmpdir_make(tmpdir, sizeof tmpdir, "ioload-cli"), 0);
    if (srv_start(&server, "select", NULL) < 0) {
        SRV_SKIP_IF_UNUSABLE("select");
        cr_assert_fail("ioserve --model select did not start");
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", server.port);
}

/* Cases end with SRV_EXPECT_CLEAN_STOP; this is for those that failed early. */
static void teardown(void)
{
    srv_stop(&server, 3000);
    if (tmpdir[0])
        tmpdir_remove(tmpdir);
    tmpdir[0] = 0;
}

TestSuite(ioload_cli, .init = setup, .fini = teardown, .timeout = 120);

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* ioload ARGS... --quiet; its exit status, output in out. */
static int ioload_run(const char *const *args, char *out, size_t cap)
{
    const char *argv[32] = {ioload_path()};
    int n = 1;
    for (int i = 0; args[i] && n < 30; i++)
        argv[n++] = args[i];
    argv[n++] = "--quiet";
    argv[n] = NULL;
    return run_capture(argv, out, cap, RUN_MS);
}

/* Runs ioload ARGS --json tmpdir/name and returns the parsed result. */
static json_t *ioload_result(const char *name, const char *const *args)
{
    char path[PATH_MAX], out[8192];
    path_of(path, sizeof path, name);
    const char *full[32];
    int n = 0;
    for (int i = 0; args[i] && n < 28; i++)
        full[n++] = args[i];
    full[n++] = "--json";
    full[n++] = path;
    full[n] = NULL;
    int rc = ioload_run(full, out, sizeof out);
    cr_assert_eq(rc, 0, "ioload exit %d:\n%s", rc, out);
    json_t *r = json_load_file(path, 0, NULL);
    cr_assert_not_null(r, "no JSON result in %s:\n%s", path, out);
    return r;
}

static json_t *at(json_t *j, const char *dotted)
{
    char key[64];
    for (const char *p = dotted; j && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        j = json_object_get(j, key);
        p += n + (p[n] == '.');
    }
    return j;
}

static double num(json_t *j, const char *dotted)
{
    json_t *v = at(j, dotted);
    cr_assert(json_is_number(v), "%s is not a number", dotted);
    return json_number_value(v);
}

static bool has_warning(json_t *r, const char *needle)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r, "warnings"), i, w)
    {
        if (strcasestr(json_string_value(w), needle))
            return true;
    }
    return false;
}

/* Starts argv with stdout to /dev/null; it dies with the test. */
static pid_t spawn_quiet(const char *const *argv)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* ---- open loop and the timeline ------------------------------------------- */

/* --rate 200 for 3 s of GET / (a few percent of what select serves here):
 * scheduled is the rate times the measured time by construction, up to one
 * request per thread at each end, and nearly all of them complete. The 10%
 * margin on completions is for requests still in flight at the end and a
 * busy machine stretching a few responses past it; a rate ignored (closed
 * loop, 4 connections flat out) would be tens of times too many. */
static void check_rate(double rate)
{
    char rs[32], name[64];
    snprintf(rs, sizeof rs, "%g", rate);
    snprintf(name, sizeof name, "rate-%g.json", rate);
    json_t *r = ioload_result(
        name, (const char *[]){"-c", "4", "-t", "2", "--rate", rs, "-d", "3s", url, NULL});
    double elapsed = num(r, "elapsed_s");
    double scheduled = num(r, "open_loop.scheduled");
    double requests = num(r, "totals.requests");
    double threads = num(r, "config.threads");
    cr_expect_float_eq(num(r, "open_loop.rate"), rate, 1e-9);
    cr_expect_str_eq(json_string_value(at(r, "config.mode")), "open");
    cr_expect_leq(fabs(scheduled - rate * elapsed), 2 * threads + 1,
                  "--rate %g over %.3f s: %g scheduled, expected %.1f", rate, elapsed, scheduled,
                  rate * elapsed);
    cr_expect_geq(requests, 0.9 * scheduled, "--rate %g: %g of %g scheduled requests completed",
                  rate, requests, scheduled);
    cr_expect_leq(requests, scheduled, "--rate %g: %g requests completed, only %g were scheduled",
                  rate, requests, scheduled);
    cr_expect_eq(num(r, "totals.errors"), 0);

    /* The timeline: one entry per second, in order from 0, adding up to
     * the totals; the percentiles ordered where there were responses. */
    json_t *tl = json_object_get(r, "timeline");
    cr_assert(json_is_array(tl) && json_array_size(tl) > 0, "no timeline");
    cr_expect_leq(json_array_size(tl), (size_t)ceil(elapsed) + 1, "%zu timeline entries for %.3f s",
                  json_array_size(tl), elapsed);
    double sum_req = 0, sum_err = 0, last_t = -1;
    size_t i;
    json_t *e;
    json_array_foreach(tl, i, e)
    {
        double t = num(e, "t");
        cr_expect_gt(t, last_t, "timeline entry %zu: t %g after %g", i, t, last_t);
        cr_expect_lt(t, ceil(elapsed) + 1, "timeline entry at t %g of a %.3f s run", t, elapsed);
        last_t = t;
        sum_req += num(e, "requests");
        sum_err += num(e, "errors");
        if (num(e, "requests") > 0)
            cr_expect_leq(num(e, "p50_us"), num(e, "p99_us"), "t %g: p50 above p99", t);
        /* At 200/s every full second has about 200 responses. */
        if (t + 1 <= floor(elapsed))
            cr_expect_geq(num(e, "requests"), 0.5 * rate, "t %g: %g responses at --rate %g", t,
                          num(e, "requests"), rate);
    }
    cr_expect_eq(sum_req, requests, "timeline adds up to %g requests, totals say %g", sum_req,
                 requests);
    cr_expect_eq(sum_err, num(r, "totals.errors"));
    json_decref(r);
}

Test(ioload_cli, open_loop_rate_and_timeline)
{
    check_rate(200);
    /* A second rate: the figures follow what is asked, not a constant. */
    check_rate(60);
    SRV_EXPECT_CLEAN_STOP(&server, STOP_MS);
}

/* ---- --idle against the server ---------------------------------------------- */

/* The server's own count: 5 idle connections, 1 measured one (keep-alive)
 * and the /stats connection asking are open at once while ioload runs, and
 * only the last once it has ended. */
Test(ioload_cli, idle_connections_seen_by_the_server)
{
    char path[PATH_MAX];
    path_of(path, sizeof path, "idle.json");
    const char *argv[] = {ioload_path(), "-c", "1",      "--idle", "5",       "--rate", "20",
                          "-d",          "4s", "--json", path,     "--quiet", url,      NULL};
    pid_t pid = spawn_quiet(argv);
    long seen = -1;
    /* Poll while the run lasts (4 s): the count is reached once every
     * connection has been set up, in well under a second here. */
    for (long end = test_now_ms() + 3000; seen != 7 && test_now_ms() < end; test_sleep_ms(50))
        seen = srv_stat(&server, "connections.active");
    int st;
    while (waitpid(pid, &st, 0) < 0)
        cr_assert_eq(errno, EINTR);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ioload: wait status %#x", (unsigned)st);
    cr_expect_eq(seen, 7, "the server had %ld connections open, expected 5 idle + 1 + /stats",
                 seen);
    json_t *r = json_load_file(path, 0, NULL);
    cr_assert_not_null(r);
    cr_expect_eq(num(r, "totals.idle_established"), 5);
    json_decref(r);
    long after = -1;
    for (long end = test_now_ms() + 5000; after != 1 && test_now_ms() < end; test_sleep_ms(20))
        after = srv_stat(&server, "connections.active");
    cr_expect_eq(after, 1, "%ld connections still open after ioload exited", after);
    SRV_EXPECT_CLEAN_STOP(&server, STOP_MS);
}

/* ---- SIGINT ---------------------------------------------------------------------- */

/* SIGINT a minute-long run after a second: it ends at once, exit 0, and its
 * result says it was interrupted, with the time it did measure. */
Test(ioload_cli, sigint_ends_the_run_with_a_result)
{
    char path[PATH_MAX];
    path_of(path, sizeof path, "int.json");
    const char *argv[] = {ioload_path(), "-c", "2",       "-d", "60s",
                          "--json",      path, "--quiet", url,  NULL};
    pid_t pid = spawn_quiet(argv);
    test_sleep_ms(1000);
    long t0 = test_now_ms();
    cr_assert_eq(kill(pid, SIGINT), 0);
    int st = -1;
    pid_t r;
    /* 10 s: far below the 59 s left of the run, far above a clean stop. */
    while ((r = waitpid(pid, &st, WNOHANG)) == 0 && test_now_ms() - t0 < 10000)
        test_sleep_ms(10);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        cr_assert_fail("ioload still running 10 s after SIGINT");
    }
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ioload after SIGINT: wait status %#x",
              (unsigned)st);
    json_t *res = json_load_file(path, 0, NULL);
    cr_assert_not_null(res, "no result written after SIGINT");
    cr_expect(has_warning(res, "interrupt"), "no warning says the run was interrupted");
    double elapsed = num(res, "elapsed_s");
    cr_expect(elapsed > 0 && elapsed < 30, "elapsed_s %g after SIGINT at about 1 s", elapsed);
    cr_expect_gt(num(res, "totals.successes"), 0);
    json_decref(res);
    SRV_EXPECT_CLEAN_STOP(&server, STOP_MS);
}

/* ---- merge's failure paths ----------------------------------------------------- */

/* A result of a short real run, and a copy of it changed by edit. */
static void merge_inputs(const char *a, const char *b, void (*edit)(json_t *))
{
    char pb[PATH_MAX];
    path_of(pb, sizeof pb, b);
    json_t *r = ioload_result(a, (const char *[]){"-c", "2", "-n", "200", url, NULL});
    edit(r);
    cr_assert_eq(json_dump_file(r, pb, 0), 0);
    json_decref(r);
}

/* ioload merge A B: exit status, result (NULL unless 0) and output. */
static int merge(const char *a, const char *b, json_t **res, char *out, size_t cap)
{
    char pa[PATH_MAX], pb[PATH_MAX], pm[PATH_MAX];
    path_of(pa, sizeof pa, a);
    path_of(pb, sizeof pb, b);
    path_of(pm, sizeof pm, "merged.json");
    char cmd[3 * PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "'%s' merge '%s' '%s' > '%s'", ioload_path(), pa, pb, pm);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = run_capture(argv, out, cap, RUN_MS);
    *res = rc == 0 ? json_load_file(pm, 0, NULL) : NULL;
    return rc;
}

/* Histograms with 2 significant digits cannot be added to ioload's 3. */
static void other_precision(json_t *r)
{
    struct hdr h;
    cr_assert_eq(hdr_init(&h, 1, 100000000, 2), 0);
    hdr_record(&h, 1000);
    char *b64 = hdr_encode_base64(&h);
    cr_assert_not_null(b64);
    json_t *hs = json_object_get(r, "histograms");
    json_object_set_new(hs, "corrected", json_string(b64));
    json_object_set_new(hs, "uncorrected", json_string(b64));
    json_object_set_new(hs, "sig_digits", json_integer(2));
    free(b64);
    hdr_free(&h);
}

Test(ioload_cli, merge_refuses_incompatible_histograms)
{
    merge_inputs("h-a.json", "h-b.json", other_precision);
    char out[4096];
    json_t *res;
    int rc = merge("h-a.json", "h-b.json", &res, out, sizeof out);
    cr_expect_eq(rc, 1, "merge of 3- and 2-digit histograms: exit %d:\n%s", rc, out);
    cr_expect(strstr(out, "ioload") != NULL && strchr(out, '\n') == strrchr(out, '\n'),
              "not one line naming ioload:\n%s", out);
    json_decref(res);
    SRV_EXPECT_CLEAN_STOP(&server, STOP_MS);
}

/* The same run moved a year back: the intervals do not overlap. */
static void a_year_earlier(json_t *r)
{
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "end" : "start";
        const char *v = json_string_value(json_object_get(r, key));
        cr_assert(v && strlen(v) > 4, "no %s", key);
        char moved[64];
        snprintf(moved, sizeof moved, "%04d%s", atoi(v) - 1, v + 4);
        json_object_set_new(r, key, json_string(moved));
    }
}

/* Merges a short run with a copy changed by edit, asserting exit 0. */
static json_t *merge_ok(void (*edit)(json_t *))
{
    merge_inputs("a.json", "b.json", edit);
    char out[4096];
    json_t *res;
    int rc = merge("a.json", "b.json", &res, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_assert_not_null(res);
    return res;
}

Test(ioload_cli, merge_warns_when_runs_do_not_overlap)
{
    json_t *res = merge_ok(a_year_earlier);
    cr_expect(has_warning(res, "overlap"), "no warning that the intervals do not overlap");
    /* The span from the first start to the last end: a year, not 2 runs. */
    cr_expect_gt(num(res, "elapsed_s"), 300 * 86400.0);
    json_decref(res);
    SRV_EXPECT_CLEAN_STOP(&server, STOP_MS);
}

static void other_url(json_t *r)
{
    json_object_set_new(json_object_get(r, "config"), "url",
                        json_string("http://127.0.0.1:1/elsewhere"));
}

Test(ioload_cli, merge_warns_about_another_url)
{
    json_t *res = merge_ok(other_url);
    cr_expect(has_warning(res, "/elsewhere"), "no warning names the other URL");
    cr_expect_str_eq(json_string_value(at(res, "config.url")), url,
                     "config is not the first input's");
    cr_expect_eq(num(res, "totals.requests"), 400);
    json_decref(res);
    SRV_EXPECT_CLEAN_STOP(&server, STOP_MS);
}
