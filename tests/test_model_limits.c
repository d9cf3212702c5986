/* Model-specific limits the protocol suites cannot reach: select's
 * FD_SETSIZE, signal-driven I/O's realtime queue, the pool's bounded queue
 * and prefork's children dying. Each case starts a real server and forces
 * it past its limit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "testsupport.h"

static struct srv server;
static int conns[1200];
static int nconns;

/* Each test ends with SRV_EXPECT_CLEAN_STOP (criterion ignores a failed
 * expectation in .fini); this stops the server of a test that failed early. */
static void cleanup(void)
{
    fds_close(conns, &nconns);
    srv_stop(&server, 5000);
}

static const char req[] = "GET / HTTP/1.1\r\nHost: limits\r\n\r\n";

/* More connections than an fd_set holds: the select model answers those
 * whose descriptor would not fit with 503 at once and never stores them
 * (FD_SET past FD_SETSIZE would write outside the set). The others, and the
 * server, go on as before. */
Test(model_limits, select_answers_503_past_fd_setsize, .fini = cleanup, .timeout = 60)
{
    if (!srv_model_selected("select"))
        cr_skip_test("select not under test (IOBENCH_TEST_MODELS)");
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert(rl.rlim_cur >= 1200, "this test needs 1200 descriptors, the hard limit is %ld",
              (long)rl.rlim_max);
    if (srv_start(&server, "select", NULL) < 0) {
        SRV_SKIP_IF_UNUSABLE("select");
        cr_assert_fail("select: ioserve did not start");
    }

    const int total = 1100;
    for (nconns = 0; nconns < total; nconns++) {
        conns[nconns] = tcp_connect(server.port);
        cr_assert_geq(conns[nconns], 0, "connection %d failed", nconns);
    }
    /* One more, surely past FD_SETSIZE: the server accepts in order and
     * answers a rejected connection before it accepts the next, so once
     * this one's 503 is here, every earlier 503 is in its socket already
     * (loopback delivers as it sends) and no wait below races the server. */
    char buf[1024];
    int sentinel = tcp_connect(server.port), sentinel_status = 0;
    cr_assert_geq(sentinel, 0);
    long sn = recv_response(sentinel, buf, sizeof buf, 10000, &sentinel_status);
    close(sentinel);
    cr_assert(sn > 0 && sentinel_status == 503, "connection %d got no 503 (status %d)", total + 1,
              sentinel_status);
    /* A rejected connection has its 503 waiting; an accepted one, nothing. */
    int rejected = 0, first_rejected = -1;
    for (int i = 0; i < total; i++) {
        int status = 0;
        long n = recv_response(conns[i], buf, sizeof buf, 1, &status);
        if (n > 0 && status == 503) {
            rejected++;
            if (first_rejected < 0)
                first_rejected = i;
        }
    }
    /* Descriptors 0-2, the listener and the reserved one come first, so
     * about total - (FD_SETSIZE - 5) connections cannot fit. */
    cr_expect(rejected > 0 && rejected < 200, "%d connections answered 503, expected about %d",
              rejected, total - (1024 - 5));
    cr_expect(first_rejected > 900, "connection %d was rejected, which should have fit",
              first_rejected);

    /* The stored ones still work, and so does the server once they go. */
    int status = 0;
    cr_assert_eq(send_all(conns[1], req, sizeof req - 1), 0);
    cr_expect_gt(recv_response(conns[1], buf, sizeof buf, 3000, &status), 0);
    cr_expect_eq(status, 200, "a stored connection got %d", status);
    for (int i = 0; i < nconns; i++)
        close(conns[i]);
    nconns = 0;
    /* Until the server has seen the closes, a new descriptor may still be
     * past FD_SETSIZE (503): give it a bounded moment. */
    long st = 0;
    for (int tries = 0; tries < 100; tries++) {
        if (http_get(server.port, "/", &st, buf, sizeof buf) == 0 && st == 200)
            break;
        usleep(20000);
    }
    cr_expect_eq(st, 200, "a new connection got %ld", st);
    /* Asked only now: while the flood is open, /stats would be refused too. */
    long counted = srv_stat(&server, "connections.rejected");
    cr_expect_eq(counted, rejected + 1,
                 "/stats counts %ld rejected connections, the clients saw %d", counted,
                 rejected + 1);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

/* With RLIMIT_SIGPENDING at 2, a burst of requests overflows the realtime
 * signal queue at once; the kernel then raises plain SIGIO and the events
 * in between are lost. The model must fall back to checking every
 * connection, or the requests whose signal was lost wait forever. */
Test(model_limits, sigio_survives_realtime_queue_overflow, .fini = cleanup, .timeout = 60)
{
    if (!srv_model_selected("sigio"))
        cr_skip_test("sigio not under test (IOBENCH_TEST_MODELS)");
    if (srv_start_rlimit(&server, "sigio", NULL, RLIMIT_SIGPENDING, 2) < 0) {
        SRV_SKIP_IF_UNUSABLE("sigio");
        cr_assert_fail("sigio: ioserve did not start");
    }
    const int total = 100;
    for (nconns = 0; nconns < total; nconns++) {
        conns[nconns] = tcp_connect(server.port);
        cr_assert_geq(conns[nconns], 0);
    }
    char buf[1024];
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < total; i++)
            cr_assert_eq(send_all(conns[i], req, sizeof req - 1), 0);
        int ok = 0;
        for (int i = 0; i < total; i++) {
            int status = 0;
            if (recv_response(conns[i], buf, sizeof buf, 3000, &status) > 0 && status == 200)
                ok++;
        }
        cr_assert_eq(ok, total, "round %d: %d of %d requests answered within 3 s", round, ok,
                     total);
    }
    /* The fallback did run: without an overflow this test proves nothing. */
    fds_close(conns, &nconns);
    long rescans = srv_stat(&server, "rescans");
    cr_expect_gt(rescans, 0, "/stats counts %ld rescans: the realtime queue never overflowed",
                 rescans);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

static void nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Every bounded model with child processes (prefork), with one child: the
 * child, killed with SIGKILL while it holds a keep-alive connection, is
 * reaped (no zombie stays) and replaced, the server goes on answering, and
 * /stats no longer counts the dead child's connection as active. */
Test(model_limits, killed_child_is_replaced, .fini = cleanup, .timeout = 60)
{
    enum { SETTLE_MS = 3000 };
    const char *model = NULL;
    for (const char *const *m = srv_models(); *m && !model; m++)
        if (srv_model_selected(*m) && srv_model_has(*m, "processes") &&
            srv_model_has(*m, "bounded"))
            model = *m;
    if (!model)
        cr_skip_test("no model under test keeps a fixed set of children");
    static const char *const extra[] = {"--workers", "1", NULL};
    cr_assert_eq(srv_start(&server, model, extra), 0, "%s: ioserve did not start", model);
    pid_t kids[2];
    int n = 0;
    for (int t = 0; t < SETTLE_MS / 20 && n != 1; t++, nap_ms(20))
        n = proc_children(server.pid, kids, 2);
    cr_assert_eq(n, 1, "%s: %d children, want 1", model, n);
    pid_t victim = kids[0];
    char buf[1024];
    int status = 0;
    int held = conns[nconns++] = tcp_connect(server.port);
    cr_assert_eq(send_all(held, req, sizeof req - 1), 0);
    cr_assert_gt(recv_response(held, buf, sizeof buf, 3000, &status), 0);
    cr_assert_eq(kill(victim, SIGKILL), 0);

    bool replaced = false;
    for (int t = 0; t < SETTLE_MS / 20 && !replaced; t++, nap_ms(20)) {
        n = proc_children(server.pid, kids, 2);
        replaced = n == 1 && kids[0] != victim && proc_zombie_children(server.pid) == 0;
    }
    cr_expect(replaced, "%s: after SIGKILL of child %ld: %d children, %d zombies", model,
              (long)victim, n, proc_zombie_children(server.pid));
    cr_expect_eq(recv_response(held, buf, sizeof buf, 3000, &status), 0,
                 "%s: the dead child's connection was not closed", model);
    for (int i = 0; i < 3; i++) {
        long st = 0;
        cr_expect(http_get(server.port, "/", &st, buf, sizeof buf) == 0 && st == 200,
                  "%s: request %d after the kill got %ld", model, i, st);
    }
    long active = srv_stat(&server, "connections.active");
    cr_expect_eq(active, 1, "%s: /stats counts %ld active connections, only its own is", model,
                 active);
}

/* pool --workers 1 --queue 1: one connection holds the only worker, the
 * next waits in the queue, and the one after finds the queue full and is
 * answered 503 at once. Once the first leaves, the queued one is served. */
Test(model_limits, pool_answers_503_when_queue_full, .fini = cleanup, .timeout = 60)
{
    if (!srv_model_selected("pool"))
        cr_skip_test("pool not under test (IOBENCH_TEST_MODELS)");
    static const char *const extra[] = {"--workers", "1", "--queue", "1", NULL};
    cr_assert_eq(srv_start(&server, "pool", extra), 0);
    nap_ms(100); /* srv_start's probe connection is gone from the worker */
    char buf[1024];
    int status = 0;
    int held = conns[nconns++] = tcp_connect(server.port);
    cr_assert_eq(send_all(held, req, sizeof req - 1), 0);
    cr_assert_gt(recv_response(held, buf, sizeof buf, 3000, &status), 0);
    cr_assert_eq(status, 200, "the first connection got %d", status);
    /* Kept alive, it holds the worker: the next one can only queue. */
    int queued = conns[nconns++] = tcp_connect(server.port);
    cr_assert_eq(send_all(queued, req, sizeof req - 1), 0);
    int refused = conns[nconns++] = tcp_connect(server.port);
    status = 0;
    cr_expect_gt(recv_response(refused, buf, sizeof buf, 3000, &status), 0,
                 "the connection past the full queue got no answer");
    cr_expect_eq(status, 503, "the connection past the full queue got %d", status);
    status = 0;
    cr_expect_lt(recv_response(queued, buf, sizeof buf, 200, &status), 1,
                 "the queued connection was answered (%d) while the worker was held", status);

    close(held);
    conns[0] = -1;
    status = 0;
    cr_expect_gt(recv_response(queued, buf, sizeof buf, 3000, &status), 0,
                 "the queued connection was not served once the worker was free");
    cr_expect_eq(status, 200, "the queued connection got %d", status);
    close(queued); /* it holds the worker now: /stats would wait behind it */
    conns[1] = -1;
    long rejected = srv_stat(&server, "connections.rejected");
    cr_expect_eq(rejected, 1, "/stats counts %ld rejected connections, the client saw 1", rejected);
}
