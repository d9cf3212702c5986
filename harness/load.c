/* load: ioload for one run (see load.h). */
#include "load.h"

#include "child.h"
#include "procmon.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOAD_GRACE_S 15.0  /* beyond warm-up + duration + timeout */
#define LOAD_SAMPLE_MS 100 /* the server's tree is sampled this often */
#define LOAD_STOP_MS 2000  /* ioload on interrupt */

/* ioload's command line; the strings live here. */
struct load_argv {
    char *argv[24];
    char conc[16], threads[16], dur[32], warm[32], tmo[32], idle[16], url[512];
};

/* One ioload process. */
struct load_task {
    pid_t pid;
    int status;
    bool done;
    char json[PATH_MAX], log[PATH_MAX];
};

static void build_argv(const struct load_conf *c, const struct suite_run *sr, int port,
                       const char *json, struct load_argv *la)
{
    const struct suite *su = c->suite;
    const struct suite_workload *w = &su->workloads[sr->workload];
    snprintf(la->url, sizeof la->url, "http://%s:%d%s", c->host, port, w->path);
    snprintf(la->conc, sizeof la->conc, "%d", sr->level);
    snprintf(la->threads, sizeof la->threads, "%d",
             su->threads < sr->level ? su->threads : sr->level);
    snprintf(la->dur, sizeof la->dur, "%g", su->duration_s);
    snprintf(la->warm, sizeof la->warm, "%g", su->warmup_s);
    snprintf(la->tmo, sizeof la->tmo, "%g", su->timeout_s);
    snprintf(la->idle, sizeof la->idle, "%d", w->idle);
    char **a = la->argv;
    *a++ = (char *)c->bin;
    *a++ = "--json";
    *a++ = (char *)json;
    *a++ = "-c";
    *a++ = la->conc;
    *a++ = "-t";
    *a++ = la->threads;
    *a++ = "--duration";
    *a++ = la->dur;
    *a++ = "--warmup";
    *a++ = la->warm;
    *a++ = "--timeout";
    *a++ = la->tmo;
    if (!w->keepalive)
        *a++ = "--no-keepalive";
    if (w->idle > 0) {
        *a++ = "--idle";
        *a++ = la->idle;
    }
    *a++ = "--quiet";
    *a++ = la->url;
    *a = NULL;
}

static int task_start(const struct load_conf *c, const struct suite_run *sr, const char *id,
                      int port, struct load_task *t, char *err, size_t errlen)
{
    snprintf(t->json, sizeof t->json, "%s/runs/.%s.ioload.json", c->dir, id);
    snprintf(t->log, sizeof t->log, "%s/logs/%s.ioload.log", c->dir, id);
    struct load_argv la;
    build_argv(c, sr, port, t->json, &la);
    unlink(t->json);
    t->done = false;
    t->pid = procmon_spawn_on(la.argv, c->cpus, t->log, t->log);
    if (t->pid < 0) {
        snprintf(err, errlen, "cannot start %s: %s", c->bin, strerror(errno));
        return -1;
    }
    return 0;
}

enum watch_end { WATCH_DONE, WATCH_ERROR, WATCH_CANCELLED, WATCH_SERVER_DIED, WATCH_OVERRAN };

/* Samples the server until ioload ends, the server dies, the time is up or
 * the run is cancelled. */
static enum watch_end watch(const struct load_conf *c, struct load_task *t, struct server *s,
                            struct run_result *res, double t0, double limit)
{
    for (;;) {
        procmon_sample(res->pm, util_now_s() - t0);
        int rc = procmon_wait(t->pid, LOAD_SAMPLE_MS, &t->status, NULL, c->cancel);
        if (rc == 1) {
            t->done = true;
            return WATCH_DONE;
        }
        if (rc < 0)
            return WATCH_ERROR;
        if (*c->cancel)
            return WATCH_CANCELLED;
        if (server_check_died(s))
            return WATCH_SERVER_DIED;
        if (util_now_s() - t0 > limit)
            return WATCH_OVERRAN;
    }
}

/* Reads a finished task's result into *out, or says why there is none. */
static void task_collect(struct load_task *t, json_t **out, char *err, size_t errlen)
{
    if (!WIFEXITED(t->status) || WEXITSTATUS(t->status) != 0) {
        char how[128], line[256];
        child_describe(t->status, false, how, sizeof how);
        child_last_line(t->log, line, sizeof line);
        snprintf(err, errlen, "ioload %s%s%s", how, line[0] ? ": " : "", line);
    } else if (access(t->json, F_OK) < 0) {
        snprintf(err, errlen, "ioload exited 0 but wrote no result");
    } else {
        char jerr[512];
        *out = util_json_load(t->json, jerr, sizeof jerr);
        if (*out == NULL)
            snprintf(err, errlen, "ioload result unreadable: %s", jerr);
    }
}

static void explain_end(enum watch_end how, const struct server *s, double limit, char *err,
                        size_t errlen)
{
    char desc[128];
    switch (how) {
    case WATCH_ERROR:
        snprintf(err, errlen, "waiting for ioload: %s", strerror(errno));
        break;
    case WATCH_SERVER_DIED:
        child_describe(s->status, false, desc, sizeof desc);
        snprintf(err, errlen, "server %s mid-run", desc);
        break;
    case WATCH_OVERRAN:
        snprintf(err, errlen, "ioload still running after %.0f s, stopped", limit);
        break;
    default:
        break;
    }
}

void load_drive(const struct load_conf *c, const struct suite_run *sr, const char *id,
                struct server *s, struct run_result *res, char *err, size_t errlen)
{
    const struct suite *su = c->suite;
    struct load_task task;
    double t0 = util_now_s();
    if (task_start(c, sr, id, s->port, &task, err, errlen) < 0)
        return;
    double limit = su->warmup_s + su->duration_s + su->timeout_s + LOAD_GRACE_S;
    enum watch_end how = watch(c, &task, s, res, t0, limit);
    double t_end = util_now_s() - t0;
    if (!task.done) {
        bool killed;
        procmon_stop(task.pid, LOAD_STOP_MS, &task.status, NULL, &killed);
    }
    res->interrupted = how == WATCH_CANCELLED;
    explain_end(how, s, limit, err, errlen);
    if (how == WATCH_DONE)
        task_collect(&task, &res->ioload, err, errlen);
    unlink(task.json);
    res->window_from = su->warmup_s;
    res->window_to = t_end;
    /* The measured interval ends elapsed_s after the warm-up. */
    json_t *el = json_object_get(res->ioload, "elapsed_s");
    if (json_is_number(el))
        res->window_to = su->warmup_s + json_number_value(el);
}
