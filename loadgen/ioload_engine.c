/* ioload_engine: threads, and the merge of what they measured (see
 * ioload_engine.h). */
#include "ioload_engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ioload_worker.h"

static double ts_s(const struct timespec *a)
{
    return (double)a->tv_sec + (double)a->tv_nsec / 1e9;
}

static double tv_s(const struct timeval *a)
{
    return (double)a->tv_sec + (double)a->tv_usec / 1e6;
}

static struct timespec ts_add(struct timespec t, double s)
{
    int64_t ns = (int64_t)t.tv_nsec + (int64_t)((s - floor(s)) * 1e9);
    t.tv_sec += (time_t)floor(s) + (time_t)(ns / NS_PER_S);
    t.tv_nsec = (long)(ns % NS_PER_S);
    return t;
}

const struct engine_ops *ioload_engine_find(const char *name)
{
    if (strcmp(name, engine_stream.name) == 0)
        return &engine_stream;
    if (strcmp(name, engine_transfer.name) == 0)
        return &engine_transfer;
    return NULL;
}

/* Raises the soft descriptor limit to the hard one; many connections need it. */
static int raise_nofile(long need, char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(err, errlen, "ioload: getrlimit: %s", strerror(errno));
        return -1;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            snprintf(err, errlen, "ioload: setrlimit: %s", strerror(errno));
            return -1;
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)need > rl.rlim_cur) {
        snprintf(err, errlen, "ioload: needs about %ld descriptors, the limit is %llu", need,
                 (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

/* Appends s to *list; on failure *list is kept and *ok cleared. */
static void append_header(struct curl_slist **list, const char *s, bool *ok)
{
    struct curl_slist *t = *ok ? curl_slist_append(*list, s) : NULL;
    if (t == NULL)
        *ok = false;
    else
        *list = t;
}

/* The transfer engine's extra request headers. */
static struct curl_slist *build_headers(const struct ioload_config *cfg, bool *ok)
{
    struct curl_slist *list = NULL;
    *ok = true;
    for (int i = 0; i < cfg->nheaders; i++)
        append_header(&list, cfg->headers[i], ok);
    /* No "Expect: 100-continue" round trip before a body. */
    if (cfg->body != NULL)
        append_header(&list, "Expect:", ok);
    if (!cfg->keepalive)
        append_header(&list, "Connection: close", ok);
    return list;
}

/* Part i of `parts` near-equal parts of total. */
static int64_t part_of(int64_t total, int parts, int i)
{
    return total / parts + (i < total % parts ? 1 : 0);
}

static void progress(const struct worker_shared *sh, struct ioload_worker *ws, int n)
{
    int64_t done = 0, errs = 0;
    for (int i = 0; i < n; i++) {
        done += atomic_load_explicit(&ws[i].progress_done, memory_order_relaxed);
        errs += atomic_load_explicit(&ws[i].progress_err, memory_order_relaxed);
    }
    double t = (double)(worker_now() - sh->measure_start_ns) / 1e9;
    if (t < 0)
        fprintf(stderr, "\r\033[Kwarming up %.1fs", -t);
    else
        fprintf(stderr, "\r\033[K%6.1fs %" PRId64 " requests, %.0f req/s, %" PRId64 " errors", t,
                done, t > 0 ? (double)done / t : 0.0, errs);
}

static void merge_open_loop(struct ioload_result *res, const struct sched *s)
{
    if (hdr_add(&res->send_lag, &s->lag) != 0)
        res->internal_errors++;
    res->scheduled += s->scheduled;
    res->late += s->late;
    res->late_behind += s->late_behind;
    res->late_noconn += s->late_noconn;
    res->late_wakeup += s->late_wakeup;
    res->unsent += s->unsent;
    if (s->max_lag_ns > res->max_send_lag_ns)
        res->max_send_lag_ns = s->max_lag_ns;
    res->spin_s += (double)s->spin_ns / 1e9;
    res->margin_us += (double)s->margin_ns / 1e3;
}

static void merge_counts(struct ioload_result *res, const struct ioload_worker *w)
{
    if (hdr_add(&res->corrected, &w->corrected) != 0 ||
        hdr_add(&res->uncorrected, &w->uncorrected) != 0)
        res->internal_errors++;
    ioload_err_add(&res->err, &w->err);
    res->requests += w->requests;
    res->successes += w->successes;
    res->errors += w->errors;
    res->bytes += w->bytes;
    res->internal_errors += w->internal_errors;
    res->idle_established += glue_idle_established(w);
    res->unfinished += w->unfinished;
    res->starved_connections += w->starved;
    if (w->oldest_unfinished_ns / 1000 > res->oldest_unfinished_us)
        res->oldest_unfinished_us = w->oldest_unfinished_ns / 1000;
    res->cpu_thread_s += ts_s(&w->cpu1) - ts_s(&w->cpu0);
    res->cpu_user_s += tv_s(&w->ru1.ru_utime) - tv_s(&w->ru0.ru_utime);
    res->cpu_sys_s += tv_s(&w->ru1.ru_stime) - tv_s(&w->ru0.ru_stime);
    res->runq_wait_s += (double)(w->runq1 - w->runq0) / 1e9;
}

/* Where a thread's measured work ended. */
static int64_t worker_end(const struct worker_shared *sh, const struct ioload_worker *w)
{
    int64_t end = w->stop_ns;
    if (sh->cfg->requests > 0 && !*sh->stop)
        end = w->last_done_ns; /* the measured work ended with its last response */
    return end > sh->measure_end_ns ? sh->measure_end_ns : end;
}

static void merge_workers(const struct worker_shared *sh, struct ioload_worker *ws, int n,
                          struct ioload_result *res)
{
    int64_t end = sh->measure_start_ns;
    for (int i = 0; i < n; i++) {
        merge_counts(res, &ws[i]);
        if (sh->open_loop)
            merge_open_loop(res, &ws[i].sched);
        int64_t w_end = worker_end(sh, &ws[i]);
        if (w_end > end)
            end = w_end;
    }
    if (n > 0)
        res->margin_us /= n;
    res->elapsed_s = (double)(end - sh->measure_start_ns) / 1e9;
}

/* The per-second timeline, as long as the measured interval. */
static void build_timeline(struct worker_shared *sh, struct ioload_result *res)
{
    size_t seconds = (size_t)ceil(res->elapsed_s);
    if (seconds < sh->tl_len)
        seconds = sh->tl_len;
    res->timeline = calloc(seconds + 1, sizeof *res->timeline);
    for (size_t s = 0; s < seconds && res->timeline != NULL; s++) {
        struct ioload_tl_entry *e = &res->timeline[s];
        e->p50_us = e->p99_us = -1;
        if (s >= sh->tl_len)
            continue;
        e->requests = sh->tl[s].requests;
        e->errors = sh->tl[s].errors;
        if (sh->tl[s].has_hdr && sh->tl[s].h.total_count > 0) {
            e->p50_us = hdr_value_at_percentile(&sh->tl[s].h, 50);
            e->p99_us = hdr_value_at_percentile(&sh->tl[s].h, 99);
        }
    }
    if (res->timeline != NULL)
        res->timeline_len = seconds;
    for (size_t s = 0; s < sh->tl_len; s++)
        if (sh->tl[s].has_hdr)
            hdr_free(&sh->tl[s].h);
    free(sh->tl);
    sh->tl = NULL;
}

static int shared_init(struct worker_shared *sh, const struct ioload_config *cfg,
                       atomic_int *stop)
{
    static atomic_int never;
    *sh = (struct worker_shared){.cfg = cfg, .stop = stop != NULL ? stop : &never};
    sh->engine = ioload_engine_find(cfg->engine);
    sh->open_loop = cfg->rate > 0;
    bool ok;
    sh->headers = build_headers(cfg, &ok);
    if (!ok || sh->engine == NULL) {
        curl_slist_free_all(sh->headers);
        return -1;
    }
    pthread_mutex_init(&sh->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sh->cond, &ca);
    pthread_condattr_destroy(&ca);
    sh->run_start_ns = sh->measure_start_ns = sh->measure_end_ns = INT64_MAX;
    return 0;
}

static void shared_free(struct worker_shared *sh)
{
    curl_slist_free_all(sh->headers);
    pthread_cond_destroy(&sh->cond);
    pthread_mutex_destroy(&sh->lock);
}

/* Starts the threads; returns how many run. */
static int start_workers(struct worker_shared *sh, struct ioload_worker *ws)
{
    const struct ioload_config *cfg = sh->cfg;
    int created = 0;
    for (int i = 0; i < cfg->threads; i++) {
        struct ioload_worker *w = &ws[i];
        *w = (struct ioload_worker){.id = i, .sh = sh, .cfg = cfg, .epfd = -1};
        w->nconn = (int)part_of(cfg->connections, cfg->threads, i);
        w->nidle = (int)part_of(cfg->idle, cfg->threads, i);
        w->quota = cfg->requests > 0 ? part_of(cfg->requests, cfg->threads, i) : 0;
        int e = pthread_create(&w->tid, NULL, worker_main, w);
        if (e != 0) {
            worker_fail(sh, "ioload: cannot create a thread", e);
            break;
        }
        created++;
    }
    return created;
}

/* Once every thread is ready: fixes the run's clock and lets them go, then
 * waits for them to finish, showing progress on a terminal. Returns whether
 * a thread failed. */
static bool drive_workers(struct worker_shared *sh, struct ioload_worker *ws, int created,
                          struct timespec *wall)
{
    const struct ioload_config *cfg = sh->cfg;
    pthread_mutex_lock(&sh->lock);
    sh->created = created;
    while (sh->ready < created)
        pthread_cond_wait(&sh->cond, &sh->lock);
    int64_t now = worker_now();
    clock_gettime(CLOCK_REALTIME, wall);
    sh->run_start_ns = now;
    sh->measure_start_ns = now + (int64_t)(cfg->warmup_s * 1e9);
    sh->measure_end_ns =
        cfg->duration_s > 0 ? sh->measure_start_ns + (int64_t)(cfg->duration_s * 1e9) : INT64_MAX;
    sh->go = true;
    pthread_cond_broadcast(&sh->cond);
    bool show = !cfg->quiet && isatty(STDERR_FILENO);
    while (sh->finished < created) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += 1;
        pthread_cond_timedwait(&sh->cond, &sh->lock, &dl);
        if (show && sh->finished < created)
            progress(sh, ws, created);
    }
    if (show)
        fputs("\r\033[K", stderr);
    bool failed = sh->failed;
    pthread_mutex_unlock(&sh->lock);
    return failed;
}

/* Lets the threads close their connections (idle ones stay open until
 * every thread has finished) and joins them. */
static void release_workers(struct worker_shared *sh, struct ioload_worker *ws, int created)
{
    pthread_mutex_lock(&sh->lock);
    sh->release = true;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->lock);
    for (int i = 0; i < created; i++) {
        pthread_join(ws[i].tid, NULL);
        hdr_free(&ws[i].corrected);
        hdr_free(&ws[i].uncorrected);
        if (sh->open_loop)
            sched_free(&ws[i].sched);
    }
}

static int result_init(struct ioload_result *res)
{
    memset(res, 0, sizeof *res);
    if (hdr_init(&res->corrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) != 0 ||
        hdr_init(&res->uncorrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) !=
            0 ||
        hdr_init(&res->send_lag, 1, SCHED_LAG_HIGHEST, SCHED_LAG_DIGITS) != 0)
        return -1;
    return 0;
}

int ioload_run(const struct ioload_config *cfg, atomic_int *stop,
               struct ioload_result *res, char *err, size_t errlen)
{
    if (result_init(res) != 0) {
        snprintf(err, errlen, "ioload: cannot allocate histograms");
        return -1;
    }
    /* An epoll per thread; the stream engine's multi handles each hold a
     * socketpair of libcurl's; a few for stdio. */
    long per_conn = strcmp(cfg->engine, "stream") == 0 ? 3 : 1;
    if (raise_nofile(per_conn * cfg->connections + cfg->idle + 4L * cfg->threads + 32, err,
                     errlen) != 0)
        return -1;
    struct worker_shared sh;
    struct ioload_worker *ws = calloc((size_t)cfg->threads, sizeof *ws);
    if (ws == NULL || shared_init(&sh, cfg, stop) != 0) {
        free(ws);
        snprintf(err, errlen, "ioload: out of memory");
        return -1;
    }
    int created = start_workers(&sh, ws);
    struct timespec wall;
    bool failed = drive_workers(&sh, ws, created, &wall);
    if (!failed)
        merge_workers(&sh, ws, created, res);
    release_workers(&sh, ws, created);
    res->interrupted = *sh.stop != 0;
    res->start_wall = ts_add(wall, cfg->warmup_s);
    res->end_wall = ts_add(res->start_wall, res->elapsed_s);
    build_timeline(&sh, res);
    free(ws);
    shared_free(&sh);
    if (failed) {
        snprintf(err, errlen, "%s", sh.err);
        return -1;
    }
    return 0;
}

void ioload_result_free(struct ioload_result *res)
{
    hdr_free(&res->corrected);
    hdr_free(&res->uncorrected);
    hdr_free(&res->send_lag);
    free(res->timeline);
    res->timeline = NULL;
}
