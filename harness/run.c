/* run: `iobench run`: verifies each model, then runs every model x workload
 * x level x trial with a fresh server, ioload as separate processes and the
 * server's process tree sampled from /proc, and records it all.
 *
 * This file is the order of things; each concern has its own module:
 * runopts (command line), cpuplan (pinning), resultsdir, server, load
 * (ioload), runrecord (a run's entry and file), summary (summary.json),
 * resume (an interrupted run taken up). */
#include "cpuplan.h"
#include "refserver.h"
#include "child.h"
#include "iobench.h"
#include "load.h"
#include "procmon.h"
#include "resultsdir.h"
#include "resume.h"
#include "runopts.h"
#include "runrecord.h"
#include "server.h"
#include "slowclients.h"
#include "suite.h"
#include "summary.h"
#include "util.h"
#include "verify.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t run_interrupted;

static void on_signal(int sig)
{
    run_interrupted = sig;
}

struct runner {
    struct runopts opts;
    struct suite suite;
    char dir[3072]; /* parent/<stamp>-<sha>[-N] */
    bool tty;
    struct cpuplan cpus;
    struct server_conf srv;
    struct load_conf load;
    bool model_ok[SUITE_MAX_MODELS];
    struct summary sum;
    json_t *old;            /* --resume: the summary found there */
    char restarted[3200];   /* --other-machine new: the directory left alone, and why */
    char via[1024];         /* --load-via, split into words in place */
    char via_bin[PATH_MAX]; /* its first word, found on PATH */
    double t_start;
    size_t total, done, kept; /* kept: written before a --resume */
    int n_ok, n_failed;
};

/* The harness's side of a server start, stop and leftovers, for
 * verification: the checks that failed go into failed. */
static void verify_stop(struct server *s, json_t *failed)
{
    char err[256] = "";
    json_decref(server_stop(s, err, sizeof err));
    if (err[0] != '\0')
        json_array_append_new(failed, json_sprintf("stop: %s", err));
    struct procmon *pm = procmon_new(s->pid);
    int left = pm != NULL ? procmon_reap_leftovers(pm) : 0;
    procmon_free(pm);
    if (left > 0)
        json_array_append_new(failed, json_sprintf("stop: %d processes left behind", left));
}

/* Verifies one model with a server of its own; records the result. A
 * reference server is only started and stopped: it does not speak the
 * protocol docs/protocol.md holds ioserve to. */
static void verify_model(struct runner *r, int m)
{
    const char *model = r->suite.models[m];
    bool reference = refserver_is(model);
    json_t *failed = json_array();
    char log[PATH_MAX], err[512];
    snprintf(log, sizeof log, "%s/logs/verify-%s.server.log", r->dir, model);
    struct server s;
    if (server_start(&r->srv, model, log, &s, err, sizeof err) < 0) {
        json_array_append_new(failed, json_sprintf("start: %s", err));
    } else {
        if (!reference)
            verify_server(s.port, model, failed);
        verify_stop(&s, failed);
    }
    r->model_ok[m] = json_array_size(failed) == 0;
    child_drop_log(log, !r->model_ok[m]);
    if (run_interrupted) {
        /* Cut short, the checks say nothing about the model. */
        json_decref(failed);
        return;
    }
    if (!r->model_ok[m])
        fprintf(stderr,
                "iobench run: model %s failed verification (%zu checks), not benchmarked: %s\n",
                model, json_array_size(failed), json_string_value(json_array_get(failed, 0)));
    summary_verify(&r->sum, model, r->model_ok[m], failed);
}

static void progress(struct runner *r, const struct suite_run *sr)
{
    if (r->opts.quiet)
        return;
    double elapsed = util_now_s() - r->t_start;
    const struct suite_workload *w = &r->suite.workloads[sr->workload];
    size_t ran = r->done - r->kept; /* kept runs took no time here */
    double per_run =
        ran > 0 ? elapsed / (double)ran : r->suite.warmup_s + r->suite.duration_s + 0.5;
    char left[32];
    util_duration(per_run * (double)(r->total - r->done), left, sizeof left);
    int width = snprintf(NULL, 0, "%zu", r->total);
    fprintf(stderr, "%s[%*zu/%zu] %s %s c=%d trial %d/%d | %.0f s elapsed, ~%s left%s",
            r->tty ? "\r" : "", width, r->done + 1, r->total, r->suite.models[sr->model], w->name,
            sr->level, sr->trial, r->suite.trials, elapsed, left, r->tty ? "\033[K" : "\n");
    fflush(stderr);
}

/* The load phase: slow clients (when the workload has them) around ioload. */
static void drive(struct runner *r, const struct suite_run *sr, const char *id, struct server *s,
                  struct run_result *res, char *err, size_t errlen)
{
    const struct suite_workload *w = &r->suite.workloads[sr->workload];
    struct slowclients *sc = NULL;
    int cpu = -1;
    for (int c = 0; r->cpus.pinned && c < CPU_SETSIZE && cpu < 0; c++)
        if (CPU_ISSET(c, &r->cpus.load))
            cpu = c;
    if (w->slow_clients > 0) {
        sc = slowclients_start(r->srv.host, s->port, w->slow_clients, w->path, cpu, err, errlen);
        if (sc == NULL)
            return;
    }
    load_drive(&r->load, sr, id, s, res, err, errlen);
    if (sc != NULL && slowclients_stop(sc, &res->slow) < 0 && err[0] == '\0')
        snprintf(err, errlen, "slow clients thread could not be joined");
}

/* After the load: /stats, the stop, leftovers; the run's "server" object. */
static json_t *finish_server(struct server *s, struct run_result *res, char *err, size_t errlen)
{
    if (s->pid > 0)
        res->server_stats = verify_get_stats(s->port, 1000);
    json_t *exit = server_stop(s, err, errlen);
    int left = res->pm != NULL ? procmon_reap_leftovers(res->pm) : 0;
    if (left > 0) {
        json_object_set_new(exit, "clean_exit", json_false());
        if (err[0] == '\0')
            snprintf(err, errlen, "server left %d processes behind", left);
    }
    json_object_set_new(exit, "leftover_processes", json_integer(left > 0 ? left : 0));
    return runrecord_server(s, res, exit);
}

/* Writes a finished run: its file, its entry, its logs when it failed. */
static void record(struct runner *r, const char *id, json_t *run, struct run_result *res,
                   const char *err)
{
    runrecord_fail(run, err);
    if (err[0] != '\0') {
        r->n_failed++;
        if (!r->opts.quiet)
            fprintf(stderr, "%siobench run: %s failed: %s\n", r->tty ? "\n" : "", id, err);
    } else {
        r->n_ok++;
    }
    runrecord_save(r->dir, id, run, res);
    static const char *const logs[] = {"server", "ioload", NULL};
    for (const char *const *l = logs; *l != NULL; l++) {
        char log[PATH_MAX];
        snprintf(log, sizeof log, "%s/logs/%s.%s.log", r->dir, id, *l);
        child_drop_log(log, err[0] != '\0');
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* An offered-load run's rate: its fraction of the model's capacity, the
 * median throughput of capacity_from's successful runs at the same level
 * in this results directory. -1 with err when there is none. */
static int offered_rate(struct runner *r, struct suite_run *sr, json_t *run, char *err,
                        size_t errlen)
{
    const struct suite_workload *w = &r->suite.workloads[sr->workload];
    const char *model = r->suite.models[sr->model];
    const char *from = r->suite.workloads[w->capacity_from].name;
    double v[256];
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(r->sum.runs, i, e)
    {
        const char *em = json_string_value(json_object_get(e, "model"));
        const char *ew = json_string_value(json_object_get(e, "workload"));
        const char *st = json_string_value(json_object_get(e, "status"));
        json_t *tp = json_object_get(e, "throughput_rps");
        if (n < sizeof v / sizeof v[0] && em && ew && st && strcmp(em, model) == 0 &&
            strcmp(ew, from) == 0 && strcmp(st, "ok") == 0 && json_is_number(tp) &&
            json_integer_value(json_object_get(e, "concurrency")) == sr->level)
            v[n++] = json_number_value(tp);
    }
    if (n == 0 || (qsort(v, n, sizeof v[0], cmp_double), v[n / 2]) <= 0) {
        snprintf(err, errlen, "no closed-loop capacity of %s at c=%d (workload %s) to offer a "
                 "fraction of", model, sr->level, from);
        return -1;
    }
    double capacity = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    sr->rate = w->offered[sr->offered] * capacity;
    json_object_set_new(run, "offered_rps", json_real(sr->rate));
    json_object_set_new(run, "capacity_rps", json_real(capacity));
    return 0;
}

/* One run, start to finish. Returns the run object, or NULL when the run was
 * interrupted (then nothing of it is recorded). */
static json_t *run_one(struct runner *r, const struct suite_run *planned)
{
    char id[3 * SUITE_NAME_MAX + 32], err[768] = "", log[PATH_MAX];
    struct suite_run this = *planned, *sr = &this;
    runrecord_id(&r->suite, sr, id, sizeof id);
    snprintf(log, sizeof log, "%s/logs/%s.server.log", r->dir, id);
    json_t *run = runrecord_new(&r->suite, sr, id, load_task_count(&r->load, sr->level));
    struct run_result res = {0};
    struct server s;
    if (sr->offered >= 0 && offered_rate(r, sr, run, err, sizeof err) < 0) {
        /* recorded as failed below, with no server started */
    } else if (server_start(&r->srv, r->suite.models[sr->model], log, &s, err, sizeof err) < 0) {
        res.interrupted = run_interrupted != 0;
    } else {
        res.pm = procmon_new(s.pid);
        if (res.pm == NULL)
            snprintf(err, sizeof err, "out of memory");
        else
            drive(r, sr, id, &s, &res, err, sizeof err);
        json_object_set_new(run, "server", finish_server(&s, &res, err, sizeof err));
        json_object_set_new(run, "load_threads",
                            res.load_threads > 0 ? json_integer(res.load_threads) : json_null());
        if (err[0] == '\0' && res.ioload != NULL)
            runrecord_take_ioload(run, res.ioload, err, sizeof err);
        else if (err[0] == '\0' && !res.interrupted)
            snprintf(err, sizeof err, "no ioload result");
    }
    if (res.interrupted) {
        json_decref(run);
        run = NULL;
    } else {
        record(r, id, run, &res, err);
    }
    json_decref(res.ioload);
    json_decref(res.server_stats);
    procmon_free(res.pm);
    return run;
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
        char why[PATH_MAX + 96];
        if (refserver_is(model)) {
            /* nginx or the floor: there when its binary is. */
            r->model_ok[m] = refserver_available(model, r->opts.ioserve, why, sizeof why);
            if (!r->model_ok[m])
                summary_verify(&r->sum, model, false, json_pack("[s]", why));
            continue;
        }
        r->model_ok[m] = found;
        if (!found) {
            summary_verify(&r->sum, model, false,
                           json_pack("[s]", "not built or cannot run here: absent from ioserve "
                                     "--list-models (--describe-models says why)"));
            fprintf(stderr, "iobench run: model %s is not in ioserve --list-models, skipped\n",
                    model);
        }
    }
}

/* Why a model x level is not run, or NULL when it is. */
static const char *skip_reason(struct runner *r, int m, int level, char *buf, size_t cap)
{
    int cap_level = suite_cap(&r->suite, r->suite.models[m]);
    const char *first = summary_first_failed_check(&r->sum, r->suite.models[m]);
    if (!r->model_ok[m] && first != NULL && strncmp(first, "not built", 9) == 0)
        return "model not built";
    if (!r->model_ok[m])
        return "model failed verification";
    if (cap_level > 0 && level > cap_level) {
        snprintf(buf, cap, "above the model's cap of %d", cap_level);
        return buf;
    }
    return NULL;
}

/* The skipped list: runs left out by a cap or a failed model. */
static void record_skipped(struct runner *r)
{
    for (int w = 0; w < r->suite.n_workloads; w++)
        for (int l = 0; l < r->suite.workloads[w].n_levels; l++)
            for (int m = 0; m < r->suite.n_models; m++) {
                int level = r->suite.workloads[w].levels[l];
                char buf[96];
                const char *why = skip_reason(r, m, level, buf, sizeof buf);
                if (why == NULL)
                    why = refserver_cannot(r->suite.models[m], &r->suite.workloads[w]);
                if (why != NULL)
                    summary_skip(&r->sum, r->suite.models[m], r->suite.workloads[w].name, level,
                                 r->suite.trials, why);
            }
}

/* Applies --models and --trials to the suite and to its recorded JSON. */
static int apply_overrides(struct runner *r)
{
    char err[512];
    if (r->opts.models != NULL) {
        if (suite_set_models(&r->suite, r->opts.models, err, sizeof err) < 0) {
            fprintf(stderr, "iobench run: %s\n", err);
            return -1;
        }
        json_t *a = json_array();
        for (int m = 0; m < r->suite.n_models; m++)
            json_array_append_new(a, json_string(r->suite.models[m]));
        json_object_set_new(r->suite.json, "models", a);
    }
    if (r->opts.trials > 0) {
        r->suite.trials = (int)r->opts.trials;
        json_object_set_new(r->suite.json, "trials", json_integer(r->opts.trials));
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

/* --load-tasks overrides the suite's, and is recorded as if it were. */
static void apply_load_tasks(struct runner *r)
{
    if (r->opts.load_tasks > 0) {
        r->suite.load_tasks = (int)r->opts.load_tasks;
        json_object_set_new(r->suite.json, "load_tasks", json_integer(r->opts.load_tasks));
    }
}

/* --resume: the suite as the summary there recorded it. */
static int load_recorded_suite(struct runner *r)
{
    char err[1024];
    r->old = resume_load(r->opts.resume, err, sizeof err);
    if (r->old == NULL) {
        fprintf(stderr, "iobench run: %s\n", err);
        return 2;
    }
    if (suite_load_json(&r->suite, json_object_get(r->old, "suite"), err, sizeof err) < 0) {
        fprintf(stderr, "iobench run: --resume: %s\n", err);
        json_decref(r->old);
        r->old = NULL;
        return 2;
    }
    return 0;
}

/* The suite, with the command line's overrides. 0, or the exit status. */
static int load_suite(struct runner *r)
{
    char path[PATH_MAX], err[1024];
    if (r->opts.resume != NULL)
        return load_recorded_suite(r);
    if (suite_resolve(r->opts.suite, path, sizeof path) == NULL)
        return runopts_bad("--suite: name too long: %s", r->opts.suite);
    if (suite_load(&r->suite, path, err, sizeof err) < 0) {
        fprintf(stderr, "iobench run: %s\n", err);
        return 2;
    }
    if (apply_overrides(r) < 0) {
        suite_free(&r->suite);
        return 2;
    }
    apply_load_tasks(r);
    return 0;
}

/* The directory --resume names, when this machine may add to it; else a
 * new one beside it (--other-machine new) or one line. 0 or -1. */
static int take_resumed_dir(struct runner *r)
{
    char why[512];
    const char *dir = r->opts.resume;
    snprintf(r->opts.parent, sizeof r->opts.parent, "%s", dir);
    char *slash = strrchr(r->opts.parent, '/');
    if (slash != NULL && slash != r->opts.parent && slash[1] != '\0')
        *slash = '\0';
    else
        snprintf(r->opts.parent, sizeof r->opts.parent, "%s", slash == NULL ? "." : "/");
    json_t *env = util_env();
    bool same = resume_same_machine(json_object_get(r->old, "env"), env, why, sizeof why);
    json_decref(env);
    if (same) {
        snprintf(r->dir, sizeof r->dir, "%s", dir);
        return resultsdir_reopen(r->dir);
    }
    if (!r->opts.other_machine_new) {
        fprintf(stderr,
                "iobench run: --resume: %s was run on another machine (%s); "
                "--other-machine new starts a new results directory\n",
                dir, why);
        return -1;
    }
    snprintf(r->restarted, sizeof r->restarted, "%s", dir);
    json_decref(r->old);
    r->old = NULL;
    fprintf(stderr, "iobench run: %s was run on another machine (%s): starting a new directory\n",
            dir, why);
    return resultsdir_create(r->opts.parent, r->opts.min_free_mb, r->dir, sizeof r->dir);
}

/* Where this run writes: a new directory, or the one being resumed. */
static int take_dir(struct runner *r)
{
    if (r->opts.resume != NULL)
        return take_resumed_dir(r);
    return resultsdir_create(r->opts.parent, r->opts.min_free_mb, r->dir, sizeof r->dir);
}

/* Signals, the subreaper, libcurl. 0 or -1 after one line. */
static int setup_process(struct runner *r)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocked wait returns EINTR and the loop sees the flag. */
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
        signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "iobench run: sigaction: %s\n", strerror(errno));
        return -1;
    }
    /* Orphans of a server come back to the harness, which can then reap them. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        fprintf(stderr, "iobench run: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "iobench run: curl_global_init failed\n");
        return -1;
    }
    r->tty = isatty(STDERR_FILENO) == 1;
    return 0;
}

/* --load-via's words, split at blanks in r->via. */
static int split_via(struct runner *r)
{
    if (r->opts.load_via == NULL)
        return 0;
    snprintf(r->via, sizeof r->via, "%s", r->opts.load_via);
    char *save = NULL;
    for (char *w = strtok_r(r->via, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        /* A word with {task} is copied per task into a bounded buffer. */
        if (r->load.n_via == LOAD_MAX_VIA || (strstr(w, "{task}") && strlen(w) >= 48)) {
            fprintf(stderr,
                    "iobench run: --load-via: at most %d words, those with {task} at most 47 "
                    "characters\n",
                    LOAD_MAX_VIA);
            return -1;
        }
        r->load.via[r->load.n_via++] = w;
    }
    if (r->load.n_via == 0)
        return 0;
    if (child_which(r->load.via[0], r->via_bin, sizeof r->via_bin) == NULL) {
        fprintf(stderr, "iobench run: --load-via: %s is not an executable on PATH\n",
                r->load.via[0]);
        return -1;
    }
    r->load.via[0] = r->via_bin;
    return 0;
}

/* The CPU plan and how servers and ioload are started. */
static int setup_plan(struct runner *r)
{
    if (cpuplan_make(&r->cpus, r->suite.server_cpus) < 0) {
        fprintf(stderr, "iobench run: sched_getaffinity: %s\n", strerror(errno));
        return -1;
    }
    cpuplan_pin_harness(&r->cpus);
    verify_set_host(r->opts.host);
    r->srv = (struct server_conf){r->opts.ioserve, r->dir, r->opts.host,
                                  r->cpus.pinned ? &r->cpus.server : NULL, &run_interrupted};
    r->load = (struct load_conf){.bin = r->opts.ioload,
                                 .dir = r->dir,
                                 .host = r->opts.host,
                                 .suite = &r->suite,
                                 .cpus = &r->cpus,
                                 .remote_cpus = r->opts.load_cpus > 0 ? (int)r->opts.load_cpus
                                                                      : r->cpus.n_allowed,
                                 .cancel = &run_interrupted};
    return split_via(r);
}

/* The plan as the summary records it: the CPUs, and how the load is made. */
static json_t *plan_json(struct runner *r)
{
    json_t *p = cpuplan_json(&r->cpus);
    json_object_set_new(p, "load_tasks", json_integer(r->suite.load_tasks));
    json_object_set_new(p, "threads",
                        r->suite.threads == SUITE_THREADS_AUTO ? json_string("auto")
                                                               : json_integer(r->suite.threads));
    json_object_set_new(p, "load_via",
                        r->opts.load_via ? json_string(r->opts.load_via) : json_null());
    json_object_set_new(p, "host", json_string(r->opts.host));
    return p;
}

/* The first line a tool prints for --version, or null. */
static json_t *tool_version(struct runner *r, const char *bin, const char *tag)
{
    static char text[4096];
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.%s--version", r->dir, tag);
    char *argv[] = {(char *)bin, "--version", NULL};
    if (child_capture(argv, path, text, sizeof text) != 0)
        return json_null();
    return json_stringn(text, strcspn(text, "\r\n"));
}

/* A new summary.json, written before any load. The suite is recorded by
 * name, with its path only when it is one of ours (no machine paths). */
static int start_summary(struct runner *r)
{
    json_t *env = util_env();
    json_object_set_new(env, "ioserve_version", tool_version(r, r->opts.ioserve, "ioserve"));
    json_object_set_new(env, "ioload_version", tool_version(r, r->opts.ioload, "ioload"));
    /* iobench runs ioload's default engine (docs/results-schema.md). */
    json_object_set_new(env, "ioload_engine", json_string("stream"));
    char rel[PATH_MAX];
    const char *file = util_source_relative(r->suite.file, rel, sizeof rel);
    json_object_set_new(r->suite.json, "file", file ? json_string(file) : json_null());
    if (summary_new(&r->sum, r->dir, r->suite.json, env, plan_json(r)) < 0) {
        fprintf(stderr, "iobench run: out of memory\n");
        return -1;
    }
    if (r->restarted[0] != '\0')
        json_object_set_new(r->sum.root, "restarted_from", json_string(r->restarted));
    summary_save(&r->sum);
    return 0;
}

/* Which models are built and pass verification. 0, or -1 to stop. */
static int verify_models(struct runner *r)
{
    static char text[4096];
    if (server_query(&r->srv, "--list-models", text, sizeof text) < 0) {
        fprintf(stderr, "iobench run: %s --list-models failed\n", r->opts.ioserve);
        return -1;
    }
    check_models_built(r, text);
    for (int m = 0; m < r->suite.n_models && !run_interrupted; m++)
        if (r->model_ok[m])
            verify_model(r, m);
    if (run_interrupted)
        return -1;
    record_skipped(r);
    summary_save(&r->sum);
    return 0;
}

/* --resume: the runs already written, by plan index (NULL: to run). */
static json_t **written_runs(struct runner *r, const struct suite_run *plan)
{
    json_t **kept = calloc(r->total + 1, sizeof *kept);
    int n = 0;
    for (size_t i = 0; kept != NULL && r->old != NULL && i < r->total; i++) {
        char id[3 * SUITE_NAME_MAX + 32];
        kept[i] = resume_written_run(r->dir, runrecord_id(&r->suite, &plan[i], id, sizeof id));
        n += kept[i] != NULL;
    }
    if (r->old != NULL) {
        resume_mark(r->sum.root, r->old, n);
        summary_save(&r->sum);
    }
    return kept;
}

/* A run written before the interruption counts as done, once. */
static void keep_run(struct runner *r, json_t *run)
{
    const char *status = json_string_value(json_object_get(run, "status"));
    if (status != NULL && strcmp(status, "ok") == 0)
        r->n_ok++;
    else
        r->n_failed++;
    summary_add_run(&r->sum, run);
    r->done++;
    r->kept++;
}

static void run_plan(struct runner *r)
{
    /* Resumed, a run already written stays even if its model now fails
     * verification: the plan lists every model, and only those that pass
     * are run. */
    bool all[SUITE_MAX_MODELS];
    for (int m = 0; m < SUITE_MAX_MODELS; m++)
        all[m] = true;
    struct suite_run *plan = suite_plan(&r->suite, r->old != NULL ? all : r->model_ok, &r->total);
    size_t planned = r->total;
    json_t **kept = written_runs(r, plan);
    for (size_t i = 0; kept != NULL && i < planned && !run_interrupted; i++) {
        if (kept[i] != NULL) {
            keep_run(r, kept[i]);
            kept[i] = NULL;
            continue;
        }
        if (!r->model_ok[plan[i].model] ||
            refserver_cannot(r->suite.models[plan[i].model],
                             &r->suite.workloads[plan[i].workload]) != NULL) {
            r->total--;
            continue;
        }
        progress(r, &plan[i]);
        json_t *run = run_one(r, &plan[i]);
        if (run == NULL)
            break;
        summary_add_run(&r->sum, run);
        r->done++;
        summary_save(&r->sum);
    }
    for (size_t i = 0; kept != NULL && i < planned; i++)
        json_decref(kept[i]);
    free(kept);
    free(plan);
}

/* The summary's last word, latest, one line for the user and the
 * directory on stdout. The exit status. */
static int finish(struct runner *r)
{
    summary_finish(&r->sum, run_interrupted ? "interrupted" : NULL);
    summary_save(&r->sum);
    resultsdir_tidy(r->dir);
    resultsdir_point_latest(r->opts.parent, r->dir);
    if (!r->opts.quiet && r->tty)
        fputc('\n', stderr);
    if (!r->opts.quiet)
        fprintf(stderr, "iobench run: %zu of %zu runs ok in %.0f s%s\n",
                r->done - (size_t)r->n_failed, r->total, util_now_s() - r->t_start,
                r->n_failed > 0 ? " (failures listed in summary.json)" : "");
    printf("%s\n", r->dir);
    fflush(stdout);
    return run_interrupted ? 130 : r->n_ok > 0 ? 0 : 1;
}

int run_main(int argc, char **argv)
{
    static struct runner runner;
    struct runner *r = &runner;
    memset(r, 0, sizeof *r);
    int rc = runopts_parse(&r->opts, argc, argv);
    if (rc >= 0)
        return rc;
    rc = load_suite(r);
    if (rc != 0)
        return rc;
    if (r->old != NULL && json_is_true(json_object_get(r->old, "complete"))) {
        fprintf(stderr, "iobench run: %s is complete, nothing to resume\n", r->opts.resume);
        printf("%s\n", r->opts.resume);
        rc = 0;
        goto out_suite;
    }
    rc = 1;
    if (check_binary("ioserve", r->opts.ioserve) < 0 || check_binary("ioload", r->opts.ioload) < 0)
        goto out_suite;
    /* Before anything is started: a run that cannot be recorded is not run. */
    if (take_dir(r) < 0 || setup_process(r) < 0)
        goto out_suite;
    if (setup_plan(r) < 0 || start_summary(r) < 0)
        goto out_curl;
    r->t_start = util_now_s();
    if (verify_models(r) == 0)
        run_plan(r);
    rc = finish(r);
    summary_free(&r->sum);
out_curl:
    curl_global_cleanup();
out_suite:
    suite_free(&r->suite);
    json_decref(r->old);
    return rc;
}
