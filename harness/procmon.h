/* procmon: start and stop the processes a run needs, and sample a server's
 * whole process tree from /proc while it runs.
 *
 * Every child is started in its own process group (so a terminal's ^C goes
 * to the harness alone, which then stops its children in order), with
 * PR_SET_PDEATHSIG so a harness that dies cannot leave one running, and
 * optionally pinned to one CPU between fork and exec. */
#ifndef IOBENCH_PROCMON_H
#define IOBENCH_PROCMON_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Starts argv[0] (a path) with stdin from /dev/null and stdout / stderr
 * appended to the given files (NULL: /dev/null), pinned to cpu when cpu >= 0.
 * Returns the pid, or -1 with errno set when fork or exec failed (nothing is
 * left running). */
pid_t procmon_spawn(char *const argv[], int cpu, const char *out_path, const char *err_path);
/* The same, pinned to the CPUs in *cpus (NULL: not pinned). */
pid_t procmon_spawn_on(char *const argv[], const cpu_set_t *cpus, const char *out_path,
                       const char *err_path);
/* Waits up to timeout_ms (0: just looks) for pid to end. 1 when it ended
 * (status and ru filled, either may be NULL), 0 when still running, -1 on
 * error. EINTR does not end the wait early unless *stop turns true (stop may
 * be NULL). */
int procmon_wait(pid_t pid, int timeout_ms, int *status, struct rusage *ru,
                 volatile const int *stop);
/* SIGTERM, waits up to timeout_ms, then SIGKILL and waits again (bounded).
 * Returns 0 with *status / *ru filled and *killed telling whether SIGKILL
 * was needed, or -1 when the process could not be reaped. */
int procmon_stop(pid_t pid, int timeout_ms, int *status, struct rusage *ru, bool *killed);

/* One sample of a process tree: sums over the live processes. */
struct procmon_sample {
    double t;          /* seconds, on the caller's clock */
    double cpu_user_s; /* utime + cutime: includes reaped children */
    double cpu_sys_s;  /* stime + cstime */
    long rss_kb;
    int threads;
    int processes;
    long ctx_voluntary; /* per-thread counts of the live threads */
    long ctx_involuntary;
};

#define PROCMON_MAX_SEEN 16384

struct procmon {
    pid_t root;
    struct procmon_sample *samples;
    size_t n, cap;
    /* Descendants seen so far, with their start time, to tell after the root
     * has gone whether any is still alive (and not a reused pid). */
    pid_t seen_pid[PROCMON_MAX_SEEN];
    unsigned long long seen_start[PROCMON_MAX_SEEN];
    int n_seen;
};

/* Window statistics over the samples with t in [from, to]. */
struct procmon_summary {
    double cpu_user_s; /* last - first in the window */
    double cpu_sys_s;
    long rss_peak_kb;
    long rss_mean_kb;
    int threads_max;
    int processes_max;
    long ctx_voluntary; /* last - first, never below 0 */
    long ctx_involuntary;
    int samples;
};

/* Starts monitoring the tree rooted at root (heap-allocated; NULL on
 * ENOMEM). */
struct procmon *procmon_new(pid_t root);
void procmon_free(struct procmon *pm);
/* Walks the tree (through /proc/PID/task/TID/children) and appends one
 * sample at time t. 0, or -1 when the root is gone or on ENOMEM. */
int procmon_sample(struct procmon *pm, double t);
/* Aggregates samples in [from, to]; falls back to all samples when none
 * lies in the window. */
struct procmon_summary procmon_summarise(const struct procmon *pm, double from, double to);
/* After the root has been reaped: finds processes left behind (live
 * descendants seen earlier, or anything still in the root's process group),
 * SIGKILLs and reaps them. Returns how many were left, or -1 on error. */
int procmon_reap_leftovers(struct procmon *pm);

#endif
