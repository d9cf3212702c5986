/* ioserve: one HTTP/1.1 server, one I/O model chosen at start. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "net.h"
#include "server.h"
#include "stats.h"

/* IOSERVE_MODELS is "X(iterative) X(fork) ..." from CMake's feature checks. */
#define X(name) extern const struct model model_##name;
IOSERVE_MODELS
#undef X
#define X(name) &model_##name,
const struct model *const server_models[] = {IOSERVE_MODELS NULL};
#undef X

/* Written by the signal handler, read by every thread: lock-free atomics
 * are both async-signal-safe and race-free across threads, which a plain
 * volatile sig_atomic_t is only within one thread. */
static atomic_int stop_flag;
static atomic_int report_flag;
static const char *active_model = "?";

const struct model *server_find_model(const char *name)
{
    for (const struct model *const *m = server_models; *m; m++)
        if (strcmp((*m)->name, name) == 0)
            return *m;
    return NULL;
}

int server_stopping(void)
{
    /* Called on every turn of every connection's loop: a plain load keeps
     * the flag's cache line shared; only a pending report writes it. */
    if (atomic_load_explicit(&report_flag, memory_order_relaxed) &&
        atomic_exchange_explicit(&report_flag, 0, memory_order_relaxed)) {
        /* Deferred from the handler: stdio is not async-signal-safe. */
        server_report();
    }
    return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

void server_request_stop(void)
{
    atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
}

void server_stop_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGUSR1);
}

void server_take_signal(int signo)
{
    if (signo == SIGUSR1)
        server_report();
    else
        server_request_stop();
}

void server_report(void)
{
    char *s = stats_render(active_model);
    if (s) {
        fprintf(stderr, "ioserve: %s\n", s);
        free(s);
    }
}

int64_t server_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_signal(int signo)
{
    atomic_store_explicit(signo == SIGUSR1 ? &report_flag : &stop_flag, 1, memory_order_relaxed);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ioserve --model NAME [options]\n"
               "       ioserve --list-models | --help | --version\n"
               "\n"
               "Serves iobench's HTTP/1.1 protocol (docs/protocol.md) with one I/O model.\n"
               "\n"
               "  --model NAME          I/O model (see --list-models)\n"
               "  --host ADDR           address to bind (default 127.0.0.1)\n"
               "  --port N              port (default 8080; 0 picks a free one)\n"
               "  --port-file F         write the bound port to F (atomically)\n"
               "  --max-head BYTES      largest request head (default 8192; else 431)\n"
               "  --max-body BYTES      largest request body (default 1048576; else 413)\n"
               "  --header-timeout MS   time to send a complete head (default 10000; 408)\n"
               "  --idle-timeout MS     idle keep-alive connection lifetime (default 60000)\n"
               "  --write-timeout MS    time a client may stall reading (default 30000)\n"
               "  --drain-timeout MS    bound on finishing requests at shutdown (default 5000)\n"
               "  --max-conns N         connections served at once (default 10000; else 503)\n"
               "  --backlog N           listen backlog (default 1024)\n"
               "  --thread-stack BYTES  stack of each connection thread (default 65536)\n"
               "  --aio-threads N       glibc AIO thread pool size (default 256)\n"
               "\n"
               "SIGTERM or SIGINT stops it gracefully; SIGUSR1 prints the counters.\n");
}

static int parse_num(const char *opt, const char *arg, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "ioserve: %s wants an integer in [%ld, %ld], got '%s'\n", opt, min, max,
                arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int write_port_file(const char *path, int port)
{
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d\n", port);
    return atomicfile_write(path, buf, (size_t)n);
}

static void raise_nofile(void)
{
    /* Many connections need many descriptors; the hard limit is ours to use. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            perror("ioserve: setrlimit(RLIMIT_NOFILE)");
    }
}

int main(int argc, char **argv)
{
    struct server_config cfg = {
        .host = "127.0.0.1",
        .port = 8080,
        .max_head = 8192,
        .max_body = 1024 * 1024,
        .header_timeout_ms = 10000,
        .idle_timeout_ms = 60000,
        .write_timeout_ms = 30000,
        .drain_timeout_ms = 5000,
        .max_conns = 10000,
        .thread_stack = 64 * 1024,
        .aio_threads = 256,
        .backlog = 1024,
    };
    const char *model_name = NULL;
    enum {
        O_HOST = 256,
        O_PORT,
        O_PORT_FILE,
        O_MAX_HEAD,
        O_MAX_BODY,
        O_HDR_TO,
        O_IDLE_TO,
        O_WRITE_TO,
        O_DRAIN_TO,
        O_MAX_CONNS,
        O_BACKLOG,
        O_STACK,
        O_AIO,
        O_LIST,
        O_VERSION
    };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"max-head", required_argument, NULL, O_MAX_HEAD},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"header-timeout", required_argument, NULL, O_HDR_TO},
        {"idle-timeout", required_argument, NULL, O_IDLE_TO},
        {"write-timeout", required_argument, NULL, O_WRITE_TO},
        {"drain-timeout", required_argument, NULL, O_DRAIN_TO},
        {"max-conns", required_argument, NULL, O_MAX_CONNS},
        {"backlog", required_argument, NULL, O_BACKLOG},
        {"thread-stack", required_argument, NULL, O_STACK},
        {"aio-threads", required_argument, NULL, O_AIO},
        {"list-models", no_argument, NULL, O_LIST},
        {"version", no_argument, NULL, O_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    long v;
    while ((ch = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            model_name = optarg;
            break;
        case O_HOST:
            cfg.host = optarg;
            break;
        case O_PORT_FILE:
            cfg.port_file = optarg;
            break;
#define NUM(code, field, lo, hi)                                                                   \
    case code:                                                                                     \
        if (parse_num("--" #field, optarg, lo, hi, &v) < 0)                                        \
            return 2;                                                                              \
        cfg.field = v;                                                                             \
        break;
            NUM(O_PORT, port, 0, 65535)
            NUM(O_MAX_HEAD, max_head, 256, 1 << 20)
            NUM(O_MAX_BODY, max_body, 0, 1L << 30)
            NUM(O_HDR_TO, header_timeout_ms, 1, 3600000)
            NUM(O_IDLE_TO, idle_timeout_ms, 1, 3600000)
            NUM(O_WRITE_TO, write_timeout_ms, 1, 3600000)
            NUM(O_DRAIN_TO, drain_timeout_ms, 0, 3600000)
            NUM(O_MAX_CONNS, max_conns, 1, 1000000)
            NUM(O_BACKLOG, backlog, 1, 65535)
            NUM(O_STACK, thread_stack, 16384, 64L << 20)
            NUM(O_AIO, aio_threads, 1, 65536)
#undef NUM
        case O_LIST:
            for (const struct model *const *m = server_models; *m; m++)
                printf("%s\n", (*m)->name);
            return 0;
        case O_VERSION:
            printf("ioserve %s\n", IOBENCH_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "ioserve: bad option; see ioserve --help\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ioserve: unexpected argument '%s'; see ioserve --help\n", argv[optind]);
        return 2;
    }
    if (!model_name) {
        fprintf(stderr, "ioserve: --model is required (one of:");
        for (const struct model *const *m = server_models; *m; m++)
            fprintf(stderr, " %s", (*m)->name);
        fprintf(stderr, ")\n");
        return 2;
    }
    const struct model *model = server_find_model(model_name);
    if (!model) {
        fprintf(stderr, "ioserve: unknown model '%s'; see ioserve --list-models\n", model_name);
        return 2;
    }
    active_model = model->name;

    raise_nofile();
    /* The default 50 us timer slack would make every /delay late by that
     * much; threads and children inherit this setting. */
    if (prctl(PR_SET_TIMERSLACK, 1UL) < 0)
        perror("ioserve: prctl(PR_SET_TIMERSLACK)");
    if (stats_init() < 0) {
        perror("ioserve: cannot map shared counters");
        return 1;
    }
    /* SIGPIPE would end the server when a client closes before reading;
     * writes report EPIPE instead. */
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return perror("ioserve: sigaction"), 1;
    /* No SA_RESTART: a blocked accept/read/poll must return EINTR so the
     * loop sees the stop request. */
    sa.sa_handler = on_signal;
    sa.sa_flags = 0;
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGUSR1, &sa, NULL) < 0)
        return perror("ioserve: sigaction"), 1;

    char err[256];
    int bound;
    int lfd = net_listen(cfg.host, cfg.port, cfg.backlog, &bound, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "ioserve: %s\n", err);
        return 1;
    }
    if (net_reserve_fd() < 0) {
        perror("ioserve: cannot reserve a descriptor");
        return 1;
    }
    if (cfg.port_file && write_port_file(cfg.port_file, bound) < 0) {
        fprintf(stderr, "ioserve: cannot write port file %s: %s\n", cfg.port_file, strerror(errno));
        return 1;
    }
    printf("listening on %s:%d\n", cfg.host, bound);
    fflush(stdout);

    int rc = model->serve(lfd, &cfg);
    close(lfd);
    if (rc < 0) {
        fprintf(stderr, "ioserve: model %s failed to start\n", model->name);
        return 1;
    }
    return 0;
}
