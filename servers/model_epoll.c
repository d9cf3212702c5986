/* epoll: one thread, non-blocking sockets, epoll; --edge for edge-triggered.
 *
 * The kernel keeps the interest list (epoll_ctl) and a ready list, so a
 * wake-up costs O(ready connections), not O(open ones): idle connections
 * cost nothing per wake-up, which is what select and poll cannot offer.
 * Deadlines come from an indexed heap (timerheap.h) for the same reason:
 * scanning every connection for its timeout would give back what epoll
 * saved.
 *
 * Where it hurts: each change of interest is a system call. Level-triggered
 * (the default), a connection that goes from reading a request to writing
 * a large response and back costs two epoll_ctl calls, so this loop calls
 * it only when a connection's interest really changes, and a response that
 * fits the socket buffer (the usual case) changes nothing. Edge-triggered
 * (--edge), each connection is registered once for both directions and
 * never modified, but every event must then be drained to EAGAIN (conn_pump
 * does), and a connection stopped early for fairness is kept on a list of
 * its own, since no new edge would come for the bytes already there.
 * `make bench-models` prints epoll_ctl calls per request for both. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn.h"
#include "loops.h"
#include "net.h"
#include "timerheap.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "epoll"

#define ACCEPT_BATCH 64
#define MAX_EVENTS 256

static long edge_triggered; /* --edge */

struct econn {
    struct conn *c;
    int fd;
    uint32_t interest;       /* the events epoll_ctl registered */
    struct theap_node timer; /* the connection's next deadline */
    bool more;               /* on the more list: pump before waiting */
    struct econn *prev, *next; /* every open connection, for draining */
};

struct loop {
    int ep, lfd;
    const struct server_config *cfg;
    struct theap timers;
    struct econn *head;
    struct econn **more; /* connections conn_pump stopped early */
    struct econn **batch; /* the previous round's, while they are pumped */
    int nmore, count;
    bool draining;
    int64_t drain_deadline;
};

static uint32_t interest_for(int want)
{
    if (edge_triggered)
        return EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    return ((want & CONN_WANT_READ) ? EPOLLIN : 0) | ((want & CONN_WANT_WRITE) ? EPOLLOUT : 0);
}

static void drop(struct loop *l, struct econn *e)
{
    theap_remove(&l->timers, &e->timer);
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    /* It may be on either list while pump_more runs: forget it on both. */
    for (int i = 0; e->more && i < l->cfg->max_conns; i++) {
        if (l->more[i] == e)
            l->more[i] = NULL;
        if (l->batch[i] == e)
            l->batch[i] = NULL;
    }
    conn_free(e->c);
    close(e->fd); /* close removes it from the interest list */
    free(e);
    l->count--;
}

/* Registers what the connection waits for, if that changed. */
static int set_interest(struct loop *l, struct econn *e, int want)
{
    uint32_t want_ev = interest_for(want);
    if (want_ev == e->interest)
        return 0;
    struct epoll_event ev = {.events = want_ev, .data.ptr = e};
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, e->fd, &ev) < 0)
        return -1;
    e->interest = want_ev;
    return 0;
}

/* Runs the protocol and files the connection under what it waits for. */
static void pump(struct loop *l, struct econn *e, int64_t now)
{
    int want = conn_pump(e->c, now);
    if ((want & CONN_CLOSE) || set_interest(l, e, want) < 0 ||
        theap_set(&l->timers, &e->timer, conn_deadline(e->c)) < 0) {
        drop(l, e);
        return;
    }
    if ((want & CONN_MORE) && !e->more && l->nmore < l->cfg->max_conns) {
        e->more = true;
        l->more[l->nmore++] = e;
    }
}

static struct econn *admit(struct loop *l, int fd, int64_t now)
{
    struct econn *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->fd = fd;
    theap_node_init(&e->timer);
    /* Edge: registered once for good. Level: for reading, the first need. */
    e->interest = interest_for(CONN_WANT_READ);
    struct epoll_event ev = {.events = e->interest, .data.ptr = e};
    if (!(e->c = conn_new(fd, l->cfg, NAME, now)) || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        if (e->c)
            conn_free(e->c);
        free(e);
        return NULL;
    }
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    l->head = e;
    l->count++;
    return e;
}

static void accept_all(struct loop *l, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = net_accept(l->lfd, true);
        if (fd < 0)
            return; /* EAGAIN: backlog empty; EMFILE: one was shed */
        struct econn *e = l->count < l->cfg->max_conns ? admit(l, fd, now) : NULL;
        if (!e) {
            conn_reject(fd, NAME);
            continue;
        }
        /* The request is usually already here: read it now rather than
         * after another epoll_wait. */
        pump(l, e, now);
    }
}

static void start_drain(struct loop *l, int64_t now)
{
    l->draining = true;
    l->drain_deadline = now + (int64_t)l->cfg->drain_timeout_ms * 1000;
    epoll_ctl(l->ep, EPOLL_CTL_DEL, l->lfd, NULL); /* accept no more */
    for (struct econn *e = l->head, *next; e; e = next) {
        next = e->next;
        conn_drain(e->c);
        pump(l, e, now);
    }
}

/* epoll_wait's timeout in ms: 0 when some connection wants more. */
static int next_timeout(const struct loop *l, int64_t now)
{
    if (l->nmore)
        return 0;
    struct theap_node *t = theap_top(&l->timers);
    int64_t deadline = t ? t->when : INT64_MAX;
    if (l->draining && l->drain_deadline < deadline)
        deadline = l->drain_deadline;
    return server_timeout_ms(deadline, now);
}

/* The connections stopped early last round get their next turn. */
static void pump_more(struct loop *l, int64_t now)
{
    int n = l->nmore;
    struct econn **batch = l->more;
    l->more = l->batch; /* pump() files new ones on the other array */
    l->batch = batch;
    l->nmore = 0;
    for (int i = 0; i < n; i++)
        if (batch[i]) {
            batch[i]->more = false;
            pump(l, batch[i], now);
        }
}

static void expire_timers(struct loop *l, int64_t now)
{
    struct theap_node *t;
    while ((t = theap_top(&l->timers)) && t->when <= now) {
        struct econn *e = (struct econn *)((char *)t - offsetof(struct econn, timer));
        theap_remove(&l->timers, t); /* pump sets the next one */
        pump(l, e, now);
    }
}

static void serve_events(struct loop *l, const struct epoll_event *ev, int n, int64_t now)
{
    for (int i = 0; i < n; i++) {
        struct econn *e = ev[i].data.ptr;
        if (!e) {
            accept_all(l, now);
            continue;
        }
        /* A connection with nothing registered reports only errors and
         * hang-ups: nothing more can be read or written on it. */
        if (e->interest == 0 && (ev[i].events & (EPOLLERR | EPOLLHUP))) {
            drop(l, e);
            continue;
        }
        if (!e->more)
            pump(l, e, now);
    }
}

static int loop_init(struct loop *l, int lfd, const struct server_config *cfg)
{
    *l = (struct loop){.lfd = lfd, .cfg = cfg};
    l->more = calloc((size_t)cfg->max_conns, sizeof *l->more);
    l->batch = calloc((size_t)cfg->max_conns, sizeof *l->batch);
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    /* The listener stays level-triggered in both modes: a batch of
     * accepts that stops early is then woken again without a list. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (!l->more || !l->batch || l->ep < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        return -1;
    return 0;
}

static void loop_free(struct loop *l)
{
    while (l->head)
        drop(l, l->head);
    theap_free(&l->timers);
    free(l->more);
    free(l->batch);
    if (l->ep >= 0)
        close(l->ep);
}

static int epoll_serve(int lfd, const struct server_config *cfg)
{
    struct loop l;
    int rc = loop_init(&l, lfd, cfg);
    struct epoll_event ev[MAX_EVENTS];
    while (rc == 0) {
        int64_t now = server_now_us();
        if (server_stopping() && !l.draining)
            start_drain(&l, now);
        if (l.draining && (l.count == 0 || now >= l.drain_deadline))
            break;
        int n = epoll_wait(l.ep, ev, MAX_EVENTS, next_timeout(&l, now));
        if (n < 0 && errno != EINTR)
            rc = -1;
        if (n < 0)
            continue; /* a signal: the top of the loop looks at it */
        now = server_now_us();
        serve_events(&l, ev, n, now);
        pump_more(&l, now);
        expire_timers(&l, now);
    }
    loop_free(&l);
    return rc;
}

const struct model model_epoll = {
    .name = NAME,
    .summary = "one thread, non-blocking sockets, epoll (level-triggered; --edge: edge)",
    .flags = MODEL_LOOPS,
    .options =
        (const struct model_option[]){
            LOOPS_WORKERS_OPTION,
            {"edge", "edge-triggered epoll: read and write until EAGAIN", 0, 1, &edge_triggered,
             true},
            {0}},
    .serve = epoll_serve,
};
