/* ioload_worker: one load thread's loop (see ioload_worker.h).
 *
 * set-up, the loop, tear-down: the loop waits for the earliest of the
 * engine's timeouts, the next due request (open loop), the next timeline
 * second and the end of the run, and hands every event to its owner. */
#include "ioload_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Upper bound on one wait, so that a thread notices a stop request, the end
 * of the run and the end of a timeline second even when nothing happens. */
#define MAX_WAIT_NS (100 * NS_PER_MS)
#define TL_DIGITS 2 /* per-second histograms: 1% is enough for p50/p99 */
#define MAX_EVENTS 256
#define CALIBRATION_SLEEPS 64

int64_t worker_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int worker_watch(struct ioload_worker *w, int fd, uint32_t events, enum worker_tag tag,
                 uint32_t id, bool modify)
{
    struct epoll_event ev = {.events = events, .data.u64 = ((uint64_t)tag << 32) | id};
    int op = modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(w->epfd, op, fd, &ev) == 0)
        return 0;
    /* Our table and the kernel's disagree only when libcurl closed and
     * reopened a number behind our back: trust the kernel. */
    int alt = modify ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if ((errno == EEXIST || errno == ENOENT) && epoll_ctl(w->epfd, alt, fd, &ev) == 0)
        return 0;
    return -1;
}

static void dispatch(struct ioload_worker *w, const struct epoll_event *ev)
{
    enum worker_tag tag = (enum worker_tag)(ev->data.u64 >> 32);
    uint32_t id = (uint32_t)ev->data.u64;
    switch (tag) {
    case TAG_ENGINE:
        w->sh->engine->event(w, id, ev->events);
        break;
    default:
        glue_event(w, (int)id, ev->events);
        break;
    }
}

/* Waits for events into evs; returns how many (0 on EINTR). */
static int wait_events(struct ioload_worker *w, struct epoll_event *evs, int64_t wait_ns)
{
    if (wait_ns < 0)
        wait_ns = 0;
    int n = -1;
    if (w->use_pwait2) {
        struct timespec ts = {.tv_sec = wait_ns / NS_PER_S, .tv_nsec = wait_ns % NS_PER_S};
        n = epoll_pwait2(w->epfd, evs, MAX_EVENTS, &ts, NULL);
        if (n < 0 && errno == ENOSYS)
            w->use_pwait2 = false;
    }
    if (!w->use_pwait2)
        n = epoll_wait(w->epfd, evs, MAX_EVENTS, (int)((wait_ns + NS_PER_MS - 1) / NS_PER_MS));
    if (n < 0) {
        if (errno != EINTR)
            w->internal_errors++;
        return 0;
    }
    return n;
}

static int poll_events(struct ioload_worker *w, int64_t wait_ns)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = wait_events(w, evs, wait_ns);
    if (wait_ns > 0)
        w->awake_since = worker_now(); /* lateness before this is the wake-up's */
    for (int i = 0; i < n; i++)
        dispatch(w, &evs[i]);
    return n;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Stays awake until `due`, polling without sleeping; the CPU time until
 * the due time or the first event is waiting on purpose (spin_ns). */
static void spin_until(struct ioload_worker *w, int64_t due)
{
    struct epoll_event evs[MAX_EVENTS];
    int64_t c0 = thread_cpu_ns(), t;
    int n;
    do {
        n = wait_events(w, evs, 0);
        t = worker_now();
    } while (n == 0 && t < due && !*w->sh->stop);
    if (w->cpu_started)
        w->sched.spin_ns += thread_cpu_ns() - c0;
    for (int i = 0; i < n; i++)
        dispatch(w, &evs[i]);
}

void worker_poll(struct ioload_worker *w, int64_t wait_ns)
{
    poll_events(w, wait_ns);
}

static void tl_flush(struct ioload_worker *w)
{
    struct worker_shared *sh = w->sh;
    if (w->tl_req == 0)
        return;
    pthread_mutex_lock(&sh->lock);
    size_t sec = (size_t)w->tl_sec;
    if (sec >= sh->tl_len) {
        size_t len = sec + 1 > sh->tl_len * 2 ? sec + 1 : sh->tl_len * 2;
        struct tl_slot *tl = realloc(sh->tl, len * sizeof *tl);
        if (tl == NULL) {
            pthread_mutex_unlock(&sh->lock);
            w->internal_errors++;
            return;
        }
        memset(tl + sh->tl_len, 0, (len - sh->tl_len) * sizeof *tl);
        sh->tl = tl;
        sh->tl_len = len;
    }
    struct tl_slot *s = &sh->tl[sec];
    s->requests += w->tl_req;
    s->errors += w->tl_err;
    if (w->tl_h.total_count > 0) {
        if (!s->has_hdr && hdr_init(&s->h, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, TL_DIGITS) == 0)
            s->has_hdr = true;
        if (!s->has_hdr || hdr_add(&s->h, &w->tl_h) != 0)
            w->internal_errors++;
    }
    pthread_mutex_unlock(&sh->lock);
    w->tl_req = w->tl_err = 0;
    hdr_reset(&w->tl_h);
}

/* Moves the timeline on when a new second of the measured interval began. */
static void tl_advance(struct ioload_worker *w, int64_t now)
{
    int64_t sec = (now - w->sh->measure_start_ns) / NS_PER_S;
    if (now >= w->sh->measure_start_ns && sec != w->tl_sec) {
        tl_flush(w);
        w->tl_sec = sec;
    }
}

static bool measured(const struct worker_shared *sh, int64_t sched_ns, int64_t now)
{
    return sched_ns >= sh->measure_start_ns && now <= sh->measure_end_ns && !*sh->stop;
}

static void count(struct ioload_worker *w, bool ok)
{
    w->requests++;
    w->tl_req++;
    if (ok) {
        w->successes++;
    } else {
        w->errors++;
        w->tl_err++;
        atomic_store_explicit(&w->progress_err, w->errors, memory_order_relaxed);
    }
    atomic_store_explicit(&w->progress_done, w->requests, memory_order_relaxed);
}

bool worker_record(struct ioload_worker *w, int64_t sched_ns, int64_t start_ns, int64_t now,
                   CURLcode rc, long status, int64_t bytes)
{
    w->inflight--;
    if (!measured(w->sh, sched_ns, now))
        return false;
    tl_advance(w, now);
    count(w, rc == CURLE_OK && status >= 200 && status < 300);
    w->bytes += bytes;
    ioload_err_count(&w->err, rc, status);
    /* Like wrk, latency is that of responses; a transport failure has none. */
    if (rc == CURLE_OK) {
        int64_t corrected = (now - sched_ns) / NS_PER_US;
        hdr_record(&w->corrected, corrected);
        hdr_record(&w->uncorrected, (now - start_ns) / NS_PER_US);
        hdr_record(&w->tl_h, corrected);
    }
    w->last_done_ns = now;
    return true;
}

void worker_unfinished(struct ioload_worker *w, int64_t start_ns)
{
    w->unfinished++;
    if (w->stop_ns - start_ns > w->oldest_unfinished_ns)
        w->oldest_unfinished_ns = w->stop_ns - start_ns;
}

void worker_starved(struct ioload_worker *w)
{
    w->starved++;
}

bool worker_may_issue(struct ioload_worker *w, int64_t now)
{
    struct worker_shared *sh = w->sh;
    if (*sh->stop || now >= sh->measure_end_ns)
        return false;
    if (w->cfg->requests > 0 && now >= sh->measure_start_ns) {
        if (w->issued >= w->quota)
            return false;
        w->issued++;
    }
    return true;
}

/* Open loop: hands every request due by `now` to a connection with room.
 * room_since: since when the connection that frees up had room. */
static void send_due(struct ioload_worker *w, int64_t now, int64_t room_since)
{
    struct worker_shared *sh = w->sh;
    while (!*sh->stop) {
        int64_t t = sched_due(&w->sched, w->sched.next_idx);
        if (t > now || t >= sh->measure_end_ns)
            break;
        bool is_measured = t >= sh->measure_start_ns;
        if (is_measured && w->cfg->requests > 0 && w->issued >= w->quota)
            break;
        if (!sh->engine->send(w, t, now)) {
            w->no_room = true;
            break;
        }
        w->sched.next_idx++;
        if (is_measured) {
            w->issued++;
            sched_sent(&w->sched, t, now, room_since, w->awake_since);
        }
    }
}

void worker_capacity(struct ioload_worker *w, int64_t now)
{
    if (!w->sh->open_loop)
        return;
    w->no_room = false;
    send_due(w, now, now);
}

/* How long this thread has waited on a run queue (ready, not running):
 * the second field of /proc/thread-self/schedstat; 0 where there is none. */
static int64_t runq_wait_ns(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "re");
    long long run = 0, wait = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lld %lld", &run, &wait) != 2)
        wait = 0;
    fclose(f);
    return wait;
}

static void cpu_sample(struct timespec *ts, struct rusage *ru, int64_t *runq)
{
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, ts);
    getrusage(RUSAGE_THREAD, ru);
    *runq = runq_wait_ns();
}

static bool run_over(struct ioload_worker *w, int64_t now)
{
    struct worker_shared *sh = w->sh;
    if (!w->cpu_started && now >= sh->measure_start_ns) {
        cpu_sample(&w->cpu0, &w->ru0, &w->runq0);
        w->cpu_started = true;
    }
    if (*sh->stop || now >= sh->measure_end_ns)
        return true;
    return w->cfg->requests > 0 && now >= sh->measure_start_ns && w->issued >= w->quota &&
           w->inflight == 0;
}

/* Open loop: when the next request falls due, if there is one to send:
 * within the run, within --requests, and with a connection that has room. */
static bool next_due(const struct ioload_worker *w, int64_t *due)
{
    const struct worker_shared *sh = w->sh;
    if (!sh->open_loop || w->no_room)
        return false;
    *due = sched_due(&w->sched, w->sched.next_idx);
    if (*due >= sh->measure_end_ns)
        return false;
    return w->cfg->requests == 0 || *due < sh->measure_start_ns || w->issued < w->quota;
}

/* How long to sleep, and whether the wake-up is for a due request. */
static int64_t next_wait(struct ioload_worker *w, int64_t now, bool *for_due)
{
    struct worker_shared *sh = w->sh;
    int64_t until = now + MAX_WAIT_NS;
    if (sh->measure_end_ns < until)
        until = sh->measure_end_ns;
    if (!w->cpu_started && sh->measure_start_ns < until)
        until = sh->measure_start_ns;
    if (w->work_deadline < until)
        until = w->work_deadline;
    *for_due = false;
    int64_t due;
    if (next_due(w, &due)) {
        int64_t wake = due - w->sched.margin_ns;
        if (wake <= until) {
            until = wake;
            *for_due = true;
        }
    }
    return until - now;
}

static void run_timers(struct ioload_worker *w, int64_t now)
{
    /* Timer callbacks during these calls may lower it again. */
    w->work_deadline = INT64_MAX;
    int64_t a = w->sh->engine->timers(w, now);
    int64_t b = glue_idle_timers(w);
    int64_t next = a < b ? a : b;
    if (next < w->work_deadline)
        w->work_deadline = next;
}

/* One turn: send what is due, run timeouts, then sleep, or poll without
 * sleeping while a due time is closer than the wake-up margin. */
static void turn(struct ioload_worker *w, int64_t now)
{
    struct worker_shared *sh = w->sh;
    if (sh->open_loop)
        send_due(w, now, 0);
    if (w->work_deadline <= now)
        run_timers(w, now);
    bool for_due;
    int64_t wait = next_wait(w, now, &for_due);
    if (wait <= 0 && for_due) {
        spin_until(w, sched_due(&w->sched, w->sched.next_idx));
        return;
    }
    int n = poll_events(w, wait);
    if (n == 0 && for_due)
        sched_woke(&w->sched, now + wait, worker_now());
}

static void run_load(struct ioload_worker *w)
{
    struct worker_shared *sh = w->sh;
    if (sh->open_loop)
        /* Threads' schedules are staggered so that their sends interleave. */
        w->sched.t0_ns = sh->run_start_ns + (int64_t)(1e9 / w->cfg->rate * w->id);
    else
        sh->engine->start(w);
    w->tl_sec = 0;
    for (;;) {
        int64_t now = worker_now();
        if (run_over(w, now))
            break;
        turn(w, now);
        tl_advance(w, worker_now());
    }
}

/* Requests that fell due in the measured interval but never found room. */
static void count_unsent(struct ioload_worker *w)
{
    struct worker_shared *sh = w->sh;
    int64_t end = w->stop_ns < sh->measure_end_ns ? w->stop_ns : sh->measure_end_ns;
    for (;; w->sched.next_idx++) {
        int64_t t = sched_due(&w->sched, w->sched.next_idx);
        if (t >= end || (w->cfg->requests > 0 && w->issued >= w->quota))
            break;
        if (t < sh->measure_start_ns)
            continue;
        w->issued++;
        sched_unsent(&w->sched);
    }
}

static void finish_load(struct ioload_worker *w)
{
    w->stop_ns = worker_now();
    if (!w->cpu_started) {
        cpu_sample(&w->cpu0, &w->ru0, &w->runq0);
        w->cpu_started = true;
    }
    cpu_sample(&w->cpu1, &w->ru1, &w->runq1);
    tl_flush(w);
    /* What the percentiles cannot show: requests still waiting at the end,
     * and connections the server never answered during the measurement
     * (an iterative server serving one keep-alive client starves the rest). */
    w->sh->engine->finish(w, w->stop_ns);
    if (w->sh->open_loop)
        count_unsent(w);
}

static int worker_setup(struct ioload_worker *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return -1;
    w->use_pwait2 = true;
    w->work_deadline = 0;
    if (hdr_init(&w->corrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) != 0 ||
        hdr_init(&w->uncorrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) != 0 ||
        hdr_init(&w->tl_h, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, TL_DIGITS) != 0)
        return -1;
    if (w->sh->open_loop) {
        double share = w->cfg->rate * w->nconn / w->cfg->connections;
        if (sched_init(&w->sched, share) != 0)
            return -1;
        /* Before any socket is in the set, so nothing cuts a sleep short. */
        sched_calibrate(&w->sched, w->epfd, CALIBRATION_SLEEPS);
    }
    if (glue_idle_setup(w, w->nidle) != 0)
        return -1;
    return w->sh->engine->setup(w);
}

static void worker_free(struct ioload_worker *w)
{
    w->sh->engine->teardown(w);
    glue_free(w);
    if (w->epfd >= 0)
        close(w->epfd);
    w->epfd = -1;
    hdr_free(&w->tl_h);
}

void worker_fail(struct worker_shared *sh, const char *what, int err)
{
    pthread_mutex_lock(&sh->lock);
    if (!sh->failed)
        snprintf(sh->err, sizeof sh->err, "%s: %s", what, strerror(err));
    sh->failed = true;
    pthread_mutex_unlock(&sh->lock);
}

void *worker_main(void *arg)
{
    struct ioload_worker *w = arg;
    struct worker_shared *sh = w->sh;
    if (worker_setup(w) != 0)
        worker_fail(sh, "ioload: worker set-up failed", errno);
    else if (w->nidle > 0)
        glue_idle_establish(w);
    pthread_mutex_lock(&sh->lock);
    sh->ready++;
    pthread_cond_broadcast(&sh->cond);
    while (!sh->go)
        pthread_cond_wait(&sh->cond, &sh->lock);
    bool failed = sh->failed;
    pthread_mutex_unlock(&sh->lock);
    if (!failed) {
        run_load(w);
        finish_load(w);
    }
    pthread_mutex_lock(&sh->lock);
    sh->finished++;
    pthread_cond_broadcast(&sh->cond);
    /* Idle connections stay open until every thread has finished. */
    while (!sh->release)
        pthread_cond_wait(&sh->cond, &sh->lock);
    pthread_mutex_unlock(&sh->lock);
    worker_free(w);
    return NULL;
}
