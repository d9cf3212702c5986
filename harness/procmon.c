/* procmon: child processes and /proc sampling of a process tree. */
#include "procmon.h"

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int open_output(const char *path)
{
    if (path == NULL)
        return open("/dev/null", O_WRONLY | O_CLOEXEC);
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

pid_t procmon_spawn(char *const argv[], int cpu, const char *out_path, const char *err_path)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    if (cpu >= 0)
        CPU_SET(cpu, &one);
    return procmon_spawn_on(argv, cpu >= 0 ? &one : NULL, out_path, err_path);
}

pid_t procmon_spawn_on(char *const argv[], const cpu_set_t *cpus, const char *out_path,
                       const char *err_path)
{
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open_output(out_path);
    int err = open_output(err_path);
    int pfd[2] = {-1, -1};
    pid_t pid = -1;
    int saved = 0;
    if (in < 0 || out < 0 || err < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
        saved = errno;
        goto done;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpus != NULL)
        set = *cpus;
    pid_t parent = getpid();
    pid = fork();
    if (pid < 0) {
        saved = errno;
        goto done;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls until exec: the harness has threads. */
        int e;
        sigset_t none;
        sigemptyset(&none);
        if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent ||
            (cpus != NULL && sched_setaffinity(0, sizeof set, &set) < 0) ||
            signal(SIGPIPE, SIG_DFL) == SIG_ERR || sigprocmask(SIG_SETMASK, &none, NULL) < 0 ||
            dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            goto child_fail;
        execv(argv[0], argv);
    child_fail:
        e = errno;
        while (write(pfd[1], &e, sizeof e) < 0 && errno == EINTR)
            ;
        _exit(127);
    }
    close(pfd[1]);
    pfd[1] = -1;
    /* The pipe closes on a successful exec; an errno arrives otherwise. */
    int child_errno = 0;
    ssize_t n;
    do
        n = read(pfd[0], &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        saved = child_errno != 0 ? child_errno : EIO;
        pid = -1;
    }
done:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (pid < 0)
        errno = saved;
    return pid;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    /* An interrupted sleep just ends early: callers loop on a deadline. */
    nanosleep(&ts, NULL);
}

int procmon_wait(pid_t pid, int timeout_ms, int *status, struct rusage *ru,
                 volatile const int *stop)
{
    int64_t deadline = util_now_ms() + timeout_ms;
    for (;;) {
        int st;
        struct rusage r;
        pid_t got = wait4(pid, &st, WNOHANG, &r);
        if (got == pid) {
            if (status != NULL)
                *status = st;
            if (ru != NULL)
                *ru = r;
            return 1;
        }
        if (got < 0 && errno != EINTR)
            return -1;
        int64_t left = deadline - util_now_ms();
        if (left <= 0 || (stop != NULL && *stop))
            return 0;
        sleep_ms(left < 10 ? (int)left : 10);
    }
}

int procmon_stop(pid_t pid, int timeout_ms, int *status, struct rusage *ru, bool *killed)
{
    *killed = false;
    int rc = procmon_wait(pid, 0, status, ru, NULL);
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
        return -1;
    rc = procmon_wait(pid, timeout_ms, status, ru, NULL);
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    *killed = true;
    if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
        return -1;
    rc = procmon_wait(pid, 5000, status, ru, NULL);
    return rc > 0 ? 0 : -1;
}

struct procmon *procmon_new(pid_t root)
{
    struct procmon *pm = calloc(1, sizeof *pm);
    if (pm != NULL)
        pm->root = root;
    return pm;
}

void procmon_free(struct procmon *pm)
{
    if (pm == NULL)
        return;
    free(pm->samples);
    free(pm);
}

/* The fields of /proc/PID/stat this module uses. */
struct pstat {
    char state;
    int pgrp;
    unsigned long long utime, stime, cutime, cstime, starttime;
    long threads, rss_pages;
};

static int read_pstat(pid_t pid, struct pstat *ps)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (util_read_file(path, buf, sizeof buf) < 0)
        return -1;
    /* comm may hold spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    long long cutime, cstime;
    int ppid;
    int n = sscanf(p + 2,
                   "%c %d %d %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %lld %lld %*s %*s %ld "
                   "%*s %llu %*s %ld",
                   &ps->state, &ppid, &ps->pgrp, &ps->utime, &ps->stime, &cutime, &cstime,
                   &ps->threads, &ps->starttime, &ps->rss_pages);
    if (n != 10)
        return -1;
    ps->cutime = cutime > 0 ? (unsigned long long)cutime : 0;
    ps->cstime = cstime > 0 ? (unsigned long long)cstime : 0;
    return 0;
}

/* Calls fn with the text of /proc/PID/task/TID/<file> for every thread of
 * pid (threads that end meanwhile are skipped). */
static void each_task_file(pid_t pid, const char *file, void (*fn)(const char *text, void *ctx),
                           void *ctx)
{
    static char buf[65536];
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char fpath[512];
        snprintf(fpath, sizeof fpath, "%s/%s/%s", path, de->d_name, file);
        if (util_read_file(fpath, buf, sizeof buf) >= 0)
            fn(buf, ctx);
    }
    closedir(d);
}

static void add_ctx(const char *status, void *ctx)
{
    struct procmon_sample *s = ctx;
    char v[32];
    if (util_line_value(status, "voluntary_ctxt_switches", v, sizeof v) != NULL)
        s->ctx_voluntary += strtol(v, NULL, 10);
    if (util_line_value(status, "nonvoluntary_ctxt_switches", v, sizeof v) != NULL)
        s->ctx_involuntary += strtol(v, NULL, 10);
}

static void remember(struct procmon *pm, pid_t pid, unsigned long long start)
{
    for (int i = 0; i < pm->n_seen; i++)
        if (pm->seen_pid[i] == pid && pm->seen_start[i] == start)
            return;
    if (pm->n_seen == PROCMON_MAX_SEEN) {
        /* Full (a fork server under load): forget the ones that have ended. */
        int k = 0;
        for (int i = 0; i < pm->n_seen; i++) {
            struct pstat ps;
            if (read_pstat(pm->seen_pid[i], &ps) == 0 && ps.starttime == pm->seen_start[i]) {
                pm->seen_pid[k] = pm->seen_pid[i];
                pm->seen_start[k++] = pm->seen_start[i];
            }
        }
        pm->n_seen = k;
        if (k == PROCMON_MAX_SEEN)
            return;
    }
    pm->seen_pid[pm->n_seen] = pid;
    pm->seen_start[pm->n_seen++] = start;
}

struct child_list {
    pid_t *pids;
    size_t n, cap;
};

static void add_children(const char *text, void *ctx)
{
    struct child_list *l = ctx;
    const char *p = text;
    while (l->n < l->cap) {
        char *end;
        long c = strtol(p, &end, 10);
        if (end == p)
            break;
        l->pids[l->n++] = (pid_t)c;
        p = end;
    }
}

int procmon_sample(struct procmon *pm, double t)
{
    static pid_t queue[PROCMON_MAX_SEEN];
    static long tick, page_kb;
    if (tick == 0) {
        tick = sysconf(_SC_CLK_TCK);
        page_kb = sysconf(_SC_PAGESIZE) / 1024;
        if (tick <= 0)
            tick = 100;
        if (page_kb <= 0)
            page_kb = 4;
    }
    struct procmon_sample s = {.t = t};
    struct child_list q = {queue, 0, sizeof queue / sizeof queue[0]};
    size_t head = 0;
    queue[q.n++] = pm->root;
    while (head < q.n) {
        pid_t pid = queue[head++];
        struct pstat ps;
        if (read_pstat(pid, &ps) < 0 || ps.state == 'Z' || ps.state == 'X') {
            if (pid == pm->root)
                return -1;
            continue;
        }
        s.cpu_user_s += (double)(ps.utime + ps.cutime) / (double)tick;
        s.cpu_sys_s += (double)(ps.stime + ps.cstime) / (double)tick;
        s.rss_kb += ps.rss_pages * page_kb;
        s.threads += (int)ps.threads;
        s.processes++;
        each_task_file(pid, "status", add_ctx, &s);
        if (pid != pm->root)
            remember(pm, pid, ps.starttime);
        each_task_file(pid, "children", add_children, &q);
    }
    if (pm->n == pm->cap) {
        size_t cap = pm->cap ? pm->cap * 2 : 256;
        struct procmon_sample *p = realloc(pm->samples, cap * sizeof *p);
        if (p == NULL)
            return -1;
        pm->samples = p;
        pm->cap = cap;
    }
    pm->samples[pm->n++] = s;
    return 0;
}

struct procmon_summary procmon_summarise(const struct procmon *pm, double from, double to)
{
    struct procmon_summary r = {0};
    size_t first = pm->n, last = 0;
    for (size_t i = 0; i < pm->n; i++)
        if (pm->samples[i].t >= from && pm->samples[i].t <= to) {
            if (first == pm->n)
                first = i;
            last = i;
        }
    if (first == pm->n) {
        if (pm->n == 0)
            return r;
        first = 0;
        last = pm->n - 1;
    }
    double rss_sum = 0;
    for (size_t i = first; i <= last; i++) {
        const struct procmon_sample *s = &pm->samples[i];
        if (s->rss_kb > r.rss_peak_kb)
            r.rss_peak_kb = s->rss_kb;
        if (s->threads > r.threads_max)
            r.threads_max = s->threads;
        if (s->processes > r.processes_max)
            r.processes_max = s->processes;
        rss_sum += (double)s->rss_kb;
        r.samples++;
    }
    const struct procmon_sample *a = &pm->samples[first], *b = &pm->samples[last];
    r.rss_mean_kb = (long)(rss_sum / r.samples + 0.5);
    r.cpu_user_s = b->cpu_user_s - a->cpu_user_s;
    r.cpu_sys_s = b->cpu_sys_s - a->cpu_sys_s;
    /* Threads that ended take their counts with them, so the sum can drop. */
    r.ctx_voluntary = b->ctx_voluntary > a->ctx_voluntary ? b->ctx_voluntary - a->ctx_voluntary : 0;
    r.ctx_involuntary =
        b->ctx_involuntary > a->ctx_involuntary ? b->ctx_involuntary - a->ctx_involuntary : 0;
    return r;
}

int procmon_reap_leftovers(struct procmon *pm)
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return -1;
    int left = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (end == de->d_name || *end != '\0' || pid <= 0 || pid == pm->root)
            continue;
        struct pstat ps;
        if (read_pstat((pid_t)pid, &ps) < 0)
            continue;
        bool ours = ps.pgrp == pm->root;
        for (int i = 0; !ours && i < pm->n_seen; i++)
            ours = pm->seen_pid[i] == pid && pm->seen_start[i] == ps.starttime;
        if (!ours)
            continue;
        if (ps.state != 'Z' && ps.state != 'X') {
            left++;
            if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
                continue;
        }
        /* Reaped here when the harness is their subreaper; ECHILD otherwise. */
        procmon_wait((pid_t)pid, 1000, NULL, NULL, NULL);
    }
    closedir(d);
    return left;
}
