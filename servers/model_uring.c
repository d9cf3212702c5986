/* uring: io_uring through liburing; one thread, completions, no readiness.
 *
 * Readiness models ask the kernel "can I read?" and then read; io_uring
 * hands the kernel the operation itself and reports its completion on a
 * queue shared with user space (the CQ), so a busy loop makes one
 * io_uring_enter per batch of operations instead of a system call each:
 * - one multishot accept stays armed on the listener: every connection
 *   arrives as a completion, without resubmitting;
 * - one recv in flight per connection, into a ring of provided buffers
 *   (liburing 2.3 has no io_uring_setup_buf_ring: the ring is mapped and
 *   registered here): the kernel picks a free buffer when data arrives, so
 *   an idle connection holds no buffer at all. The bytes are copied into the
 *   protocol's input (never received straight into it, since the protocol
 *   moves that buffer while a receive could still be writing to it) and the
 *   buffer goes back to the ring at once. The recv is single-shot, re-armed
 *   after each completion, not multishot: on Linux 6.18 a multishot recv
 *   that has just delivered data can miss a reset that came with it (by
 *   our reading, it skips the retry when the socket looks empty, and a
 *   reset, unlike a FIN, leaves it looking so) and is then wedged, deaf to
 *   the reset and to its own cancellation, so the connection stayed open
 *   until the server exited (tests/test_hostile.c, reset_at_once: 3 in
 *   1,000 runs). A fresh recv tries the socket before it waits;
 * - one send (sendmsg) at a time per connection, resubmitted for the rest
 *   after a short write;
 * - the protocol's timeouts are the timeout of the wait itself
 *   (io_uring_submit_and_wait_timeout), taken from an indexed heap;
 * - IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them
 *   (6.1): completions are then run when this thread waits, not by
 *   interrupting it; without them it says so at start and carries on;
 * - --sqpoll: a kernel thread polls the submission queue, so submitting
 *   costs no system call while it is awake; it belongs to this process, so
 *   its CPU is counted in the server's (/proc/PID/stat, getrusage).
 * Where it hurts: every operation in flight owns its memory until its
 * completion arrives, so closing a connection is asynchronous (cancel, wait
 * for the last completion, then free); a full completion queue must be
 * drained before anything more is submitted (-EBUSY); and io_uring may be
 * switched off (kernel.io_uring_disabled, a container's seccomp filter), so
 * the model checks at start and says why it cannot run. */
#include <errno.h>
#include <poll.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "conn.h"
#include "loops.h"
#include "net.h"
#include "timerheap.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "uring"

#define ENTRIES 1024 /* submission queue */
#define CQ_ENTRIES 16384
#define BUF_GROUP 0
#define NBUFS 512 /* provided buffers, a power of two */
#define BUF_SIZE 4096
#define BACKLOG_MAX (64 * 1024) /* received bytes the protocol has no room for */

/* user_data: a connection's address with the operation in the low bits. */
enum { OP_RECV = 0, OP_SEND = 1, OP_TAG = 3 };
#define UD_ACCEPT ((uint64_t)1 << 63)
#define UD_LISTEN_POLL (UD_ACCEPT | 1)
#define UD_IGNORE ((uint64_t)0) /* cancellations: nothing to do */

static long sqpoll; /* --sqpoll */

struct uconn {
    struct conn *c;
    int fd;
    bool receiving, sending; /* an operation in flight: its memory is the kernel's */
    bool closing, eof;
    char *backlog; /* received bytes waiting for room in the protocol's input */
    size_t backlog_len;
    struct msghdr msg;
    struct iovec iov[2];
    struct theap_node timer;
    struct uconn *prev, *next;
} __attribute__((aligned(8)));

struct loop {
    struct io_uring ring;
    struct io_uring_buf_ring *bufring;
    char *bufs;
    int lfd;
    const struct server_config *cfg;
    struct theap timers;
    struct uconn *head;
    int count;
    bool accepting, draining;
    bool out_of_fds; /* wait for a pending connection before accepting */
    int64_t drain_deadline;
};

/* ---- submission ----------------------------------------------------------- */

static struct io_uring_sqe *get_sqe(struct loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {
        io_uring_submit(&l->ring); /* the queue is full: hand it over */
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

/* The multishot accept; or, out of descriptors, a poll for the next
 * pending connection: io_uring's accept takes a descriptor number before it
 * looks at the queue, so with the table full it would fail at once, forever,
 * with nothing even pending. */
static void arm_accept(struct loop *l)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe)
        return; /* the next round tries again: accepting stays false */
    if (l->out_of_fds) {
        io_uring_prep_poll_add(sqe, l->lfd, POLLIN);
        io_uring_sqe_set_data64(sqe, UD_LISTEN_POLL);
    } else {
        io_uring_prep_multishot_accept(sqe, l->lfd, NULL, NULL, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(sqe, UD_ACCEPT);
    }
    l->accepting = true;
}

static void arm_recv(struct loop *l, struct uconn *u)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe)
        return;
    io_uring_prep_recv(sqe, u->fd, NULL, BUF_SIZE, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)u | OP_RECV);
    u->receiving = true;
}

static void send_out(struct loop *l, struct uconn *u)
{
    int n = conn_out_iov(u->c, u->iov, 2);
    struct io_uring_sqe *sqe = n > 0 ? get_sqe(l) : NULL;
    if (!sqe)
        return;
    u->msg = (struct msghdr){.msg_iov = u->iov, .msg_iovlen = (size_t)n};
    io_uring_prep_sendmsg(sqe, u->fd, &u->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)u | OP_SEND);
    u->sending = true;
    /* The kernel reads the output from here on while the protocol may run
     * on requests received meanwhile: it must not move. */
    conn_out_hold(u->c, true);
}

static void cancel(struct loop *l, uint64_t user_data)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe)
        return;
    io_uring_prep_cancel64(sqe, user_data, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

/* ---- connections ---------------------------------------------------------- */

static void release(struct loop *l, struct uconn *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        l->head = u->next;
    if (u->next)
        u->next->prev = u->prev;
    theap_remove(&l->timers, &u->timer);
    conn_free(u->c);
    close(u->fd);
    free(u->backlog);
    free(u);
    l->count--;
}

/* Closing waits for the operations in flight, which own u's memory. */
static void start_close(struct loop *l, struct uconn *u)
{
    if (!u->closing) {
        u->closing = true;
        theap_remove(&l->timers, &u->timer);
        if (u->receiving)
            cancel(l, (uint64_t)(uintptr_t)u | OP_RECV);
        if (u->sending)
            cancel(l, (uint64_t)(uintptr_t)u | OP_SEND);
    }
    if (!u->receiving && !u->sending)
        release(l, u);
}

/* Moves bytes into the protocol's input as far as it has room; the rest
 * (and then the end of input) waits in the backlog. */
static void feed(struct uconn *u, const char *data, size_t len)
{
    size_t room, n = 0;
    if (u->backlog_len == 0) { /* else these bytes go after the backlog */
        char *space = conn_in_space(u->c, &room);
        n = len < room ? len : room;
        memcpy(space, data, n);
        conn_in_commit(u->c, n);
    }
    if (n == len)
        return;
    char *b = realloc(u->backlog, u->backlog_len + len - n);
    if (!b) {
        u->eof = true; /* out of memory: treat as a reset */
        return;
    }
    memcpy(b + u->backlog_len, data + n, len - n);
    u->backlog = b;
    u->backlog_len += len - n;
}

/* Feeds the backlog; true when some of it went in. */
static bool feed_backlog(struct uconn *u)
{
    if (u->backlog_len == 0)
        return false;
    size_t room;
    char *space = conn_in_space(u->c, &room);
    size_t n = u->backlog_len < room ? u->backlog_len : room;
    memcpy(space, u->backlog, n);
    conn_in_commit(u->c, n);
    memmove(u->backlog, u->backlog + n, u->backlog_len - n);
    u->backlog_len -= n;
    return n > 0;
}

/* Runs the protocol and starts the operations it waits for. */
static void advance(struct loop *l, struct uconn *u, int64_t now)
{
    if (u->closing) {
        start_close(l, u);
        return;
    }
    int want;
    for (int round = 0;; round++) {
        bool fed = feed_backlog(u);
        if (u->eof && u->backlog_len == 0)
            conn_in_eof(u->c);
        want = conn_process(u->c, now);
        if (!fed || u->backlog_len == 0 || round == 8 || (want & CONN_CLOSE))
            break;
    }
    if (want & CONN_CLOSE) {
        start_close(l, u);
        return;
    }
    if ((want & CONN_WANT_WRITE) && !u->sending)
        send_out(l, u);
    /* A full backlog stops the receiving until the protocol catches up. */
    if (!u->receiving && !u->eof && u->backlog_len < BACKLOG_MAX)
        arm_recv(l, u);
    if (theap_set(&l->timers, &u->timer, conn_deadline(u->c)) < 0)
        start_close(l, u);
}

static void admit(struct loop *l, int fd, int64_t now)
{
    net_accepted(fd);
    struct uconn *u = l->count < l->cfg->max_conns ? calloc(1, sizeof *u) : NULL;
    if (u && !(u->c = conn_new(fd, l->cfg, NAME, now))) {
        free(u);
        u = NULL;
    }
    if (!u) {
        conn_reject(fd, NAME);
        return;
    }
    u->fd = fd;
    theap_node_init(&u->timer);
    u->next = l->head;
    if (l->head)
        l->head->prev = u;
    l->head = u;
    l->count++;
    advance(l, u, now);
}

/* ---- completions ---------------------------------------------------------- */

static void give_back(struct loop *l, int bid)
{
    io_uring_buf_ring_add(l->bufring, l->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE,
                          (unsigned short)bid, io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(l->bufring, 1);
}

static void on_accept(struct loop *l, const struct io_uring_cqe *cqe, int64_t now)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        l->accepting = false; /* the multishot ended: re-armed below */
    if (cqe->res >= 0) {
        if (l->draining)
            conn_reject(cqe->res, NAME);
        else
            admit(l, cqe->res, now);
    } else if (cqe->res == -EMFILE || cqe->res == -ENFILE) {
        /* Out of descriptors: shed one connection the way every model
         * does (net_accept's reserve), or the re-armed accept would fail
         * at once on the same pending connection, forever. */
        int fd = net_accept(l->lfd, true);
        if (fd >= 0)
            admit(l, fd, now);
        l->out_of_fds = fd < 0;
    }
}

static void on_recv(struct loop *l, struct uconn *u, const struct io_uring_cqe *cqe, int64_t now)
{
    u->receiving = false; /* single-shot: advance arms the next one */
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        if (cqe->res > 0 && !u->closing)
            feed(u, l->bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res);
        give_back(l, bid);
    }
    /* 0: the peer closed; an error other than "no buffer free right now"
     * (re-armed by advance) or a cancellation is a reset. */
    if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED))
        u->eof = true;
    advance(l, u, now);
}

static void on_send(struct loop *l, struct uconn *u, const struct io_uring_cqe *cqe, int64_t now)
{
    u->sending = false;
    conn_out_hold(u->c, false);
    if (cqe->res > 0 && !u->closing)
        conn_out_consumed(u->c, (size_t)cqe->res); /* short: advance sends the rest */
    else if (cqe->res < 0 && !u->closing)
        u->closing = true; /* EPIPE, ECONNRESET */
    advance(l, u, now);
}

static void on_cqe(struct loop *l, const struct io_uring_cqe *cqe, int64_t now)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    if (ud == UD_IGNORE)
        return;
    if (ud == UD_ACCEPT) {
        on_accept(l, cqe, now);
        return;
    }
    if (ud == UD_LISTEN_POLL) {
        l->accepting = l->out_of_fds = false; /* a connection is pending: try */
        return;
    }
    struct uconn *u = (struct uconn *)(uintptr_t)(ud & ~(uint64_t)OP_TAG);
    if ((ud & OP_TAG) == OP_RECV)
        on_recv(l, u, cqe, now);
    else
        on_send(l, u, cqe, now);
}

/* ---- set-up ---------------------------------------------------------------- */

static const char *uring_unavailable(void)
{
    static char why[200];
    struct utsname un;
    int major = 0, minor = 0;
    /* Multishot accept and provided-buffer rings came in Linux 5.19. */
    if (uname(&un) == 0 && sscanf(un.release, "%d.%d", &major, &minor) == 2 &&
        (major < 5 || (major == 5 && minor < 19))) {
        snprintf(why, sizeof why,
                 "io_uring multishot accept and buffer rings need Linux 5.19, this is %s",
                 un.release);
        return why;
    }
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc < 0) {
        snprintf(why, sizeof why,
                 "io_uring_setup: %s (kernel.io_uring_disabled, or a seccomp filter, forbids it)",
                 strerror(-rc));
        return why;
    }
    io_uring_queue_exit(&ring);
    return NULL;
}

/* The ring with the best flags this kernel takes; says what it fell back to. */
static int ring_init(struct loop *l)
{
    struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER,
                                .cq_entries = CQ_ENTRIES};
    if (sqpoll) {
        p.flags |= IORING_SETUP_SQPOLL; /* not with DEFER_TASKRUN */
        p.sq_thread_idle = 1000;
    } else {
        p.flags |= IORING_SETUP_DEFER_TASKRUN;
    }
    unsigned wanted = p.flags;
    int rc = io_uring_queue_init_params(ENTRIES, &l->ring, &p);
    if (rc == -EINVAL) {
        p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE | (wanted & IORING_SETUP_SQPOLL),
                                     .cq_entries = CQ_ENTRIES,
                                     .sq_thread_idle = 1000};
        rc = io_uring_queue_init_params(ENTRIES, &l->ring, &p);
        if (rc == 0)
            fprintf(stderr, "ioserve: uring: the kernel refused SINGLE_ISSUER%s; running without\n",
                    sqpoll ? "" : " | DEFER_TASKRUN");
    }
    if (rc < 0) {
        fprintf(stderr, "ioserve: uring: io_uring_queue_init: %s\n", strerror(-rc));
        return -1;
    }
    return 0;
}

/* Maps and registers the provided-buffer ring and fills it. */
static int bufring_init(struct loop *l)
{
    size_t ring_size = NBUFS * sizeof(struct io_uring_buf);
    void *r = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* Populated at once: the kernel hands out the buffers in ring order,
     * so the set would otherwise grow resident page by page for a while. */
    void *b = mmap(NULL, (size_t)NBUFS * BUF_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (r == MAP_FAILED || b == MAP_FAILED)
        return -1;
    l->bufs = b;
    l->bufring = r;
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)(uintptr_t)r, .ring_entries = NBUFS, .bgid = BUF_GROUP};
    int rc = io_uring_register_buf_ring(&l->ring, &reg, 0);
    if (rc < 0) {
        fprintf(stderr, "ioserve: uring: io_uring_register_buf_ring: %s\n", strerror(-rc));
        return -1;
    }
    io_uring_buf_ring_init(l->bufring);
    for (int i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(l->bufring, l->bufs + (size_t)i * BUF_SIZE, BUF_SIZE,
                              (unsigned short)i, io_uring_buf_ring_mask(NBUFS), i);
    io_uring_buf_ring_advance(l->bufring, NBUFS);
    return 0;
}

/* ---- the loop -------------------------------------------------------------- */

static void start_drain(struct loop *l, int64_t now)
{
    l->draining = true;
    l->drain_deadline = now + (int64_t)l->cfg->drain_timeout_ms * 1000;
    if (l->accepting)
        cancel(l, l->out_of_fds ? UD_LISTEN_POLL : UD_ACCEPT);
    for (struct uconn *u = l->head, *next; u; u = next) {
        next = u->next;
        conn_drain(u->c);
        advance(l, u, now);
    }
}

static void expire_timers(struct loop *l, int64_t now)
{
    struct theap_node *t;
    while ((t = theap_top(&l->timers)) && t->when <= now) {
        struct uconn *u = (struct uconn *)((char *)t - offsetof(struct uconn, timer));
        theap_remove(&l->timers, t); /* advance sets the next one */
        advance(l, u, now);
    }
}

/* Submits what is queued and waits for a completion or the next deadline. */
static int wait_round(struct loop *l, int64_t now)
{
    struct theap_node *t = theap_top(&l->timers);
    int64_t deadline = t ? t->when : INT64_MAX;
    if (l->draining && l->drain_deadline < deadline)
        deadline = l->drain_deadline;
    struct __kernel_timespec ts, *tsp = NULL;
    if (deadline != INT64_MAX) {
        int64_t left = deadline > now ? deadline - now : 0;
        ts = (struct __kernel_timespec){.tv_sec = left / 1000000, .tv_nsec = left % 1000000 * 1000};
        tsp = &ts;
    }
    struct io_uring_cqe *cqe;
    int rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, tsp, NULL);
    /* ETIME: a deadline; EINTR: a signal; EBUSY: the completion queue is
     * full (overflowed into the kernel's list), so reap before submitting. */
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
        fprintf(stderr, "ioserve: uring: io_uring_submit_and_wait: %s\n", strerror(-rc));
        return -1;
    }
    return 0;
}

static void reap(struct loop *l, int64_t now)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&l->ring, head, cqe)
    {
        on_cqe(l, cqe, now);
        n++;
    }
    io_uring_cq_advance(&l->ring, n);
}

static int uring_serve(int lfd, const struct server_config *cfg)
{
    struct loop l = {.lfd = lfd, .cfg = cfg};
    if (ring_init(&l) < 0)
        return -1;
    int rc = bufring_init(&l);
    while (rc == 0) {
        int64_t now = server_now_us();
        if (server_stopping() && !l.draining)
            start_drain(&l, now);
        if (l.draining && (l.count == 0 || now >= l.drain_deadline))
            break;
        if (!l.accepting && !l.draining)
            arm_accept(&l);
        rc = wait_round(&l, now);
        now = server_now_us();
        reap(&l, now);
        expire_timers(&l, now);
    }
    /* Closing the ring cancels what is still in flight; only then is the
     * memory those operations own ours to free. */
    for (struct uconn *u = l.head; u; u = u->next)
        shutdown(u->fd, SHUT_RDWR);
    io_uring_queue_exit(&l.ring);
    while (l.head)
        release(&l, l.head);
    theap_free(&l.timers);
    if (l.bufs)
        munmap(l.bufs, (size_t)NBUFS * BUF_SIZE);
    if (l.bufring)
        munmap(l.bufring, NBUFS * sizeof(struct io_uring_buf));
    return rc;
}

const struct model model_uring = {
    .name = NAME,
    .summary = "io_uring (liburing): multishot accept, recv into provided buffers",
    .flags = MODEL_LOOPS,
    .options =
        (const struct model_option[]){
            LOOPS_WORKERS_OPTION,
            {"sqpoll", "a kernel thread polls the submission queue (IORING_SETUP_SQPOLL)", 0, 1,
             &sqpoll, true},
            {0}},
    .unavailable = uring_unavailable,
    .serve = uring_serve,
};
