/* ioload_curl: libcurl's multi-socket interface on our epoll (see
 * ioload_curl.h). */
#include "ioload_curl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ioload_worker.h"

struct fdreg *glue_fdreg(struct ioload_worker *w, int fd)
{
    struct curl_glue *g = &w->glue;
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= g->nfdreg) {
        size_t n = g->nfdreg ? g->nfdreg : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fdreg *t = realloc(g->fdreg, n * sizeof *t);
        if (t == NULL)
            return NULL;
        memset(t + g->nfdreg, 0, (n - g->nfdreg) * sizeof *t);
        g->fdreg = t;
        g->nfdreg = n;
    }
    return &g->fdreg[fd];
}

/* CURLOPT_SOCKOPTFUNCTION: a connection socket is born. Only these are
 * parked (see sock_cb), because only their closing goes through
 * closesocket_cb, which keeps the table true when a number is reused. */
static int sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    (void)purpose;
    struct fdreg *r = glue_fdreg(clientp, fd);
    if (r == NULL)
        return CURL_SOCKOPT_ERROR;
    *r = (struct fdreg){.owned = 1};
    return CURL_SOCKOPT_OK;
}

/* CURLOPT_CLOSESOCKETFUNCTION: closing takes the socket out of the epoll set
 * (nothing else holds it), so its entry goes with it. */
static int closesocket_cb(void *clientp, curl_socket_t fd)
{
    struct ioload_worker *w = clientp;
    if (fd >= 0 && (size_t)fd < w->glue.nfdreg)
        w->glue.fdreg[fd] = (struct fdreg){0};
    return close(fd);
}

static void unwatch(struct ioload_worker *w, int fd)
{
    if (epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 && errno != ENOENT && errno != EBADF)
        w->internal_errors++;
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
    struct curl_mctx *m = userp;
    struct ioload_worker *w = m->w;
    (void)e;
    (void)socketp;
    struct fdreg *r = glue_fdreg(w, s);
    if (r == NULL) {
        w->internal_errors++;
        return -1;
    }
    if (r->engine)
        return 0; /* the stream engine has taken it over */
    if (what == CURL_POLL_REMOVE) {
        if (r->registered && r->owned) {
            r->parked = 1;
        } else if (r->registered) {
            unwatch(w, s);
            *r = (struct fdreg){0};
        }
        return 0;
    }
    what &= CURL_POLL_INOUT;
    if (r->registered && r->what == what && r->m == m) {
        r->parked = 0;
        return 0;
    }
    uint32_t events =
        ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    if (worker_watch(w, s, events, TAG_CURL, (uint32_t)s, r->registered) != 0) {
        *r = (struct fdreg){.owned = r->owned};
        w->internal_errors++;
        return -1;
    }
    *r = (struct fdreg){.m = m, .owned = r->owned, .registered = 1, .what = (uint8_t)what};
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: only records the deadline. No timerfd: the
 * worker's epoll wait is bounded by its earliest deadline, which saves a
 * timerfd_settime and a read per request. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_mctx *m = userp;
    (void)multi;
    m->deadline = timeout_ms < 0 ? -1 : worker_now() + (int64_t)timeout_ms * NS_PER_MS;
    if (m->deadline >= 0 && m->deadline < m->w->work_deadline)
        m->w->work_deadline = m->deadline;
    return 0;
}

static void drain(struct curl_mctx *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
            m->on_done(m, msg->easy_handle, msg->data.result);
}

static void socket_action(struct curl_mctx *m, curl_socket_t s, int flags)
{
    int running;
    if (curl_multi_socket_action(m->multi, s, flags, &running) != CURLM_OK)
        m->w->internal_errors++;
    drain(m);
}

void mctx_timers(struct curl_mctx *m)
{
    if (m->multi == NULL)
        return;
    while (m->deadline >= 0 && m->deadline <= worker_now()) {
        m->deadline = -1;
        socket_action(m, CURL_SOCKET_TIMEOUT, 0);
    }
}

void mctx_socket_event(struct curl_mctx *m, int fd, uint32_t ev)
{
    int flags = ((ev & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((ev & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((ev & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
    socket_action(m, fd, flags);
}

int mctx_init(struct ioload_worker *w, struct curl_mctx *m, long maxconn, mctx_done_fn on_done,
              void *owner)
{
    *m = (struct curl_mctx){.w = w, .on_done = on_done, .owner = owner, .deadline = -1};
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

void mctx_free(struct curl_mctx *m)
{
    if (m->multi != NULL)
        curl_multi_cleanup(m->multi);
    m->multi = NULL;
}

CURLcode glue_easy_defaults(struct ioload_worker *w, CURL *e, long timeout_ms)
{
    const struct ioload_config *cfg = w->cfg;
    CURLcode rc = CURLE_OK;
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
    if (cfg->insecure) {
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cfg->cacert != NULL)
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO, cfg->cacert);
    return rc;
}

/* An event on a parked socket: libcurl does not want it, so it leaves the
 * epoll set now (a level-triggered event would otherwise repeat forever).
 * libcurl finds out for itself if the connection died, when it next checks
 * the connection before reusing it. */
void glue_event(struct ioload_worker *w, int fd, uint32_t ev)
{
    struct fdreg *r = fd >= 0 && (size_t)fd < w->glue.nfdreg ? &w->glue.fdreg[fd] : NULL;
    if (r == NULL || !r->registered || r->engine)
        return;
    if (r->parked || r->m == NULL) {
        unwatch(w, fd);
        *r = (struct fdreg){.owned = r->owned};
        return;
    }
    mctx_socket_event(r->m, fd, ev);
}

/* Idle connections: the transfer is done, its connection stays in the idle
 * multi's cache, open and silent, until the multi is cleaned up. */
static void idle_done(struct curl_mctx *m, CURL *easy, CURLcode rc)
{
    struct curl_glue *g = &m->w->glue;
    g->idle_done++;
    if (rc == CURLE_OK)
        g->idle_ok++;
    curl_multi_remove_handle(m->multi, easy);
}

int glue_idle_setup(struct ioload_worker *w, int nidle)
{
    struct curl_glue *g = &w->glue;
    g->nidle = nidle;
    if (nidle == 0)
        return 0;
    if (mctx_init(w, &g->idle, nidle, idle_done, NULL) != 0)
        return -1;
    g->idle_uh = curl_url();
    g->idle_easy = calloc((size_t)nidle, sizeof *g->idle_easy);
    if (g->idle_uh == NULL || g->idle_easy == NULL ||
        curl_url_set(g->idle_uh, CURLUPART_URL, w->cfg->origin_url, 0) != CURLUE_OK) {
        errno = ENOMEM;
        return -1;
    }
    long timeout_ms = (long)(w->cfg->timeout_s * 1000 + 0.5);
    for (int i = 0; i < nidle; i++) {
        CURL *e = g->idle_easy[i] = curl_easy_init();
        if (e == NULL || glue_easy_defaults(w, e, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CURLU, g->idle_uh) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOBODY, 0L) != CURLE_OK ||
            /* An idle connection must never be pruned from the cache for age. */
            curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, LONG_MAX) != CURLE_OK) {
            errno = ENOMEM;
            return -1;
        }
    }
    return 0;
}

void glue_idle_establish(struct ioload_worker *w)
{
    struct curl_glue *g = &w->glue;
    for (int i = 0; i < g->nidle; i++) {
        if (curl_multi_add_handle(g->idle.multi, g->idle_easy[i]) != CURLM_OK) {
            w->internal_errors++;
            g->idle_done++;
        }
    }
    int64_t give_up = worker_now() + (int64_t)(w->cfg->timeout_s * 1e9) + NS_PER_S;
    while (g->idle_done < g->nidle && !*w->sh->stop && worker_now() < give_up) {
        mctx_timers(&g->idle);
        if (g->idle_done >= g->nidle)
            break;
        int64_t wait = 100 * NS_PER_MS;
        if (g->idle.deadline >= 0 && g->idle.deadline - worker_now() < wait)
            wait = g->idle.deadline - worker_now();
        worker_poll(w, wait);
    }
}

int64_t glue_idle_timers(struct ioload_worker *w)
{
    struct curl_mctx *m = &w->glue.idle;
    if (w->glue.nidle == 0)
        return INT64_MAX;
    mctx_timers(m);
    return m->deadline >= 0 ? m->deadline : INT64_MAX;
}

int glue_idle_established(const struct ioload_worker *w)
{
    return w->glue.idle_ok;
}

void glue_free(struct ioload_worker *w)
{
    struct curl_glue *g = &w->glue;
    /* Handles leave their multi before either is freed, as libcurl asks. */
    for (int i = 0; g->idle_easy != NULL && i < g->nidle; i++) {
        if (g->idle_easy[i] == NULL)
            continue;
        if (g->idle.multi != NULL)
            curl_multi_remove_handle(g->idle.multi, g->idle_easy[i]);
        curl_easy_cleanup(g->idle_easy[i]);
    }
    if (g->nidle > 0)
        mctx_free(&g->idle);
    curl_url_cleanup(g->idle_uh);
    free(g->idle_easy);
    free(g->fdreg);
    *g = (struct curl_glue){0};
}
