/* select: one thread, non-blocking sockets, select().
 *
 * The classic event loop: every connection is a state machine (conn.c), and
 * select() says which descriptors can make progress. Its costs are the
 * lesson: each call copies three descriptor sets into the kernel and scans
 * every descriptor up to the highest one, so the loop is O(open connections)
 * per wake-up, idle ones included; and an fd_set holds only descriptors
 * below FD_SETSIZE (1024). A connection whose descriptor would not fit is
 * answered 503 and closed before it touches an fd_set: FD_SET on such a
 * descriptor writes past the set and corrupts memory. */
#include <errno.h>
#include <stdlib.h>
#include <sys/select.h>
#include <unistd.h>

#include "conn.h"
#include "loops.h"
#include "net.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "select"

#define ACCEPT_BATCH 64

struct loop {
    struct conn *conns[FD_SETSIZE];
    int want[FD_SETSIZE];
    int maxfd;
    int count;
    int lfd;
    const struct server_config *cfg;
    bool draining;
    int64_t drain_deadline;
};

static void drop(struct loop *l, int fd)
{
    conn_free(l->conns[fd]);
    l->conns[fd] = NULL;
    close(fd);
    l->count--;
    while (l->maxfd >= 0 && !l->conns[l->maxfd])
        l->maxfd--;
}

/* Runs the protocol on fd and keeps what it waits for next. */
static void pump(struct loop *l, int fd, int64_t now)
{
    l->want[fd] = conn_pump(l->conns[fd], now);
    if (l->want[fd] & CONN_CLOSE)
        drop(l, fd);
}

static void accept_all(struct loop *l, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = net_accept(l->lfd, true);
        if (fd < 0)
            return; /* EAGAIN: backlog empty; EMFILE: one was shed */
        if (fd >= FD_SETSIZE || l->count >= l->cfg->max_conns) {
            conn_reject(fd, NAME);
            continue;
        }
        struct conn *c = conn_new(fd, l->cfg, NAME, now);
        if (!c) {
            conn_reject(fd, NAME);
            continue;
        }
        l->conns[fd] = c;
        l->count++;
        if (fd > l->maxfd)
            l->maxfd = fd;
        /* The request is usually already here: read it now rather than
         * after another select() round. */
        pump(l, fd, now);
    }
}

static void start_drain(struct loop *l, int64_t now)
{
    l->draining = true;
    l->drain_deadline = now + (int64_t)l->cfg->drain_timeout_ms * 1000;
    for (int fd = 0; fd <= l->maxfd; fd++)
        if (l->conns[fd]) {
            conn_drain(l->conns[fd]);
            pump(l, fd, now);
        }
}

/* Fills the sets with what each connection waits for (the listener too
 * unless draining); returns nfds, and in *deadline the nearest deadline,
 * now when a connection wants more at once. */
static int fill_sets(const struct loop *l, fd_set *rset, fd_set *wset, int64_t now,
                     int64_t *deadline)
{
    FD_ZERO(rset);
    FD_ZERO(wset);
    int nfds = 0;
    if (!l->draining) {
        FD_SET(l->lfd, rset);
        nfds = l->lfd + 1;
    }
    *deadline = l->draining ? l->drain_deadline : INT64_MAX;
    for (int fd = 0; fd <= l->maxfd; fd++) {
        if (!l->conns[fd])
            continue;
        int w = l->want[fd];
        if (w & CONN_WANT_READ)
            FD_SET(fd, rset);
        if (w & CONN_WANT_WRITE)
            FD_SET(fd, wset);
        int64_t d = (w & CONN_MORE) ? now : conn_deadline(l->conns[fd]);
        if (d < *deadline)
            *deadline = d;
        if (fd >= nfds)
            nfds = fd + 1;
    }
    return nfds;
}

/* Pumps every connection select() found ready, or that wants more, or
 * whose deadline passed; then accepts. */
static void serve_ready(struct loop *l, const fd_set *rset, const fd_set *wset, int64_t now)
{
    if (!l->draining && FD_ISSET(l->lfd, rset))
        accept_all(l, now);
    for (int fd = 0; fd <= l->maxfd; fd++) {
        struct conn *c = l->conns[fd];
        if (c && (FD_ISSET(fd, rset) || FD_ISSET(fd, wset) || (l->want[fd] & CONN_MORE) ||
                  conn_deadline(c) <= now))
            pump(l, fd, now);
    }
}

static int select_serve(int lfd, const struct server_config *cfg)
{
    if (lfd >= FD_SETSIZE)
        return -1;
    struct loop *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    *l = (struct loop){.maxfd = -1, .lfd = lfd, .cfg = cfg};
    int rc = 0;
    for (;;) {
        int64_t now = server_now_us();
        if (server_stopping() && !l->draining)
            start_drain(l, now);
        if (l->draining && (l->count == 0 || now >= l->drain_deadline))
            break;
        fd_set rset, wset;
        int64_t deadline;
        int nfds = fill_sets(l, &rset, &wset, now, &deadline);
        struct timeval tv, *tvp = NULL;
        if (deadline != INT64_MAX) {
            int64_t left = deadline > now ? deadline - now : 0;
            tv = (struct timeval){.tv_sec = left / 1000000, .tv_usec = left % 1000000};
            tvp = &tv;
        }
        int n = select(nfds, &rset, &wset, NULL, tvp);
        if (n < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        if (n >= 0) /* else a signal: the top of the loop looks at it */
            serve_ready(l, &rset, &wset, server_now_us());
    }
    for (int fd = 0; fd <= l->maxfd; fd++)
        if (l->conns[fd])
            drop(l, fd);
    free(l);
    return rc;
}

const struct model model_select = {
    .name = NAME,
    .summary = "one thread, non-blocking sockets, select()",
    .flags = MODEL_LOOPS,
    .options = (const struct model_option[]){LOOPS_WORKERS_OPTION, {0}},
    .serve = select_serve,
};
