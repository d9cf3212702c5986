/* aio: POSIX asynchronous I/O (aio_read/aio_write), completions as signals.
 *
 * Each connection has at most one request in flight: an aio_read into the
 * connection's input buffer, or an aio_write of its pending output. A
 * completion is reported with a realtime signal carrying the connection in
 * sival_ptr, taken synchronously with sigtimedwait(). AIO cannot accept, so
 * the listening socket uses signal-driven I/O (O_ASYNC, F_SETSIG) on another
 * realtime signal and the same wait serves both.
 *
 * While a write is in flight the protocol cannot run (the helper is reading
 * the output buffer), so the connection's timer then waits only for a write
 * or body timeout, which give the connection up; any other deadline, such as
 * a pipelined /delay falling due, is acted on when the write completes.
 *
 * How glibc implements it shapes every figure this model produces:
 * - There is no kernel AIO for sockets in glibc: each request is handed to a
 *   pool of helper threads that perform an ordinary blocking read() or
 *   write(). A read on a keep-alive connection therefore holds one helper
 *   thread blocked until the client speaks. With fewer threads than
 *   connections, idle connections starve busy ones; so the pool is sized
 *   deliberately with aio_init() (--aio-threads, 256 by default) and the
 *   model is, in effect, a thread-per-connection server with an extra
 *   hand-off (and a signal) per I/O operation. Expect it to be slower than
 *   the thread model, and to stall once connections outnumber threads.
 * - glibc queues requests on the same descriptor behind each other: a
 *   write issued while a read is blocked on that socket would wait for the
 *   read. So reads are issued only when nothing is left to write.
 * - The sockets are blocking (a non-blocking read would complete at once
 *   with EAGAIN and spin).
 * - aio_cancel() cannot cancel a read already blocked in a helper thread.
 *   Closing the descriptor under it would let the number be reused while
 *   the read still runs; instead the socket is shut down, which makes the
 *   blocked read return 0, and it is closed when the completion comes in.
 * - A completion signal that does not fit the realtime queue is lost; a
 *   once-a-second sweep with aio_error() finds such operations. So a
 *   connection can be collected by the sweep and freed while its signal is
 *   still queued: signals carry a slot number and that slot's generation,
 *   never a pointer, and one for a connection since freed is dropped. */
#include <aio.h>
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"
#include "timerheap.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "aio"

#define SIG_ACCEPT (SIGRTMIN + 1)
#define SIG_DONE (SIGRTMIN + 2)
#define ACCEPT_BATCH 64
#define SWEEP_US 1000000

static long aio_threads = 256; /* --aio-threads: glibc's helper thread pool */

struct aconn {
    struct conn *c;
    int fd;
    uint32_t slot; /* in the slot table: what a completion signal names */
    struct aiocb cb; /* the one operation in flight */
    bool pending, reading;
    bool closing;
    bool timed_out;          /* a deadline passed while a read was blocked */
    struct theap_node timer; /* must stay at a fixed place: see drop */
    struct aconn *prev, *next;
};

static struct {
    struct aconn *head; /* every open connection, for sweeps and draining */
    struct theap timers;
    int count;
    bool listen_ready;
} L;

/* Slot table: completion signals name slot and generation, so a signal
 * that outlives its connection finds a newer generation and is dropped. */
static struct {
    struct aconn **conn;
    uint32_t *gen;
    uint32_t *free_list;
    uint32_t cap, nfree, used;
} S;

static int slot_take(struct aconn *a)
{
    if (S.nfree > 0) {
        a->slot = S.free_list[--S.nfree];
    } else {
        if (S.used == S.cap) {
            uint32_t cap = S.cap ? S.cap * 2 : 256;
            struct aconn **c = realloc(S.conn, cap * sizeof *c);
            if (c == NULL)
                return -1;
            S.conn = c;
            uint32_t *g = realloc(S.gen, cap * sizeof *g);
            if (g == NULL)
                return -1;
            S.gen = g;
            uint32_t *f = realloc(S.free_list, cap * sizeof *f);
            if (f == NULL)
                return -1;
            S.free_list = f;
            memset(S.gen + S.cap, 0, (cap - S.cap) * sizeof *g);
            S.cap = cap;
        }
        a->slot = S.used++;
    }
    S.conn[a->slot] = a;
    return 0;
}

static void slot_release(struct aconn *a)
{
    S.conn[a->slot] = NULL;
    S.gen[a->slot]++;
    S.free_list[S.nfree++] = a->slot;
}

static void *slot_token(const struct aconn *a)
{
    return (void *)(uintptr_t)(((uint64_t)S.gen[a->slot] << 32) | a->slot);
}

/* The connection a completion signal names, or NULL if it is gone. */
static struct aconn *slot_conn(void *token)
{
    uint64_t t = (uint64_t)(uintptr_t)token;
    uint32_t slot = (uint32_t)t, gen = (uint32_t)(t >> 32);
    return slot < S.used && S.gen[slot] == gen ? S.conn[slot] : NULL;
}

static void slots_free(void)
{
    free(S.conn);
    free(S.gen);
    free(S.free_list);
    memset(&S, 0, sizeof S);
}

static void unlink_conn(struct aconn *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        L.head = a->next;
    if (a->next)
        a->next->prev = a->prev;
}

static void finish(struct aconn *a)
{
    theap_remove(&L.timers, &a->timer);
    unlink_conn(a);
    slot_release(a);
    conn_free(a->c);
    close(a->fd);
    free(a);
    L.count--;
}

static void begin_close(struct aconn *a)
{
    a->closing = true;
    theap_remove(&L.timers, &a->timer);
    if (a->pending)
        shutdown(a->fd, SHUT_RDWR); /* wakes a blocked helper read */
    else
        finish(a);
}

static int submit(struct aconn *a, bool reading, void *buf, size_t len)
{
    memset(&a->cb, 0, sizeof a->cb);
    a->cb.aio_fildes = a->fd;
    a->cb.aio_buf = buf;
    a->cb.aio_nbytes = len;
    a->cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
    a->cb.aio_sigevent.sigev_signo = SIG_DONE;
    a->cb.aio_sigevent.sigev_value.sival_ptr = slot_token(a);
    int rc = reading ? aio_read(&a->cb) : aio_write(&a->cb);
    if (rc == 0) {
        a->pending = true;
        a->reading = reading;
    }
    return rc;
}

/* When the timer should wake the connection. A write in flight reads the
 * output buffer, so the protocol cannot run until it completes, and the
 * completion runs it anyway: a /delay response falling due meanwhile waits
 * for that. Waking for it would find the write still in flight and give the
 * connection up (expire), dropping the response the client waits for. So
 * while writing only a stall (write or body timeout) may wake it. */
static int64_t next_deadline(const struct aconn *a)
{
    return a->pending && !a->reading ? conn_stall_deadline(a->c) : conn_deadline(a->c);
}

/* Runs the protocol and starts the next operation it asks for. */
static void advance(struct aconn *a, int64_t now)
{
    if (a->closing) {
        if (!a->pending)
            finish(a);
        return;
    }
    if (a->pending)
        return; /* one operation at a time; its completion brings us back */
    int want = conn_process(a->c, now);
    if (want & CONN_CLOSE) {
        begin_close(a);
        return;
    }
    int rc = 0;
    if (want & CONN_WANT_WRITE) {
        struct iovec iov[1];
        if (conn_out_iov(a->c, iov, 1) == 1)
            rc = submit(a, false, iov[0].iov_base, iov[0].iov_len);
    } else if (want & CONN_WANT_READ) {
        size_t room;
        char *space = conn_in_space(a->c, &room);
        rc = submit(a, true, space, room);
    }
    if (rc < 0 || theap_set(&L.timers, &a->timer, next_deadline(a)) < 0)
        begin_close(a);
}

/* Collects a finished operation, if it has finished. */
static void complete(struct aconn *a, int64_t now)
{
    if (!a->pending || aio_error(&a->cb) == EINPROGRESS)
        return;
    ssize_t n = aio_return(&a->cb);
    a->pending = false;
    if (a->closing) {
        finish(a);
        return;
    }
    if (n < 0) {
        begin_close(a);
        return;
    }
    if (a->reading) {
        if (n == 0 && a->timed_out)
            a->timed_out = false; /* our shutdown, not the peer's close */
        else if (n == 0)
            conn_in_eof(a->c);
        else
            conn_in_commit(a->c, (size_t)n);
    } else {
        conn_out_consumed(a->c, (size_t)n);
    }
    advance(a, now);
}

/* A deadline (header, idle or write timeout, /delay) has passed. The
 * protocol must run to act on it, but a blocked helper read holds the
 * connection: shut the read side to end it, and let the completion run the
 * protocol (a 408 can still be written). With a write in flight the timer is
 * only a write or body timeout (next_deadline): the client stopped reading
 * or sending, so give up on it. */
static void expire(struct aconn *a, int64_t now)
{
    if (!a->pending) {
        advance(a, now);
    } else if (a->reading) {
        a->timed_out = true;
        shutdown(a->fd, SHUT_RD);
    } else {
        begin_close(a);
    }
}

static void accept_all(int lfd, const struct server_config *cfg, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = net_accept(lfd, false); /* blocking: helpers block, not spin */
        if (fd < 0) {
            L.listen_ready = errno == EMFILE;
            return;
        }
        struct aconn *a = L.count < cfg->max_conns ? calloc(1, sizeof *a) : NULL;
        struct conn *c = a && slot_take(a) == 0 ? conn_new(fd, cfg, NAME, now) : NULL;
        if (!c) {
            if (a != NULL && S.conn != NULL && a->slot < S.used && S.conn[a->slot] == a)
                slot_release(a);
            free(a);
            conn_reject(fd, NAME);
            continue;
        }
        a->c = c;
        a->fd = fd;
        theap_node_init(&a->timer);
        a->next = L.head;
        if (L.head)
            L.head->prev = a;
        L.head = a;
        L.count++;
        advance(a, now);
    }
    L.listen_ready = true;
}

static void sweep(int64_t now)
{
    for (struct aconn *a = L.head, *next; a; a = next) {
        next = a->next;
        complete(a, now);
    }
}

/* Shutdown begins: no new request on any connection; an idle one's
 * blocked read is ended now. */
static void start_drain(int64_t now)
{
    for (struct aconn *a = L.head, *next; a; a = next) {
        next = a->next;
        conn_drain(a->c);
        if (!a->pending || a->reading) {
            if (a->pending)
                shutdown(a->fd, SHUT_RD);
            else
                advance(a, now);
        }
    }
}

/* The drain timed out: shut every socket down so the helpers blocked on
 * them return; true when that was already done once (give up). */
static bool force_drain(bool *forced, int64_t now, int64_t *drain_deadline)
{
    if (*forced)
        return true; /* helpers still blocked after a shutdown */
    for (struct aconn *a = L.head; a; a = a->next)
        shutdown(a->fd, SHUT_RDWR);
    *forced = true;
    *drain_deadline = now + 1000000; /* the helpers return promptly now */
    return false;
}

static void expire_timers(int64_t now)
{
    struct theap_node *t;
    while ((t = theap_top(&L.timers)) && t->when <= now) {
        struct aconn *a = (struct aconn *)((char *)t - offsetof(struct aconn, timer));
        theap_remove(&L.timers, t);
        expire(a, now);
    }
}

/* How long sigtimedwait may wait: until the next sweep, deadline or the
 * drain's end; 0 while connections wait to be accepted. */
static struct timespec next_wait(int64_t next_sweep, bool draining, int64_t drain_deadline,
                                 int64_t now)
{
    struct theap_node *t;
    int64_t wait = next_sweep - now;
    if (L.listen_ready && !draining)
        wait = 0;
    if ((t = theap_top(&L.timers)) && t->when - now < wait)
        wait = t->when - now;
    if (draining && drain_deadline - now < wait)
        wait = drain_deadline - now;
    if (wait < 0)
        wait = 0;
    return (struct timespec){.tv_sec = wait / 1000000, .tv_nsec = (wait % 1000000) * 1000};
}

/* Takes one signal, or several already queued: completions, the
 * listener's readiness, a realtime queue overflow (SIGIO: look
 * everywhere), stop and report. -1 on an unexpected error. */
static int take_signals(const sigset_t *set, const struct timespec *wait, bool draining)
{
    siginfo_t si;
    int signo = sigtimedwait(set, &si, wait);
    static const struct timespec zero = {0, 0};
    for (int i = 0; signo > 0 && i < 4096; i++) {
        int64_t now = server_now_us();
        struct aconn *done = signo == SIG_DONE ? slot_conn(si.si_value.sival_ptr) : NULL;
        if (done != NULL)
            complete(done, now);
        else if (signo == SIG_DONE)
            ; /* its connection was collected by a sweep and is gone */
        else if (signo == SIG_ACCEPT)
            L.listen_ready = !draining;
        else if (signo == SIGIO) {
            L.listen_ready = !draining;
            sweep(now);
        } else
            server_take_signal(signo);
        signo = sigtimedwait(set, &si, &zero);
    }
    return signo < 0 && errno != EAGAIN && errno != EINTR ? -1 : 0;
}

static int aio_serve(int lfd, const struct server_config *cfg)
{
    /* glibc's helper threads inherit the mask of the thread that starts
     * them, so block first: every signal then waits for sigtimedwait. */
    sigset_t set;
    server_stop_sigset(&set);
    sigaddset(&set, SIG_ACCEPT);
    sigaddset(&set, SIG_DONE);
    sigaddset(&set, SIGIO);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    struct aioinit init = {
        .aio_threads = (int)aio_threads, .aio_num = (int)aio_threads, .aio_idle_time = 1};
    aio_init(&init);
    if (net_set_async(lfd, SIG_ACCEPT, true) < 0)
        return -1;
    L.listen_ready = true;
    bool draining = false, forced = false;
    int64_t drain_deadline = 0, next_sweep = server_now_us() + SWEEP_US;
    int rc = 0;
    while (rc == 0) {
        int64_t now = server_now_us();
        if (server_stopping() && !draining) {
            draining = true;
            drain_deadline = now + (int64_t)cfg->drain_timeout_ms * 1000;
            start_drain(now);
        }
        if (draining && L.count == 0)
            break;
        if (draining && now >= drain_deadline && force_drain(&forced, now, &drain_deadline))
            break;
        if (L.listen_ready && !draining)
            accept_all(lfd, cfg, now);
        expire_timers(now);
        if (now >= next_sweep) {
            sweep(now);
            next_sweep = now + SWEEP_US;
        }
        if (draining && L.count == 0)
            break; /* the pass above closed the last one: do not wait */
        struct timespec wait = next_wait(next_sweep, draining, drain_deadline, now);
        rc = take_signals(&set, &wait, draining);
    }
    theap_free(&L.timers);
    slots_free();
    return rc;
}

const struct model model_aio = {
    .name = NAME,
    .summary = "POSIX AIO (glibc helper threads), completions as realtime signals",
    .flags = MODEL_HELPER_THREADS,
    .options = (const struct model_option[]){{"aio-threads",
                                              "glibc AIO thread pool size (default 256)", 1, 65536,
                                              &aio_threads, false},
                                             {0}},
    .serve = aio_serve,
};
