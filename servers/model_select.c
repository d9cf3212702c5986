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

static void accept_all(struct loop *l, int lfd, const struct server_config *cfg, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = net_accept(lfd, true);
        if (fd < 0)
            return; /* EAGAIN: backlog empty; EMFILE: one was shed */
        if (fd >= FD_SETSIZE || l->count >= cfg->max_conns) {
            conn_reject(fd, NAME);
            continue;
        }
        struct conn *c = conn_new(fd, cfg, NAME, now);
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
        l->want[fd] = conn_pump(c, now);
        if (l->want[fd] & CONN_CLOSE)
            drop(l, fd);
    }
}

static int select_serve(int lfd, const struct server_config *cfg)
{
    if (lfd >= FD_SETSIZE)
        return -1;
    struct loop *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    l->maxfd = -1;
    bool draining = false;
    int64_t drain_deadline = 0;

    for (;;) {
        int64_t now = server_now_us();
        if (server_stopping() && !draining) {
            draining = true;
            drain_deadline = now + (int64_t)cfg->drain_timeout_ms * 1000;
            for (int fd = 0; fd <= l->maxfd; fd++)
                if (l->conns[fd]) {
                    conn_drain(l->conns[fd]);
                    l->want[fd] = conn_pump(l->conns[fd], now);
                    if (l->want[fd] & CONN_CLOSE)
                        drop(l, fd);
                }
        }
        if (draining && (l->count == 0 || now >= drain_deadline))
            break;

        fd_set rset, wset;
        FD_ZERO(&rset);
        FD_ZERO(&wset);
        int nfds = 0;
        if (!draining) {
            FD_SET(lfd, &rset);
            nfds = lfd + 1;
        }
        int64_t deadline = draining ? drain_deadline : INT64_MAX;
        bool more = false;
        for (int fd = 0; fd <= l->maxfd; fd++) {
            if (!l->conns[fd])
                continue;
            int w = l->want[fd];
            if (w & CONN_WANT_READ)
                FD_SET(fd, &rset);
            if (w & CONN_WANT_WRITE)
                FD_SET(fd, &wset);
            if (w & CONN_MORE)
                more = true;
            int64_t d = conn_deadline(l->conns[fd]);
            if (d < deadline)
                deadline = d;
            if (fd >= nfds)
                nfds = fd + 1;
        }
        struct timeval tv, *tvp = NULL;
        if (more || deadline != INT64_MAX) {
            int64_t left = more ? 0 : deadline - now;
            if (left < 0)
                left = 0;
            tv.tv_sec = left / 1000000;
            tv.tv_usec = left % 1000000;
            tvp = &tv;
        }
        int n = select(nfds, &rset, &wset, NULL, tvp);
        if (n < 0 && errno != EINTR) {
            free(l);
            return -1;
        }
        if (n < 0)
            continue; /* a signal: the top of the loop looks at it */
        now = server_now_us();
        if (!draining && FD_ISSET(lfd, &rset))
            accept_all(l, lfd, cfg, now);
        for (int fd = 0; fd <= l->maxfd; fd++) {
            struct conn *c = l->conns[fd];
            if (!c)
                continue;
            bool ready = FD_ISSET(fd, &rset) || FD_ISSET(fd, &wset) || (l->want[fd] & CONN_MORE) ||
                         conn_deadline(c) <= now;
            if (!ready)
                continue;
            l->want[fd] = conn_pump(c, now);
            if (l->want[fd] & CONN_CLOSE)
                drop(l, fd);
        }
    }
    for (int fd = 0; fd <= l->maxfd; fd++)
        if (l->conns[fd])
            drop(l, fd);
    free(l);
    return 0;
}

const struct model model_select = {
    .name = NAME,
    .summary = "one thread, non-blocking sockets, select()",
    .flags = MODEL_LOOPS,
    .options = (const struct model_option[]){LOOPS_WORKERS_OPTION, {0}},
    .serve = select_serve,
};
