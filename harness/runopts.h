/* runopts: `iobench run`'s command line. */
#ifndef IOBENCH_RUNOPTS_H
#define IOBENCH_RUNOPTS_H

#include <stdbool.h>

struct runopts {
    const char *suite;  /* name or file; "default" */
    bool suite_given;   /* --suite was on the command line */
    const char *models; /* --models list, or NULL */
    long trials;        /* --trials, 0: the suite's */
    char parent[2048];  /* --out, "results"; bounded so every path under it fits */
    bool quiet;
    long min_free_mb;    /* refuse to start with less space */
    const char *ioserve; /* binaries */
    const char *ioload;
    long load_tasks;        /* --load-tasks, 0: the suite's */
    const char *resume;     /* --resume DIR, or NULL */
    bool other_machine_new; /* --other-machine new: resume elsewhere into a new directory */
    const char *host;       /* --host: where the server listens (127.0.0.1) */
    const char *load_via;   /* --load-via CMD, or NULL */
    long load_cpus;         /* --load-cpus: CPUs the load has elsewhere, 0: as here */
};

/* Fills o from argv (defaults first). Returns -1 to go on, or the exit
 * status to end with (0 after --help, 2 after one line on stderr). */
int runopts_parse(struct runopts *o, int argc, char **argv);
/* One line "iobench run: MESSAGE (see iobench run --help)"; returns 2. */
int runopts_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
