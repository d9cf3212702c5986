/* test_engines: ioload's stream and transfer engines measure the same thing.
 *
 * Each test runs the ioload binary once per engine, against real ioserve
 * servers (counts checked against the server's own /stats) or a canned
 * server that sends bytes of the test's choosing: a response one byte at a
 * time, chunked with extensions and trailers, 100 Continue first, HTTP/1.0
 * delimited by the close, cut short, garbage. The same fault must give the
 * same error class in both engines. */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hdr.h"
#include "ioloadrun.h"
#include "testsupport.h"

static const char *const engines[] = {"stream", "transfer"};
#define NENGINES 2

static char tmpdir[64]; /* /tmp/iobench-TAG.XXXXXX */

static void setup(void)
{
    cr_assert_eq(tmpdir_make(tmpdir, sizeof tmpdir, "engines"), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    cr_expect_eq(tmpdir_remove(tmpdir), 0);
}

TestSuite(engines, .init = setup, .fini = teardown, .timeout = 60);

static json_t *run(const char *engine, const char *const *args)
{
    const char *argv[40] = {"--engine", engine};
    int n = 2;
    for (int i = 0; args[i] != NULL && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int status;
    json_t *r = ioload_result(tmpdir, engine, argv, 30000, &status);
    cr_assert_not_null(r, "ioload --engine %s exited %d", engine, status);
    return r;
}

static void url(char *buf, size_t cap, int port, const char *path)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", port, path);
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

/* Successes equal the server's own count of requests, with and without
 * keep-alive, with a pipeline, and with a body. */
Test(engines, successes_equal_the_servers_count)
{
    struct srv s;
    start_server(&s);
    char u[128], echo[128];
    url(u, sizeof u, s.port, "/");
    url(echo, sizeof echo, s.port, "/echo");
    const char *const *cases[] = {
        (const char *const[]){"-c", "4", "-n", "400", u, NULL},
        (const char *const[]){"-c", "4", "-n", "200", "--no-keepalive", u, NULL},
        (const char *const[]){"-c", "3", "-n", "300", "--data", "0123456789", echo, NULL},
    };
    for (int e = 0; e < NENGINES; e++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            long before = srv_stat(&s, "requests");
            json_t *r = run(engines[e], cases[c]);
            long after = srv_stat(&s, "requests");
            double ok = jnum(r, "totals.successes");
            /* The second /stats request is counted before it is answered. */
            cr_expect_eq((long)ok, after - before - 1, "%s case %zu: %.0f successes, server %ld",
                         engines[e], c, ok, after - before - 1);
            cr_expect_eq(jnum(r, "totals.errors"), 0, "%s case %zu", engines[e], c);
            json_decref(r);
        }
    }
    const char *pipe[] = {"-c", "2", "-n", "1000", "--pipeline", "8", u, NULL};
    long before = srv_stat(&s, "requests");
    json_t *r = run("stream", pipe);
    long after = srv_stat(&s, "requests");
    cr_expect_eq((long)jnum(r, "totals.successes"), 1000);
    cr_expect_eq(after - before - 1, 1000, "the server saw %ld", after - before - 1);
    json_decref(r);
    stop_server(&s);
}

/* One engine's error classes for one fault: the class that must hold every
 * request, and that no request succeeded. */
static void expect_class(const char *engine, const char *const *args, const char *key)
{
    json_t *r = run(engine, args);
    double req = jnum(r, "totals.requests"), n = jnum(r, key);
    cr_expect_gt(req, 0, "%s: no request counted for %s", engine, key);
    cr_expect_eq(n, req, "%s: %s is %.0f of %.0f requests", engine, key, n, req);
    cr_expect_eq(jnum(r, "totals.successes"), 0, "%s: %s", engine, key);
    json_decref(r);
}

static void expect_canned_class(const char *response, bool close_after, bool silent,
                                const char *key)
{
    struct canned c = {.response = response,
                       .len = strlen(response),
                       .close_after = close_after,
                       .silent = silent};
    cr_assert_eq(canned_start(&c), 0);
    char u[128];
    url(u, sizeof u, c.port, "/");
    const char *args[] = {"-c", "1", "-n", "3", "--timeout", "300ms", u, NULL};
    for (int e = 0; e < NENGINES; e++)
        expect_class(engines[e], args, key);
    canned_stop(&c);
}

Test(engines, the_same_fault_gives_the_same_class)
{
    /* A port nothing listens on: bind one, note it, close it. */
    struct canned gone = {.response = ""};
    cr_assert_eq(canned_start(&gone), 0);
    canned_stop(&gone);
    char u[128];
    url(u, sizeof u, gone.port, "/");
    const char *refused[] = {"-c", "1", "-n", "3", u, NULL};
    for (int e = 0; e < NENGINES; e++)
        expect_class(engines[e], refused, "errors.connect");

    struct srv s;
    start_server(&s);
    url(u, sizeof u, s.port, "/no/such/path");
    const char *nf[] = {"-c", "1", "-n", "3", u, NULL};
    for (int e = 0; e < NENGINES; e++)
        expect_class(engines[e], nf, "errors.http_4xx.404");
    stop_server(&s);

    expect_canned_class("", false, true, "errors.timeout");
    expect_canned_class("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, false,
                        "errors.receive");
    expect_canned_class("HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true, false,
                        "errors.malformed");
}

/* Responses a real server rarely sends, framed right by both engines. */
Test(engines, unusual_framing_is_read_whole)
{
    static const struct {
        const char *name, *bytes;
        bool bytewise, close_after;
        long body;
    } cases[] = {
        {"one byte at a time", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true, false, 5},
        {"chunked, extensions, trailers",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n"
         "3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n",
         false, false, 7},
        {"100 Continue, then 200",
         "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
         false, 2},
        {"HTTP/1.0 without a length", "HTTP/1.0 200 OK\r\nServer: canned\r\n\r\nuntil close", false,
         true, 11},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct canned c = {.response = cases[i].bytes,
                           .len = strlen(cases[i].bytes),
                           .bytewise = cases[i].bytewise,
                           .close_after = cases[i].close_after};
        cr_assert_eq(canned_start(&c), 0);
        char u[128];
        url(u, sizeof u, c.port, "/");
        const char *args[] = {"-c", "1", "-n", "4", "--timeout", "5s", u, NULL};
        for (int e = 0; e < NENGINES; e++) {
            json_t *r = run(engines[e], args);
            cr_expect_eq(jnum(r, "totals.successes"), 4, "%s, %s: %.0f successes", cases[i].name,
                         engines[e], jnum(r, "totals.successes"));
            cr_expect_eq(jnum(r, "totals.bytes"), 4 * cases[i].body, "%s, %s: %.0f bytes",
                         cases[i].name, engines[e], jnum(r, "totals.bytes"));
            json_decref(r);
        }
        canned_stop(&c);
    }
}

/* At a load far below capacity both engines measure the server, not
 * themselves: /delay/20's median within 5% of each other. The 20 ms
 * delay makes 5% a full millisecond, far above either engine's own cost. */
Test(engines, both_engines_agree_on_latency_at_low_load)
{
    struct srv s;
    start_server(&s);
    char u[128];
    url(u, sizeof u, s.port, "/delay/20");
    const char *args[] = {"-c", "2", "-d", "1s", u, NULL};
    double p50[NENGINES];
    for (int e = 0; e < NENGINES; e++) {
        json_t *r = run(engines[e], args);
        p50[e] = jnum(r, "latency_us.corrected.p50");
        cr_expect_geq(p50[e], 20000, "%s: /delay/20 answered in %.0f us", engines[e], p50[e]);
        json_decref(r);
    }
    cr_expect_leq(fabs(p50[0] - p50[1]), 0.05 * fmax(p50[0], p50[1]),
                  "p50 stream %.0f us, transfer %.0f us", p50[0], p50[1]);
    stop_server(&s);
}

/* A child that keeps the caller's CPUs busy for at most `secs` seconds. */
static pid_t spinner(int secs)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        alarm((unsigned)secs);
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static bool saturated(const json_t *r)
{
    return json_is_true(json_object_get(json_object_get(r, "self"), "saturated"));
}

/* The CPU the starved ioload and its spinner share: not the server's (CPU
 * 0, see the test), or the server would starve with it and ioload would
 * wait for it. */
static int load_cpu(void)
{
    return sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 1 : 0;
}

/* ioload at nice 19 beside a spinner at nice 0 on one CPU gets about 1.5%
 * of it: starved whatever the machine's speed. */
static void expect_starved_saturated(const char *engine, const char *const *args)
{
    cpu_set_t old, one;
    cr_assert_eq(sched_getaffinity(0, sizeof old, &old), 0);
    CPU_ZERO(&one);
    CPU_SET(load_cpu(), &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    pid_t spin = spinner(20);
    const char *const nice19[] = {"nice", "-n", "19", NULL};
    int status;
    json_t *r = ioload_result_under(nice19, tmpdir, engine, args, 30000, &status);
    reap(spin);
    cr_assert_eq(sched_setaffinity(0, sizeof old, &old), 0);
    cr_assert_not_null(r, "%s: ioload exited %d", engine, status);
    cr_expect(saturated(r), "%s: a starved ioload is not saturated (busy %.2f)", engine,
              jnum(r, "self.busy_fraction"));
    json_decref(r);
}

/* The saturation rule (docs/results-schema.md): ioload kept off its CPU by
 * a competing process while it has work says so, closed and open loop; a
 * slow server, or one stopped for the whole run, never makes it so. */
Test(engines, saturation_is_ioloads_own_limit_only)
{
    struct srv s;
    cpu_set_t old, cpu0;
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    cr_assert_eq(sched_getaffinity(0, sizeof old, &old), 0);
    if (load_cpu() == 1)
        cr_assert_eq(sched_setaffinity(0, sizeof cpu0, &cpu0), 0); /* the server inherits it */
    start_server(&s);
    cr_assert_eq(sched_setaffinity(0, sizeof old, &old), 0);
    char u[128], slow[128];
    url(u, sizeof u, s.port, "/");
    url(slow, sizeof slow, s.port, "/delay/50");
    const char *closed[] = {"-c", "8", "-d", "1s", u, NULL};
    const char *open[] = {"-c", "8", "-d", "1s", "--rate", "20000", u, NULL};
    const char *slow_args[] = {"-c", "4", "-d", "1s", slow, NULL};
    const char *stopped_args[] = {"-c", "4", "-d", "1s", "--timeout", "5s", u, NULL};
    for (int e = 0; e < NENGINES; e++) {
        expect_starved_saturated(engines[e], closed);
        expect_starved_saturated(engines[e], open);
        json_t *r = run(engines[e], slow_args);
        cr_expect(!saturated(r), "%s: a slow server made ioload saturated", engines[e]);
        json_decref(r);
        cr_assert_eq(kill(s.pid, SIGSTOP), 0);
        r = run(engines[e], stopped_args);
        cr_assert_eq(kill(s.pid, SIGCONT), 0);
        cr_expect(!saturated(r), "%s: a stopped server made ioload saturated", engines[e]);
        cr_expect_eq(jnum(r, "totals.successes"), 0, "%s", engines[e]);
        json_decref(r);
    }
    stop_server(&s);
}

/* ---- TLS: libcurl's handshake, then our requests over its connection ---- */

static pid_t nginx_pid = -1;

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A self-signed certificate for 127.0.0.1 and nginx serving GET / over TLS
 * with it, on a port chosen the way the canned server chooses one. */
static int start_tls_nginx(int *port)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
             ">/dev/null 2>&1",
             tmpdir, tmpdir);
    cr_assert_eq(sh(cmd), 0, "openssl could not make a certificate");
    struct canned probe = {.response = ""};
    cr_assert_eq(canned_start(&probe), 0);
    canned_stop(&probe);
    *port = probe.port;
    char conf[600];
    snprintf(conf, sizeof conf, "%s/nginx.conf", tmpdir);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "worker_processes 1; daemon off; pid %s/nginx.pid; error_log %s/error.log;\n"
            "events { worker_connections 256; }\n"
            "http { access_log off; client_body_temp_path %s; proxy_temp_path %s;\n"
            " fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
            " server { listen 127.0.0.1:%d ssl; ssl_certificate %s/cert.pem;\n"
            "  ssl_certificate_key %s/key.pem;\n"
            "  location = / { default_type text/plain; return 200 \"Hello, World!\"; } } }\n",
            tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, *port, tmpdir, tmpdir);
    cr_assert_eq(fclose(f), 0);
    nginx_pid = fork();
    cr_assert_geq(nginx_pid, 0);
    if (nginx_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/usr/sbin/nginx", "nginx", "-c", conf, "-p", tmpdir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int fd = tcp_connect(*port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void stop_tls_nginx(void)
{
    if (nginx_pid <= 0)
        return;
    kill(nginx_pid, SIGTERM);
    int st;
    while (waitpid(nginx_pid, &st, 0) < 0 && errno == EINTR)
        ;
    nginx_pid = -1;
}

Test(engines, https_requests_go_over_libcurls_tls)
{
    if (access("/usr/sbin/nginx", X_OK) != 0)
        cr_skip_test("nginx is not installed (scripts/deps.sh build installs nginx-light)");
    int port;
    cr_assert_eq(start_tls_nginx(&port), 0, "nginx with TLS did not start");
    char u[128], ca[300];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/", port);
    snprintf(ca, sizeof ca, "%s/cert.pem", tmpdir);
    const char *verified[] = {"-c", "4", "-n", "400", "--cacert", ca, u, NULL};
    const char *unverified[] = {"-c", "1", "-n", "2", u, NULL};
    for (int e = 0; e < NENGINES; e++) {
        json_t *r = run(engines[e], verified);
        cr_expect_eq(jnum(r, "totals.successes"), 400, "%s: %.0f of 400 over TLS", engines[e],
                     jnum(r, "totals.successes"));
        cr_expect_eq(jnum(r, "totals.bytes"), 400 * 13, "%s", engines[e]);
        json_decref(r);
        /* Without the CA the handshake must fail: the certificate is checked. */
        r = run(engines[e], unverified);
        cr_expect_eq(jnum(r, "totals.successes"), 0, "%s accepted an unknown certificate",
                     engines[e]);
        json_decref(r);
    }
    stop_tls_nginx();
}

/* ---- open loop ---- */

static int64_t lag_count(const json_t *r, struct hdr *h)
{
    const char *b64 =
        json_string_value(json_object_get(json_object_get(r, "histograms"), "send_lag"));
    cr_assert_not_null(b64, "no send_lag histogram");
    cr_assert_eq(hdr_decode_base64(b64, h), 0);
    return h->total_count;
}

/* ioload merge adds two open-loop results' send-lag histograms bucket by
 * bucket, and their late counts. */
Test(engines, merge_adds_send_lag_histograms_exactly)
{
    struct srv s;
    start_server(&s);
    char u[128], a[300], b[300], m[300];
    url(u, sizeof u, s.port, "/");
    const char *args[] = {"-c", "4", "-d", "1s", "--rate", "300", u, NULL};
    json_t *ra = run("stream", args);
    json_t *rb = run("transfer", args);
    snprintf(a, sizeof a, "%s/stream", tmpdir);
    snprintf(b, sizeof b, "%s/transfer", tmpdir);
    snprintf(m, sizeof m, "%s/merged.json", tmpdir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' merge '%s' '%s' > '%s'", ioload_path(), a, b, m);
    cr_assert_eq(sh(cmd), 0, "ioload merge failed");
    json_t *rm = json_load_file(m, 0, NULL);
    cr_assert_not_null(rm);
    struct hdr ha, hb, hm;
    int64_t na = lag_count(ra, &ha), nb = lag_count(rb, &hb), nm = lag_count(rm, &hm);
    cr_expect_eq(nm, na + nb);
    cr_assert_eq(hm.counts_len, ha.counts_len);
    for (int32_t i = 0; i < hm.counts_len; i++)
        cr_expect_eq(hm.counts[i], ha.counts[i] + hb.counts[i], "bucket %d", i);
    static const char *const sums[] = {"open_loop.scheduled", "open_loop.late",
                                       "open_loop.late_behind", "open_loop.late_noconn"};
    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++)
        cr_expect_eq(jnum(rm, sums[i]), jnum(ra, sums[i]) + jnum(rb, sums[i]), "%s", sums[i]);
    cr_expect_eq(jnum(rm, "open_loop.send_lag_ns.max"), (double)hdr_max(&hm));
    hdr_free(&ha);
    hdr_free(&hb);
    hdr_free(&hm);
    json_decref(ra);
    json_decref(rb);
    json_decref(rm);
    stop_server(&s);
}
