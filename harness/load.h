/* load: the load generator of one run: ioload's command lines from the
 * suite, the ioload processes (one per load task, each with its share of
 * the connections, the rate and the load CPUs), and their results, merged
 * with `ioload merge` when there are several. */
#ifndef IOBENCH_LOAD_H
#define IOBENCH_LOAD_H

#include "cpuplan.h"
#include "runrecord.h"
#include "server.h"
#include "suite.h"

#include <signal.h>
#include <stddef.h>

#define LOAD_MAX_VIA 16 /* words of --load-via */

/* How load is generated: the same for every run of a suite. */
struct load_conf {
    const char *bin;           /* ioload */
    const char *dir;           /* the results directory */
    const char *host;          /* the server's address */
    const struct suite *suite; /* threads, durations, workloads, load_tasks */
    const struct cpuplan *cpus;
    /* --load-via: each ioload command line is run as these words followed
     * by ioload's own ({task} in a word becomes the task's 0-based number),
     * e.g. through srun on another node; then nothing is pinned here and
     * "threads": "auto" counts remote_cpus. */
    char *via[LOAD_MAX_VIA];
    int n_via;
    int remote_cpus;                     /* CPUs the load tasks have in all elsewhere */
    volatile const sig_atomic_t *cancel; /* set by a signal handler: give up */
};

/* Runs the run's load tasks against s while sampling the server into
 * res->pm; fills res->ioload (merged), res->load_tasks, res->load_threads
 * and the measured window, or sets err when either side fails.
 * res->interrupted when cancelled. */
void load_drive(const struct load_conf *c, const struct suite_run *sr, const char *id,
                struct server *s, struct run_result *res, char *err, size_t errlen);
/* How many tasks a run at this level gets: the suite's load_tasks, but
 * never more than its connections. */
int load_task_count(const struct load_conf *c, int level);

#endif
