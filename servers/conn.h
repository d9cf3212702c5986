/* conn: one HTTP connection's protocol state, independent of how bytes move.
 *
 * The protocol core is "sans-I/O": a model hands it the bytes it read and
 * asks it for the bytes to write; conn_process() parses requests, runs the
 * endpoints and says what the connection waits for next. So every model runs
 * exactly the same protocol code and differs only in how it waits and moves
 * bytes. Nothing here blocks or makes a system call on the socket. */
#ifndef IOBENCH_CONN_H
#define IOBENCH_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "server.h"

/* conn_process() result: a mask of what the connection waits for. */
enum {
    CONN_WANT_READ = 1,  /* more input: read into conn_in_space() */
    CONN_WANT_WRITE = 2, /* output pending: write conn_out_iov() */
    CONN_WANT_TIMER = 4, /* call conn_process() again at conn_deadline() */
    CONN_CLOSE = 8,      /* finished: close the socket and conn_free() */
};

struct conn;

/* A new connection on fd (the model still owns fd and closes it). Counts the
 * connection in stats. NULL on ENOMEM. */
struct conn *conn_new(int fd, const struct server_config *cfg, const char *model, int64_t now_us);
/* Frees the state and counts the connection closed. Does not close fd. */
void conn_free(struct conn *c);
int conn_fd(const struct conn *c);

/* Input: read at most *room bytes into the returned space, then commit. */
char *conn_in_space(struct conn *c, size_t *room);
void conn_in_commit(struct conn *c, size_t n);
/* The peer closed its sending side (read returned 0) or reset. */
void conn_in_eof(struct conn *c);

/* Output: fills up to max iovecs with the bytes ready to send; returns how
 * many it filled (0 when nothing is pending). */
int conn_out_iov(struct conn *c, struct iovec *iov, int max);
void conn_out_consumed(struct conn *c, size_t n);
/* An asynchronous send (io_uring) reads those iovecs after conn_out_iov()
 * returns: held, the pending output stays where it is (responses produced
 * meanwhile are appended, never compacted over it) until released, which
 * the send's completion does before conn_out_consumed(). */
void conn_out_hold(struct conn *c, bool held);

/* Runs the protocol on what has arrived: parses requests, produces responses,
 * handles timeouts that have expired by now_us. Returns a CONN_* mask. */
int conn_process(struct conn *c, int64_t now_us);
/* Absolute time (server_now_us) of the next timed event (a /delay response,
 * the header, idle or write timeout), or INT64_MAX when none. */
int64_t conn_deadline(const struct conn *c);
/* The part of conn_deadline() that gives the connection up for want of
 * progress: the write timeout while output is pending, the body timeout
 * while a body is due (INT64_MAX when neither). It leaves out the deadlines
 * whose handling writes a response (a /delay falling due, the 408), which a
 * model that cannot run the protocol while a write is in flight (aio) must
 * leave to that write's completion. */
int64_t conn_stall_deadline(const struct conn *c);
/* Shutdown: finish the request in flight, accept no new one, then close. */
void conn_drain(struct conn *c);

/* For connections a model cannot take (no slot, descriptor too large for
 * select): sends a canned 503 without blocking, counts it, closes fd. */
void conn_reject(int fd, const char *model);
/* The same, but leaves fd open for its owner to close. */
void conn_refuse(int fd, const char *model);

/* Drivers shared by the models (driver.c). */

/* Blocking I/O on a blocking socket: runs one connection to completion with
 * read/write loops (EINTR restarted; poll bounds every wait by the
 * connection's deadline), then closes fd. For iterative, fork and thread. */
void conn_serve_blocking(int fd, const struct server_config *cfg, const char *model);

/* Non-blocking I/O: reads and writes until the socket would block or the
 * connection waits on a timer, running the protocol in between. Returns the
 * CONN_* mask to wait for; CONN_MORE is added when it stopped early for
 * fairness and should be called again before waiting (edge-style models). */
enum { CONN_MORE = 16 };
int conn_pump(struct conn *c, int64_t now_us);

#endif
