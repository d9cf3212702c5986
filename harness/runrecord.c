/* runrecord: a run's entry and file (see runrecord.h). */
#include "runrecord.h"

#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

char *runrecord_id(const struct suite *s, const struct suite_run *sr, char *buf, size_t cap)
{
    const struct suite_workload *w = &s->workloads[sr->workload];
    if (sr->offered >= 0)
        snprintf(buf, cap, "%s-%s-c%d-o%03.0f-t%d", s->models[sr->model], w->name, sr->level,
                 w->offered[sr->offered] * 100, sr->trial);
    else if (sr->idle_axis)
        snprintf(buf, cap, "%s-%s-c%d-i%d-t%d", s->models[sr->model], w->name, sr->level,
                 sr->idle, sr->trial);
    else
        snprintf(buf, cap, "%s-%s-c%d-t%d", s->models[sr->model], w->name, sr->level, sr->trial);
    return buf;
}

json_t *runrecord_new(const struct suite *s, const struct suite_run *sr, const char *id,
                      int load_tasks)
{
    const struct suite_workload *w = &s->workloads[sr->workload];
    /* Each offered fraction is a case of its own ("plaintext-open@50%"), so
     * every reader that groups runs by workload and level keeps them apart;
     * offered_of names the workload they come from. */
    char wname[SUITE_NAME_MAX + 16];
    if (sr->offered >= 0)
        snprintf(wname, sizeof wname, "%s@%.0f%%", w->name, w->offered[sr->offered] * 100);
    else if (sr->idle_axis)
        snprintf(wname, sizeof wname, "%s@%didle", w->name, sr->idle);
    else
        snprintf(wname, sizeof wname, "%s", w->name);
    char file[PATH_MAX];
    snprintf(file, sizeof file, "runs/%s.json", id);
    json_t *run = json_pack(
        "{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:n,s:s,s:n,s:s,s:n,s:n,s:n,s:n,s:n,s:n}", "id", id,
        "model", s->models[sr->model], "workload", wname, "concurrency", sr->level, "trial",
        sr->trial, "idle_connections", sr->idle, "slow_clients", w->slow_clients, "open_connections",
        sr->level + sr->idle + w->slow_clients, "load_tasks", load_tasks, "load_threads", "status",
        "ok", "error", "file", file, "throughput_rps", "successes", "requests", "errors",
        "latency_us", "server");
    if (run != NULL && sr->idle_axis)
        json_object_set_new(run, "idle_of", json_string(w->name));
    if (run != NULL && sr->offered >= 0) {
        /* offered_rps is fixed when the run starts, from the capacity. */
        json_object_set_new(run, "offered_of", json_string(w->name));
        json_object_set_new(run, "offered_fraction", json_real(w->offered[sr->offered]));
        json_object_set_new(run, "offered_rps", json_null());
    }
    return run;
}

/* Copies io[key] into run[key], null when absent. */
static void copy_or_null(json_t *run, const char *to, json_t *from, const char *key)
{
    json_t *v = json_object_get(from, key);
    json_object_set_new(run, to, v != NULL ? json_incref(v) : json_null());
}

static json_t *latency_figures(json_t *lat)
{
    json_t *l = json_object();
    static const char *const keys[] = {"p50", "p90", "p99", "p99_9", "max", NULL};
    for (const char *const *k = keys; *k != NULL; k++)
        copy_or_null(l, *k, lat, *k);
    return l;
}

/* Open loop: how far the sends fell behind their schedule, and whose fault
 * the late ones were (docs/results-schema.md). */
static void take_open_loop(json_t *run, json_t *io)
{
    json_t *ol = json_object_get(io, "open_loop");
    if (!json_is_object(ol))
        return;
    json_t *lag = json_object_get(ol, "send_lag_ns");
    json_t *o = json_object();
    copy_or_null(o, "scheduled", ol, "scheduled");
    copy_or_null(o, "late", ol, "late");
    copy_or_null(o, "late_behind", ol, "late_behind");
    copy_or_null(o, "send_lag_p50_ns", lag, "p50");
    copy_or_null(o, "send_lag_p99_ns", lag, "p99");
    json_t *unc = json_object_get(json_object_get(io, "latency_us"), "uncorrected");
    copy_or_null(o, "uncorrected_p50_us", unc, "p50");
    json_object_set_new(run, "open_loop", o);
}

int runrecord_take_ioload(json_t *run, json_t *io, char *err, size_t errlen)
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
    copy_or_null(run, "starved_connections", totals, "starved_connections");
    copy_or_null(run, "unfinished", totals, "unfinished");
    json_t *sat = json_object_get(json_object_get(io, "self"), "saturated");
    json_object_set_new(run, "load_saturated", json_boolean(json_is_true(sat)));
    json_object_set_new(run, "latency_us", latency_figures(lat));
    take_open_loop(run, io);
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
    for (size_t i = 0; pm != NULL && i < pm->n; i++) {
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
                              json_t *stats, json_t *ioload)
{
    double user = ps->cpu_user_s, sys = ps->cpu_sys_s;
    long vol = ps->ctx_voluntary, invol = ps->ctx_involuntary;
    json_t *per_request = json_null();
    json_int_t measured = json_integer_value(json_object_get(json_object_get(ioload, "totals"),
                                                             "requests"));
    if (stats == NULL && measured > 0) {
        /* A reference server (nginx, the floor) has no /stats: its CPU over
         * the measured window, sampled from /proc, per request ioload
         * completed in that window (ticks of 10 ms: coarser, but fair). */
        per_request = json_real((user + sys) * 1e6 / (double)measured);
    } else if (s->have_ru) {
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

json_t *runrecord_server(const struct server *s, const struct run_result *res, json_t *exit)
{
    if (res->pm == NULL)
        return exit;
    struct procmon_summary ps = procmon_summarise(res->pm, res->window_from, res->window_to);
    json_t *fig = server_figures(s, &ps, res->server_stats, res->ioload);
    json_object_update(fig, exit);
    json_decref(exit);
    return fig;
}

void runrecord_fail(json_t *run, const char *err)
{
    if (err[0] == '\0')
        return;
    json_object_set_new(run, "status", json_string("failed"));
    json_object_set_new(run, "error", json_string(err));
}

void runrecord_save(const char *dir, const char *id, json_t *run, const struct run_result *res)
{
    const struct slowclients_stats *sl = &res->slow;
    json_t *file =
        json_pack("{s:O,s:O?,s:O?,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "run", run, "ioload", res->ioload,
                  "server_stats", res->server_stats, "server_samples", samples_json(res->pm),
                  "slow_clients", "connects", (json_int_t)sl->connects, "connect_errors",
                  (json_int_t)sl->connect_errors, "closed", (json_int_t)sl->closed, "bytes_sent",
                  (json_int_t)sl->bytes_sent, "bytes_received", (json_int_t)sl->bytes_received);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/runs/%s.json", dir, id);
    if (file == NULL || util_json_save(path, file) < 0)
        fprintf(stderr, "iobench run: cannot write %s: %s\n", path,
                file == NULL ? "out of memory" : strerror(errno));
    json_decref(file);
}
