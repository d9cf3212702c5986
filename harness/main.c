/* iobench: runs, plots, compares and reports Unix server I/O model
 * benchmarks. One subcommand per source file; this file only dispatches. */
#include "iobench.h"

#include <stdio.h>
#include <string.h>

struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"run", run_main, "run a benchmark suite and record the results"},
    {"plot", plot_main, "draw the charts of a results directory"},
    {"compare", compare_main, "compare two results directories (exit 1: regression)"},
    {"report", report_main, "write report.md and report.tex for a results directory"},
    {"history", history_main, "charts and change points across the runs of many commits"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: iobench SUBCOMMAND [OPTIONS]   (iobench SUBCOMMAND --help)\n");
    for (const struct subcommand *c = subcommands; c->name != NULL; c++)
        fprintf(f, "  %-8s %s\n", c->name, c->summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "iobench: missing subcommand (run, plot, compare, report, history; see --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("iobench %s\n", IOBENCH_VERSION);
        return 0;
    }
    for (const struct subcommand *c = subcommands; c->name != NULL; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->main(argc - 1, argv + 1);
    fprintf(stderr, "iobench: unknown subcommand \"%s\" (run, plot, compare, report, history)\n", argv[1]);
    return 2;
}
