/* ioload_sched: open-loop schedule and wake-up margin (see ioload_sched.h). */
#include "ioload_sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#define MAX_MARGIN_NS 1000000LL /* never spin more than 1 ms per wait */
#define CALIBRATE_SLEEP_NS 200000LL
#define UPDATE_EVERY 32

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int sched_init(struct sched *s, double rate)
{
    memset(s, 0, sizeof *s);
    s->rate = rate;
    return hdr_init(&s->lag, 1, SCHED_LAG_HIGHEST, SCHED_LAG_DIGITS);
}

void sched_free(struct sched *s)
{
    hdr_free(&s->lag);
}

int64_t sched_due(const struct sched *s, int64_t k)
{
    return s->t0_ns + (int64_t)((double)k * 1e9 / s->rate);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* margin = the p99 of the lags in the ring (the largest but one of 128). */
static void update_margin(struct sched *s)
{
    int64_t sorted[SCHED_RING];
    memcpy(sorted, s->ring, (size_t)s->nring * sizeof *sorted);
    qsort(sorted, (size_t)s->nring, sizeof *sorted, cmp_i64);
    int idx = (int)((double)s->nring * 0.99);
    if (idx >= s->nring)
        idx = s->nring - 1;
    int64_t m = sorted[idx];
    s->margin_ns = m < 0 ? 0 : m > MAX_MARGIN_NS ? MAX_MARGIN_NS : m;
    s->since_update = 0;
}

void sched_woke(struct sched *s, int64_t target, int64_t woke)
{
    s->ring[s->ring_pos] = woke - target;
    s->ring_pos = (s->ring_pos + 1) % SCHED_RING;
    if (s->nring < SCHED_RING)
        s->nring++;
    if (++s->since_update >= UPDATE_EVERY)
        update_margin(s);
}

void sched_calibrate(struct sched *s, int epfd, int n)
{
    struct epoll_event ev;
    for (int i = 0; i < n; i++) {
        struct timespec ts = {.tv_nsec = CALIBRATE_SLEEP_NS};
        int64_t target = mono_ns() + CALIBRATE_SLEEP_NS;
        int r = epoll_pwait2(epfd, &ev, 1, &ts, NULL);
        if (r < 0 && errno == ENOSYS)
            r = epoll_wait(epfd, &ev, 1, 1), target += 1000000LL - CALIBRATE_SLEEP_NS;
        if (r != 0)
            continue; /* an event or an error: not a timed wake-up */
        sched_woke(s, target, mono_ns());
    }
    if (s->nring > 0)
        update_margin(s);
}

void sched_sent(struct sched *s, int64_t due, int64_t now, int64_t room_since,
                int64_t awake_since)
{
    int64_t lag = now - due;
    if (lag < 0)
        lag = 0;
    hdr_record(&s->lag, lag);
    s->scheduled++;
    if (lag > s->max_lag_ns)
        s->max_lag_ns = lag;
    if (lag <= SCHED_LATE_NS)
        return;
    s->late++;
    /* ioload's own share runs from the latest of the due time, a connection
     * having room, and the thread waking: before that it could not send. */
    int64_t start = due;
    if (room_since > start)
        start = room_since;
    if (awake_since > start)
        start = awake_since;
    if (now - start > SCHED_LATE_NS)
        s->late_behind++;
    else if (start == awake_since)
        s->late_wakeup++;
    else
        s->late_noconn++;
}

void sched_unsent(struct sched *s)
{
    s->scheduled++;
    s->late++;
    s->late_noconn++;
    s->unsent++;
}
