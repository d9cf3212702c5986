/* load: ioload for one run (see load.h). */
#include "load.h"

#include "child.h"
#include "procmon.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOAD_GRACE_S 15.0  /* beyond warm-up + duration + timeout */
#define LOAD_SAMPLE_MS 100 /* the server's tree is sampled this often */
#define LOAD_STOP_MS 2000  /* ioload on interrupt */
#define LOAD_MERGE_MS 10000

/* One ioload process and its command line (the strings live here). */
struct load_task {
    pid_t pid;
    int status;
    bool done;
    int threads;
    char json[PATH_MAX];
    char *argv[LOAD_MAX_VIA + 24];
    char via[LOAD_MAX_VIA][64];
    char conc[16], threads_s[16], dur[32], warm[32], tmo[32], idle[16], rate[32], url[512];
};

/* The tasks of one run. */
struct load_run {
    struct load_task *task;
    int n;
    char log[PATH_MAX]; /* all tasks append to one log */
};

/* Task k of n's share of total (the first total % n get one more). */
static int share(int total, int k, int n)
{
    return total / n + (k < total % n ? 1 : 0);
}

int load_task_count(const struct load_conf *c, int level)
{
    return c->suite->load_tasks < level ? c->suite->load_tasks : level;
}

/* ioload threads for task k of n: the suite's count shared out, or with
 * "auto" one per CPU the task has; never more than its connections. */
static int task_threads(const struct load_conf *c, int k, int n, int conns)
{
    int t;
    if (c->suite->threads != SUITE_THREADS_AUTO)
        t = share(c->suite->threads, k, n);
    else if (c->n_via > 0)
        t = share(c->remote_cpus, k, n);
    else if (c->cpus->pinned)
        t = cpuplan_task_count(c->cpus, k, n);
    else
        t = share(c->cpus->n_allowed, k, n);
    t = t < 1 ? 1 : t;
    return t < conns ? t : conns;
}

/* The --load-via words, {task} replaced. */
static char **put_via(const struct load_conf *c, struct load_task *t, int k, char **a)
{
    for (int i = 0; i < c->n_via; i++) {
        const char *w = c->via[i], *at = strstr(w, "{task}");
        if (at == NULL) {
            *a++ = c->via[i];
            continue;
        }
        snprintf(t->via[i], sizeof t->via[i], "%.*s%d%s", (int)(at - w), w, k, at + 6);
        *a++ = t->via[i];
    }
    return a;
}

static void build_argv(const struct load_conf *c, const struct suite_run *sr, int port, int k,
                       int n, struct load_task *t)
{
    const struct suite *su = c->suite;
    const struct suite_workload *w = &su->workloads[sr->workload];
    int conns = share(sr->level, k, n);
    t->threads = task_threads(c, k, n, conns);
    snprintf(t->url, sizeof t->url, "http://%s:%d%s", c->host, port, w->path);
    snprintf(t->conc, sizeof t->conc, "%d", conns);
    snprintf(t->threads_s, sizeof t->threads_s, "%d", t->threads);
    snprintf(t->dur, sizeof t->dur, "%g", su->duration_s);
    snprintf(t->warm, sizeof t->warm, "%g", su->warmup_s);
    snprintf(t->tmo, sizeof t->tmo, "%g", su->timeout_s);
    snprintf(t->idle, sizeof t->idle, "%d", share(sr->idle, k, n));
    snprintf(t->rate, sizeof t->rate, "%.17g", sr->rate / n);
    char **a = put_via(c, t, k, t->argv);
    const char *fixed[] = {c->bin,  "--json",     t->json,      "-c",   t->conc,
                           "-t",    t->threads_s, "--duration", t->dur, "--warmup",
                           t->warm, "--timeout",  t->tmo,       NULL};
    for (const char *const *f = fixed; *f != NULL; f++)
        *a++ = (char *)*f;
    if (!w->keepalive)
        *a++ = "--no-keepalive";
    if (share(sr->idle, k, n) > 0) {
        *a++ = "--idle";
        *a++ = t->idle;
    }
    if (sr->rate > 0) {
        *a++ = "--rate";
        *a++ = t->rate;
    }
    *a++ = "--quiet";
    *a++ = t->url;
    *a = NULL;
}

/* One task's result file: a hidden temporary for a lone task, the parts
 * kept beside the run's file when there are several. */
static void part_path(const struct load_conf *c, const char *id, int k, int n, char *buf,
                      size_t cap)
{
    if (n == 1)
        snprintf(buf, cap, "%s/runs/.%s.ioload.json", c->dir, id);
    else
        snprintf(buf, cap, "%s/runs/%s.ioload-%d.json", c->dir, id, k + 1);
}

static void stop_tasks(struct load_run *lr)
{
    for (int k = 0; k < lr->n; k++) {
        struct load_task *t = &lr->task[k];
        bool killed;
        if (t->pid > 0 && !t->done &&
            procmon_stop(t->pid, LOAD_STOP_MS, &t->status, NULL, &killed) == 0)
            t->done = true;
    }
}

static int start_tasks(const struct load_conf *c, const struct suite_run *sr, const char *id,
                       int port, struct load_run *lr, char *err, size_t errlen)
{
    for (int k = 0; k < lr->n; k++) {
        struct load_task *t = &lr->task[k];
        part_path(c, id, k, lr->n, t->json, sizeof t->json);
        build_argv(c, sr, port, k, lr->n, t);
        unlink(t->json);
        cpu_set_t share_set;
        bool pin = c->cpus->pinned && c->n_via == 0;
        if (pin)
            cpuplan_task_share(c->cpus, k, lr->n, &share_set);
        t->pid = procmon_spawn_on(t->argv, pin ? &share_set : NULL, lr->log, lr->log);
        if (t->pid < 0) {
            snprintf(err, errlen, "cannot start %s: %s", t->argv[0], strerror(errno));
            stop_tasks(lr);
            return -1;
        }
    }
    return 0;
}

enum watch_end { WATCH_DONE, WATCH_ERROR, WATCH_CANCELLED, WATCH_SERVER_DIED, WATCH_OVERRAN };

/* Waits for the tasks for one sampling period; true when all have ended. */
static int reap_some(const struct load_conf *c, struct load_run *lr)
{
    int left = 0, wait_ms = LOAD_SAMPLE_MS;
    for (int k = 0; k < lr->n; k++) {
        struct load_task *t = &lr->task[k];
        if (t->done)
            continue;
        int rc = procmon_wait(t->pid, wait_ms, &t->status, NULL, c->cancel);
        wait_ms = 0; /* one wait a period; the others are looked at */
        if (rc < 0)
            return -1;
        t->done = rc == 1;
        left += !t->done;
    }
    return left;
}

/* Samples the server until every task ends, the server dies, the time is
 * up or the run is cancelled. */
static enum watch_end watch(const struct load_conf *c, struct load_run *lr, struct server *s,
                            struct run_result *res, double t0, double limit)
{
    for (;;) {
        procmon_sample(res->pm, util_now_s() - t0);
        int left = reap_some(c, lr);
        if (left == 0)
            return WATCH_DONE;
        if (left < 0)
            return WATCH_ERROR;
        if (*c->cancel)
            return WATCH_CANCELLED;
        if (server_check_died(s))
            return WATCH_SERVER_DIED;
        if (util_now_s() - t0 > limit)
            return WATCH_OVERRAN;
    }
}

/* Reads a result file into *out, or says why there is none. */
static void read_result(const char *path, json_t **out, const char *what, char *err, size_t errlen)
{
    if (access(path, F_OK) < 0) {
        snprintf(err, errlen, "%s exited 0 but wrote no result", what);
        return;
    }
    char jerr[512];
    *out = util_json_load(path, jerr, sizeof jerr);
    if (*out == NULL)
        snprintf(err, errlen, "%s result unreadable: %s", what, jerr);
}

/* The first task that failed, said in err; 0 when all exited 0. */
static int check_tasks(const struct load_run *lr, char *err, size_t errlen)
{
    for (int k = 0; k < lr->n; k++) {
        const struct load_task *t = &lr->task[k];
        if (WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0)
            continue;
        char how[128], line[256];
        child_describe(t->status, false, how, sizeof how);
        child_last_line(lr->log, line, sizeof line);
        if (lr->n > 1)
            snprintf(err, errlen, "ioload task %d of %d %s%s%s", k + 1, lr->n, how,
                     line[0] ? ": " : "", line);
        else
            snprintf(err, errlen, "ioload %s%s%s", how, line[0] ? ": " : "", line);
        return -1;
    }
    return 0;
}

/* merged_from as ioload wrote it names the parts by their full paths; the
 * record names them relative to the results directory, as "file" does. */
static void relative_parts(const struct load_conf *c, json_t *merged)
{
    json_t *from = json_object_get(merged, "merged_from");
    size_t i, skip = strlen(c->dir) + 1;
    json_t *v;
    json_array_foreach(from, i, v)
    {
        const char *p = json_string_value(v);
        if (p != NULL && strncmp(p, c->dir, skip - 1) == 0 && p[skip - 1] == '/')
            json_array_set_new(from, i, json_string(p + skip));
    }
}

/* `ioload merge` over the parts into *out. */
static void merge_parts(const struct load_conf *c, const char *id, struct load_run *lr,
                        json_t **out, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/runs/.%s.ioload.json", c->dir, id);
    char **argv = calloc((size_t)lr->n + 3, sizeof *argv);
    if (argv == NULL) {
        snprintf(err, errlen, "out of memory");
        return;
    }
    argv[0] = (char *)c->bin;
    argv[1] = "merge";
    for (int k = 0; k < lr->n; k++)
        argv[k + 2] = lr->task[k].json;
    unlink(tmp);
    pid_t pid = procmon_spawn(argv, -1, tmp, lr->log);
    free(argv);
    int status = 0;
    bool killed;
    if (pid < 0 || (procmon_wait(pid, LOAD_MERGE_MS, &status, NULL, NULL) != 1 &&
                    procmon_stop(pid, LOAD_STOP_MS, &status, NULL, &killed) < 0))
        snprintf(err, errlen, "ioload merge could not be run: %s", strerror(errno));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        snprintf(err, errlen, "ioload merge failed (see the ioload log)");
    else
        read_result(tmp, out, "ioload merge", err, errlen);
    if (*out != NULL)
        relative_parts(c, *out);
    unlink(tmp);
}

/* The run's result: the lone task's, or the parts merged. */
static void collect(const struct load_conf *c, const char *id, struct load_run *lr, json_t **out,
                    char *err, size_t errlen)
{
    if (check_tasks(lr, err, errlen) < 0)
        return;
    for (int k = 0; k < lr->n && err[0] == '\0'; k++)
        if (access(lr->task[k].json, F_OK) < 0)
            snprintf(err, errlen, "ioload exited 0 but wrote no result");
    if (err[0] != '\0')
        return;
    if (lr->n == 1)
        read_result(lr->task[0].json, out, "ioload", err, errlen);
    else
        merge_parts(c, id, lr, out, err, errlen);
}

static void explain_end(enum watch_end how, const struct server *s, double limit, char *err,
                        size_t errlen)
{
    char desc[128];
    if (how == WATCH_ERROR) {
        snprintf(err, errlen, "waiting for ioload: %s", strerror(errno));
    } else if (how == WATCH_SERVER_DIED) {
        child_describe(s->status, false, desc, sizeof desc);
        snprintf(err, errlen, "server %s mid-run", desc);
    } else if (how == WATCH_OVERRAN) {
        snprintf(err, errlen, "ioload still running after %.0f s, stopped", limit);
    }
}

/* The measured interval: from the warm-up's end, elapsed_s long. */
static void set_window(const struct suite *su, struct run_result *res, double t_end)
{
    res->window_from = su->warmup_s;
    res->window_to = t_end;
    json_t *el = json_object_get(res->ioload, "elapsed_s");
    if (json_is_number(el))
        res->window_to = su->warmup_s + json_number_value(el);
}

void load_drive(const struct load_conf *c, const struct suite_run *sr, const char *id,
                struct server *s, struct run_result *res, char *err, size_t errlen)
{
    const struct suite *su = c->suite;
    struct load_run lr = {.n = load_task_count(c, sr->level)};
    lr.task = calloc((size_t)lr.n, sizeof *lr.task);
    if (lr.task == NULL) {
        snprintf(err, errlen, "out of memory");
        return;
    }
    snprintf(lr.log, sizeof lr.log, "%s/logs/%s.ioload.log", c->dir, id);
    double t0 = util_now_s();
    if (start_tasks(c, sr, id, s->port, &lr, err, errlen) == 0) {
        double limit = su->warmup_s + su->duration_s + su->timeout_s + LOAD_GRACE_S;
        enum watch_end how = watch(c, &lr, s, res, t0, limit);
        double t_end = util_now_s() - t0;
        stop_tasks(&lr);
        res->interrupted = how == WATCH_CANCELLED;
        explain_end(how, s, limit, err, errlen);
        if (how == WATCH_DONE)
            collect(c, id, &lr, &res->ioload, err, errlen);
        set_window(su, res, t_end);
    }
    res->load_tasks = lr.n;
    for (int k = 0; k < lr.n; k++)
        res->load_threads += lr.task[k].threads;
    if (lr.n == 1)
        unlink(lr.task[0].json);
    free(lr.task);
}
