/* ioload_sched: the open loop's schedule, and sending on time.
 *
 * Request k of a thread falls due at t0 + k / rate. A sleeping thread wakes
 * late (on a virtual machine tens to hundreds of microseconds), so the loop
 * sleeps only until `margin` before the next due time and waits out the
 * rest awake, polling its sockets without sleeping. The margin is the p99
 * of the wake-up lag this thread has seen: measured before the run, then
 * kept up to date from every timed sleep. Time spent awake on purpose is
 * counted (spin_ns) so that it is not mistaken for work.
 *
 * Each send's lag from its due time goes into a histogram (nanoseconds).
 * A send more than 1 ms late is "late", and the lateness is split: the part
 * before a connection had room is the server's (every connection was still
 * waiting for a response), the wake-up's while the thread was still asleep
 * (the system woke it late: timer or interrupt jitter, however idle the
 * thread), and ioload's own when it was awake for over 1 ms past the due
 * time before sending (busy with other work, or ready and not run: behind). */
#ifndef IOBENCH_IOLOAD_SCHED_H
#define IOBENCH_IOLOAD_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "hdr.h"

#define SCHED_LATE_NS 1000000LL /* a send more than 1 ms after its due time is late */
#define SCHED_LAG_HIGHEST 100000000000LL /* 100 s in ns */
#define SCHED_LAG_DIGITS 3
#define SCHED_RING 128

struct sched {
    double rate;      /* this thread's requests per second */
    int64_t t0_ns;    /* due time of request 0 */
    int64_t next_idx; /* the next request to send */
    /* Wake-up lag of timed sleeps, the last SCHED_RING of them. */
    int64_t ring[SCHED_RING];
    int nring, ring_pos, since_update;
    int64_t margin_ns; /* sleep this much short of a due time */
    int64_t spin_ns;   /* awake on purpose, waiting for a due time */
    /* Sends of requests due in the measured interval. */
    struct hdr lag; /* ns from due time to send */
    int64_t scheduled, late, late_behind, late_wakeup, late_noconn, unsent;
    int64_t max_lag_ns;
};

/* Sets up the schedule (rate > 0) and its lag histogram; -1 on ENOMEM. */
int sched_init(struct sched *s, double rate);
void sched_free(struct sched *s);
/* Measures the wake-up lag of `n` short sleeps on epfd (which must have no
 * ready events) and sets the first margin from them. */
void sched_calibrate(struct sched *s, int epfd, int n);
/* Due time of request k. */
int64_t sched_due(const struct sched *s, int64_t k);
/* A timed sleep meant to end at `target` ended at `woke`: learns from it. */
void sched_woke(struct sched *s, int64_t target, int64_t woke);
/* Records a measured send of a request due at `due`, sent at `now` on a
 * connection that had room since `room_since`, by a thread awake (out of
 * its last blocking wait) since `awake_since`. */
void sched_sent(struct sched *s, int64_t due, int64_t now, int64_t room_since,
                int64_t awake_since);
/* A due request never sent: every connection was busy to the end. */
void sched_unsent(struct sched *s);

#endif
