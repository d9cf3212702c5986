/* poll: one thread, non-blocking sockets, poll() over a compact array.
 *
 * select's loop without its fixed-size bitmaps: the interest is an array of
 * struct pollfd holding only open descriptors, so there is no FD_SETSIZE
 * ceiling and a descriptor's number does not matter. A closed connection's
 * entry is filled by moving the last one into it, which keeps the array
 * dense. Where it hurts is where select hurts: every call copies the whole
 * array into the kernel, which polls every socket in it, and the loop then
 * scans every entry for revents and deadlines, so each wake-up costs
 * O(open connections), idle ones included (Gammo et al., OLS 2004). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "conn.h"
#include "loops.h"
#include "net.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "poll"

#define ACCEPT_BATCH 64
#define LISTENER 0 /* pfds[0] is the listening socket; connections follow */

struct loop {
    struct pollfd *pfds; /* [0] the listener, [1..n) connections */
    struct conn **conns; /* conns[i] serves pfds[i]; conns[0] unused */
    int *want;           /* CONN_* mask of conns[i] */
    int n, cap;
    const struct server_config *cfg;
    bool draining;
    int64_t drain_deadline;
};

static short events_for(int want)
{
    return (short)(((want & CONN_WANT_READ) ? POLLIN : 0) | ((want & CONN_WANT_WRITE) ? POLLOUT : 0));
}

/* Closes entry i and moves the last entry into its place. */
static void drop(struct loop *l, int i)
{
    conn_free(l->conns[i]);
    close(l->pfds[i].fd);
    l->n--;
    l->pfds[i] = l->pfds[l->n];
    l->conns[i] = l->conns[l->n];
    l->want[i] = l->want[l->n];
}

/* Runs the protocol on entry i; false when that closed it. */
static bool pump(struct loop *l, int i, int64_t now)
{
    l->want[i] = conn_pump(l->conns[i], now);
    if (l->want[i] & CONN_CLOSE) {
        drop(l, i);
        return false;
    }
    l->pfds[i].events = events_for(l->want[i]);
    return true;
}

static int grow(struct loop *l)
{
    if (l->n < l->cap)
        return 0;
    int cap = l->cap ? l->cap * 2 : 256;
    struct pollfd *p = realloc(l->pfds, (size_t)cap * sizeof *p);
    if (!p)
        return -1;
    l->pfds = p;
    struct conn **c = realloc(l->conns, (size_t)cap * sizeof *c);
    if (!c)
        return -1;
    l->conns = c;
    int *w = realloc(l->want, (size_t)cap * sizeof *w);
    if (!w)
        return -1;
    l->want = w;
    l->cap = cap;
    return 0;
}

static void accept_all(struct loop *l, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = net_accept(l->pfds[LISTENER].fd, true);
        if (fd < 0)
            return; /* EAGAIN: backlog empty; EMFILE: one was shed */
        struct conn *c = NULL;
        if (l->n - 1 >= l->cfg->max_conns || grow(l) < 0 ||
            !(c = conn_new(fd, l->cfg, NAME, now))) {
            conn_reject(fd, NAME);
            continue;
        }
        int k = l->n++;
        l->pfds[k] = (struct pollfd){.fd = fd};
        l->conns[k] = c;
        /* The request is usually already here: read it now rather than
         * after another poll() round. */
        pump(l, k, now);
    }
}

static void start_drain(struct loop *l, int64_t now)
{
    l->draining = true;
    l->drain_deadline = now + (int64_t)l->cfg->drain_timeout_ms * 1000;
    l->pfds[LISTENER].events = 0; /* accept no more */
    for (int i = l->n - 1; i > LISTENER; i--) {
        conn_drain(l->conns[i]);
        pump(l, i, now);
    }
}

/* poll's timeout: the nearest deadline, 0 when a connection wants more. */
static int next_timeout(const struct loop *l, int64_t now)
{
    int64_t deadline = l->draining ? l->drain_deadline : INT64_MAX;
    for (int i = LISTENER + 1; i < l->n; i++) {
        if (l->want[i] & CONN_MORE)
            return 0;
        int64_t d = conn_deadline(l->conns[i]);
        if (d < deadline)
            deadline = d;
    }
    return server_timeout_ms(deadline, now);
}

/* Pumps every entry that poll() found ready or whose deadline passed. The
 * walk goes backwards so that drop()'s move of the last entry into a freed
 * place never skips one not yet visited. */
static void serve_ready(struct loop *l, int64_t now)
{
    for (int i = l->n - 1; i > LISTENER; i--) {
        bool ready = l->pfds[i].revents || (l->want[i] & CONN_MORE) ||
                     conn_deadline(l->conns[i]) <= now;
        if (ready)
            pump(l, i, now);
    }
    if (!l->draining && (l->pfds[LISTENER].revents & POLLIN))
        accept_all(l, now);
}

static int poll_serve(int lfd, const struct server_config *cfg)
{
    struct loop l = {.cfg = cfg, .n = 1};
    if (grow(&l) < 0)
        return -1;
    l.pfds[LISTENER] = (struct pollfd){.fd = lfd, .events = POLLIN};
    int rc = 0;
    for (;;) {
        int64_t now = server_now_us();
        if (server_stopping() && !l.draining)
            start_drain(&l, now);
        if (l.draining && (l.n == 1 || now >= l.drain_deadline))
            break;
        int n = poll(l.pfds, (nfds_t)l.n, next_timeout(&l, now));
        if (n < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        if (n < 0)
            continue; /* a signal: the top of the loop looks at it */
        serve_ready(&l, server_now_us());
    }
    while (l.n > 1)
        drop(&l, l.n - 1);
    free(l.pfds);
    free(l.conns);
    free(l.want);
    return rc;
}

const struct model model_poll = {
    .name = NAME,
    .summary = "one thread, non-blocking sockets, poll() over a compact array",
    .flags = MODEL_LOOPS,
    .options = (const struct model_option[]){LOOPS_WORKERS_OPTION, {0}},
    .serve = poll_serve,
};
