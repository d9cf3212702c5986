/* run: `iobench run`: verifies each model, then runs every model x workload
 * x level x trial with a fresh server, ioload as a separate process and the
 * server's process tree sampled from /proc, and records it all. */
#include "iobench.h"
#include "procmon.h"
#include "slowclients.h"
#include "suite.h"
#include "util.h"
#include "verify.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IOSERVE_BIN
#define IOSERVE_BIN "ioserve"
#endif
#ifndef IOLOAD_BIN
#define IOLOAD_BIN "ioload"
#endif

#define RUN_MIN_FREE_MB 64        /* --min-free default: results are far smaller */
#define RUN_START_TIMEOUT_MS 5000 /* server up and answering /stats */
#define RUN_STOP_TIMEOUT_MS 8000  /* ioserve drains within 5 s by default */
#define RUN_IOLOAD_GRACE_S 15.0   /* beyond warm-up + duration + timeout */
#define RUN_SAMPLE_MS 100
#define RUN_CHILD_STOP_MS 2000 /* ioload on interrupt */

static volatile sig_atomic_t run_interrupted;

static void on_signal(int sig)
{
    run_interrupted = sig;
}

struct runner {
    struct suite suite;
    const char *ioserve;
    const char *ioload;
    /* Bounded well below PATH_MAX so every file path under dir fits. */
    char parent[2048]; /* results/ or --out */
    char dir[3072];    /* parent/<stamp>-<sha>[-N] */
    bool quiet;
    long min_free_mb; /* --min-free: refuse to start with less space */
    bool tty;
    bool pin;
    int server_cpu, load_cpu;
    bool model_ok[SUITE_MAX_MODELS];
    json_t *summary; /* owns runs, failures, skipped, verify */
    json_t *runs, *failures, *skipped, *verify;
    double t_start;
    size_t total, done;
    int n_ok;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: iobench run [--suite NAME|FILE] [--models a,b,...] [--trials N] [--out DIR]\n"
            "                   [--quiet] [--ioserve PATH] [--ioload PATH] [--min-free MB]\n"
            "Runs a benchmark suite (default: harness/suites/default.json) and writes\n"
            "DIR/<UTC stamp>-<git sha>/summary.json and runs/*.json (DIR: results).\n"
            "The results directory is the last line on stdout. Before any load it checks\n"
            "that DIR is writable with at least --min-free MiB free (default 64).\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("iobench run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see iobench run --help)\n", stderr);
    va_end(ap);
    return 2;
}

/* Rewrites summary.json; a failure is reported, the run goes on (the next
 * write may succeed, and the runs' own files are already on disk). */
static void save_summary(struct runner *r)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.json", r->dir);
    if (util_json_save(path, r->summary) < 0)
        fprintf(stderr, "iobench run: cannot write %s: %s\n", path, strerror(errno));
}

static void describe_status(int status, bool killed, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), killed ? " after it ignored SIGTERM" : "");
    else
        snprintf(buf, cap, "ended with wait status %d", status);
}

/* The last non-empty line of a log file, for a failure reason. */
static void last_line(const char *path, char *out, size_t cap)
{
    static char buf[16384];
    out[0] = '\0';
    long n = util_read_file(path, buf, sizeof buf);
    if (n <= 0)
        return;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    const char *line = strrchr(buf, '\n');
    line = line != NULL ? line + 1 : buf;
    size_t len = strlen(line) < cap - 1 ? strlen(line) : cap - 1;
    memcpy(out, line, len);
    out[len] = '\0';
}

/* Keeps a log only when it says something about a failure. */
static void drop_log(const char *path, bool failed)
{
    struct stat st;
    if (!failed || (stat(path, &st) == 0 && st.st_size == 0))
        unlink(path);
}

/* A started ioserve. */
struct server {
    pid_t pid; /* -1 once reaped */
    int port;
    bool died;        /* ended on its own during the run */
    int status;       /* its wait status then */
    bool have_ru;     /* ru holds the server's whole-life usage */
    struct rusage ru; /* wait4: all threads and every child it reaped */
};

/* Starts ioserve for model and waits until /stats answers. 0, or -1 with a
 * reason (nothing left running). */
static int server_start(struct runner *r, const char *model, const char *log, struct server *s,
                        char *err, size_t errlen)
{
    char port_file[PATH_MAX];
    snprintf(port_file, sizeof port_file, "%s/.port-%s", r->dir, model);
    if (unlink(port_file) < 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove the old port file: %s", strerror(errno));
        return -1;
    }
    char *argv[] = {(char *)r->ioserve, "--model", (char *)model, "--host",  "127.0.0.1",
                    "--port",           "0",       "--port-file", port_file, NULL};
    s->died = false;
    s->have_ru = false;
    s->pid = procmon_spawn(argv, r->pin ? r->server_cpu : -1, NULL, log);
    if (s->pid < 0) {
        snprintf(err, errlen, "cannot start %s: %s", r->ioserve, strerror(errno));
        return -1;
    }
    int64_t deadline = util_now_ms() + RUN_START_TIMEOUT_MS;
    s->port = 0;
    while (util_now_ms() < deadline && !run_interrupted) {
        int status;
        if (procmon_wait(s->pid, 0, &status, NULL, NULL) == 1) {
            char how[128], line[256];
            describe_status(status, false, how, sizeof how);
            last_line(log, line, sizeof line);
            snprintf(err, errlen, "ioserve %s at start-up%s%s", how, line[0] ? ": " : "", line);
            s->pid = -1;
            return -1;
        }
        char buf[32];
        long port;
        if (s->port == 0 && util_read_file(port_file, buf, sizeof buf) > 0) {
            buf[strcspn(buf, "\r\n")] = '\0';
            if (util_parse_long(buf, 1, 65535, &port) == 0)
                s->port = (int)port;
        }
        if (s->port != 0) {
            json_t *st = verify_get_stats(s->port, 1000);
            if (st != NULL) {
                json_decref(st);
                unlink(port_file);
                return 0;
            }
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errlen,
             run_interrupted ? "interrupted"
             : s->port == 0  ? "ioserve wrote no port file within 5 s"
                             : "ioserve did not answer /stats within 5 s");
    bool killed;
    procmon_stop(s->pid, RUN_CHILD_STOP_MS, &(int){0}, NULL, &killed);
    s->pid = -1;
    unlink(port_file);
    return -1;
}

/* ioserve --version / --list-models output, through a temp file. */
static int ioserve_query(struct runner *r, const char *flag, char *out, size_t cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.ioserve%s", r->dir, flag);
    unlink(path);
    char *argv[] = {(char *)r->ioserve, (char *)flag, NULL};
    pid_t pid = procmon_spawn(argv, -1, path, NULL);
    if (pid < 0)
        return -1;
    int status = 0;
    bool killed;
    if (procmon_wait(pid, 5000, &status, NULL, NULL) != 1 &&
        procmon_stop(pid, 1000, &status, NULL, &killed) < 0)
        return -1;
    long n = util_read_file(path, out, cap);
    unlink(path);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && n >= 0 ? 0 : -1;
}

/* Verifies one model with a server of its own; records the result. */
static void verify_model(struct runner *r, int m)
{
    const char *model = r->suite.models[m];
    json_t *failed = json_array();
    char log[PATH_MAX], err[512];
    snprintf(log, sizeof log, "%s/logs/verify-%s.server.log", r->dir, model);
    struct server s;
    if (server_start(r, model, log, &s, err, sizeof err) < 0) {
        json_array_append_new(failed, json_sprintf("start: %s", err));
    } else {
        verify_server(s.port, model, failed);
        int status = 0;
        bool killed;
        if (procmon_stop(s.pid, RUN_STOP_TIMEOUT_MS, &status, NULL, &killed) < 0) {
            json_array_append_new(failed, json_string("stop: the server could not be reaped"));
        } else if (killed || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char how[128];
            describe_status(status, killed, how, sizeof how);
            json_array_append_new(failed, json_sprintf("stop: on SIGTERM the server %s", how));
        }
        struct procmon *pm = procmon_new(s.pid);
        int left = pm != NULL ? procmon_reap_leftovers(pm) : 0;
        procmon_free(pm);
        if (left > 0)
            json_array_append_new(failed, json_sprintf("stop: %d processes left behind", left));
    }
    r->model_ok[m] = json_array_size(failed) == 0;
    drop_log(log, !r->model_ok[m]);
    if (run_interrupted) {
        /* Cut short, the checks say nothing about the model. */
        json_decref(failed);
        return;
    }
    json_object_set_new(r->verify, model,
                        json_pack("{s:b,s:o}", "ok", r->model_ok[m], "failed_checks", failed));
    if (!r->model_ok[m])
        fprintf(stderr,
                "iobench run: model %s failed verification (%zu checks), not benchmarked: %s\n",
                model, json_array_size(failed), json_string_value(json_array_get(failed, 0)));
}

static void progress(struct runner *r, const struct suite_run *sr)
{
    if (r->quiet)
        return;
    double elapsed = util_now_s() - r->t_start;
    const struct suite_workload *w = &r->suite.workloads[sr->workload];
    double per_run =
        r->done > 0 ? elapsed / (double)r->done : r->suite.warmup_s + r->suite.duration_s + 0.5;
    char left[32];
    util_duration(per_run * (double)(r->total - r->done), left, sizeof left);
    int width = snprintf(NULL, 0, "%zu", r->total);
    fprintf(stderr, "%s[%*zu/%zu] %s %s c=%d trial %d/%d | %.0f s elapsed, ~%s left%s",
            r->tty ? "\r" : "", width, r->done + 1, r->total, r->suite.models[sr->model], w->name,
            sr->level, sr->trial, r->suite.trials, elapsed, left, r->tty ? "\033[K" : "\n");
    fflush(stderr);
}

/* Copies the figures the summary carries from ioload's result. */
static int take_ioload_figures(json_t *run, json_t *io, char *err, size_t errlen)
{
    json_t *totals = json_object_get(io, "totals");
    json_t *tp = json_object_get(io, "throughput");
    json_t *lat = json_object_get(json_object_get(io, "latency_us"), "corrected");
    if (!json_is_object(totals) || !json_is_object(tp) || !json_is_object(lat)) {
        snprintf(err, errlen, "ioload's JSON lacks totals, throughput or latency_us.corrected");
        return -1;
    }
    json_object_set(run, "throughput_rps", json_object_get(tp, "requests_per_s"));
    json_object_set(run, "successes", json_object_get(totals, "successes"));
    json_object_set(run, "requests", json_object_get(totals, "requests"));
    json_object_set(run, "errors", json_object_get(totals, "errors"));
    /* What latency percentiles hide: connections that never got an answer
     * and requests still waiting at the end; and whether ioload itself, not
     * the server, may have set the pace. */
    static const char *const hidden[] = {"starved_connections", "unfinished", NULL};
    for (const char *const *k = hidden; *k != NULL; k++) {
        json_t *v = json_object_get(totals, *k);
        json_object_set_new(run, *k, v != NULL ? json_incref(v) : json_null());
    }
    json_t *sat = json_object_get(json_object_get(io, "self"), "saturated");
    json_object_set_new(run, "load_saturated", json_boolean(json_is_true(sat)));
    json_t *l = json_object();
    static const char *const keys[] = {"p50", "p90", "p99", "p99_9", "max", NULL};
    for (const char *const *k = keys; *k != NULL; k++) {
        json_t *v = json_object_get(lat, *k);
        json_object_set_new(l, *k, v != NULL ? json_incref(v) : json_null());
    }
    json_object_set_new(run, "latency_us", l);
    if (!json_is_number(json_object_get(run, "throughput_rps")) ||
        !json_is_integer(json_object_get(run, "requests"))) {
        snprintf(err, errlen, "ioload's JSON lacks throughput.requests_per_s or totals.requests");
        return -1;
    }
    return 0;
}

static json_t *samples_json(const struct procmon *pm)
{
    json_t *a = json_array();
    for (size_t i = 0; i < pm->n; i++) {
        const struct procmon_sample *s = &pm->samples[i];
        json_array_append_new(a, json_pack("{s:f,s:f,s:f,s:I,s:i,s:i,s:I,s:I}", "t", s->t,
                                           "cpu_user_s", s->cpu_user_s, "cpu_sys_s", s->cpu_sys_s,
                                           "rss_kb", (json_int_t)s->rss_kb, "threads", s->threads,
                                           "processes", s->processes, "ctx_voluntary",
                                           (json_int_t)s->ctx_voluntary, "ctx_involuntary",
                                           (json_int_t)s->ctx_involuntary));
    }
    return a;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The server's CPU and context switches come from wait4's rusage, over its
 * whole life, per request it answered: /proc's utime and stime are whole
 * clock ticks per process, and a fork server's hundreds of short-lived
 * processes each round down to nothing. /proc's window figures are the
 * fallback when there is no rusage (a server that could not be reaped). */
static json_t *server_figures(const struct server *s, const struct procmon_summary *ps,
                              json_t *stats)
{
    double user = ps->cpu_user_s, sys = ps->cpu_sys_s;
    long vol = ps->ctx_voluntary, invol = ps->ctx_involuntary;
    json_t *per_request = json_null();
    if (s->have_ru) {
        user = tv_s(s->ru.ru_utime);
        sys = tv_s(s->ru.ru_stime);
        vol = s->ru.ru_nvcsw;
        invol = s->ru.ru_nivcsw;
        /* The harness's own /stats probe at start-up is one of them. */
        json_int_t answered = json_integer_value(json_object_get(stats, "requests")) - 1;
        if (answered > 0) {
            json_decref(per_request);
            per_request = json_real((user + sys) * 1e6 / (double)answered);
        }
    }
    return json_pack("{s:f,s:f,s:o,s:I,s:I,s:i,s:i,s:I,s:I,s:i}", "cpu_user_s", user, "cpu_sys_s",
                     sys, "cpu_per_request_us", per_request, "rss_peak_kb",
                     (json_int_t)ps->rss_peak_kb, "rss_mean_kb", (json_int_t)ps->rss_mean_kb,
                     "threads_max", ps->threads_max, "processes_max", ps->processes_max,
                     "ctx_voluntary", (json_int_t)vol, "ctx_involuntary", (json_int_t)invol,
                     "samples", ps->samples);
}

/* Everything one run produces besides the run object. */
struct run_result {
    json_t *ioload;       /* ioload's result, or NULL */
    json_t *server_stats; /* /stats just before the stop, or NULL */
    struct procmon *pm;
    struct slowclients_stats slow;
    bool interrupted; /* the run did not finish: not recorded */
};

/* Runs ioload against s while sampling the server; sets the run's error
 * when either side fails. */
static void drive_load(struct runner *r, const struct suite_run *sr, const char *id,
                       struct server *s, struct run_result *res, char *err, size_t errlen,
                       double *window_from, double *window_to)
{
    const struct suite_workload *w = &r->suite.workloads[sr->workload];
    char json_tmp[PATH_MAX], log[PATH_MAX], url[512];
    char conc[16], threads[16], dur[32], warm[32], tmo[32], idle[16];
    snprintf(json_tmp, sizeof json_tmp, "%s/runs/.%s.ioload.json", r->dir, id);
    snprintf(log, sizeof log, "%s/logs/%s.ioload.log", r->dir, id);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, w->path);
    snprintf(conc, sizeof conc, "%d", sr->level);
    snprintf(threads, sizeof threads, "%d",
             r->suite.threads < sr->level ? r->suite.threads : sr->level);
    snprintf(dur, sizeof dur, "%g", r->suite.duration_s);
    snprintf(warm, sizeof warm, "%g", r->suite.warmup_s);
    snprintf(tmo, sizeof tmo, "%g", r->suite.timeout_s);
    snprintf(idle, sizeof idle, "%d", w->idle);
    char *argv[24];
    int a = 0;
    argv[a++] = (char *)r->ioload;
    argv[a++] = "--json";
    argv[a++] = json_tmp;
    argv[a++] = "-c";
    argv[a++] = conc;
    argv[a++] = "-t";
    argv[a++] = threads;
    argv[a++] = "--duration";
    argv[a++] = dur;
    argv[a++] = "--warmup";
    argv[a++] = warm;
    argv[a++] = "--timeout";
    argv[a++] = tmo;
    if (!w->keepalive)
        argv[a++] = "--no-keepalive";
    if (w->idle > 0) {
        argv[a++] = "--idle";
        argv[a++] = idle;
    }
    argv[a++] = "--quiet";
    argv[a++] = url;
    argv[a] = NULL;
    unlink(json_tmp);

    double t0 = util_now_s();
    pid_t lp = procmon_spawn(argv, r->pin ? r->load_cpu : -1, log, log);
    if (lp < 0) {
        snprintf(err, errlen, "cannot start %s: %s", r->ioload, strerror(errno));
        return;
    }
    double limit =
        r->suite.warmup_s + r->suite.duration_s + r->suite.timeout_s + RUN_IOLOAD_GRACE_S;
    int lstatus = 0;
    bool ioload_done = false, server_died = false, overran = false;
    int sstatus = 0;
    while (!ioload_done) {
        procmon_sample(res->pm, util_now_s() - t0);
        int rc = procmon_wait(lp, RUN_SAMPLE_MS, &lstatus, NULL, &run_interrupted);
        if (rc == 1) {
            ioload_done = true;
            break;
        }
        if (rc < 0) {
            snprintf(err, errlen, "waiting for ioload: %s", strerror(errno));
            break;
        }
        if (run_interrupted) {
            res->interrupted = true;
            break;
        }
        if (procmon_wait(s->pid, 0, &sstatus, &s->ru, NULL) == 1) {
            s->have_ru = true;
            server_died = true;
            break;
        }
        if (util_now_s() - t0 > limit) {
            overran = true;
            break;
        }
    }
    double t_end = util_now_s() - t0;
    if (!ioload_done) {
        bool killed;
        procmon_stop(lp, RUN_CHILD_STOP_MS, &lstatus, NULL, &killed);
    }
    if (server_died) {
        char how[128];
        describe_status(sstatus, false, how, sizeof how);
        snprintf(err, errlen, "server %s mid-run", how);
        s->pid = -1;
        s->died = true;
        s->status = sstatus;
    } else if (overran) {
        snprintf(err, errlen, "ioload still running after %.0f s, stopped", limit);
    } else if (ioload_done && (!WIFEXITED(lstatus) || WEXITSTATUS(lstatus) != 0)) {
        char how[128], line[256];
        describe_status(lstatus, false, how, sizeof how);
        last_line(log, line, sizeof line);
        snprintf(err, errlen, "ioload %s%s%s", how, line[0] ? ": " : "", line);
    } else if (ioload_done && access(json_tmp, F_OK) < 0) {
        snprintf(err, errlen, "ioload exited 0 but wrote no result");
    } else if (ioload_done) {
        char jerr[512];
        res->ioload = util_json_load(json_tmp, jerr, sizeof jerr);
        if (res->ioload == NULL)
            snprintf(err, errlen, "ioload result unreadable: %s", jerr);
    }
    unlink(json_tmp);
    *window_from = r->suite.warmup_s;
    *window_to = t_end;
    if (res->ioload != NULL) {
        /* The measured interval ends elapsed_s after the warm-up. */
        json_t *el = json_object_get(res->ioload, "elapsed_s");
        if (json_is_number(el))
            *window_to = r->suite.warmup_s + json_number_value(el);
    }
}

static json_t *run_object(struct runner *r, const struct suite_run *sr, const char *id)
{
    const struct suite_workload *w = &r->suite.workloads[sr->workload];
    char file[PATH_MAX];
    snprintf(file, sizeof file, "runs/%s.json", id);
    return json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:s,s:n,s:s,s:n,s:n,s:n,s:n,s:n,s:n}", "id",
                     id, "model", r->suite.models[sr->model], "workload", w->name, "concurrency",
                     sr->level, "trial", sr->trial, "idle_connections", w->idle, "slow_clients",
                     w->slow_clients, "open_connections", sr->level + w->idle + w->slow_clients,
                     "status", "ok", "error", "file", file, "throughput_rps", "successes",
                     "requests", "errors", "latency_us", "server");
}

/* One run, start to finish. Returns the run object, or NULL when the run was
 * interrupted (then nothing of it is recorded). */
static json_t *run_one(struct runner *r, const struct suite_run *sr)
{
    const struct suite_workload *w = &r->suite.workloads[sr->workload];
    const char *model = r->suite.models[sr->model];
    char id[3 * SUITE_NAME_MAX + 32];
    snprintf(id, sizeof id, "%s-%s-c%d-t%d", model, w->name, sr->level, sr->trial);
    json_t *run = run_object(r, sr, id);
    char err[768] = "", log[PATH_MAX];
    snprintf(log, sizeof log, "%s/logs/%s.server.log", r->dir, id);
    struct run_result res = {0};
    struct server s = {.pid = -1};
    double from = 0, to = 0;

    if (server_start(r, model, log, &s, err, sizeof err) < 0) {
        res.interrupted = run_interrupted != 0;
        goto record;
    }
    res.pm = procmon_new(s.pid);
    if (res.pm == NULL) {
        snprintf(err, sizeof err, "out of memory");
    } else {
        struct slowclients *sc = NULL;
        if (w->slow_clients > 0)
            sc = slowclients_start(s.port, w->slow_clients, w->path, r->pin ? r->load_cpu : -1, err,
                                   sizeof err);
        if (w->slow_clients == 0 || sc != NULL)
            drive_load(r, sr, id, &s, &res, err, sizeof err, &from, &to);
        if (sc != NULL && slowclients_stop(sc, &res.slow) < 0 && err[0] == '\0')
            snprintf(err, sizeof err, "slow clients thread could not be joined");
    }
    json_t *server = json_object();
    if (s.pid > 0) {
        res.server_stats = verify_get_stats(s.port, 1000);
        int status = 0;
        bool killed = false;
        if (procmon_stop(s.pid, RUN_STOP_TIMEOUT_MS, &status, &s.ru, &killed) < 0) {
            if (err[0] == '\0')
                snprintf(err, sizeof err, "server could not be reaped");
            json_object_set_new(server, "exit_status", json_null());
        } else {
            s.have_ru = true;
            bool clean = !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0;
            json_object_set_new(server, "exit_status",
                                WIFEXITED(status) ? json_integer(WEXITSTATUS(status))
                                                  : json_integer(128 + WTERMSIG(status)));
            if (!clean && err[0] == '\0') {
                char how[128];
                describe_status(status, killed, how, sizeof how);
                snprintf(err, sizeof err, "on SIGTERM the server %s", how);
            }
            json_object_set_new(server, "clean_exit", json_boolean(clean));
        }
    } else {
        json_object_set_new(server, "exit_status",
                            !s.died               ? json_null()
                            : WIFEXITED(s.status) ? json_integer(WEXITSTATUS(s.status))
                                                  : json_integer(128 + WTERMSIG(s.status)));
        json_object_set_new(server, "clean_exit", json_false());
    }
    int left = res.pm != NULL ? procmon_reap_leftovers(res.pm) : 0;
    if (left > 0) {
        json_object_set_new(server, "clean_exit", json_false());
        if (err[0] == '\0')
            snprintf(err, sizeof err, "server left %d processes behind", left);
    }
    json_object_set_new(server, "leftover_processes", json_integer(left > 0 ? left : 0));
    if (res.pm != NULL) {
        struct procmon_summary ps = procmon_summarise(res.pm, from, to);
        json_t *fig = server_figures(&s, &ps, res.server_stats);
        json_object_update(fig, server);
        json_decref(server);
        server = fig;
    }
    json_object_set_new(run, "server", server);
    if (err[0] == '\0' && res.ioload != NULL)
        take_ioload_figures(run, res.ioload, err, sizeof err);
    else if (err[0] == '\0' && !res.interrupted)
        snprintf(err, sizeof err, "no ioload result");

record:
    if (res.interrupted) {
        json_decref(run);
        run = NULL;
    } else {
        if (err[0] != '\0') {
            json_object_set_new(run, "status", json_string("failed"));
            json_object_set_new(run, "error", json_string(err));
            json_array_append_new(r->failures,
                                  json_pack("{s:s,s:s,s:i,s:i,s:s}", "model", model, "workload",
                                            w->name, "concurrency", sr->level, "trial", sr->trial,
                                            "reason", err));
            if (!r->quiet)
                fprintf(stderr, "%siobench run: %s failed: %s\n", r->tty ? "\n" : "", id, err);
        } else {
            r->n_ok++;
        }
        json_t *file = json_pack(
            "{s:O,s:O?,s:O?,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "run", run, "ioload", res.ioload,
            "server_stats", res.server_stats, "server_samples",
            res.pm != NULL ? samples_json(res.pm) : json_array(), "slow_clients", "connects",
            (json_int_t)res.slow.connects, "connect_errors", (json_int_t)res.slow.connect_errors,
            "closed", (json_int_t)res.slow.closed, "bytes_sent", (json_int_t)res.slow.bytes_sent,
            "bytes_received", (json_int_t)res.slow.bytes_received);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/runs/%s.json", r->dir, id);
        if (file == NULL || util_json_save(path, file) < 0)
            fprintf(stderr, "iobench run: cannot write %s: %s\n", path,
                    file == NULL ? "out of memory" : strerror(errno));
        json_decref(file);
        drop_log(log, err[0] != '\0');
        snprintf(log, sizeof log, "%s/logs/%s.ioload.log", r->dir, id);
        drop_log(log, err[0] != '\0');
    }
    json_decref(res.ioload);
    json_decref(res.server_stats);
    procmon_free(res.pm);
    return run;
}

/* results/latest -> the run directory, replaced atomically. */
static void update_latest(struct runner *r)
{
    char tmp[PATH_MAX], latest[PATH_MAX];
    const char *base = strrchr(r->dir, '/');
    base = base != NULL ? base + 1 : r->dir;
    snprintf(tmp, sizeof tmp, "%s/.latest.%d", r->parent, (int)getpid());
    snprintf(latest, sizeof latest, "%s/latest", r->parent);
    unlink(tmp);
    if (symlink(base, tmp) < 0 || rename(tmp, latest) < 0) {
        fprintf(stderr, "iobench run: cannot point %s at %s: %s\n", latest, base, strerror(errno));
        unlink(tmp);
    }
}

/* Creates parent/<stamp>-<sha>[-N] and its subdirectories after checking
 * that parent is writable and has room. 0, or -1 after one line on stderr. */
static int make_results_dir(struct runner *r)
{
    if (util_mkdir_p(r->parent) < 0) {
        fprintf(stderr, "iobench run: cannot create output directory %s: %s\n", r->parent,
                strerror(errno));
        return -1;
    }
    struct statvfs vfs;
    if (access(r->parent, W_OK | X_OK) < 0 || statvfs(r->parent, &vfs) < 0) {
        fprintf(stderr, "iobench run: output directory %s is not writable: %s\n", r->parent,
                strerror(errno));
        return -1;
    }
    if (vfs.f_flag & ST_RDONLY) {
        fprintf(stderr, "iobench run: output directory %s is on a read-only filesystem\n",
                r->parent);
        return -1;
    }
    unsigned long long free_mb = (unsigned long long)vfs.f_bavail * vfs.f_frsize >> 20;
    if (free_mb < (unsigned long long)r->min_free_mb) {
        fprintf(stderr, "iobench run: only %llu MiB free in %s, need %ld MiB\n", free_mb, r->parent,
                r->min_free_mb);
        return -1;
    }
    char stamp[32];
    util_stamp(time(NULL), stamp, sizeof stamp);
    const char *sha = util_git_sha();
    for (int k = 1; k < 100; k++) {
        if (k == 1)
            snprintf(r->dir, sizeof r->dir, "%s/%s-%s", r->parent, stamp, sha ? sha : "nogit");
        else
            snprintf(r->dir, sizeof r->dir, "%s/%s-%s-%d", r->parent, stamp, sha ? sha : "nogit",
                     k);
        if (mkdir(r->dir, 0755) == 0)
            break;
        if (errno != EEXIST || k == 99) {
            fprintf(stderr, "iobench run: cannot create %s: %s\n", r->dir, strerror(errno));
            return -1;
        }
    }
    static const char *const subs[] = {"runs", "plots", "logs", NULL};
    for (const char *const *s = subs; *s != NULL; s++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", r->dir, *s);
        if (mkdir(p, 0755) < 0) {
            fprintf(stderr, "iobench run: cannot create %s: %s\n", p, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void setup_pinning(struct runner *r, json_t *pinning)
{
    cpu_set_t set;
    int cpus[2], n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
            if (CPU_ISSET(c, &set))
                cpus[n++] = c;
    r->pin = n >= 2;
    if (!r->pin) {
        json_object_set_new(pinning, "enabled", json_false());
        json_object_set_new(pinning, "server_cpus", json_array());
        json_object_set_new(pinning, "load_cpus", json_array());
        json_object_set_new(pinning, "reason", json_string("only one CPU"));
        return;
    }
    r->server_cpu = cpus[0];
    r->load_cpu = cpus[1];
    json_object_set_new(pinning, "enabled", json_true());
    json_object_set_new(pinning, "server_cpus", json_pack("[i]", r->server_cpu));
    json_object_set_new(pinning, "load_cpus", json_pack("[i]", r->load_cpu));
    json_object_set_new(pinning, "reason", json_null());
    /* The harness itself (sampling, slow clients) stays off the server's CPU. */
    CPU_ZERO(&set);
    CPU_SET(r->load_cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        fprintf(stderr, "iobench run: cannot pin the harness to CPU %d: %s\n", r->load_cpu,
                strerror(errno));
}

/* Marks models this ioserve lacks as skipped and disabled. */
static void check_models_built(struct runner *r, const char *list)
{
    for (int m = 0; m < r->suite.n_models; m++) {
        const char *model = r->suite.models[m];
        size_t len = strlen(model);
        bool found = false;
        for (const char *line = list; line != NULL && *line != '\0' && !found;) {
            found = strncmp(line, model, len) == 0 &&
                    (line[len] == '\0' || strchr(" \t\r\n", line[len]) != NULL);
            line = strchr(line, '\n');
            line = line != NULL ? line + 1 : NULL;
        }
        r->model_ok[m] = found;
        if (!found) {
            json_object_set_new(r->verify, model,
                                json_pack("{s:b,s:[s]}", "ok", 0, "failed_checks",
                                          "not built or cannot run here: absent from ioserve "
                                          "--list-models (--describe-models says why)"));
            fprintf(stderr, "iobench run: model %s is not in ioserve --list-models, skipped\n",
                    model);
        }
    }
}

/* The skipped list: runs left out by a cap or a failed model. */
static void record_skipped(struct runner *r)
{
    for (int w = 0; w < r->suite.n_workloads; w++)
        for (int l = 0; l < r->suite.workloads[w].n_levels; l++)
            for (int m = 0; m < r->suite.n_models; m++) {
                int level = r->suite.workloads[w].levels[l];
                int cap = suite_cap(&r->suite, r->suite.models[m]);
                char reason[96];
                json_t *v = json_object_get(r->verify, r->suite.models[m]);
                const char *first =
                    json_string_value(json_array_get(json_object_get(v, "failed_checks"), 0));
                if (!r->model_ok[m] && first != NULL && strncmp(first, "not built", 9) == 0)
                    snprintf(reason, sizeof reason, "model not built");
                else if (!r->model_ok[m])
                    snprintf(reason, sizeof reason, "model failed verification");
                else if (cap > 0 && level > cap)
                    snprintf(reason, sizeof reason, "above the model's cap of %d", cap);
                else
                    continue;
                json_array_append_new(
                    r->skipped, json_pack("{s:s,s:s,s:i,s:i,s:s}", "model", r->suite.models[m],
                                          "workload", r->suite.workloads[w].name, "concurrency",
                                          level, "trials", r->suite.trials, "reason", reason));
            }
}

static json_t *new_summary(struct runner *r, json_t *env, json_t *pinning)
{
    char start[32];
    util_iso8601(time(NULL), start, sizeof start);
    const char *sha = util_git_sha();
    r->runs = json_array();
    r->failures = json_array();
    r->skipped = json_array();
    r->verify = json_object();
    return json_pack("{s:s,s:i,s:b,s:s,s:s,s:s?,s:O,s:s,s:n,s:o,s:o,s:o,s:o,s:o,s:o}", "schema",
                     "iobench-summary", "schema_version", 1, "complete", 0, "incomplete_reason",
                     "running", "iobench_version", IOBENCH_VERSION, "git_commit", sha, "suite",
                     r->suite.json, "start", start, "end", "env", env, "pinning", pinning, "verify",
                     r->verify, "runs", r->runs, "failures", r->failures, "skipped", r->skipped);
}

static int parse_args(struct runner *r, int argc, char **argv, const char **suite_arg,
                      const char **models, long *trials)
{
    static const struct option opts[] = {
        {"suite", required_argument, NULL, 's'},  {"models", required_argument, NULL, 'm'},
        {"trials", required_argument, NULL, 't'}, {"out", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},        {"ioserve", required_argument, NULL, 'S'},
        {"ioload", required_argument, NULL, 'L'}, {"min-free", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":s:m:t:o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            *suite_arg = optarg;
            break;
        case 'm':
            *models = optarg;
            break;
        case 't':
            if (util_parse_long(optarg, 1, 1000, trials) < 0)
                return bad_usage("--trials: expected an integer in [1, 1000], got \"%s\"", optarg);
            break;
        case 'o':
            if (strlen(optarg) >= sizeof r->parent)
                return bad_usage("--out: path too long: %s", optarg);
            snprintf(r->parent, sizeof r->parent, "%s", optarg);
            break;
        case 'q':
            r->quiet = true;
            break;
        case 'S':
            r->ioserve = optarg;
            break;
        case 'L':
            r->ioload = optarg;
            break;
        case 'F':
            if (util_parse_long(optarg, 0, 1L << 40, &r->min_free_mb) < 0)
                return bad_usage("--min-free: expected MiB in [0, 2^40], got \"%s\"", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return bad_usage("%s needs a value", argv[optind - 1]);
        default:
            return bad_usage("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument \"%s\"", argv[optind]);
    return -1;
}

/* Applies --models and --trials to the suite and to its recorded JSON. */
static int apply_overrides(struct runner *r, const char *models, long trials)
{
    char err[512];
    if (models != NULL) {
        if (suite_set_models(&r->suite, models, err, sizeof err) < 0) {
            fprintf(stderr, "iobench run: %s\n", err);
            return 2;
        }
        json_t *a = json_array();
        for (int m = 0; m < r->suite.n_models; m++)
            json_array_append_new(a, json_string(r->suite.models[m]));
        json_object_set_new(r->suite.json, "models", a);
    }
    if (trials > 0) {
        r->suite.trials = (int)trials;
        json_object_set_new(r->suite.json, "trials", json_integer(trials));
    }
    return 0;
}

static int check_binary(const char *what, const char *path)
{
    if (access(path, X_OK) == 0)
        return 0;
    fprintf(stderr, "iobench run: %s not executable at %s: %s (build it or pass --%s PATH)\n", what,
            path, strerror(errno), what);
    return -1;
}

int run_main(int argc, char **argv)
{
    static struct runner runner;
    struct runner *r = &runner;
    memset(r, 0, sizeof *r);
    r->ioserve = IOSERVE_BIN;
    r->ioload = IOLOAD_BIN;
    r->min_free_mb = RUN_MIN_FREE_MB;
    snprintf(r->parent, sizeof r->parent, "results");
    const char *suite_arg = "default", *models = NULL;
    long trials = 0;
    int rc = parse_args(r, argc, argv, &suite_arg, &models, &trials);
    if (rc >= 0)
        return rc;

    char path[PATH_MAX], err[1024];
    if (suite_resolve(suite_arg, path, sizeof path) == NULL)
        return bad_usage("--suite: name too long: %s", suite_arg);
    if (suite_load(&r->suite, path, err, sizeof err) < 0) {
        fprintf(stderr, "iobench run: %s\n", err);
        return 2;
    }
    rc = apply_overrides(r, models, trials);
    if (rc != 0)
        goto out_suite;
    rc = 1;
    if (check_binary("ioserve", r->ioserve) < 0 || check_binary("ioload", r->ioload) < 0)
        goto out_suite;
    /* Before anything is started: a run that cannot be recorded is not run. */
    if (make_results_dir(r) < 0)
        goto out_suite;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocked wait returns EINTR and the loop sees the flag. */
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
        signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "iobench run: sigaction: %s\n", strerror(errno));
        goto out_suite;
    }
    /* Orphans of a server come back to the harness, which can then reap them. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        fprintf(stderr, "iobench run: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "iobench run: curl_global_init failed\n");
        goto out_suite;
    }
    r->tty = isatty(STDERR_FILENO) == 1;

    json_t *pinning = json_object();
    setup_pinning(r, pinning);
    json_t *env = util_env();
    static char text[4096];
    json_object_set_new(env, "ioserve_version",
                        ioserve_query(r, "--version", text, sizeof text) == 0
                            ? json_stringn(text, strcspn(text, "\r\n"))
                            : json_null());
    r->summary = new_summary(r, env, pinning);
    if (r->summary == NULL) {
        fprintf(stderr, "iobench run: out of memory\n");
        goto out_curl;
    }
    save_summary(r);
    r->t_start = util_now_s();

    if (ioserve_query(r, "--list-models", text, sizeof text) < 0) {
        fprintf(stderr, "iobench run: %s --list-models failed\n", r->ioserve);
        goto finish;
    }
    check_models_built(r, text);
    for (int m = 0; m < r->suite.n_models && !run_interrupted; m++)
        if (r->model_ok[m])
            verify_model(r, m);
    if (run_interrupted)
        goto finish;
    record_skipped(r);
    save_summary(r);

    struct suite_run *plan = suite_plan(&r->suite, r->model_ok, &r->total);
    for (size_t i = 0; i < r->total && !run_interrupted; i++) {
        progress(r, &plan[i]);
        json_t *run = run_one(r, &plan[i]);
        if (run == NULL)
            break;
        json_array_append_new(r->runs, run);
        r->done++;
        save_summary(r);
    }
    free(plan);

finish:;
    char end[32];
    util_iso8601(time(NULL), end, sizeof end);
    json_object_set_new(r->summary, "end", json_string(end));
    json_object_set_new(r->summary, "complete", json_boolean(!run_interrupted));
    json_object_set_new(r->summary, "incomplete_reason",
                        run_interrupted ? json_string("interrupted") : json_null());
    save_summary(r);
    /* Logs are kept only for failures; an empty logs/ would only be noise. */
    char logs[PATH_MAX];
    snprintf(logs, sizeof logs, "%s/logs", r->dir);
    if (rmdir(logs) < 0 && errno != ENOTEMPTY && errno != EEXIST)
        fprintf(stderr, "iobench run: cannot remove empty %s: %s\n", logs, strerror(errno));
    update_latest(r);
    if (!r->quiet && r->tty)
        fputc('\n', stderr);
    if (!r->quiet) {
        size_t nf = json_array_size(r->failures);
        fprintf(stderr, "iobench run: %zu of %zu runs ok in %.0f s%s\n", r->done - nf, r->total,
                util_now_s() - r->t_start, nf > 0 ? " (failures listed in summary.json)" : "");
    }
    printf("%s\n", r->dir);
    fflush(stdout);
    rc = run_interrupted ? 130 : r->n_ok > 0 ? 0 : 1;
    json_decref(r->summary);
out_curl:
    curl_global_cleanup();
out_suite:
    suite_free(&r->suite);
    return rc;
}
