/* runopts: `iobench run`'s command line (see runopts.h). */
#include "runopts.h"

#include "suite.h"
#include "util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef IOSERVE_BIN
#define IOSERVE_BIN "ioserve"
#endif
#ifndef IOLOAD_BIN
#define IOLOAD_BIN "ioload"
#endif

#define RUNOPTS_MIN_FREE_MB 64 /* results are far smaller */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: iobench run [--suite NAME|FILE] [--models a,b,...] [--trials N] [--out DIR]\n"
            "                   [--quiet] [--ioserve PATH] [--ioload PATH] [--min-free MB]\n"
            "                   [--load-tasks N] [--host ADDR] [--load-via CMD] [--load-cpus N]\n"
            "       iobench run --resume DIR [--other-machine refuse|new] [--quiet] ...\n"
            "Runs a benchmark suite (default: harness/suites/default.json) and writes\n"
            "DIR/<UTC stamp>-<git sha>/summary.json and runs/*.json (DIR: results).\n"
            "The results directory is the last line on stdout. Before any load it checks\n"
            "that DIR is writable with at least --min-free MiB free (default 64).\n"
            "  --load-tasks N   N ioload processes per run, each with its share of the\n"
            "                   connections, rate and load CPUs; results merged exactly\n"
            "  --host ADDR      the server listens on ADDR, not 127.0.0.1 (load from other\n"
            "                   machines: it is then reachable from the network)\n"
            "  --load-via CMD   run each ioload as CMD IOLOAD-ARGS ({task}: its number),\n"
            "                   e.g. through srun on other nodes\n"
            "  --load-cpus N    with --load-via: CPUs the load tasks have in all\n"
            "  --resume DIR     finish an interrupted run: runs already written are kept\n"
            "  --other-machine  when DIR was run on another machine: refuse (default) or\n"
            "                   start a new results directory with the same suite\n");
}

int runopts_bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("iobench run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see iobench run --help)\n", stderr);
    va_end(ap);
    return 2;
}

static void set_defaults(struct runopts *o)
{
    memset(o, 0, sizeof *o);
    o->suite = "default";
    o->ioserve = IOSERVE_BIN;
    o->ioload = IOLOAD_BIN;
    o->min_free_mb = RUNOPTS_MIN_FREE_MB;
    o->host = "127.0.0.1";
    snprintf(o->parent, sizeof o->parent, "results");
}

/* One option; -1 to go on, else the exit status. */
static int take_option(struct runopts *o, int c, const char *arg, const char *name)
{
    switch (c) {
    case 's':
        o->suite = arg;
        o->suite_given = true;
        return -1;
    case 'm':
        o->models = arg;
        return -1;
    case 't':
        if (util_parse_long(arg, 1, 1000, &o->trials) < 0)
            return runopts_bad("--trials: expected an integer in [1, 1000], got \"%s\"", arg);
        return -1;
    case 'o':
        if (strlen(arg) >= sizeof o->parent)
            return runopts_bad("--out: path too long: %s", arg);
        snprintf(o->parent, sizeof o->parent, "%s", arg);
        return -1;
    case 'q':
        o->quiet = true;
        return -1;
    case 'S':
        o->ioserve = arg;
        return -1;
    case 'L':
        o->ioload = arg;
        return -1;
    case 'F':
        if (util_parse_long(arg, 0, 1L << 40, &o->min_free_mb) < 0)
            return runopts_bad("--min-free: expected MiB in [0, 2^40], got \"%s\"", arg);
        return -1;
    case 'T':
        if (util_parse_long(arg, 1, SUITE_MAX_LOAD_TASKS, &o->load_tasks) < 0)
            return runopts_bad("--load-tasks: expected an integer in [1, %d], got \"%s\"",
                               SUITE_MAX_LOAD_TASKS, arg);
        return -1;
    case 'R':
        o->resume = arg;
        return -1;
    case 'M':
        if (strcmp(arg, "refuse") != 0 && strcmp(arg, "new") != 0)
            return runopts_bad("--other-machine: expected refuse or new, got \"%s\"", arg);
        o->other_machine_new = strcmp(arg, "new") == 0;
        return -1;
    case 'H':
        o->host = arg;
        return -1;
    case 'V':
        o->load_via = arg;
        return -1;
    case 'C':
        if (util_parse_long(arg, 1, 1 << 20, &o->load_cpus) < 0)
            return runopts_bad("--load-cpus: expected a positive integer, got \"%s\"", arg);
        return -1;
    case 'h':
        usage(stdout);
        return 0;
    case ':':
        return runopts_bad("%s needs a value", name);
    default:
        return runopts_bad("unknown option %s", name);
    }
}

int runopts_parse(struct runopts *o, int argc, char **argv)
{
    static const struct option opts[] = {{"suite", required_argument, NULL, 's'},
                                         {"models", required_argument, NULL, 'm'},
                                         {"trials", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"ioserve", required_argument, NULL, 'S'},
                                         {"ioload", required_argument, NULL, 'L'},
                                         {"min-free", required_argument, NULL, 'F'},
                                         {"load-tasks", required_argument, NULL, 'T'},
                                         {"resume", required_argument, NULL, 'R'},
                                         {"other-machine", required_argument, NULL, 'M'},
                                         {"host", required_argument, NULL, 'H'},
                                         {"load-via", required_argument, NULL, 'V'},
                                         {"load-cpus", required_argument, NULL, 'C'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    set_defaults(o);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":s:m:t:o:qh", opts, NULL)) != -1) {
        int rc = take_option(o, c, optarg, argv[optind - 1]);
        if (rc >= 0)
            return rc;
    }
    if (optind < argc)
        return runopts_bad("unexpected argument \"%s\"", argv[optind]);
    if (o->resume != NULL &&
        (o->suite_given || o->models != NULL || o->trials > 0 || o->load_tasks > 0))
        return runopts_bad("--resume runs the suite as recorded: no --suite, --models, --trials "
                           "or --load-tasks");
    return -1;
}
