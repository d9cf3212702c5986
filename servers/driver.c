/* driver: the two ways models move a connection's bytes.
 *
 * conn_serve_blocking is the course notes' robust-I/O loop on a blocking
 * socket: read, run the protocol, write everything, repeat; EINTR restarts a
 * call (after looking whether the server is stopping) and short writes are
 * continued. Every wait is bounded: poll() with the connection's deadline
 * guards each read, and SO_SNDTIMEO each write, so a stalled client can hold
 * a worker only as long as the timeouts allow.
 *
 * conn_pump is the non-blocking equivalent for event-driven models: it reads
 * and writes until the kernel says EAGAIN, so that edge-style notifications
 * (signal-driven I/O) are re-armed, and stops after a few rounds so one busy
 * client cannot starve the others. */
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PUMP_ROUNDS 8
#define MAX_IOV 2

/* Microseconds left until deadline, capped at a minute; -1: no deadline. */
static int64_t time_left(int64_t deadline, int64_t now)
{
    if (deadline == INT64_MAX)
        return -1;
    int64_t left = deadline - now;
    if (left < 0)
        return 0;
    return left > 60000000 ? 60000000 : left;
}

/* writev without SIGPIPE: a client that closed early must not kill us. */
static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

void conn_serve_blocking(int fd, const struct server_config *cfg, const char *model)
{
    struct conn *c = conn_new(fd, cfg, model, server_now_us());
    if (!c) {
        conn_refuse(fd, model); /* the caller owns fd and closes it */
        return;
    }
    struct timeval tv = {.tv_sec = cfg->write_timeout_ms / 1000,
                         .tv_usec = (cfg->write_timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        goto done;

    /* Set when this loop first finds the server stopping: past it, the
     * request in flight is given up (--drain-timeout), for no other part of
     * a single-process blocking model can end a /delay sleep. */
    int64_t drain_end = INT64_MAX;
    for (;;) {
        int64_t now = server_now_us();
        if (server_stopping()) {
            conn_drain(c);
            if (drain_end == INT64_MAX)
                drain_end = now + (int64_t)cfg->drain_timeout_ms * 1000;
            else if (now >= drain_end)
                break;
        }
        int want = conn_process(c, now);
        if (want & CONN_CLOSE)
            break;
        if (want & CONN_WANT_WRITE) {
            struct iovec iov[MAX_IOV];
            int n = conn_out_iov(c, iov, MAX_IOV);
            ssize_t w = send_iov(fd, iov, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                break; /* EPIPE, ECONNRESET, or SO_SNDTIMEO expired */
            conn_out_consumed(c, (size_t)w);
            continue; /* write everything before reading more */
        }
        int64_t deadline = conn_deadline(c);
        int64_t left = time_left(drain_end < deadline ? drain_end : deadline, now);
        if (want & CONN_WANT_READ) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            /* poll counts milliseconds: round up, never wake early. */
            int pr = poll(&pfd, 1, left < 0 ? -1 : (int)((left + 999) / 1000));
            if (pr < 0 && errno != EINTR)
                break;
            if (pr <= 0)
                continue; /* EINTR or timeout: conn_process decides */
            size_t room;
            char *space = conn_in_space(c, &room);
            ssize_t r = read(fd, space, room);
            if (r > 0)
                conn_in_commit(c, (size_t)r);
            else if (r == 0)
                conn_in_eof(c);
            else if (errno != EINTR && errno != EAGAIN)
                break;
        } else if (left > 0) {
            /* A /delay response: sleeping is how a blocking model waits. */
            struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = (left % 1000000) * 1000};
            if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
                break;
        }
    }
done:
    conn_free(c);
}

int conn_pump(struct conn *c, int64_t now)
{
    int fd = conn_fd(c);
    for (int round = 0;; round++) {
        int want = conn_process(c, now);
        if (want & CONN_CLOSE)
            return CONN_CLOSE;
        if (round == PUMP_ROUNDS)
            return want | CONN_MORE;
        bool progress = false;
        if (want & CONN_WANT_WRITE) {
            struct iovec iov[MAX_IOV];
            int n = conn_out_iov(c, iov, MAX_IOV);
            ssize_t w = send_iov(fd, iov, n);
            if (w > 0) {
                conn_out_consumed(c, (size_t)w);
                progress = true;
            } else if (w < 0 && errno == EINTR) {
                progress = true;
            } else if (w < 0 && errno != EAGAIN) {
                return CONN_CLOSE;
            }
        }
        if (want & CONN_WANT_READ) {
            size_t room;
            char *space = conn_in_space(c, &room);
            ssize_t r = read(fd, space, room);
            if (r > 0) {
                conn_in_commit(c, (size_t)r);
                progress = true;
                /* A request read in a later round may have been sent after
                 * the caller's clock reading: time it from now, or a /delay
                 * could answer early. */
                now = server_now_us();
            } else if (r == 0) {
                conn_in_eof(c);
                progress = true;
            } else if (errno == EINTR) {
                progress = true;
            } else if (errno != EAGAIN) {
                return CONN_CLOSE;
            }
        }
        if (!progress)
            return want;
    }
}
