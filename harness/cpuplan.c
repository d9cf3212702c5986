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

/* The i-th CPU (0-based) of set, or -1. */
static int nth_cpu(const cpu_set_t *set, int i)
{
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, set) && i-- == 0)
            return c;
    return -1;
}

int cpuplan_make(struct cpuplan *p, int server_cpus)
{
    memset(p, 0, sizeof *p);
    p->server_asked = server_cpus;
    if (sched_getaffinity(0, sizeof p->allowed, &p->allowed) < 0)
        return -1;
    p->n_allowed = CPU_COUNT(&p->allowed);
    if (p->n_allowed < 2) {
        /* Pinning the server and its load to the same CPU would only add
         * migrations' worth of noise to what the scheduler does anyway. */
        snprintf(p->reason, sizeof p->reason, "only one CPU");
        return 0;
    }
    p->pinned = true;
    p->n_server = server_cpus < p->n_allowed ? server_cpus : p->n_allowed - 1;
    if (p->n_server < server_cpus)
        snprintf(p->reason, sizeof p->reason,
                 "server_cpus %d asked, %d given: the load needs at least one of the %d CPUs",
                 server_cpus, p->n_server, p->n_allowed);
    for (int i = 0; i < p->n_allowed; i++)
        CPU_SET(nth_cpu(&p->allowed, i), i < p->n_server ? &p->server : &p->load);
    p->n_load = p->n_allowed - p->n_server;
    return 0;
}

void cpuplan_task_share(const struct cpuplan *p, int k, int n, cpu_set_t *out)
{
    CPU_ZERO(out);
    if (p->n_load <= n) {
        CPU_SET(nth_cpu(&p->load, k % p->n_load), out);
        return;
    }
    /* Contiguous shares, the first n_load % n tasks one CPU larger. */
    int base = p->n_load / n, extra = p->n_load % n;
    int from = k * base + (k < extra ? k : extra);
    for (int i = 0; i < cpuplan_task_count(p, k, n); i++)
        CPU_SET(nth_cpu(&p->load, from + i), out);
}

int cpuplan_task_count(const struct cpuplan *p, int k, int n)
{
    if (p->n_load <= n)
        return 1;
    return p->n_load / n + (k < p->n_load % n ? 1 : 0);
}

char *cpuplan_list(const cpu_set_t *set, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && len < cap; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int end = c;
        while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set))
            end++;
        int n = end > c ? snprintf(buf + len, cap - len, "%s%d-%d", len ? "," : "", c, end)
                        : snprintf(buf + len, cap - len, "%s%d", len ? "," : "", c);
        len += n > 0 ? (size_t)n : 0;
        c = end;
    }
    return buf;
}

json_t *cpuplan_json(const struct cpuplan *p)
{
    return json_pack("{s:b,s:o,s:o,s:o,s:i,s:s?}", "enabled", p->pinned, "allowed_cpus",
                     cpus_json(&p->allowed), "server_cpus", cpus_json(&p->server), "load_cpus",
                     cpus_json(&p->load), "server_cpus_asked", p->server_asked, "reason",
                     p->reason[0] ? p->reason : NULL);
}

void cpuplan_pin_harness(const struct cpuplan *p)
{
    if (p->pinned && sched_setaffinity(0, sizeof p->load, &p->load) < 0)
        fprintf(stderr, "iobench run: cannot pin the harness to its load CPUs: %s\n",
                strerror(errno));
}
