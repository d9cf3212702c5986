/* run: `iobench run`: verifies each model, then runs every model x workload
 * x level x trial with a fresh server, ioload as separate processes and the
 * server's process tree sampled from /proc, and records it all.
 *
 * This file is the order of things; each concern has its own module:
 * runopts (command line), cpuplan (pinning), resultsdir, server, load
 * (ioload), runrecord (a run's entry and file), summary (summary.json). */
#include "cpuplan.h"
#include "child.h"
#include "iobench.h"
#include "load.h"
#include "procmon.h"
#include "resultsdir.h"
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
    double t_start;
    size_t total, done;
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

/* Verifies one model with a server of its own; records the result. */
static void verify_model(struct runner *r, int m)
{
    const char *model = r->suite.models[m];
    json_t *failed = json_array();
    char log[PATH_MAX], err[512];
    snprintf(log, sizeof log, "%s/logs/verify-%s.server.log", r->dir, model);
    struct server s;
    if (server_start(&r->srv, model, log, &s, err, sizeof err) < 0) {
        json_array_append_new(failed, json_sprintf("start: %s", err));
    } else {
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
        sc = slowclients_start(s->port, w->slow_clients, w->path, cpu, err, errlen);
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

/* One run, start to finish. Returns the run object, or NULL when the run was
 * interrupted (then nothing of it is recorded). */
static json_t *run_one(struct runner *r, const struct suite_run *sr)
{
    char id[3 * SUITE_NAME_MAX + 32], err[768] = "", log[PATH_MAX];
    runrecord_id(&r->suite, sr, id, sizeof id);
    snprintf(log, sizeof log, "%s/logs/%s.server.log", r->dir, id);
    json_t *run = runrecord_new(&r->suite, sr, id);
    struct run_result res = {0};
    struct server s;
    if (server_start(&r->srv, r->suite.models[sr->model], log, &s, err, sizeof err) < 0) {
        res.interrupted = run_interrupted != 0;
    } else {
        res.pm = procmon_new(s.pid);
        if (res.pm == NULL)
            snprintf(err, sizeof err, "out of memory");
        else
            drive(r, sr, id, &s, &res, err, sizeof err);
        json_object_set_new(run, "server", finish_server(&s, &res, err, sizeof err));
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
        r->model_ok[m] = found;
        if (!found) {
            summary_verify(&r->sum, model, false,
                           json_pack("[s]", "not built: absent from ioserve --list-models"));
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

/* The suite, with the command line's overrides. 0, or the exit status. */
static int load_suite(struct runner *r)
{
    char path[PATH_MAX], err[1024];
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
    return 0;
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

/* The CPU plan and how servers and ioload are started. */
static int setup_plan(struct runner *r)
{
    if (cpuplan_make(&r->cpus) < 0) {
        fprintf(stderr, "iobench run: sched_getaffinity: %s\n", strerror(errno));
        return -1;
    }
    cpuplan_pin_harness(&r->cpus);
    r->srv = (struct server_conf){r->opts.ioserve, r->dir, "127.0.0.1",
                                  r->cpus.pinned ? &r->cpus.server : NULL, &run_interrupted};
    r->load = (struct load_conf){r->opts.ioload,
                                 r->dir,
                                 "127.0.0.1",
                                 &r->suite,
                                 r->cpus.pinned ? &r->cpus.load : NULL,
                                 r->cpus.n_load,
                                 &run_interrupted};
    return 0;
}

/* A new summary.json, written before any load. */
static int start_summary(struct runner *r)
{
    static char text[4096];
    json_t *env = util_env();
    json_object_set_new(env, "ioserve_version",
                        server_query(&r->srv, "--version", text, sizeof text) == 0
                            ? json_stringn(text, strcspn(text, "\r\n"))
                            : json_null());
    if (summary_new(&r->sum, r->dir, r->suite.json, env, cpuplan_json(&r->cpus)) < 0) {
        fprintf(stderr, "iobench run: out of memory\n");
        return -1;
    }
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

static void run_plan(struct runner *r)
{
    struct suite_run *plan = suite_plan(&r->suite, r->model_ok, &r->total);
    for (size_t i = 0; i < r->total && !run_interrupted; i++) {
        progress(r, &plan[i]);
        json_t *run = run_one(r, &plan[i]);
        if (run == NULL)
            break;
        summary_add_run(&r->sum, run);
        r->done++;
        summary_save(&r->sum);
    }
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
    rc = 1;
    if (check_binary("ioserve", r->opts.ioserve) < 0 || check_binary("ioload", r->opts.ioload) < 0)
        goto out_suite;
    /* Before anything is started: a run that cannot be recorded is not run. */
    if (resultsdir_create(r->opts.parent, r->opts.min_free_mb, r->dir, sizeof r->dir) < 0 ||
        setup_process(r) < 0)
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
    return rc;
}
