/* ioload_engine: worker threads driving libcurl's multi-socket interface.
 *
 * The loop follows curl's ephiperfifo example: the socket callback turns
 * CURL_POLL_* into epoll_ctl, the timer callback records when libcurl wants
 * to be called back, and the loop calls curl_multi_socket_action and then
 * drains finished transfers. Transfers are easy handles created once and
 * re-added for every request, so the request path allocates nothing of ours.
 *
 * Open loop: request k of a thread is due at t0 + k / rate. It is handed to
 * libcurl as soon as it is due and a connection is free; its corrected
 * latency runs from the due time (wrk2's coordinated-omission correction),
 * its uncorrected latency from the moment it was handed over. */
#include "ioload_engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define LATE_NS NS_PER_MS /* "late": sent more than 1 ms after its time */
/* Upper bound on one wait, so that a thread notices a stop request, the end
 * of the run and the end of a timeline second even when nothing happens. */
#define MAX_WAIT_NS (100 * NS_PER_MS)
#define TL_DIGITS 2 /* per-second histograms: 1% is enough for p50/p99 */
#define MAX_EVENTS 256

enum { TAG_LOAD_SOCK, TAG_IDLE_SOCK, TAG_LOAD_TIMER, TAG_IDLE_TIMER };

struct worker;
struct fdreg;

/* One multi handle, its timerfd, and when libcurl wants its timeout call. */
struct mctx {
    CURLM *multi;
    struct worker *w;
    int tag_sock;
    int tfd;
    int64_t deadline; /* -1: none */
    int64_t armed;    /* deadline tfd is armed for; -1: none */
};

struct xfer {
    CURL *easy;
    struct worker *w;
    int64_t sched_ns; /* open loop: due time; closed loop: = start_ns */
    int64_t start_ns;
    int64_t bytes;
    int64_t done; /* requests completed in the measured interval */
    bool busy;    /* a request is in flight */
};

struct tl_slot {
    int64_t requests, errors;
    bool has_hdr;
    struct hdr h;
};

struct shared {
    const struct ioload_config *cfg;
    volatile sig_atomic_t *stop;
    struct curl_slist *headers;
    bool open_loop;
    /* Written by main before `go` is set, read-only afterwards. */
    int64_t run_start_ns, measure_start_ns, measure_end_ns;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;
    int ready, finished, created;
    bool go, release, failed;
    char err[256];
    struct tl_slot *tl;
    size_t tl_len;
};

struct worker {
    int id;
    struct shared *sh;
    const struct ioload_config *cfg;
    pthread_t tid;
    int epfd;
    bool use_pwait2;
    struct fdreg *fdreg; /* what epfd holds, by descriptor */
    size_t nfdreg;
    struct mctx load, idle;
    struct xfer *xfers;
    int nx;
    struct xfer **free; /* open loop: connections waiting for a due request */
    int nfree;
    struct xfer *idle_x;
    int nidle, idle_done, idle_ok;
    int inflight;
    int64_t quota, issued; /* --requests: this thread's share */
    double rate;           /* open loop: this thread's share */
    int64_t t0_ns, next_idx;
    /* Results, measured interval only. */
    struct hdr corrected, uncorrected;
    struct ioload_errors err;
    int64_t requests, successes, errors, bytes;
    int64_t scheduled, late, unsent, max_lag_ns;
    int64_t last_done_ns, stop_ns;
    int64_t unfinished, oldest_unfinished_ns, starved;
    int64_t internal_errors;
    CURLU *load_uh, *idle_uh;
    int64_t tl_sec, tl_req, tl_err;
    struct hdr tl_h;
    bool cpu_started;
    struct timespec cpu0, cpu1;
    struct rusage ru0, ru1;
    atomic_llong progress_done, progress_err;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

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

static void set_failed(struct shared *sh, const char *what, int err)
{
    pthread_mutex_lock(&sh->lock);
    if (!sh->failed)
        snprintf(sh->err, sizeof sh->err, "%s: %s", what, strerror(err));
    sh->failed = true;
    pthread_mutex_unlock(&sh->lock);
}

/* What epoll holds for one descriptor, indexed by descriptor. */
struct fdreg {
    uint8_t owned;      /* a connection socket: opened and closed through us */
    uint8_t registered; /* in the epoll set */
    uint8_t parked;     /* libcurl no longer watches it; epoll still does */
    uint8_t what;       /* CURL_POLL_IN | CURL_POLL_OUT as registered */
    uint8_t tag;        /* TAG_LOAD_SOCK or TAG_IDLE_SOCK */
};

/* The entry for fd, growing the table; NULL when out of memory. */
static struct fdreg *fdreg_get(struct worker *w, curl_socket_t fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= w->nfdreg) {
        size_t n = w->nfdreg ? w->nfdreg : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fdreg *t = realloc(w->fdreg, n * sizeof *t);
        if (t == NULL)
            return NULL;
        memset(t + w->nfdreg, 0, (n - w->nfdreg) * sizeof *t);
        w->fdreg = t;
        w->nfdreg = n;
    }
    return &w->fdreg[fd];
}

/* CURLOPT_SOCKOPTFUNCTION: a connection socket is born. Only these are
 * parked (see sock_cb), because only their closing goes through
 * closesocket_cb, which keeps the table true when a number is reused. */
static int sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    struct worker *w = clientp;
    (void)purpose;
    struct fdreg *r = fdreg_get(w, fd);
    if (r == NULL)
        return CURL_SOCKOPT_ERROR;
    *r = (struct fdreg){.owned = 1};
    return CURL_SOCKOPT_OK;
}

/* CURLOPT_CLOSESOCKETFUNCTION: closing takes the socket out of the epoll set
 * (nothing else holds it), so its entry goes with it. */
static int closesocket_cb(void *clientp, curl_socket_t fd)
{
    struct worker *w = clientp;
    if (fd >= 0 && (size_t)fd < w->nfdreg)
        w->fdreg[fd] = (struct fdreg){0};
    return close(fd);
}

/* CURLMOPT_SOCKETFUNCTION: mirrors libcurl's interest in a socket into epoll.
 *
 * In a closed loop libcurl drops a connection's socket when a response is
 * complete and asks for it again, with the same interest, when the next
 * request goes out on it: an EPOLL_CTL_DEL and an EPOLL_CTL_ADD per request
 * for nothing. So a dropped connection socket is only parked: it stays in
 * the epoll set and is taken out for real only if an event arrives while it
 * is parked. Other descriptors libcurl watches (its resolver's socketpair)
 * are opened and closed behind our back, so they leave the set at once. */
static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct mctx *m = userp;
    struct worker *w = m->w;
    (void)e;
    (void)socketp;
    struct fdreg *r = fdreg_get(w, s);
    if (r == NULL) {
        w->internal_errors++;
        return -1;
    }
    if (what == CURL_POLL_REMOVE) {
        if (r->registered && r->owned) {
            r->parked = 1;
        } else if (r->registered) {
            if (epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL) != 0 && errno != ENOENT &&
                errno != EBADF)
                w->internal_errors++;
            *r = (struct fdreg){0};
        }
        return 0;
    }
    what &= CURL_POLL_INOUT;
    if (r->registered && r->what == what && r->tag == m->tag_sock) {
        r->parked = 0;
        return 0;
    }
    struct epoll_event ev = {
        .events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0),
        .data.u64 = ((uint64_t)m->tag_sock << 32) | (uint32_t)s,
    };
    int op = r->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(w->epfd, op, s, &ev) != 0) {
        int alt = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if ((errno != EEXIST && errno != ENOENT) || epoll_ctl(w->epfd, alt, s, &ev) != 0) {
            *r = (struct fdreg){.owned = r->owned};
            w->internal_errors++;
            return -1;
        }
    }
    *r = (struct fdreg){
        .owned = r->owned, .registered = 1, .what = (uint8_t)what, .tag = (uint8_t)m->tag_sock};
    return 0;
}

/* An event on a parked socket: libcurl does not want it, so it leaves the
 * epoll set now (a level-triggered event would otherwise repeat forever).
 * libcurl finds out for itself if the connection died, when it next checks
 * the connection before reusing it. Returns whether fd was parked. */
static bool fdreg_unpark(struct worker *w, int fd)
{
    if (fd < 0 || (size_t)fd >= w->nfdreg || !w->fdreg[fd].parked)
        return false;
    if (epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 && errno != ENOENT && errno != EBADF)
        w->internal_errors++;
    w->fdreg[fd] = (struct fdreg){.owned = w->fdreg[fd].owned};
    return true;
}

/* CURLMOPT_TIMERFUNCTION: only records the deadline; the loop arms the
 * timerfd lazily, which saves a syscall on most requests. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct mctx *m = userp;
    m->deadline = timeout_ms < 0 ? -1 : now_ns() + (int64_t)timeout_ms * NS_PER_MS;
    return 0;
}

/* CURLOPT_WRITEFUNCTION: counts the body and drops it. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    x->bytes += (int64_t)(size * nmemb);
    return size * nmemb;
}

static void socket_action(struct worker *w, struct mctx *m, curl_socket_t s, int flags)
{
    int running;
    CURLMcode mc = curl_multi_socket_action(m->multi, s, flags, &running);
    if (mc != CURLM_OK)
        w->internal_errors++;
}

/* Calls libcurl for every expired timeout, then makes sure the timerfd
 * fires no later than the next one. The timerfd is only moved earlier: a
 * fire before the deadline is harmless and just re-arms it. */
static void mctx_timers(struct worker *w, struct mctx *m)
{
    if (m->multi == NULL)
        return;
    while (m->deadline >= 0 && m->deadline <= now_ns()) {
        m->deadline = -1;
        socket_action(w, m, CURL_SOCKET_TIMEOUT, 0);
    }
    if (m->deadline >= 0 && (m->armed < 0 || m->deadline < m->armed)) {
        struct itimerspec its = {
            .it_value = {.tv_sec = m->deadline / NS_PER_S, .tv_nsec = m->deadline % NS_PER_S},
        };
        if (timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
            w->internal_errors++;
        else
            m->armed = m->deadline;
    }
}

static int mctx_init(struct worker *w, struct mctx *m, int tag_sock, int tag_timer, long maxconn)
{
    m->w = w;
    m->tag_sock = tag_sock;
    m->deadline = m->armed = -1;
    m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m->tfd < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)tag_timer << 32};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, m->tfd, &ev) != 0)
        return -1;
    m->multi = curl_multi_init();
    if (m->multi == NULL) {
        errno = ENOMEM;
        return -1;
    }
    CURLMcode mc = CURLM_OK;
    mc |= curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    mc |= curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    mc |= curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    mc |= curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    /* One cached connection per transfer: a connection is one TCP socket. */
    mc |= curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, maxconn);
    if (mc != CURLM_OK) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static void mctx_free(struct mctx *m)
{
    if (m->multi != NULL)
        curl_multi_cleanup(m->multi);
    if (m->tfd >= 0)
        close(m->tfd);
    m->multi = NULL;
    m->tfd = -1;
}

static int easy_init(struct worker *w, struct xfer *x, bool idle)
{
    const struct ioload_config *cfg = w->cfg;
    x->w = w;
    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        errno = ENOMEM;
        return -1;
    }
    long timeout_ms = (long)ceil(cfg->timeout_s * 1000);
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
    /* A parsed URL handle spares libcurl re-parsing the URL for every request. */
    rc |= curl_easy_setopt(e, CURLOPT_CURLU, idle ? w->idle_uh : w->load_uh);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
    rc |= curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, w);
    rc |= curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
    rc |= curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Never through a proxy named in the environment; it also spares
     * libcurl reading the environment for every request. */
    rc |= curl_easy_setopt(e, CURLOPT_PROXY, "");
    rc |= curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    if (idle) {
        /* An idle connection must never be pruned from the cache for age. */
        rc |= curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, LONG_MAX);
    } else {
        const char *method = cfg->method;
        rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->sh->headers);
        if (strcmp(method, "HEAD") == 0) {
            rc |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (cfg->body != NULL || strcmp(method, "POST") == 0) {
            rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)cfg->body_len);
            rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, cfg->body != NULL ? cfg->body : "");
            if (strcmp(method, "POST") != 0)
                rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        } else if (strcmp(method, "GET") != 0) {
            rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        }
        if (!cfg->keepalive)
            rc |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    if (rc != CURLE_OK) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int worker_setup(struct worker *w)
{
    w->load.tfd = w->idle.tfd = -1;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return -1;
    if (mctx_init(w, &w->load, TAG_LOAD_SOCK, TAG_LOAD_TIMER, w->nx) != 0)
        return -1;
    if (w->nidle > 0 && mctx_init(w, &w->idle, TAG_IDLE_SOCK, TAG_IDLE_TIMER, w->nidle) != 0)
        return -1;
    w->load_uh = curl_url();
    w->idle_uh = curl_url();
    if (w->load_uh == NULL || w->idle_uh == NULL ||
        curl_url_set(w->load_uh, CURLUPART_URL, w->cfg->url, 0) != CURLUE_OK ||
        curl_url_set(w->idle_uh, CURLUPART_URL, w->cfg->origin_url, 0) != CURLUE_OK) {
        errno = EINVAL;
        return -1;
    }
    w->xfers = calloc((size_t)w->nx, sizeof *w->xfers);
    w->free = calloc((size_t)w->nx, sizeof *w->free);
    w->idle_x = calloc((size_t)w->nidle + 1, sizeof *w->idle_x);
    if (w->xfers == NULL || w->free == NULL || w->idle_x == NULL)
        return -1;
    for (int i = 0; i < w->nx; i++)
        if (easy_init(w, &w->xfers[i], false) != 0)
            return -1;
    for (int i = 0; i < w->nidle; i++)
        if (easy_init(w, &w->idle_x[i], true) != 0)
            return -1;
    if (hdr_init(&w->corrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) != 0 ||
        hdr_init(&w->uncorrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) != 0 ||
        hdr_init(&w->tl_h, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, TL_DIGITS) != 0)
        return -1;
    w->use_pwait2 = true;
    return 0;
}

static void worker_free(struct worker *w)
{
    /* Handles leave their multi before either is freed, as libcurl asks. */
    for (int i = 0; w->xfers != NULL && i < w->nx; i++) {
        if (w->xfers[i].easy != NULL) {
            if (w->load.multi != NULL)
                curl_multi_remove_handle(w->load.multi, w->xfers[i].easy);
            curl_easy_cleanup(w->xfers[i].easy);
        }
    }
    for (int i = 0; w->idle_x != NULL && i < w->nidle; i++) {
        if (w->idle_x[i].easy != NULL) {
            if (w->idle.multi != NULL)
                curl_multi_remove_handle(w->idle.multi, w->idle_x[i].easy);
            curl_easy_cleanup(w->idle_x[i].easy);
        }
    }
    mctx_free(&w->load);
    mctx_free(&w->idle);
    curl_url_cleanup(w->load_uh);
    curl_url_cleanup(w->idle_uh);
    w->load_uh = w->idle_uh = NULL;
    if (w->epfd >= 0)
        close(w->epfd);
    w->epfd = -1;
    free(w->xfers);
    free(w->free);
    free(w->fdreg);
    w->fdreg = NULL;
    w->nfdreg = 0;
    free(w->idle_x);
    w->xfers = w->idle_x = NULL;
    w->free = NULL;
    hdr_free(&w->tl_h);
}

/* Waits for socket and timer events and hands them to libcurl; wait_ns
 * bounds the wait. */
static void worker_poll(struct worker *w, int64_t wait_ns)
{
    struct epoll_event evs[MAX_EVENTS];
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
        return;
    }
    for (int i = 0; i < n; i++) {
        int tag = (int)(evs[i].data.u64 >> 32);
        int fd = (int)(uint32_t)evs[i].data.u64;
        if (tag == TAG_LOAD_TIMER || tag == TAG_IDLE_TIMER) {
            struct mctx *m = tag == TAG_LOAD_TIMER ? &w->load : &w->idle;
            uint64_t ticks;
            if (read(m->tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN && errno != EINTR)
                w->internal_errors++;
            m->armed = -1;
            continue; /* mctx_timers() runs what is due */
        }
        if (fdreg_unpark(w, fd))
            continue;
        int flags = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                    ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                    ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        socket_action(w, tag == TAG_LOAD_SOCK ? &w->load : &w->idle, fd, flags);
    }
}

static void tl_flush(struct worker *w)
{
    struct shared *sh = w->sh;
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

static void record(struct worker *w, struct xfer *x, CURLcode rc, long status, int64_t now)
{
    int64_t sec = (now - w->sh->measure_start_ns) / NS_PER_S;
    if (sec != w->tl_sec) {
        tl_flush(w);
        w->tl_sec = sec;
    }
    bool ok = rc == CURLE_OK && status >= 200 && status < 300;
    w->requests++;
    w->tl_req++;
    x->done++;
    if (ok) {
        w->successes++;
    } else {
        w->errors++;
        w->tl_err++;
        atomic_store_explicit(&w->progress_err, w->errors, memory_order_relaxed);
    }
    atomic_store_explicit(&w->progress_done, w->requests, memory_order_relaxed);
    w->bytes += x->bytes;
    ioload_err_count(&w->err, rc, status);
    /* Like wrk, latency is that of responses; a transport failure has none. */
    if (rc == CURLE_OK) {
        int64_t corrected = (now - x->sched_ns) / 1000;
        hdr_record(&w->corrected, corrected);
        hdr_record(&w->uncorrected, (now - x->start_ns) / 1000);
        hdr_record(&w->tl_h, corrected);
    }
    w->last_done_ns = now;
}

static void issue(struct worker *w, struct xfer *x, int64_t sched)
{
    x->start_ns = now_ns();
    x->sched_ns = sched < 0 ? x->start_ns : sched;
    x->busy = true;
    x->bytes = 0;
    if (curl_multi_add_handle(w->load.multi, x->easy) != CURLM_OK) {
        w->internal_errors++;
        if (w->sh->open_loop)
            w->free[w->nfree++] = x;
        return;
    }
    w->inflight++;
}

/* Closed loop: whether a connection may send another request now. */
static bool may_issue(struct worker *w, int64_t now)
{
    struct shared *sh = w->sh;
    if (*sh->stop || now >= sh->measure_end_ns)
        return false;
    if (w->cfg->requests > 0 && now >= sh->measure_start_ns) {
        if (w->issued >= w->quota)
            return false;
        w->issued++;
    }
    return true;
}

static int64_t due_time(const struct worker *w, int64_t k)
{
    return w->t0_ns + (int64_t)((double)k * 1e9 / w->rate);
}

/* Open loop: hands every due request to a free connection. */
static void send_due(struct worker *w)
{
    struct shared *sh = w->sh;
    int64_t now = now_ns();
    while (w->nfree > 0 && !*sh->stop) {
        int64_t t = due_time(w, w->next_idx);
        if (t > now || t >= sh->measure_end_ns)
            break;
        bool measured = t >= sh->measure_start_ns;
        if (measured && w->cfg->requests > 0) {
            if (w->issued >= w->quota)
                break;
            w->issued++;
        }
        w->next_idx++;
        issue(w, w->free[--w->nfree], t);
        if (measured) {
            int64_t lag = now - t;
            w->scheduled++;
            if (lag > LATE_NS)
                w->late++;
            if (lag > w->max_lag_ns)
                w->max_lag_ns = lag;
        }
    }
}

static void complete(struct worker *w, struct xfer *x, CURLcode rc)
{
    struct shared *sh = w->sh;
    int64_t now = now_ns();
    long status = 0;
    if (rc == CURLE_OK && curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (curl_multi_remove_handle(w->load.multi, x->easy) != CURLM_OK)
        w->internal_errors++;
    w->inflight--;
    x->busy = false;
    if (x->sched_ns >= sh->measure_start_ns && now <= sh->measure_end_ns && !*sh->stop)
        record(w, x, rc, status, now);
    /* A failed request is followed by the next one, like any other. */
    if (sh->open_loop)
        w->free[w->nfree++] = x;
    else if (may_issue(w, now))
        issue(w, x, -1);
}

static void drain_load(struct worker *w)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->load.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode rc = msg->data.result;
        struct xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x != NULL)
            complete(w, x, rc);
    }
}

/* Idle connections: the transfer is done, its connection stays in the idle
 * multi's cache, open and silent, until the multi is cleaned up. */
static void drain_idle(struct worker *w)
{
    CURLMsg *msg;
    int left;
    while (w->idle.multi != NULL && (msg = curl_multi_info_read(w->idle.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        w->idle_done++;
        if (msg->data.result == CURLE_OK)
            w->idle_ok++;
        curl_multi_remove_handle(w->idle.multi, msg->easy_handle);
    }
}

static void establish_idle(struct worker *w)
{
    for (int i = 0; i < w->nidle; i++) {
        if (curl_multi_add_handle(w->idle.multi, w->idle_x[i].easy) != CURLM_OK) {
            w->internal_errors++;
            w->idle_done++;
        }
    }
    int64_t give_up = now_ns() + (int64_t)(w->cfg->timeout_s * 1e9) + NS_PER_S;
    while (w->idle_done < w->nidle && !*w->sh->stop && now_ns() < give_up) {
        mctx_timers(w, &w->idle);
        drain_idle(w);
        if (w->idle_done >= w->nidle)
            break;
        worker_poll(w, MAX_WAIT_NS);
        mctx_timers(w, &w->idle);
        drain_idle(w);
    }
}

static void cpu_sample(struct timespec *ts, struct rusage *ru)
{
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, ts);
    getrusage(RUSAGE_THREAD, ru);
}

static void run_load(struct worker *w)
{
    struct shared *sh = w->sh;
    const struct ioload_config *cfg = w->cfg;
    if (sh->open_loop) {
        /* Threads' schedules are staggered so that their sends interleave. */
        w->t0_ns = sh->run_start_ns + (int64_t)(1e9 / cfg->rate * w->id);
        for (int i = 0; i < w->nx; i++)
            w->free[w->nfree++] = &w->xfers[i];
    } else {
        for (int i = 0; i < w->nx; i++)
            if (may_issue(w, now_ns()))
                issue(w, &w->xfers[i], -1);
    }
    w->tl_sec = 0;
    for (;;) {
        int64_t now = now_ns();
        if (!w->cpu_started && now >= sh->measure_start_ns) {
            cpu_sample(&w->cpu0, &w->ru0);
            w->cpu_started = true;
        }
        if (*sh->stop || now >= sh->measure_end_ns)
            break;
        if (cfg->requests > 0 && now >= sh->measure_start_ns && w->issued >= w->quota &&
            w->inflight == 0)
            break;
        if (sh->open_loop)
            send_due(w);
        mctx_timers(w, &w->load);
        drain_load(w);
        mctx_timers(w, &w->idle);
        drain_idle(w);
        now = now_ns();
        int64_t wait = MAX_WAIT_NS;
        if (sh->measure_end_ns - now < wait)
            wait = sh->measure_end_ns - now;
        if (sh->open_loop && w->nfree > 0 && due_time(w, w->next_idx) - now < wait)
            wait = due_time(w, w->next_idx) - now;
        if (!w->cpu_started && sh->measure_start_ns - now < wait)
            wait = sh->measure_start_ns - now;
        if (w->load.deadline >= 0 && w->load.deadline <= now)
            wait = 0;
        worker_poll(w, wait);
        drain_load(w);
        now = now_ns();
        if (now >= sh->measure_start_ns && (now - sh->measure_start_ns) / NS_PER_S != w->tl_sec) {
            tl_flush(w);
            w->tl_sec = (now - sh->measure_start_ns) / NS_PER_S;
        }
    }
    w->stop_ns = now_ns();
    if (!w->cpu_started) {
        cpu_sample(&w->cpu0, &w->ru0);
        w->cpu_started = true;
    }
    cpu_sample(&w->cpu1, &w->ru1);
    tl_flush(w);
    /* What the percentiles cannot show: requests still waiting at the end,
     * and connections the server never answered during the measurement
     * (an iterative server serving one keep-alive client starves the rest). */
    for (int i = 0; i < w->nx; i++) {
        struct xfer *x = &w->xfers[i];
        if (x->busy) {
            w->unfinished++;
            if (w->stop_ns - x->start_ns > w->oldest_unfinished_ns)
                w->oldest_unfinished_ns = w->stop_ns - x->start_ns;
        }
        if (!sh->open_loop && x->done == 0)
            w->starved++;
    }
    if (sh->open_loop) {
        /* Requests that fell due but never found a free connection. */
        int64_t end = w->stop_ns < sh->measure_end_ns ? w->stop_ns : sh->measure_end_ns;
        for (; due_time(w, w->next_idx) < end; w->next_idx++) {
            if (due_time(w, w->next_idx) < sh->measure_start_ns)
                continue;
            if (cfg->requests > 0 && w->issued >= w->quota)
                break;
            w->issued++;
            w->unsent++;
        }
        w->scheduled += w->unsent;
        w->late += w->unsent;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    if (worker_setup(w) != 0)
        set_failed(sh, "ioload: worker set-up failed", errno);
    else if (w->nidle > 0)
        establish_idle(w);
    pthread_mutex_lock(&sh->lock);
    sh->ready++;
    pthread_cond_broadcast(&sh->cond);
    while (!sh->go)
        pthread_cond_wait(&sh->cond, &sh->lock);
    bool failed = sh->failed;
    pthread_mutex_unlock(&sh->lock);
    if (!failed)
        run_load(w);
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

static int64_t share(int64_t total, int parts, int i)
{
    return total / parts + (i < total % parts ? 1 : 0);
}

static void progress(const struct shared *sh, struct worker *ws, int n)
{
    int64_t done = 0, errs = 0;
    for (int i = 0; i < n; i++) {
        done += atomic_load_explicit(&ws[i].progress_done, memory_order_relaxed);
        errs += atomic_load_explicit(&ws[i].progress_err, memory_order_relaxed);
    }
    double t = (double)(now_ns() - sh->measure_start_ns) / 1e9;
    if (t < 0)
        fprintf(stderr, "\r\033[Kwarming up %.1fs", -t);
    else
        fprintf(stderr, "\r\033[K%6.1fs %" PRId64 " requests, %.0f req/s, %" PRId64 " errors", t,
                done, t > 0 ? (double)done / t : 0.0, errs);
}

static void merge_workers(const struct shared *sh, struct worker *ws, int n,
                          struct ioload_result *res)
{
    int64_t end = sh->measure_start_ns;
    for (int i = 0; i < n; i++) {
        struct worker *w = &ws[i];
        if (hdr_add(&res->corrected, &w->corrected) != 0 ||
            hdr_add(&res->uncorrected, &w->uncorrected) != 0)
            res->internal_errors++;
        ioload_err_add(&res->err, &w->err);
        res->requests += w->requests;
        res->successes += w->successes;
        res->errors += w->errors;
        res->bytes += w->bytes;
        res->scheduled += w->scheduled;
        res->late += w->late;
        res->unsent += w->unsent;
        if (w->max_lag_ns / 1000 > res->max_send_lag_us)
            res->max_send_lag_us = w->max_lag_ns / 1000;
        res->internal_errors += w->internal_errors;
        res->idle_established += w->idle_ok;
        res->unfinished += w->unfinished;
        res->starved_connections += w->starved;
        if (w->oldest_unfinished_ns / 1000 > res->oldest_unfinished_us)
            res->oldest_unfinished_us = w->oldest_unfinished_ns / 1000;
        res->cpu_thread_s += ts_s(&w->cpu1) - ts_s(&w->cpu0);
        res->cpu_user_s += tv_s(&w->ru1.ru_utime) - tv_s(&w->ru0.ru_utime);
        res->cpu_sys_s += tv_s(&w->ru1.ru_stime) - tv_s(&w->ru0.ru_stime);
        int64_t w_end = w->stop_ns;
        if (sh->cfg->requests > 0 && !*sh->stop)
            w_end = w->last_done_ns; /* the measured work ended with its last response */
        if (w_end > sh->measure_end_ns)
            w_end = sh->measure_end_ns;
        if (w_end > end)
            end = w_end;
    }
    res->elapsed_s = (double)(end - sh->measure_start_ns) / 1e9;
}

int ioload_run(const struct ioload_config *cfg, volatile sig_atomic_t *stop,
               struct ioload_result *res, char *err, size_t errlen)
{
    static volatile sig_atomic_t never;
    memset(res, 0, sizeof *res);
    if (hdr_init(&res->corrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) != 0 ||
        hdr_init(&res->uncorrected, IOLOAD_HDR_LOWEST, IOLOAD_HDR_HIGHEST, IOLOAD_HDR_DIGITS) !=
            0) {
        snprintf(err, errlen, "ioload: cannot allocate histograms");
        return -1;
    }
    /* Two timerfds and an epoll per thread, a few for libcurl and stdio. */
    if (raise_nofile((long)cfg->connections + cfg->idle + 3L * cfg->threads + 32, err, errlen) != 0)
        return -1;
    struct shared sh = {.cfg = cfg, .stop = stop != NULL ? stop : &never};
    sh.open_loop = cfg->rate > 0;
    bool ok;
    sh.headers = build_headers(cfg, &ok);
    if (!ok) {
        curl_slist_free_all(sh.headers);
        snprintf(err, errlen, "ioload: out of memory");
        return -1;
    }
    pthread_mutex_init(&sh.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sh.cond, &ca);
    pthread_condattr_destroy(&ca);
    sh.run_start_ns = sh.measure_start_ns = sh.measure_end_ns = INT64_MAX;

    struct worker *ws = calloc((size_t)cfg->threads, sizeof *ws);
    if (ws == NULL) {
        snprintf(err, errlen, "ioload: out of memory");
        curl_slist_free_all(sh.headers);
        return -1;
    }
    int created = 0;
    for (int i = 0; i < cfg->threads; i++) {
        struct worker *w = &ws[i];
        w->id = i;
        w->sh = &sh;
        w->cfg = cfg;
        w->epfd = w->load.tfd = w->idle.tfd = -1;
        w->nx = (int)share(cfg->connections, cfg->threads, i);
        w->nidle = (int)share(cfg->idle, cfg->threads, i);
        w->quota = cfg->requests > 0 ? share(cfg->requests, cfg->threads, i) : 0;
        w->rate = cfg->rate * w->nx / cfg->connections;
        int e = pthread_create(&w->tid, NULL, worker_main, w);
        if (e != 0) {
            set_failed(&sh, "ioload: cannot create a thread", e);
            break;
        }
        created++;
    }

    pthread_mutex_lock(&sh.lock);
    sh.created = created;
    while (sh.ready < created)
        pthread_cond_wait(&sh.cond, &sh.lock);
    int64_t now = now_ns();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    sh.run_start_ns = now;
    sh.measure_start_ns = now + (int64_t)(cfg->warmup_s * 1e9);
    sh.measure_end_ns =
        cfg->duration_s > 0 ? sh.measure_start_ns + (int64_t)(cfg->duration_s * 1e9) : INT64_MAX;
    sh.go = true;
    pthread_cond_broadcast(&sh.cond);
    bool show = !cfg->quiet && isatty(STDERR_FILENO);
    while (sh.finished < created) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += 1;
        pthread_cond_timedwait(&sh.cond, &sh.lock, &dl);
        if (show && sh.finished < created)
            progress(&sh, ws, created);
    }
    if (show)
        fputs("\r\033[K", stderr);
    bool failed = sh.failed;
    pthread_mutex_unlock(&sh.lock);

    if (!failed)
        merge_workers(&sh, ws, created, res);
    pthread_mutex_lock(&sh.lock);
    sh.release = true;
    pthread_cond_broadcast(&sh.cond);
    pthread_mutex_unlock(&sh.lock);
    for (int i = 0; i < created; i++)
        pthread_join(ws[i].tid, NULL);
    for (int i = 0; i < created; i++) {
        hdr_free(&ws[i].corrected);
        hdr_free(&ws[i].uncorrected);
    }

    res->interrupted = *sh.stop != 0;
    res->start_wall = ts_add(wall, cfg->warmup_s);
    res->end_wall = ts_add(res->start_wall, res->elapsed_s);

    size_t seconds = (size_t)ceil(res->elapsed_s);
    if (seconds < sh.tl_len)
        seconds = sh.tl_len;
    res->timeline = calloc(seconds + 1, sizeof *res->timeline);
    for (size_t s = 0; s < seconds && res->timeline != NULL; s++) {
        struct ioload_tl_entry *e = &res->timeline[s];
        e->p50_us = e->p99_us = -1;
        if (s < sh.tl_len) {
            e->requests = sh.tl[s].requests;
            e->errors = sh.tl[s].errors;
            if (sh.tl[s].has_hdr && sh.tl[s].h.total_count > 0) {
                e->p50_us = hdr_value_at_percentile(&sh.tl[s].h, 50);
                e->p99_us = hdr_value_at_percentile(&sh.tl[s].h, 99);
            }
        }
    }
    if (res->timeline != NULL)
        res->timeline_len = seconds;
    for (size_t s = 0; s < sh.tl_len; s++)
        if (sh.tl[s].has_hdr)
            hdr_free(&sh.tl[s].h);
    free(sh.tl);
    free(ws);
    curl_slist_free_all(sh.headers);
    pthread_cond_destroy(&sh.cond);
    pthread_mutex_destroy(&sh.lock);
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
    free(res->timeline);
    res->timeline = NULL;
}
