/* test_ioload: the load generator.
 *
 * In-process: duration and option parsing, error classification. As a
 * process (ioload_path()) with --json to a temporary file: request counts
 * against ioserve's own /stats, one connection per request without
 * keep-alive, error classes against servers that refuse, never answer or
 * answer 404, coordinated-omission correction across a server stalled with
 * SIGSTOP, and `ioload merge`. Every process started here is stopped by pid. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hdr.h"
#include "ioload_errors.h"
#include "ioload_opts.h"
#include "ioloadrun.h"
#include "testsupport.h"

extern char **environ;

/* ---- processes ---- */

static char tmpdir[64]; /* /tmp/iobench-TAG.XXXXXX */

static void tmp_setup(void)
{
    cr_assert_eq(tmpdir_make(tmpdir, sizeof tmpdir, "ioload"), 0, "mkdtemp: %s", strerror(errno));
}

static void tmp_teardown(void)
{
    cr_expect_eq(tmpdir_remove(tmpdir), 0);
}

static void tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* Starts argv (argv[0] = ioload_path()) with stdout to out_path (or
 * /dev/null) and stderr kept. Returns the pid, or -1. */
static pid_t spawn_ioload(const char *const *args, const char *out_path)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = ioload_path();
    for (int i = 0; args[i] != NULL && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path ? out_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

static int run_ioload(const char *const *args, const char *out_path, int timeout_ms)
{
    pid_t pid = spawn_ioload(args, out_path);
    return pid < 0 ? -1 : ioload_wait(pid, timeout_ms);
}

/* Runs ioload with args and --json into a temporary file; returns the
 * parsed result (caller decrefs), asserting a clean exit. */
static json_t *ioload_json(const char *name, const char *const *args, int timeout_ms)
{
    char path[256];
    tmp_path(path, sizeof path, name);
    const char *argv[64];
    int n = 0;
    for (int i = 0; args[i] != NULL && n < 60; i++)
        argv[n++] = args[i];
    argv[n++] = "--quiet";
    argv[n++] = "--json";
    argv[n++] = path;
    argv[n] = NULL;
    int rc = run_ioload(argv, NULL, timeout_ms);
    cr_assert_eq(rc, 0, "ioload exited with %d", rc);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "result %s: %s", path, je.text);
    return j;
}

static json_int_t jint(const json_t *root, const char *dotted)
{
    const json_t *v = jpath(root, dotted);
    cr_assert(json_is_integer(v), "%s is not an integer", dotted);
    return json_integer_value(v);
}

static void url_of(char *buf, size_t cap, int port, const char *path)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", port, path);
}

/* ---- parsing ---- */

Test(ioload_opts, durations)
{
    static const struct {
        const char *in;
        double want;
    } ok[] = {{"500ms", 0.5}, {"5s", 5}, {"2m", 120}, {"1.5", 1.5}, {"0", 0}, {"1h", 3600}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -1;
        cr_assert_eq(ioload_parse_duration(ok[i].in, &v), 0, "%s", ok[i].in);
        cr_expect_float_eq(v, ok[i].want, 1e-9, "%s -> %f", ok[i].in, v);
    }
    static const char *const bad[] = {"", "s", "-1", "5x", "5 s", "ms", "1e999", NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        double v;
        cr_expect_eq(ioload_parse_duration(bad[i], &v), -1, "'%s' accepted", bad[i]);
    }
}

static int parse(struct ioload_config *cfg, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "ioload";
    for (int i = 0; args[i] != NULL; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    char err[256];
    int rc = ioload_parse_args(argc, argv, cfg, err, sizeof err);
    ioload_config_free(cfg);
    return rc;
}

Test(ioload_opts, values)
{
    struct ioload_config cfg;
    cr_assert_eq(parse(&cfg, (const char *[]){"-t", "2", "-c", "8", "-R", "100", "-k",
                                              "http://127.0.0.1:1/x", NULL}),
                 IOLOAD_OPTS_OK);
    cr_expect_eq(cfg.threads, 2);
    cr_expect_eq(cfg.connections, 8);
    cr_expect_float_eq(cfg.rate, 100, 1e-9);
    cr_expect(!cfg.keepalive);
    cr_expect_str_eq(cfg.origin_url, "http://127.0.0.1:1/");
    cr_expect_str_eq(cfg.method, "GET");
    cr_assert_eq(parse(&cfg, (const char *[]){"--data", "abc", "http://h/", NULL}), IOLOAD_OPTS_OK);
    cr_expect_str_eq(cfg.method, "POST");
    cr_expect_str_eq(cfg.origin_url, "http://h:80/");
}

Test(ioload_opts, bad_values)
{
    struct ioload_config cfg;
    const char *const *usage[] = {
        (const char *[]){NULL},
        (const char *[]){"-c", "2", "-t", "4", "http://h/", NULL},
        (const char *[]){"-c", "0", "http://h/", NULL},
        (const char *[]){"-d", "1s", "-n", "5", "http://h/", NULL},
        (const char *[]){"--rate", "-3", "http://h/", NULL},
        (const char *[]){"--timeout", "0", "http://h/", NULL},
        (const char *[]){"-H", "no colon", "http://h/", NULL},
        (const char *[]){"--nope", "http://h/", NULL},
        (const char *[]){"http://h/", "http://i/", NULL},
        (const char *[]){"-d", NULL},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        cr_expect_eq(parse(&cfg, usage[i]), IOLOAD_OPTS_USAGE, "case %zu", i);
    cr_expect_eq(parse(&cfg, (const char *[]){"ftp://h/", NULL}), IOLOAD_OPTS_FAIL);
    cr_expect_eq(parse(&cfg, (const char *[]){"--data-file", "/nonexistent/x", "http://h/", NULL}),
                 IOLOAD_OPTS_FAIL);
}

Test(ioload_errors, classes)
{
    cr_expect_eq(ioload_err_classify(CURLE_OK), IOLOAD_ERR_NONE);
    cr_expect_eq(ioload_err_classify(CURLE_COULDNT_CONNECT), IOLOAD_ERR_CONNECT);
    cr_expect_eq(ioload_err_classify(CURLE_OPERATION_TIMEDOUT), IOLOAD_ERR_TIMEOUT);
    cr_expect_eq(ioload_err_classify(CURLE_SEND_ERROR), IOLOAD_ERR_SEND);
    cr_expect_eq(ioload_err_classify(CURLE_RECV_ERROR), IOLOAD_ERR_RECEIVE);
    cr_expect_eq(ioload_err_classify(CURLE_GOT_NOTHING), IOLOAD_ERR_RECEIVE);
    cr_expect_eq(ioload_err_classify(CURLE_WEIRD_SERVER_REPLY), IOLOAD_ERR_MALFORMED);
    cr_expect_str_eq(ioload_curle_name(CURLE_WEIRD_SERVER_REPLY), "CURLE_WEIRD_SERVER_REPLY");
    cr_expect_str_eq(ioload_curle_name(CURLE_UNRECOVERABLE_POLL), "CURLE_UNRECOVERABLE_POLL");
    cr_expect_str_eq(ioload_curle_name((CURLcode)-5), "CURLE_UNKNOWN");
    struct ioload_errors e = {0};
    ioload_err_count(&e, CURLE_OK, 404);
    ioload_err_count(&e, CURLE_OK, 200);
    ioload_err_count(&e, CURLE_WEIRD_SERVER_REPLY, 0);
    ioload_err_count(&e, CURLE_BAD_CONTENT_ENCODING, 0);
    cr_expect_eq(e.status[404], 1);
    cr_expect_eq(e.status[200], 1);
    cr_expect_eq(e.malformed, 1);
    cr_expect_eq(e.other[CURLE_BAD_CONTENT_ENCODING], 1);
}

/* ---- exit status ---- */

Test(ioload_cli, exit_status)
{
    cr_expect_eq(
        run_ioload((const char *[]){"-c", "nope", "http://127.0.0.1:1/", NULL}, NULL, 5000), 2);
    cr_expect_eq(run_ioload((const char *[]){"gopher://127.0.0.1:1/", NULL}, NULL, 5000), 1);
    cr_expect_eq(run_ioload((const char *[]){"--help", NULL}, NULL, 5000), 0);
    cr_expect_eq(run_ioload((const char *[]){"merge", "/nonexistent.json", NULL}, NULL, 5000), 1);
}

/* ---- against ioserve ---- */

static struct srv server;

static void srv_setup(void)
{
    tmp_setup();
    cr_assert_eq(srv_start(&server, "select", NULL), 0, "ioserve did not start");
}

/* Each test ends with SRV_EXPECT_CLEAN_STOP (criterion ignores a failed
 * expectation in .fini); this stops the server of a test that failed early. */
static void srv_teardown(void)
{
    srv_stop(&server, 3000);
    tmp_teardown();
}

TestSuite(ioload_srv, .init = srv_setup, .fini = srv_teardown, .timeout = 60);

Test(ioload_srv, successes_match_server_stats)
{
    char url[128];
    url_of(url, sizeof url, server.port, "/bytes/100");
    /* "requests" counts responses begun before this /stats response. */
    long before = srv_stat(&server, "requests");
    cr_assert_geq(before, 0);
    json_t *r = ioload_json("a.json", (const char *[]){"-c", "4", "-n", "1500", url, NULL}, 30000);
    long after = srv_stat(&server, "requests");
    long delta = after - before - 1; /* the first /stats response */
    cr_expect_eq(jint(r, "totals.successes"), delta, "ioload %lld, server %ld",
                 (long long)jint(r, "totals.successes"), delta);
    cr_expect_eq(jint(r, "totals.requests"), 1500);
    cr_expect_eq(jint(r, "totals.errors"), 0);
    cr_expect_eq(jint(r, "totals.bytes"), 1500 * 100);
    cr_expect_eq(jint(r, "latency_us.corrected.count"), 1500);
    cr_expect_str_eq(json_string_value(json_object_get(r, "schema")), "ioload-result");
    json_decref(r);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

Test(ioload_srv, no_keepalive_opens_one_connection_per_request)
{
    char url[128];
    url_of(url, sizeof url, server.port, "/");
    /* Each /stats request is a connection of its own, counted by itself. */
    long a0 = srv_stat(&server, "connections.accepted");
    json_t *r =
        ioload_json("k.json", (const char *[]){"-c", "3", "-n", "120", "-k", url, NULL}, 30000);
    long a1 = srv_stat(&server, "connections.accepted");
    cr_expect_eq(jint(r, "totals.successes"), 120);
    cr_expect_eq(a1 - a0 - 1, 120, "accepted %ld connections for 120 requests", a1 - a0 - 1);
    json_decref(r);

    /* The contrast: with keep-alive, one connection per -c. */
    r = ioload_json("ka.json", (const char *[]){"-c", "3", "-n", "120", url, NULL}, 30000);
    long a2 = srv_stat(&server, "connections.accepted");
    cr_expect_eq(jint(r, "totals.successes"), 120);
    cr_expect_eq(a2 - a1 - 1, 3, "accepted %ld connections for -c 3", a2 - a1 - 1);
    json_decref(r);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

Test(ioload_srv, not_found_counts_as_4xx)
{
    char url[128];
    url_of(url, sizeof url, server.port, "/bytes/xyz");
    json_t *r = ioload_json("nf.json", (const char *[]){"-c", "2", "-n", "50", url, NULL}, 30000);
    cr_expect_eq(jint(r, "totals.requests"), 50);
    cr_expect_eq(jint(r, "totals.successes"), 0);
    cr_expect_eq(jint(r, "totals.errors"), 50);
    cr_expect_eq(jint(r, "errors.http_4xx.404"), 50);
    cr_expect_eq(jint(r, "errors.connect") + jint(r, "errors.timeout") + jint(r, "errors.receive"),
                 0);
    json_decref(r);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

Test(ioload_srv, idle_connections_stay_open)
{
    char url[128];
    url_of(url, sizeof url, server.port, "/");
    json_t *r = ioload_json(
        "idle.json", (const char *[]){"-c", "1", "-n", "20", "--idle", "5", url, NULL}, 30000);
    cr_expect_eq(jint(r, "totals.idle_established"), 5);
    cr_expect_eq(jint(r, "config.idle_connections"), 5);
    cr_expect_eq(jint(r, "totals.successes"), 20);
    json_decref(r);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

/* Between requests ioload leaves a connection's socket in its epoll set
 * (see sock_cb). When the server closes such a connection for being idle,
 * ioload must take the socket out, not spin on its readiness, and libcurl
 * must open a fresh connection for the next request. */
Test(ioload_srv, server_closing_idle_connections)
{
    struct srv quick;
    cr_assert_eq(srv_start(&quick, "select", (const char *[]){"--idle-timeout", "50", NULL}), 0,
                 "ioserve did not start");
    char url[128];
    url_of(url, sizeof url, quick.port, "/");
    long a0 = srv_stat(&quick, "connections.accepted");
    /* 10 requests a second over 2 connections: each sits idle for about
     * 200 ms between requests, four times the server's idle timeout. */
    json_t *r = ioload_json(
        "reap.json", (const char *[]){"-c", "2", "--rate", "10", "-d", "1.5s", url, NULL}, 30000);
    long a1 = srv_stat(&quick, "connections.accepted");
    SRV_EXPECT_CLEAN_STOP(&quick, 8000);
    json_int_t n = jint(r, "totals.requests");
    cr_expect_geq(n, 12);
    cr_expect_eq(jint(r, "totals.successes"), n);
    cr_expect_eq(jint(r, "totals.errors"), 0);
    /* Nearly every request needed a new connection (one /stats of its own). */
    cr_expect_geq(a1 - a0 - 1, n - 2, "accepted %ld connections for %lld requests", a1 - a0 - 1,
                  (long long)n);
    /* A level-triggered event left in the set would keep a thread busy:
     * near 1. busy_fraction is CPU time, which a loaded machine does not
     * inflate; 0.5 leaves the sanitizer builds room at 10 requests/s. */
    double busy = json_number_value(json_object_get(json_object_get(r, "self"), "busy_fraction"));
    cr_expect_lt(busy, 0.5, "ioload was busy %.0f%% of a 10 req/s run", busy * 100);
    json_decref(r);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

/* The server stops for one second in the middle of an open-loop run: the
 * requests scheduled during the stall wait for it, which the corrected
 * latency shows and the service time of the requests that were sent does
 * not (only the few already in flight saw the stall). */
Test(ioload_srv, coordinated_omission_is_corrected)
{
    char url[128], path[256];
    url_of(url, sizeof url, server.port, "/");
    tmp_path(path, sizeof path, "co.json");
    /* 300/s on 2 connections: the sanitizer builds keep up with it, and
     * at most 2 requests (0.2% of 900) are in flight when the stall comes,
     * too few to reach the uncorrected p99. */
    pid_t pid = spawn_ioload(
        (const char *[]){"-c", "2", "-R", "300", "-d", "3s", "--quiet", "--json", path, url, NULL},
        NULL);
    cr_assert_gt(pid, 0);
    struct timespec one = {1, 0};
    nanosleep(&one, NULL);
    int stopped = kill(server.pid, SIGSTOP);
    nanosleep(&one, NULL);
    int resumed = kill(server.pid, SIGCONT);
    int rc = ioload_wait(pid, 20000);
    cr_assert_eq(stopped, 0);
    cr_assert_eq(resumed, 0);
    cr_assert_eq(rc, 0);
    json_t *r = json_load_file(path, 0, NULL);
    cr_assert_not_null(r);
    json_int_t corrected = jint(r, "latency_us.corrected.p99");
    json_int_t uncorrected = jint(r, "latency_us.uncorrected.p99");
    /* A third of the requests fell due during the 1 s stall. */
    cr_expect_geq(corrected, 500000, "corrected p99 %lld us", (long long)corrected);
    cr_expect_lt(uncorrected * 5, corrected, "uncorrected p99 %lld us, corrected %lld us",
                 (long long)uncorrected, (long long)corrected);
    cr_expect_gt(jint(r, "open_loop.late"), 0);
    /* The requests due during the stall waited for a connection: the
     * server's slowness, charged in the corrected latency, never ioload's
     * saturation (docs/results-schema.md, Saturation). */
    cr_expect_gt(jint(r, "open_loop.late_noconn"), 0);
    cr_expect(json_is_false(json_object_get(json_object_get(r, "self"), "saturated")),
              "a stopped server was called ioload's saturation");
    json_decref(r);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}

/* ---- error classes without ioserve ---- */

TestSuite(ioload_err, .init = tmp_setup, .fini = tmp_teardown, .timeout = 60);

static int bound_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

Test(ioload_err, refused_connections_are_connect_errors)
{
    int port;
    close(bound_socket(&port)); /* nothing listens there any more */
    char url[128];
    url_of(url, sizeof url, port, "/");
    json_t *r = ioload_json("ref.json", (const char *[]){"-c", "2", "-n", "20", url, NULL}, 30000);
    cr_expect_eq(jint(r, "totals.requests"), 20);
    cr_expect_eq(jint(r, "errors.connect"), 20);
    cr_expect_eq(jint(r, "totals.successes"), 0);
    json_decref(r);
}

Test(ioload_err, silent_server_gives_timeouts)
{
    int port;
    int fd = bound_socket(&port);
    /* The kernel completes handshakes into the backlog; nobody reads. */
    cr_assert_eq(listen(fd, 64), 0);
    char url[128];
    url_of(url, sizeof url, port, "/");
    json_t *r = ioload_json(
        "to.json", (const char *[]){"-c", "2", "-n", "4", "--timeout", "300ms", url, NULL}, 30000);
    close(fd);
    cr_expect_eq(jint(r, "totals.requests"), 4);
    cr_expect_eq(jint(r, "errors.timeout"), 4);
    cr_expect_eq(jint(r, "totals.successes"), 0);
    json_decref(r);
}

/* ---- merge ---- */

static void load_hist(const json_t *r, const char *which, struct hdr *h)
{
    const char *b64 = json_string_value(json_object_get(json_object_get(r, "histograms"), which));
    cr_assert_not_null(b64);
    cr_assert_eq(hdr_decode_base64(b64, h), 0);
}

Test(ioload_srv, merge_adds_histograms_and_counts)
{
    char url[128], a[256], b[256], m[256];
    url_of(url, sizeof url, server.port, "/bytes/10");
    json_t *ra = ioload_json("ma.json", (const char *[]){"-c", "2", "-n", "300", url, NULL}, 30000);
    json_t *rb = ioload_json("mb.json", (const char *[]){"-c", "3", "-n", "500", url, NULL}, 30000);
    tmp_path(a, sizeof a, "ma.json");
    tmp_path(b, sizeof b, "mb.json");
    tmp_path(m, sizeof m, "merged.json");
    cr_assert_eq(run_ioload((const char *[]){"merge", a, b, NULL}, m, 10000), 0);
    json_t *rm = json_load_file(m, 0, NULL);
    cr_assert_not_null(rm);

    cr_expect_eq(jint(rm, "totals.requests"), 800);
    cr_expect_eq(jint(rm, "totals.successes"),
                 jint(ra, "totals.successes") + jint(rb, "totals.successes"));
    cr_expect_eq(jint(rm, "totals.bytes"), jint(ra, "totals.bytes") + jint(rb, "totals.bytes"));
    cr_expect_eq(jint(rm, "config.connections"), 5);
    for (int k = 0; k < 2; k++) {
        const char *which = k == 0 ? "corrected" : "uncorrected";
        struct hdr ha, hb, hm;
        load_hist(ra, which, &ha);
        load_hist(rb, which, &hb);
        load_hist(rm, which, &hm);
        cr_assert_eq(hdr_add(&ha, &hb), 0);
        cr_expect_eq(hm.total_count, 800);
        cr_assert_eq(hm.counts_len, ha.counts_len);
        cr_expect_eq(memcmp(hm.counts, ha.counts, sizeof *ha.counts * (size_t)ha.counts_len), 0,
                     "%s: merged buckets differ from the sum", which);
        cr_expect_eq(hdr_max(&hm), hdr_max(&ha));
        hdr_free(&ha);
        hdr_free(&hb);
        hdr_free(&hm);
    }
    json_t *p99 =
        json_object_get(json_object_get(json_object_get(rm, "latency_us"), "corrected"), "p99");
    cr_expect(json_is_integer(p99));
    json_decref(ra);
    json_decref(rb);
    json_decref(rm);
    SRV_EXPECT_CLEAN_STOP(&server, 8000);
}
