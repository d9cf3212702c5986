/* prefork: a fixed set of processes, each accepting on the one listener.
 *
 * Stevens' preforked server (UNP ch. 30): --workers children are forked at
 * start, and each runs the iterative server on the listening socket they
 * all inherited: accept, serve the connection with blocking I/O, accept
 * again. No fork per connection, so a connection costs what it costs in
 * the iterative model; the parent only supervises: it reaps a child that
 * dies and forks a replacement, and at shutdown stops and reaps them all
 * (supervise.c). The counters are exact because they live in MAP_SHARED
 * memory every child adds into (stats.c).
 *
 * Which child gets a connection is the kernel's business, and here is
 * where it hurts. With all children blocked in accept() on one socket the
 * kernel wakes one of them; but a child must also wake for a stop request,
 * and blocking accept cannot shed a connection safely when descriptors run
 * out while others accept (net.h). So each child waits in epoll_wait on the
 * non-blocking listener, registered with EPOLLEXCLUSIVE: one waiter is woken
 * per connection instead of the whole herd (the "thundering herd" UNP
 * measured with select). And it is bounded: --workers connections are
 * served at once and every further client waits in the listen backlog,
 * keep-alive clients holding a child for as long as they stay. */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn.h"
#include "stats.h"
#include "net.h"
#include "supervise.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "prefork"

static long workers = 32; /* --workers */

struct prefork {
    int lfd;
    const struct server_config *cfg;
};

/* Waits until a connection is pending (or a signal came). */
static int wait_listener(int ep)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, -1);
    return n < 0 && errno != EINTR ? -1 : 0;
}

/* One child: the iterative server on the shared listener. */
static int child_serve(int index, void *arg)
{
    const struct prefork *p = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p->lfd, &ev) < 0)
        return -1;
    int rc = 0;
    while (rc == 0 && !server_stopping()) {
        rc = wait_listener(ep);
        int fd = net_accept(p->lfd, false);
        if (fd < 0)
            continue; /* EAGAIN: another child took it; EINTR; EMFILE: shed */
        if (stats_active() >= p->cfg->max_conns) {
            conn_reject(fd, NAME); /* --max-conns, counted across the children */
            continue;
        }
        conn_serve_blocking(fd, p->cfg, NAME);
        close(fd);
    }
    close(ep);
    return rc;
}

static int prefork_serve(int lfd, const struct server_config *cfg)
{
    struct prefork p = {.lfd = lfd, .cfg = cfg};
    return supervise_children((int)workers, child_serve, &p, cfg);
}

const struct model model_prefork = {
    .name = NAME,
    .summary = "--workers processes accepting on one listener, restarted when they die",
    .flags = MODEL_PROCESSES | MODEL_BOUNDED,
    .options = (const struct model_option[]){{"workers", MODEL_WORKERS_HELP, 1, 4096, &workers, false},
                                             {0}},
    .serve = prefork_serve,
};
