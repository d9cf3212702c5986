/* sigio: signal-driven I/O with realtime signals.
 *
 * Every socket is put in O_ASYNC mode with F_SETSIG naming a realtime
 * signal, so the kernel queues one signal per readiness event, carrying the
 * descriptor in si_fd. The signals are blocked and taken synchronously with
 * sigtimedwait(), which turns them into an event loop without any signal
 * handler (and so without async-signal-safety concerns).
 *
 * The pitfalls, each handled below:
 * - A signal reports an edge ("data arrived"), not a level: after one, the
 *   socket must be read (and written) until EAGAIN, or no further signal
 *   will come for the data already queued. conn_pump does that; when it stops
 *   early for fairness, the descriptor stays on a ready list.
 * - The realtime signal queue is bounded (RLIMIT_SIGPENDING). When it
 *   overflows, the kernel sends plain SIGIO instead, and events are lost: the
 *   only safe reaction is to treat every connection as ready and check them
 *   all.
 * - A new connection gets no signal for data that arrived before O_ASYNC was
 *   set on it, so it is pumped once right after accept.
 * - Signals for a descriptor already closed may still sit in the queue (and
 *   the number may be reused by then): a stale signal only causes a
 *   harmless read that returns EAGAIN.
 * - F_SETOWN must name the process (or a thread with F_SETOWN_EX), and any
 *   thread that does not block the signal could receive it; this model is
 *   single-threaded and blocks every signal it waits for.
 * - Deadlines (timeouts, /delay) come from an indexed heap, since the wait
 *   takes one timeout and scanning every connection per wake-up would give
 *   back what the signals saved. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conn.h"
#include "loops.h"
#include "net.h"
#include "stats.h"
#include "timerheap.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "sigio"

#define ACCEPT_BATCH 64
#define SIG_READY (SIGRTMIN + 1)

struct slot {
    struct conn *c;
    struct theap_node timer;
    bool queued;
};

static struct {
    struct slot *slots; /* indexed by descriptor */
    int nslots;
    int *ready; /* ring of descriptors to pump */
    int ready_head, ready_len;
    struct theap timers;
    int count;
    bool listen_ready;
} L;

static int grow(int fd)
{
    if (fd < L.nslots)
        return 0;
    int n = L.nslots ? L.nslots : 1024;
    while (n <= fd)
        n *= 2;
    struct slot *s = realloc(L.slots, (size_t)n * sizeof *s);
    if (!s)
        return -1;
    L.slots = s;
    int *r = malloc((size_t)n * sizeof *r);
    if (!r)
        return -1;
    /* Unroll the ring into the new array. */
    for (int i = 0; i < L.ready_len; i++)
        r[i] = L.ready[(L.ready_head + i) % L.nslots];
    free(L.ready);
    L.ready = r;
    L.ready_head = 0;
    for (int i = L.nslots; i < n; i++) {
        L.slots[i] = (struct slot){0};
        theap_node_init(&L.slots[i].timer);
    }
    /* The heap holds pointers into the slots, which realloc may move. */
    for (int i = 0; i < L.nslots; i++)
        if (L.slots[i].timer.index >= 0)
            L.timers.v[L.slots[i].timer.index] = &L.slots[i].timer;
    L.nslots = n;
    return 0;
}

static void enqueue(int fd)
{
    struct slot *s = &L.slots[fd];
    if (!s->c || s->queued)
        return;
    s->queued = true;
    L.ready[(L.ready_head + L.ready_len++) % L.nslots] = fd;
}

static void drop(int fd)
{
    struct slot *s = &L.slots[fd];
    theap_remove(&L.timers, &s->timer);
    conn_free(s->c);
    s->c = NULL;
    close(fd);
    L.count--;
}

/* Runs the protocol on fd and files it under what it waits for next. */
static void pump(int fd, int64_t now)
{
    struct slot *s = &L.slots[fd];
    int want = conn_pump(s->c, now);
    if (want & CONN_CLOSE) {
        drop(fd);
        return;
    }
    if (want & CONN_MORE)
        enqueue(fd);
    if (theap_set(&L.timers, &s->timer, conn_deadline(s->c)) < 0)
        drop(fd);
}

static void accept_all(int lfd, const struct server_config *cfg, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = net_accept(lfd, true);
        if (fd < 0) {
            L.listen_ready = errno == EMFILE; /* EAGAIN: drained to the edge */
            return;
        }
        if (L.count >= cfg->max_conns || grow(fd) < 0 || net_set_async(fd, SIG_READY, true) < 0) {
            conn_reject(fd, NAME);
            continue;
        }
        struct conn *c = conn_new(fd, cfg, NAME, now);
        if (!c) {
            conn_reject(fd, NAME);
            continue;
        }
        L.slots[fd].c = c;
        L.count++;
        pump(fd, now); /* data that came before O_ASYNC raised no signal */
    }
    L.listen_ready = true; /* batch used up: more may be waiting */
}

static void all_ready(void)
{
    for (int fd = 0; fd < L.nslots; fd++)
        enqueue(fd);
}

static void take(const siginfo_t *si, int signo, int lfd, bool draining)
{
    if (signo == SIG_READY) {
        if (si->si_fd == lfd)
            L.listen_ready = !draining;
        else if (si->si_fd >= 0 && si->si_fd < L.nslots)
            enqueue(si->si_fd);
    } else if (signo == SIGIO) {
        /* The realtime queue overflowed: events were lost. */
        stats_rescan();
        L.listen_ready = !draining;
        all_ready();
    } else {
        server_take_signal(signo);
    }
}

static void start_drain(const struct server_config *cfg, int64_t now, int64_t *drain_deadline)
{
    L.listen_ready = false;
    *drain_deadline = now + (int64_t)cfg->drain_timeout_ms * 1000;
    for (int fd = 0; fd < L.nslots; fd++)
        if (L.slots[fd].c) {
            conn_drain(L.slots[fd].c);
            enqueue(fd);
        }
}

/* Pumps what is ready now; what asks for more goes to the back. */
static void pump_ready(int64_t now)
{
    for (int n = L.ready_len; n > 0; n--) {
        int fd = L.ready[L.ready_head];
        L.ready_head = (L.ready_head + 1) % L.nslots;
        L.ready_len--;
        L.slots[fd].queued = false;
        if (L.slots[fd].c)
            pump(fd, now);
    }
}

static void expire_timers(int64_t now)
{
    struct theap_node *t;
    while ((t = theap_top(&L.timers)) && t->when <= now) {
        struct slot *s = (struct slot *)((char *)t - offsetof(struct slot, timer));
        pump((int)(s - L.slots), now);
    }
}

/* How long sigtimedwait may wait: 0 with work ready, else until the next
 * deadline (the drain's included), at most a minute. */
static struct timespec next_wait(bool draining, int64_t drain_deadline, int64_t now)
{
    struct theap_node *t;
    int64_t wait = INT64_MAX;
    if (L.ready_len || (L.listen_ready && !draining))
        wait = 0;
    else if ((t = theap_top(&L.timers)))
        wait = t->when - now;
    if (draining && drain_deadline - now < wait)
        wait = drain_deadline - now;
    if (wait < 0)
        wait = 0;
    if (wait > 60000000)
        wait = 60000000;
    return (struct timespec){.tv_sec = wait / 1000000, .tv_nsec = (wait % 1000000) * 1000};
}

/* Waits for one signal, then collects whatever else is queued before doing
 * any I/O: one batch of work per wake-up instead of one wake-up per event.
 * -1 on an error other than a timeout or EINTR. */
static int take_signals(const sigset_t *set, const struct timespec *wait, int lfd, bool draining)
{
    siginfo_t si;
    int signo = sigtimedwait(set, &si, wait);
    if (signo < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    take(&si, signo, lfd, draining);
    static const struct timespec zero = {0, 0};
    for (int i = 0; i < 4096; i++) {
        signo = sigtimedwait(set, &si, &zero);
        if (signo < 0)
            break;
        take(&si, signo, lfd, draining);
    }
    return 0;
}

static int sigio_serve(int lfd, const struct server_config *cfg)
{
    sigset_t set;
    server_stop_sigset(&set);
    sigaddset(&set, SIG_READY);
    sigaddset(&set, SIGIO);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || grow(lfd) < 0 ||
        net_set_async(lfd, SIG_READY, true) < 0)
        return -1;
    L.listen_ready = true; /* connections may predate O_ASYNC */
    bool draining = false;
    int64_t drain_deadline = 0;
    int rc = 0;
    while (rc == 0) {
        int64_t now = server_now_us();
        if (server_stopping() && !draining) {
            draining = true;
            start_drain(cfg, now, &drain_deadline);
        }
        if (draining && (L.count == 0 || now >= drain_deadline))
            break;
        pump_ready(now);
        if (L.listen_ready && !draining)
            accept_all(lfd, cfg, now);
        expire_timers(now);
        if (draining && L.count == 0)
            break; /* the pass above closed the last one: do not wait */
        struct timespec wait = next_wait(draining, drain_deadline, now);
        rc = take_signals(&set, &wait, lfd, draining);
    }
    for (int fd = 0; fd < L.nslots; fd++)
        if (L.slots[fd].c)
            drop(fd);
    theap_free(&L.timers);
    free(L.slots);
    free(L.ready);
    return rc;
}

const struct model model_sigio = {
    .name = NAME,
    .summary = "signal-driven I/O: O_ASYNC, F_SETSIG realtime signals, sigtimedwait",
    .flags = MODEL_LOOPS,
    .options = (const struct model_option[]){LOOPS_WORKERS_OPTION, {0}},
    .serve = sigio_serve,
};
