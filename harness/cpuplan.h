/* cpuplan: which CPUs the server, the load generator and the harness use,
 * from the CPUs this process may run on (the affinity mask Slurm, a cgroup
 * or taskset set). */
#ifndef IOBENCH_CPUPLAN_H
#define IOBENCH_CPUPLAN_H

#include <jansson.h>
#include <sched.h>
#include <stdbool.h>

struct cpuplan {
    bool pinned;      /* false: nobody is pinned, reason says why */
    cpu_set_t server; /* the server's CPUs */
    cpu_set_t load;   /* the load generator's and the harness's */
    int n_server, n_load;
    char reason[96];
};

/* Plans from the affinity mask. 0, or -1 with errno set. */
int cpuplan_make(struct cpuplan *p);
/* {"enabled", "server_cpus", "load_cpus", "reason"} for summary.json. */
json_t *cpuplan_json(const struct cpuplan *p);
/* Keeps the harness itself (sampling, slow clients) on the load CPUs, off
 * the server's. Prints one line when it cannot. */
void cpuplan_pin_harness(const struct cpuplan *p);

#endif
