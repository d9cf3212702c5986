/* iobench run, end to end: the real iobench driving real ioserve and ioload
 * processes on a tiny suite (tests/data/suite-tiny.json: select and thread,
 * one 1 s run each).
 *
 * The test process makes itself a child subreaper, so any process iobench
 * leaves behind is re-parented here and shows up as a child of the test. */
#include "testsupport.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TINY_SUITE IOBENCH_SOURCE_DIR "/tests/data/suite-tiny.json"

static char tmpdir[PATH_MAX];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void setup(void)
{
    cr_assert_neq(iobench_path()[0], '\0', "iobench was not built");
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/iobench-run-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Network namespaces a test made, removed whatever the test's outcome. */
static char netns_made[2][32];

static void teardown(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < 2; i++) {
        char cmd[96];
        snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null", netns_made[i]);
        if (netns_made[i][0] != '\0' && system(cmd) != 0)
            fprintf(stderr, "could not remove network namespace %s\n", netns_made[i]);
    }
}

/* Starts iobench with args (NULL-terminated, after "iobench"), stdout and
 * stderr into tmpdir/stdout and tmpdir/stderr. */
static pid_t start_iobench(const char *const *args)
{
    char out[PATH_MAX + 16], err[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/stdout", tmpdir);
    snprintf(err, sizeof err, "%s/stderr", tmpdir);
    const char *argv[32];
    int n = 0;
    argv[n++] = iobench_path();
    for (; *args != NULL && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 ||
            prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits for pid up to timeout_ms; SIGKILLs it past that. Its wait status,
 * or -1 when it had to be killed. */
static int wait_iobench(pid_t pid, int timeout_ms)
{
    long deadline = mono_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return status;
        if (got < 0 && errno != EINTR)
            return -1;
        if (mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(20);
    }
}

static int run_iobench(const char *const *args, int timeout_ms)
{
    return wait_iobench(start_iobench(args), timeout_ms);
}

static char *slurp(const char *name)
{
    static char buf[65536];
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* The results directory: the last line of iobench's stdout. */
static const char *results_dir(void)
{
    static char dir[PATH_MAX];
    char *out = slurp("stdout");
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '\n')
        out[--len] = '\0';
    char *nl = strrchr(out, '\n');
    snprintf(dir, sizeof dir, "%s", nl != NULL ? nl + 1 : out);
    return dir;
}

static json_t *load_json(const char *dir, const char *file)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s does not parse: %s", path, je.text);
    return j;
}

/* Direct children of pid whose comm is name. */
static int children_named(pid_t pid, const char *name, pid_t *out, int max)
{
    char path[128], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    int n = 0;
    char *p = buf, *end;
    for (long c = strtol(p, &end, 10); end != p && n < max; c = strtol(p, &end, 10)) {
        p = end;
        char cpath[64], comm[64] = "";
        snprintf(cpath, sizeof cpath, "/proc/%ld/comm", c);
        FILE *cf = fopen(cpath, "r");
        if (cf == NULL)
            continue;
        if (fgets(comm, sizeof comm, cf) != NULL)
            comm[strcspn(comm, "\n")] = '\0';
        fclose(cf);
        if (strcmp(comm, name) == 0)
            out[n++] = (pid_t)c;
    }
    return n;
}

/* After iobench has gone: whatever it did not stop and reap itself is now
 * our child, alive or a zombie (its children die with it through
 * PR_SET_PDEATHSIG, so "alive" alone would miss them). Kills and reaps such
 * processes so the next test starts clean; returns how many there were. */
static int leftovers(void)
{
    int n = proc_child_count(getpid());
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
    FILE *f = fopen(path, "r");
    long c;
    while (f != NULL && fscanf(f, "%ld", &c) == 1)
        kill((pid_t)c, SIGKILL);
    if (f != NULL)
        fclose(f);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    return n;
}

static void expect_keys(json_t *obj, const char *what, const char *const *keys)
{
    cr_assert(json_is_object(obj), "%s is not an object", what);
    for (const char *const *k = keys; *k != NULL; k++)
        cr_expect_not_null(json_object_get(obj, *k), "%s lacks \"%s\"", what, *k);
}

static void check_run_object(json_t *run)
{
    static const char *const keys[] = {"id",           "model",
                                       "workload",     "concurrency",
                                       "trial",        "idle_connections",
                                       "slow_clients", "open_connections",
                                       "status",       "error",
                                       "file",         "throughput_rps",
                                       "successes",    "requests",
                                       "errors",       "latency_us",
                                       "server",       NULL};
    static const char *const server_keys[] = {
        "cpu_user_s",         "cpu_sys_s",   "cpu_per_request_us", "rss_peak_kb",
        "rss_mean_kb",        "threads_max", "processes_max",      "ctx_voluntary",
        "ctx_involuntary",    "samples",     "exit_status",        "clean_exit",
        "leftover_processes", NULL};
    expect_keys(run, "run", keys);
    expect_keys(json_object_get(run, "server"), "run.server", server_keys);
    cr_expect_eq(json_integer_value(json_object_get(run, "open_connections")),
                 json_integer_value(json_object_get(run, "concurrency")) +
                     json_integer_value(json_object_get(run, "idle_connections")) +
                     json_integer_value(json_object_get(run, "slow_clients")));
}

/* An ok run carries figures that came from a real measurement. */
static void check_ok_run(json_t *run)
{
    static const char *const lat_keys[] = {"p50", "p90", "p99", "p99_9", "max", NULL};
    cr_assert_str_eq(json_string_value(json_object_get(run, "status")), "ok", "run %s: %s",
                     json_string_value(json_object_get(run, "id")),
                     json_string_value(json_object_get(run, "error")));
    cr_expect(json_is_null(json_object_get(run, "error")));
    cr_expect_gt(json_number_value(json_object_get(run, "throughput_rps")), 0);
    cr_expect_gt(json_integer_value(json_object_get(run, "requests")), 0);
    cr_expect_gt(json_integer_value(json_object_get(run, "successes")), 0);
    json_t *lat = json_object_get(run, "latency_us");
    expect_keys(lat, "run.latency_us", lat_keys);
    cr_expect_leq(json_number_value(json_object_get(lat, "p50")),
                  json_number_value(json_object_get(lat, "max")));
    json_t *srv = json_object_get(run, "server");
    cr_expect(json_is_true(json_object_get(srv, "clean_exit")));
    cr_expect_eq(json_integer_value(json_object_get(srv, "exit_status")), 0);
    cr_expect_eq(json_integer_value(json_object_get(srv, "leftover_processes")), 0);
    cr_expect_gt(json_integer_value(json_object_get(srv, "samples")), 0);
    cr_expect_gt(json_integer_value(json_object_get(srv, "rss_peak_kb")), 0);
    cr_expect_geq(json_integer_value(json_object_get(srv, "threads_max")), 1);
}

static json_t *check_summary(const char *dir)
{
    static const char *const keys[] = {"schema",
                                       "schema_version",
                                       "complete",
                                       "incomplete_reason",
                                       "iobench_version",
                                       "git_commit",
                                       "suite",
                                       "start",
                                       "end",
                                       "env",
                                       "pinning",
                                       "verify",
                                       "runs",
                                       "failures",
                                       NULL};
    static const char *const env_keys[] = {"hostname",     "kernel",  "cpu_model",       "cores",
                                           "mem_total_kb", "libcurl", "ioserve_version", NULL};
    static const char *const pin_keys[] = {"enabled", "server_cpus", "load_cpus", "reason", NULL};
    json_t *s = load_json(dir, "summary.json");
    expect_keys(s, "summary", keys);
    cr_expect_str_eq(json_string_value(json_object_get(s, "schema")), "iobench-summary");
    cr_expect_eq(json_integer_value(json_object_get(s, "schema_version")), 1);
    /* No machine path in a result: a suite of ours is recorded relative to
     * the checkout, one from elsewhere (the resume tests' copies) by name
     * alone, with a null file. */
    const json_t *file = json_object_get(json_object_get(s, "suite"), "file");
    cr_expect(json_is_null(file) ||
                  (json_is_string(file) && json_string_value(file)[0] != '/'),
              "suite.file is a machine path: %s", json_string_value(file));
    expect_keys(json_object_get(s, "env"), "summary.env", env_keys);
    expect_keys(json_object_get(s, "pinning"), "summary.pinning", pin_keys);
    cr_expect(json_is_array(json_object_get(s, "runs")));
    cr_expect(json_is_array(json_object_get(s, "failures")));
    return s;
}

/* Every runs/<id>.json the summary names parses and holds the same run and
 * ioload's result (for runs that got that far). */
static void check_run_files(const char *dir, json_t *runs)
{
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        check_run_object(run);
        json_t *f = load_json(dir, json_string_value(json_object_get(run, "file")));
        cr_expect(json_equal(json_object_get(f, "run"), run), "runs file differs from summary");
        json_t *io = json_object_get(f, "ioload");
        if (strcmp(json_string_value(json_object_get(run, "status")), "ok") == 0)
            cr_expect_str_eq(json_string_value(json_object_get(io, "schema")), "ioload-result");
        json_decref(f);
    }
}

TestSuite(harness_run, .init = setup, .fini = teardown, .timeout = 60);

Test(harness_run, tiny_suite_end_to_end)
{
    const char *args[] = {"run", "--suite", TINY_SUITE, "--out", tmpdir, "--quiet", NULL};
    int status = run_iobench(args, 30000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "iobench run: status %d, stderr: %s",
              status, slurp("stderr"));
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    const char *dir = results_dir();
    cr_assert_eq(strncmp(dir, tmpdir, strlen(tmpdir)), 0, "last stdout line %s", dir);

    json_t *s = check_summary(dir);
    cr_expect(json_is_true(json_object_get(s, "complete")));
    cr_expect(json_is_null(json_object_get(s, "incomplete_reason")));
    json_t *verify = json_object_get(s, "verify");
    cr_expect(json_is_true(json_object_get(json_object_get(verify, "select"), "ok")));
    cr_expect(json_is_true(json_object_get(json_object_get(verify, "thread"), "ok")));
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 2);
    /* Models are interleaved within each (workload, level, trial). */
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "model")),
                     "select");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(runs, 1), "model")),
                     "thread");
    check_ok_run(json_array_get(runs, 0));
    check_ok_run(json_array_get(runs, 1));
    cr_expect_eq(json_array_size(json_object_get(s, "failures")), 0);
    check_run_files(dir, runs);

    char latest[PATH_MAX + 16], target[PATH_MAX], real_dir[PATH_MAX];
    snprintf(latest, sizeof latest, "%s/latest", tmpdir);
    cr_assert_not_null(realpath(latest, target), "no %s", latest);
    cr_assert_not_null(realpath(dir, real_dir));
    cr_expect_str_eq(target, real_dir);
    json_decref(s);
}

/* Writes a suite to tmpdir/NAME.json; its path into path. */
static void suite_write(char *path, size_t cap, const char *name, const char *json)
{
    snprintf(path, cap, "%s/%s.json", tmpdir, name);
    cr_assert_eq(file_write(path, json, strlen(json)), 0, "%s", path);
}

struct killer {
    pid_t iobench;
    volatile bool stop;
    pid_t killed;
};

/* Kills the first ioserve iobench runs while an ioload runs beside it (a
 * benchmark run, not a verification), once. */
static void *kill_server_once(void *arg)
{
    struct killer *k = arg;
    while (!k->stop && k->killed == 0) {
        pid_t srv[8], load[8];
        if (children_named(k->iobench, "ioload", load, 8) > 0 &&
            children_named(k->iobench, "ioserve", srv, 8) > 0 && kill(srv[0], SIGKILL) == 0)
            k->killed = srv[0];
        sleep_ms(5);
    }
    return NULL;
}

Test(harness_run, crashing_server_fails_its_run_only)
{
    const char *args[] = {"run", "--suite", TINY_SUITE, "--out", tmpdir, "--quiet", NULL};
    struct killer k = {.iobench = start_iobench(args)};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, kill_server_once, &k), 0);
    int status = wait_iobench(k.iobench, 30000);
    k.stop = true;
    pthread_join(t, NULL);
    cr_assert_neq(k.killed, 0, "no server was seen running beside ioload");
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d, stderr: %s", status,
              slurp("stderr"));

    const char *dir = results_dir();
    json_t *s = check_summary(dir);
    cr_expect(json_is_true(json_object_get(s, "complete")));
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 2);
    json_t *failed = json_array_get(runs, 0);
    cr_expect_str_eq(json_string_value(json_object_get(failed, "status")), "failed");
    const char *why = json_string_value(json_object_get(failed, "error"));
    cr_assert_not_null(why);
    cr_expect_not_null(strstr(why, "signal 9"), "error: %s", why);
    json_t *srv = json_object_get(failed, "server");
    cr_expect(json_is_false(json_object_get(srv, "clean_exit")));
    cr_expect_eq(json_integer_value(json_object_get(srv, "exit_status")), 128 + SIGKILL);
    /* The next model still ran, and ran well. */
    check_ok_run(json_array_get(runs, 1));
    json_t *failures = json_object_get(s, "failures");
    cr_assert_eq(json_array_size(failures), 1);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(failures, 0), "model")),
                     json_string_value(json_object_get(failed, "model")));
    check_run_files(dir, runs);
    json_decref(s);
}

Test(harness_run, sigint_stops_everything_and_marks_incomplete)
{
    const char *args[] = {"run", "--suite", TINY_SUITE, "--out", tmpdir, "--quiet", NULL};
    pid_t pid = start_iobench(args);
    pid_t load[8];
    long deadline = mono_ms() + 20000;
    while (children_named(pid, "ioload", load, 8) == 0 && mono_ms() < deadline)
        sleep_ms(5);
    cr_assert_lt(mono_ms(), deadline, "ioload never started");
    cr_assert_eq(kill(pid, SIGINT), 0);
    int status = wait_iobench(pid, 15000);
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d, stderr: %s", status,
              slurp("stderr"));
    json_t *s = check_summary(results_dir());
    cr_expect(json_is_false(json_object_get(s, "complete")));
    cr_expect_str_eq(json_string_value(json_object_get(s, "incomplete_reason")), "interrupted");
    /* The interrupted run was not finished, so it is not recorded. */
    cr_expect_eq(json_array_size(json_object_get(s, "runs")), 0);
    json_decref(s);
}

/* Writes an executable shell script tmpdir/name (a stand-in for ioserve or
 * ioload) from a printf format; its path goes into path. */
static void write_script(char *path, size_t cap, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void write_script(char *path, size_t cap, const char *name, const char *fmt, ...)
{
    snprintf(path, cap, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, 0755), 0);
}

Test(harness_run, unwritable_out_fails_before_any_load)
{
    char file[PATH_MAX + 16], out[PATH_MAX + 32], fake[PATH_MAX + 16], marker[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s/file", tmpdir);
    snprintf(out, sizeof out, "%s/sub", file);
    snprintf(marker, sizeof marker, "%s/started", tmpdir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    /* Leaves a mark if ever started as ioserve or ioload. */
    write_script(fake, sizeof fake, "fake.sh", "#!/bin/sh\ntouch '%s'\nexit 1\n", marker);
    /* A path under a regular file cannot be created, even by root. */
    const char *args[] = {"run",       "--suite", TINY_SUITE, "--out", out,
                          "--ioserve", fake,      "--ioload", fake,    NULL};
    int status = run_iobench(args, 10000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    const char *err = slurp("stderr");
    const char *nl = strchr(err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "expected one line on stderr, got: %s", err);
    cr_expect_not_null(strstr(err, out), "the line does not name %s: %s", out, err);
    cr_expect_eq(access(marker, F_OK), -1, "a server or load generator was started");
    cr_expect_str_eq(slurp("stdout"), "");
}

/* A full disk, as the run sees it: more free space asked for than any disk
 * has takes the same path as a disk with too little. */
Test(harness_run, full_disk_fails_before_any_load)
{
    char fake[PATH_MAX + 16], marker[PATH_MAX + 16];
    snprintf(marker, sizeof marker, "%s/started", tmpdir);
    write_script(fake, sizeof fake, "fake.sh", "#!/bin/sh\ntouch '%s'\nexit 1\n", marker);
    const char *args[] = {"run", "--suite",  TINY_SUITE, "--out",      tmpdir,          "--ioserve",
                          fake,  "--ioload", fake,       "--min-free", "1099511627776", NULL};
    int status = run_iobench(args, 10000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    const char *err = slurp("stderr");
    const char *nl = strchr(err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "expected one line on stderr, got: %s", err);
    cr_expect_not_null(strstr(err, "MiB free"), "the line does not say why: %s", err);
    cr_expect_eq(access(marker, F_OK), -1, "a server or load generator was started");
}

Test(harness_run, bad_suite_is_bad_usage)
{
    char suite[PATH_MAX + 16];
    suite_write(suite, sizeof suite, "bad",
                "{\"name\": \"bad\", \"models\": [\"select\"], \"workloads\": "
                "[{\"name\": \"w\", \"path\": \"/\", \"levels\": [0]}]}\n");
    const char *args[] = {"run", "--suite", suite, "--out", tmpdir, NULL};
    int status = run_iobench(args, 10000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d", status);
    const char *err = slurp("stderr");
    cr_expect_not_null(strstr(err, "levels[0]"), "stderr: %s", err);
    const char *nl = strchr(err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "expected one line on stderr, got: %s", err);
}

Test(harness_run, failing_ioload_fails_each_run_and_the_harness_goes_on)
{
    char fake[PATH_MAX + 16];
    write_script(fake, sizeof fake, "ioload.sh", "%s",
                 "#!/bin/sh\necho 'ioload: cannot run today' >&2\nexit 1\n");
    const char *args[] = {"run",      "--suite", TINY_SUITE, "--out", tmpdir,
                          "--ioload", fake,      "--quiet",  NULL};
    int status = run_iobench(args, 30000);
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    /* Nothing was measured, so the run as a whole failed. */
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    const char *dir = results_dir();
    json_t *s = check_summary(dir);
    cr_expect(json_is_true(json_object_get(s, "complete")));
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 2, "every model was still tried");
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        cr_expect_str_eq(json_string_value(json_object_get(run, "status")), "failed");
        const char *why = json_string_value(json_object_get(run, "error"));
        cr_expect(why != NULL && strstr(why, "cannot run today") != NULL, "error: %s", why);
        /* The server was still stopped cleanly. */
        cr_expect(json_is_true(json_object_get(json_object_get(run, "server"), "clean_exit")));
    }
    cr_expect_eq(json_array_size(json_object_get(s, "failures")), 2);
    check_run_files(dir, runs);
    json_decref(s);
}

Test(harness_run, model_failing_verification_is_not_benchmarked)
{
    /* A stand-in ioserve that serves the thread model whatever select it is
     * asked for: its answers name the wrong model, which verify must catch. */
    char fake[PATH_MAX + 16];
    write_script(fake, sizeof fake, "ioserve.sh",
                 "#!/bin/sh\n"
                 "for a; do shift; [ \"$a\" = select ] && a=thread; set -- \"$@\" \"$a\"; done\n"
                 "exec '%s' \"$@\"\n",
                 ioserve_path());
    const char *args[] = {"run",       "--suite", TINY_SUITE, "--out", tmpdir,
                          "--ioserve", fake,      "--quiet",  NULL};
    int status = run_iobench(args, 30000);
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d, stderr: %s", status,
              slurp("stderr"));
    json_t *s = check_summary(results_dir());
    json_t *sel = json_object_get(json_object_get(s, "verify"), "select");
    cr_expect(json_is_false(json_object_get(sel, "ok")));
    json_t *checks = json_object_get(sel, "failed_checks");
    bool server_header = false, stats_model = false;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        server_header = server_header || strstr(json_string_value(c), "Server header") != NULL;
        stats_model = stats_model || strstr(json_string_value(c), "\"model\"") != NULL;
    }
    cr_expect(server_header, "no failed check about the Server header");
    cr_expect(stats_model, "no failed check about /stats \"model\"");
    cr_expect(json_is_true(
        json_object_get(json_object_get(json_object_get(s, "verify"), "thread"), "ok")));
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 1, "select must not be benchmarked");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "model")),
                     "thread");
    json_t *skipped = json_object_get(s, "skipped");
    cr_expect_eq(json_array_size(skipped), 1);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(skipped, 0), "model")),
                     "select");
    json_decref(s);
}

/* --- load tasks, the CPU plan, resume (issue 11) --- */

static json_int_t get_int(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* Run files written so far in dir/runs (not the hidden temporaries, not
 * the parts of a merged result). */
static int run_files(const char *dir)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/runs", dir);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        /* Whole files only: an atomic write's temporary ends ".tmp.XXXXXX". */
        size_t len = strlen(e->d_name);
        n += e->d_name[0] != '.' && strstr(e->d_name, ".ioload-") == NULL && len > 5 &&
             strcmp(e->d_name + len - 5, ".json") == 0;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* The single results directory iobench made in tmpdir. */
static const char *only_results_dir(void)
{
    static char dir[PATH_MAX + 260];
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    dir[0] = '\0';
    while (d != NULL && (e = readdir(d)) != NULL)
        if (e->d_name[0] == '2')
            snprintf(dir, sizeof dir, "%s/%s", tmpdir, e->d_name);
    if (d != NULL)
        closedir(d);
    return dir;
}

Test(harness_run, load_tasks_are_merged_exactly)
{
    const char *args[] = {"run",     "--suite",      TINY_SUITE, "--out", tmpdir,
                          "--quiet", "--load-tasks", "2",        NULL};
    int status = run_iobench(args, 30000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d, stderr: %s", status,
              slurp("stderr"));
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    const char *dir = results_dir();
    json_t *s = check_summary(dir);
    cr_expect_eq(get_int(json_object_get(s, "pinning"), "load_tasks"), 2);
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 2);
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        check_ok_run(run);
        cr_expect_eq(get_int(run, "load_tasks"), 2);
        json_t *f = load_json(dir, json_string_value(json_object_get(run, "file")));
        json_t *io = json_object_get(f, "ioload");
        json_t *from = json_object_get(io, "merged_from");
        cr_assert_eq(json_array_size(from), 2, "the result is not merged from two parts");
        json_int_t sum = 0, conns = 0;
        for (size_t k = 0; k < 2; k++) {
            json_t *part = load_json(dir, json_string_value(json_array_get(from, k)));
            sum += get_int(json_object_get(part, "totals"), "requests");
            conns += get_int(json_object_get(part, "config"), "connections");
            json_decref(part);
        }
        /* Exact: the merged count is the parts' sum, and the parts shared
         * the run's connections between them. */
        cr_expect_eq(sum, get_int(run, "requests"));
        cr_expect_eq(conns, get_int(run, "concurrency"));
        json_decref(f);
    }
    json_decref(s);
}

Test(harness_run, sigkill_halfway_then_resume_runs_each_once)
{
    const char *args[] = {"run",     "--suite",  TINY_SUITE, "--out", tmpdir,
                          "--quiet", "--trials", "3",        NULL};
    pid_t pid = start_iobench(args);
    long deadline = mono_ms() + 40000;
    const char *dir = "";
    while (mono_ms() < deadline) {
        dir = only_results_dir();
        if (dir[0] != '\0' && run_files(dir) >= 2)
            break;
        sleep_ms(10);
    }
    cr_assert_lt(mono_ms(), deadline, "no two runs were written");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    wait_iobench(pid, 5000);
    leftovers();
    char kept_dir[PATH_MAX];
    snprintf(kept_dir, sizeof kept_dir, "%s", dir);
    int before = run_files(kept_dir);
    cr_assert_lt(before, 6, "the run finished before it was killed");

    const char *resume[] = {"run", "--resume", kept_dir, "--quiet", NULL};
    int status = run_iobench(resume, 60000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d, stderr: %s", status,
              slurp("stderr"));
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    cr_expect_str_eq(results_dir(), kept_dir);
    json_t *s = check_summary(kept_dir);
    cr_expect(json_is_true(json_object_get(s, "complete")));
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 6, "every planned run, once");
    for (size_t i = 0; i < 6; i++)
        for (size_t k = 0; k < i; k++)
            cr_expect_str_neq(json_string_value(json_object_get(json_array_get(runs, i), "id")),
                              json_string_value(json_object_get(json_array_get(runs, k), "id")),
                              "a run was done twice");
    json_t *resumed = json_array_get(json_object_get(s, "resumed"), 0);
    cr_assert_not_null(resumed, "the summary does not say it was resumed");
    cr_expect_geq(get_int(resumed, "runs_kept"), 2);
    cr_expect_leq(get_int(resumed, "runs_kept"), before);
    check_run_files(kept_dir, runs);
    json_decref(s);
}

Test(harness_run, resume_elsewhere_is_refused_or_starts_anew)
{
    const char *args[] = {"run", "--suite", TINY_SUITE, "--out", tmpdir, "--quiet", NULL};
    int status = run_iobench(args, 30000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char dir[PATH_MAX], path[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s", results_dir());
    /* As if it had been run on another machine, and interrupted there. */
    json_t *s = load_json(dir, "summary.json");
    json_object_set_new(json_object_get(s, "env"), "cpu_model", json_string("elsewhere"));
    json_object_set_new(s, "complete", json_false());
    snprintf(path, sizeof path, "%s/summary.json", dir);
    cr_assert_eq(json_dump_file(s, path, 0), 0);
    json_decref(s);

    const char *refuse[] = {"run", "--resume", dir, "--quiet", NULL};
    status = run_iobench(refuse, 30000);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    const char *err = slurp("stderr");
    cr_expect_not_null(strstr(err, "another machine"), "stderr: %s", err);
    cr_expect_eq(strchr(err, '\n'), err + strlen(err) - 1, "not one line: %s", err);

    const char *anew[] = {"run", "--resume", dir, "--other-machine", "new", "--quiet", NULL};
    status = run_iobench(anew, 30000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stderr: %s", slurp("stderr"));
    cr_expect_eq(leftovers(), 0);
    const char *fresh = results_dir();
    cr_expect_str_neq(fresh, dir);
    json_t *n = check_summary(fresh);
    cr_expect_str_eq(json_string_value(json_object_get(n, "restarted_from")), dir);
    cr_expect_eq(json_array_size(json_object_get(n, "runs")), 2);
    json_decref(n);
}

/* Watches iobench's children and notes any allowed outside cpu. */
struct affinity_watch {
    pid_t iobench;
    int cpu;
    volatile bool stop;
    int seen, strays;
};

static void *watch_affinity(void *arg)
{
    struct affinity_watch *w = arg;
    while (!w->stop) {
        pid_t kids[16];
        int n = children_named(w->iobench, "ioserve", kids, 8);
        n += children_named(w->iobench, "ioload", kids + n, 8);
        for (int i = 0; i < n; i++) {
            cpu_set_t set;
            if (sched_getaffinity(kids[i], sizeof set, &set) < 0)
                continue;
            w->seen++;
            w->strays += CPU_COUNT(&set) != 1 || !CPU_ISSET(w->cpu, &set);
        }
        sleep_ms(20);
    }
    return NULL;
}

/* As `taskset -c N iobench run`: one CPU allowed, all of it on that CPU. */
Test(harness_run, one_allowed_cpu_runs_everything_there_unpinned)
{
    cpu_set_t all, one;
    cr_assert_eq(sched_getaffinity(0, sizeof all, &all), 0);
    int cpu = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all))
            cpu = c; /* the last: not the first CPU, which pinning favours */
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    const char *args[] = {"run", "--suite", TINY_SUITE, "--out", tmpdir, "--quiet", NULL};
    struct affinity_watch w = {.iobench = start_iobench(args), .cpu = cpu};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, watch_affinity, &w), 0);
    int status = wait_iobench(w.iobench, 30000);
    w.stop = true;
    pthread_join(t, NULL);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stderr: %s", slurp("stderr"));
    cr_expect_eq(leftovers(), 0);
    cr_expect_gt(w.seen, 0, "no server or load process was seen");
    cr_expect_eq(w.strays, 0, "a child could run outside CPU %d", cpu);
    json_t *s = check_summary(results_dir());
    json_t *pin = json_object_get(s, "pinning");
    cr_expect(json_is_false(json_object_get(pin, "enabled")));
    cr_expect_str_eq(json_string_value(json_object_get(pin, "reason")), "only one CPU");
    json_t *allowed = json_object_get(pin, "allowed_cpus");
    cr_expect_eq(json_array_size(allowed), 1);
    cr_expect_eq(json_integer_value(json_array_get(allowed, 0)), cpu);
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(s, "runs"), i, run) check_ok_run(run);
    json_decref(s);
}

/* Received bytes of a device in this process's network namespace. */
static long long rx_bytes(const char *dev)
{
    FILE *f = fopen("/proc/self/net/dev", "r");
    char line[512];
    long long bytes = -1;
    size_t len = strlen(dev);
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        const char *p = line + strspn(line, " ");
        if (strncmp(p, dev, len) == 0 && p[len] == ':')
            bytes = atoll(p + len + 1);
    }
    if (f != NULL)
        fclose(f);
    return bytes;
}

/* The cluster path without a cluster: the server (and the harness) in one
 * network namespace, the load tasks in another, joined by a veth pair with
 * addresses of the test's own; the load can reach the server only across
 * the pair, as it would cross from other nodes. */
Test(harness_run, load_from_another_network_namespace, .timeout = 90)
{
    if (geteuid() != 0)
        cr_skip("needs root to create network namespaces (ip netns, veth); not run");
    if (system("ip netns list >/dev/null 2>&1") != 0)
        cr_skip("the ip command (iproute2) cannot manage network namespaces here; not run");
    int id = (int)getpid() % 250 + 1;
    char cmd[1024], dev_a[16], dev_b[16], addr[32];
    snprintf(netns_made[0], sizeof netns_made[0], "iobench-srv-%d", (int)getpid());
    snprintf(netns_made[1], sizeof netns_made[1], "iobench-load-%d", (int)getpid());
    snprintf(dev_a, sizeof dev_a, "iobs%d", (int)getpid() % 100000);
    snprintf(dev_b, sizeof dev_b, "iobl%d", (int)getpid() % 100000);
    snprintf(addr, sizeof addr, "10.213.%d.1", id);
    snprintf(cmd, sizeof cmd,
             "set -e; ip netns add %1$s; ip netns add %2$s;"
             "ip link add %3$s netns %1$s type veth peer name %4$s netns %2$s;"
             "ip -n %1$s addr add 10.213.%5$d.1/24 dev %3$s;"
             "ip -n %2$s addr add 10.213.%5$d.2/24 dev %4$s;"
             "for n in %1$s %2$s; do ip -n $n link set lo up; done;"
             "ip -n %1$s link set %3$s up; ip -n %2$s link set %4$s up",
             netns_made[0], netns_made[1], dev_a, dev_b, id);
    cr_assert_eq(system(cmd), 0, "could not set up the namespaces: %s", cmd);
    char ns_path[64];
    snprintf(ns_path, sizeof ns_path, "/run/netns/%s", netns_made[0]);
    int fd = open(ns_path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
    close(fd);
    long long rx_before = rx_bytes(dev_a);

    char via[64];
    snprintf(via, sizeof via, "ip netns exec %s", netns_made[1]);
    const char *args[] = {"run",        "--suite", TINY_SUITE, "--out",        tmpdir,
                          "--quiet",    "--host",  addr,       "--load-tasks", "2",
                          "--load-via", via,       NULL};
    int status = run_iobench(args, 60000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d, stderr: %s", status,
              slurp("stderr"));
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    const char *dir = results_dir();
    json_t *s = check_summary(dir);
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 2);
    json_int_t requests = 0;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        check_ok_run(run);
        cr_expect_eq(get_int(run, "load_tasks"), 2);
        requests += get_int(run, "requests");
        json_t *f = load_json(dir, json_string_value(json_object_get(run, "file")));
        const char *url = json_string_value(
            json_object_get(json_object_get(json_object_get(f, "ioload"), "config"), "url"));
        cr_expect_not_null(url != NULL ? strstr(url, addr) : NULL, "url %s", url);
        json_decref(f);
    }
    /* Every measured request crossed the pair: far more than 16 bytes each. */
    long long rx = rx_bytes(dev_a) - rx_before;
    cr_expect_gt(rx, (long long)requests * 16, "%lld bytes in for %lld requests", rx,
                 (long long)requests);
    json_decref(s);
}

/* SIGTERM (Slurm's time limit, a requeue) ends a run cleanly, which also
 * removes its empty logs/; resuming it must still work. */
Test(harness_run, sigterm_then_resume_completes)
{
    const char *args[] = {"run", "--suite", TINY_SUITE, "--out", tmpdir, "--quiet", NULL};
    pid_t pid = start_iobench(args);
    long deadline = mono_ms() + 30000;
    const char *dir = "";
    while (mono_ms() < deadline && (dir[0] == '\0' || run_files(dir) < 1)) {
        sleep_ms(10);
        dir = only_results_dir();
    }
    cr_assert_lt(mono_ms(), deadline, "no run was written");
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int status = wait_iobench(pid, 15000);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d", status);
    char kept_dir[PATH_MAX];
    snprintf(kept_dir, sizeof kept_dir, "%s", dir);
    json_t *s = check_summary(kept_dir);
    cr_expect(json_is_false(json_object_get(s, "complete")));
    json_decref(s);

    const char *resume[] = {"run", "--resume", kept_dir, "--quiet", NULL};
    status = run_iobench(resume, 30000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d, stderr: %s", status,
              slurp("stderr"));
    cr_expect_eq(leftovers(), 0, "iobench left processes behind");
    s = check_summary(kept_dir);
    cr_expect(json_is_true(json_object_get(s, "complete")));
    json_t *runs = json_object_get(s, "runs");
    cr_assert_eq(json_array_size(runs), 2);
    check_ok_run(json_array_get(runs, 0));
    check_ok_run(json_array_get(runs, 1));
    cr_expect_str_neq(json_string_value(json_object_get(json_array_get(runs, 0), "id")),
                      json_string_value(json_object_get(json_array_get(runs, 1), "id")));
    json_decref(s);
}
