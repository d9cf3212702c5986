/* test_openloop: open loop sends on time, on the Release build only.
 *
 * These tests assert timing (sends within 1 ms of their due time at a rate
 * far below capacity), which sanitizers distort, so they are a suite of
 * their own that the sanitizer builds do not run. A loaded machine can
 * still fail them: they are the property the open loop promises. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioloadrun.h"
#include "testsupport.h"

static const char *const engines[] = {"stream", "transfer"};
#define NENGINES 2

static char tmpdir[] = "/tmp/test-openloop.XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
    strcpy(tmpdir, "/tmp/test-openloop.XXXXXX");
}

TestSuite(open_loop, .init = setup, .fini = teardown, .timeout = 60);

static json_t *run(const char *engine, const char *const *args)
{
    const char *argv[40] = {"--engine", engine};
    int n = 2, status;
    for (int i = 0; args[i] != NULL && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    json_t *r = ioload_result(tmpdir, engine, argv, 30000, &status);
    cr_assert_not_null(r, "ioload --engine %s exited %d", engine, status);
    return r;
}

static bool saturated(const json_t *r)
{
    return json_is_true(json_object_get(json_object_get(r, "self"), "saturated"));
}

static void start_server(struct srv *s)
{
    cr_assert_eq(srv_start(s, "select", NULL), 0, "ioserve did not start");
}

static void stop_server(struct srv *s)
{
    int st = srv_stop(s, 5000);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ioserve exit status %d", st);
}

/* Far below capacity (200 req/s on 8 connections against a server that
 * does tens of thousands) every request goes out within 1 ms of its due
 * time, run after run, and ioload never calls itself saturated. */
Test(open_loop, open_loop_far_below_capacity_is_never_late)
{
    struct srv s;
    start_server(&s);
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", s.port);
    const char *args[] = {"-c", "8", "-d", "1s", "--rate", "200", u, NULL};
    for (int e = 0; e < NENGINES; e++) {
        for (int i = 0; i < 3; i++) {
            json_t *r = run(engines[e], args);
            cr_expect_eq(jnum(r, "open_loop.late"), 0, "%s run %d: %.0f late sends (p99 lag %.0f ns)",
                         engines[e], i, jnum(r, "open_loop.late"),
                         jnum(r, "open_loop.send_lag_ns.p99"));
            cr_expect_geq(jnum(r, "open_loop.scheduled"), 190, "%s", engines[e]);
            cr_expect(!saturated(r), "%s run %d saturated", engines[e], i);
            json_decref(r);
        }
    }
    stop_server(&s);
}

/* A server stopped for 1 s: the corrected latency carries the stall for
 * every request due during it, the uncorrected does not, and the lateness
 * is the server's (no connection free), never ioload's saturation. */
Test(open_loop, a_stalled_server_shows_in_corrected_latency_only)
{
    struct srv s;
    start_server(&s);
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", s.port);
    const char *args[] = {"-c", "4", "-d", "3s", "--rate", "400", u, NULL};
    for (int e = 0; e < NENGINES; e++) {
        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
            struct timespec a = {1, 0};
            nanosleep(&a, NULL);
            kill(s.pid, SIGSTOP);
            nanosleep(&a, NULL);
            kill(s.pid, SIGCONT);
            _exit(0);
        }
        json_t *r = run(engines[e], args);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        kill(s.pid, SIGCONT);
        double p99c = jnum(r, "latency_us.corrected.p99");
        double p99u = jnum(r, "latency_us.uncorrected.p99");
        /* A third of the run's requests fell due during the stall, so the
         * corrected p99 is most of the stall (1 s); each request's own
         * service time stays far below it. */
        cr_expect_geq(p99c, 500000, "%s: corrected p99 %.0f us", engines[e], p99c);
        cr_expect_lt(p99u, p99c / 2, "%s: uncorrected p99 %.0f us", engines[e], p99u);
        cr_expect_gt(jnum(r, "open_loop.late_noconn"), 0, "%s", engines[e]);
        cr_expect(!saturated(r), "%s: the server's stall was called ioload's saturation",
                  engines[e]);
        json_decref(r);
    }
    stop_server(&s);
}

