/* ioserve: one HTTP/1.1 server, one I/O model chosen at start. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "atomicfile.h"
#include "net.h"
#include "server.h"
#include "loops.h"
#include "stats.h"

/* IOSERVE_MODELS is "X(iterative) X(fork) ..." from CMake's feature checks. */
#define X(name) extern const struct model model_##name;
IOSERVE_MODELS
#undef X
#define X(name) &model_##name,
const struct model *const server_models[] = {IOSERVE_MODELS NULL};
#undef X

const struct model *server_find_model(const char *name)
{
    for (const struct model *const *m = server_models; *m; m++)
        if (strcmp((*m)->name, name) == 0)
            return *m;
    return NULL;
}

/* The model options of every model, once per name, for getopt and --help. */
#define MAX_MODEL_OPTIONS 16
#define O_MODEL_OPTION 1000 /* getopt value of model option i: O_MODEL_OPTION + i */

static const struct model_option *model_options[MAX_MODEL_OPTIONS];
static int nmodel_options;

static void collect_model_options(void)
{
    for (const struct model *const *m = server_models; *m; m++) {
        for (const struct model_option *o = (*m)->options; o && o->name; o++) {
            bool seen = false;
            for (int i = 0; i < nmodel_options; i++)
                seen |= strcmp(model_options[i]->name, o->name) == 0;
            if (!seen && nmodel_options < MAX_MODEL_OPTIONS)
                model_options[nmodel_options++] = o;
        }
    }
}

/* "workers (prefork, pool, select)": which models take an option. */
static void print_takers(FILE *f, const char *name)
{
    const char *sep = "";
    fprintf(f, " (");
    for (const struct model *const *m = server_models; *m; m++)
        for (const struct model_option *o = (*m)->options; o && o->name; o++)
            if (strcmp(o->name, name) == 0) {
                fprintf(f, "%s%s", sep, (*m)->name);
                sep = ", ";
            }
    fprintf(f, ")\n");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ioserve --model NAME [options]\n"
               "       ioserve --list-models | --describe-models | --help | --version\n"
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
               "\n"
               "Options of some models (the default depends on the model):\n");
    for (int i = 0; i < nmodel_options; i++) {
        const struct model_option *o = model_options[i];
        char name[64];
        snprintf(name, sizeof name, "%s%s", o->name, o->flag ? "" : " N");
        fprintf(f, "  --%-19s %s\n%23s", name, o->help, "");
        print_takers(f, model_options[i]->name);
    }
    fprintf(f, "\nSIGTERM or SIGINT stops it gracefully; SIGUSR1 prints the counters.\n");
}

/* --list-models: the names of the models that can run here, one a line.
 * --describe-models: "name<TAB>properties<TAB>summary", properties being
 * a comma-separated list (or "-"), and "unavailable: why" for a model
 * built but unable to run on this system. */
static void list_models(bool describe)
{
    static const struct {
        unsigned flag;
        const char *name;
    } props[] = {{MODEL_PROCESSES, "processes"},
                 {MODEL_THREADS, "threads"},
                 {MODEL_HELPER_THREADS, "helper-threads"},
                 {MODEL_BOUNDED, "bounded"},
                 {MODEL_LOOPS, "loops"}};
    for (const struct model *const *m = server_models; *m; m++) {
        const char *why = (*m)->unavailable ? (*m)->unavailable() : NULL;
        if (!describe) {
            if (!why)
                printf("%s\n", (*m)->name);
            continue;
        }
        printf("%s\t", (*m)->name);
        const char *sep = "";
        for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
            if ((*m)->flags & props[i].flag) {
                printf("%s%s", sep, props[i].name);
                sep = ",";
            }
        printf("%s\t%s%s%s\n", *sep ? "" : "-", (*m)->summary, why ? "; unavailable: " : "",
               why ? why : "");
    }
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

/* Model options seen on the command line, applied once the model is known. */
struct pending_option {
    const char *name;
    const char *arg;
};

static int apply_model_options(const struct model *m, const struct pending_option *p, int n)
{
    for (int i = 0; i < n; i++) {
        const struct model_option *o = m->options;
        while (o && o->name && strcmp(o->name, p[i].name) != 0)
            o++;
        if (!o || !o->name) {
            fprintf(stderr, "ioserve: model %s takes no --%s; see ioserve --help\n", m->name,
                    p[i].name);
            return -1;
        }
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", o->name);
        if (o->flag)
            *o->value = 1;
        else if (parse_num(opt, p[i].arg, o->min, o->max, o->value) < 0)
            return -1;
    }
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

enum { PARSED = -1 }; /* parse_args: go on; otherwise the exit status */

static int parse_args(int argc, char **argv, struct server_config *cfg, const char **model_name,
                      struct pending_option *pending, int *npending)
{
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
        O_LIST,
        O_DESCRIBE,
        O_VERSION
    };
    static const struct option fixed[] = {
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
        {"list-models", no_argument, NULL, O_LIST},
        {"describe-models", no_argument, NULL, O_DESCRIBE},
        {"version", no_argument, NULL, O_VERSION},
        {"help", no_argument, NULL, 'h'},
    };
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    struct option opts[NFIXED + MAX_MODEL_OPTIONS + 1];
    memcpy(opts, fixed, sizeof fixed);
    for (int i = 0; i < nmodel_options; i++)
        opts[NFIXED + i] =
            (struct option){model_options[i]->name,
                            model_options[i]->flag ? no_argument : required_argument, NULL,
                            O_MODEL_OPTION + i};
    opts[NFIXED + nmodel_options] = (struct option){NULL, 0, NULL, 0};
    int ch;
    long v;
    while ((ch = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            *model_name = optarg;
            break;
        case O_HOST:
            cfg->host = optarg;
            break;
        case O_PORT_FILE:
            cfg->port_file = optarg;
            break;
#define NUM(code, field, lo, hi)                                                                   \
    case code:                                                                                     \
        if (parse_num("--" #field, optarg, lo, hi, &v) < 0)                                        \
            return 2;                                                                              \
        cfg->field = v;                                                                            \
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
#undef NUM
        case O_LIST:
        case O_DESCRIBE:
            list_models(ch == O_DESCRIBE);
            return 0;
        case O_VERSION:
            printf("ioserve %s\n", IOBENCH_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            if (ch >= O_MODEL_OPTION && ch < O_MODEL_OPTION + nmodel_options) {
                pending[(*npending)++] =
                    (struct pending_option){model_options[ch - O_MODEL_OPTION]->name, optarg};
                break;
            }
            fprintf(stderr, "ioserve: bad option; see ioserve --help\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ioserve: unexpected argument '%s'; see ioserve --help\n", argv[optind]);
        return 2;
    }
    return PARSED;
}

static const struct model *choose_model(const char *name)
{
    if (!name) {
        fprintf(stderr, "ioserve: --model is required (one of:");
        for (const struct model *const *m = server_models; *m; m++)
            fprintf(stderr, " %s", (*m)->name);
        fprintf(stderr, ")\n");
        return NULL;
    }
    const struct model *model = server_find_model(name);
    if (!model)
        fprintf(stderr, "ioserve: unknown model '%s'; see ioserve --list-models\n", name);
    return model;
}

/* Everything before serving that every model shares; -1 after a message. */
static int prepare_process(const struct model *model)
{
    raise_nofile();
    /* The default 50 us timer slack would make every /delay late by that
     * much; threads and children inherit this setting. */
    if (prctl(PR_SET_TIMERSLACK, 1UL) < 0)
        perror("ioserve: prctl(PR_SET_TIMERSLACK)");
    if (stats_init() < 0) {
        perror("ioserve: cannot map shared counters");
        return -1;
    }
    if (lifecycle_init(model->name) < 0) {
        perror("ioserve: sigaction");
        return -1;
    }
    return 0;
}

/* The listening socket, the reserve descriptor and the port file. */
static int open_listener(const struct server_config *cfg, bool reuseport)
{
    char err[256];
    int bound;
    int lfd = net_listen(cfg->host, cfg->port, cfg->backlog, reuseport, &bound, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "ioserve: %s\n", err);
        return -1;
    }
    if (net_reserve_fd() < 0) {
        perror("ioserve: cannot reserve a descriptor");
        close(lfd);
        return -1;
    }
    if (cfg->port_file && write_port_file(cfg->port_file, bound) < 0) {
        fprintf(stderr, "ioserve: cannot write port file %s: %s\n", cfg->port_file,
                strerror(errno));
        close(lfd);
        return -1;
    }
    printf("listening on %s:%d\n", cfg->host, bound);
    fflush(stdout);
    return lfd;
}

/* Exit status of a model that cannot run on this system (io_uring off):
 * distinct from 1 so that a harness can record it as skipped, not failed. */
#define EXIT_UNAVAILABLE 3

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
        .backlog = 1024,
    };
    collect_model_options();
    const char *model_name = NULL;
    /* At most one model option per argument. */
    struct pending_option *pending = calloc((size_t)argc, sizeof *pending);
    int npending = 0;
    if (!pending)
        return perror("ioserve"), 1;
    int st = parse_args(argc, argv, &cfg, &model_name, pending, &npending);
    if (st != PARSED)
        return free(pending), st;
    const struct model *model = choose_model(model_name);
    st = model ? apply_model_options(model, pending, npending) : -1;
    free(pending);
    if (st < 0)
        return 2;
    const char *why = model->unavailable ? model->unavailable() : NULL;
    if (why) {
        fprintf(stderr, "ioserve: model %s cannot run here: %s\n", model->name, why);
        return EXIT_UNAVAILABLE;
    }
    if (prepare_process(model) < 0)
        return 1;
    bool several = loops_wanted(model);
    int lfd = open_listener(&cfg, several);
    if (lfd < 0)
        return 1;
    int rc = several ? loops_serve(model, lfd, &cfg) : model->serve(lfd, &cfg);
    close(lfd);
    if (rc < 0) {
        fprintf(stderr, "ioserve: model %s failed to start\n", model->name);
        return 1;
    }
    return 0;
}
