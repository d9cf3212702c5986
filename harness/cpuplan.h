/* cpuplan: which CPUs the server, the load generator and the harness use,
 * from the CPUs this process may run on (the affinity mask that Slurm, a
 * cgroup or taskset set): the first server_cpus of them go to the server,
 * the rest to the load tasks (each its own share) and the harness. */
#ifndef IOBENCH_CPUPLAN_H
#define IOBENCH_CPUPLAN_H

#include <jansson.h>
#include <sched.h>
#include <stdbool.h>

struct cpuplan {
    bool pinned;       /* false: nobody is pinned, reason says why */
    cpu_set_t allowed; /* the affinity mask the plan came from */
    cpu_set_t server;  /* the server's CPUs */
    cpu_set_t load;    /* the load generator's and the harness's */
    int n_allowed, n_server, n_load;
    int server_asked; /* the suite's server_cpus */
    char reason[128]; /* why unpinned, or why the server got fewer */
};

/* Plans from the affinity mask for a server of server_cpus CPUs. 0, or -1
 * with errno set. */
int cpuplan_make(struct cpuplan *p, int server_cpus);
/* Load task k of n's share of the load CPUs (at least one CPU; tasks share
 * when there are more tasks than CPUs). */
void cpuplan_task_share(const struct cpuplan *p, int k, int n, cpu_set_t *out);
/* How many CPUs task k of n gets. */
int cpuplan_task_count(const struct cpuplan *p, int k, int n);
/* {"enabled", "allowed_cpus", "server_cpus", "load_cpus", "server_cpus_asked",
 * "reason"} for summary.json. */
json_t *cpuplan_json(const struct cpuplan *p);
/* "0,2-5" for a set, into buf. */
char *cpuplan_list(const cpu_set_t *set, char *buf, size_t cap);
/* Keeps the harness itself (sampling, slow clients) on the load CPUs, off
 * the server's. Prints one line when it cannot. */
void cpuplan_pin_harness(const struct cpuplan *p);

#endif
