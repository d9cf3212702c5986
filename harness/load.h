/* load: the load generator of one run: ioload's command line from the
 * suite, the ioload processes (one per load task), and their results. */
#ifndef IOBENCH_LOAD_H
#define IOBENCH_LOAD_H

#include "runrecord.h"
#include "server.h"
#include "suite.h"

#include <sched.h>
#include <signal.h>
#include <stddef.h>

/* How load is generated: the same for every run of a suite. */
struct load_conf {
    const char *bin;  /* ioload */
    const char *dir;  /* the results directory */
    const char *host; /* the server's address */
    const struct suite *suite;
    const cpu_set_t *cpus;               /* the load CPUs, or NULL: not pinned */
    int n_cpus;                          /* how many, for "threads": "auto" */
    volatile const sig_atomic_t *cancel; /* set by a signal handler: give up */
};

/* Runs ioload against s while sampling the server into res->pm; fills
 * res->ioload and the measured window, or sets err when either side
 * fails. res->interrupted when cancelled. */
void load_drive(const struct load_conf *c, const struct suite_run *sr, const char *id,
                struct server *s, struct run_result *res, char *err, size_t errlen);

#endif
