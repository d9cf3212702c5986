/* cpuplan: the CPU plan (see cpuplan.h). */
#include "cpuplan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *cpus_json(const cpu_set_t *set)
{
    json_t *a = json_array();
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, set))
            json_array_append_new(a, json_integer(c));
    return a;
}

int cpuplan_make(struct cpuplan *p)
{
    memset(p, 0, sizeof *p);
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
        return -1;
    int cpus[2], n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &allowed))
            cpus[n++] = c;
    if (n < 2) {
        snprintf(p->reason, sizeof p->reason, "only one CPU");
        return 0;
    }
    p->pinned = true;
    CPU_SET(cpus[0], &p->server);
    CPU_SET(cpus[1], &p->load);
    p->n_server = p->n_load = 1;
    return 0;
}

json_t *cpuplan_json(const struct cpuplan *p)
{
    return json_pack("{s:b,s:o,s:o,s:s?}", "enabled", p->pinned, "server_cpus",
                     cpus_json(&p->server), "load_cpus", cpus_json(&p->load), "reason",
                     p->pinned ? NULL : p->reason);
}

void cpuplan_pin_harness(const struct cpuplan *p)
{
    if (p->pinned && sched_setaffinity(0, sizeof p->load, &p->load) < 0)
        fprintf(stderr, "iobench run: cannot pin the harness to its load CPUs: %s\n",
                strerror(errno));
}
